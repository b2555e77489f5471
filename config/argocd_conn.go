package config

import (
	"net/url"
	"time"
)

// ArgoCDConn is how Kuberpult reaches Argo CD to follow rollouts (the argocd section).
// Without a server nothing is followed.
type ArgoCDConn struct {
	Server   string `yaml:"server"`   // Argo CD's URL, e.g. https://argocd.example.com
	Token    string `yaml:"token"`    // an Argo CD API token (a project role or account token), e.g. ${ARGOCD_TOKEN}
	CAFile   string `yaml:"ca_file"`  // PEM of the CA of Argo CD's certificate; default the system's
	Insecure bool   `yaml:"insecure"` // skip certificate checks (labs only)
	Soak     string `yaml:"soak"`     // how long an app must stay healthy at the pushed commit; default 1m
	Timeout  string `yaml:"timeout"`  // how long a rollout may take; default 15m
	// AutoLock locks an app on an environment at once when its rollout there fails (error,
	// unhealthy, timeout), so that automation stops until someone looked.
	AutoLock bool `yaml:"auto_lock"`
}

// Enabled reports whether rollouts are followed.
func (a ArgoCDConn) Enabled() bool { return a.Server != "" }

// Durations returns soak and timeout of a validated section (0 where not set).
func (a ArgoCDConn) Durations() (soak, timeout time.Duration) {
	soak, _ = time.ParseDuration(a.Soak)
	timeout, _ = time.ParseDuration(a.Timeout)
	return soak, timeout
}

func (a ArgoCDConn) validate(s *source) {
	if a.Server == "" {
		if a.Token != "" || a.CAFile != "" || a.Insecure {
			s.problem("argocd.server", "required with the other argocd keys: Argo CD's URL, e.g. https://argocd.example.com")
		}
		return
	}
	if u, err := url.Parse(a.Server); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		s.problem("argocd.server", "%s is not an http(s) URL, e.g. https://argocd.example.com", s.quote("argocd.server", a.Server))
	}
	if a.CAFile != "" && a.Insecure {
		s.problem("argocd.insecure", "set ca_file or insecure, not both")
	}
	for _, d := range []struct{ key, value string }{{"soak", a.Soak}, {"timeout", a.Timeout}} {
		if d.value == "" {
			continue
		}
		if v, err := time.ParseDuration(d.value); err != nil || v <= 0 || v > 24*time.Hour {
			p := "argocd." + d.key
			s.problem(p, "%s is not a duration above 0 and at most 24h, e.g. 1m or 15m", s.quote(p, d.value))
		}
	}
}
