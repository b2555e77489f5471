package config

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"kuberpult/deploy"
)

// Annotations Kuberpult sets on every Application; the config may not set them.
const (
	kuberpultAnnotationPrefix = "com.freiheit.kuberpult/"
	generatePathsAnnotation   = "argocd.argoproj.io/manifest-generate-paths"
)

var namespaceRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

func validateArgoCD(a deploy.ArgoCD, path string, s *source) {
	d, dp := a.Destination, path+".destination"
	switch {
	case s.unread(dp+".server") || s.unread(dp+".name"):
		// why was said already
	case d.Server == "" && d.Name == "":
		s.problem(dp, "set server (the cluster's API URL, e.g. https://kubernetes.default.svc) or name (the cluster's name in Argo CD)")
	case d.Server != "" && d.Name != "":
		s.problem(dp, "set server or name, not both")
	case d.Server != "":
		if u, err := url.Parse(d.Server); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			s.problem(dp+".server", "%s is not a cluster URL, e.g. https://kubernetes.default.svc", s.quote(dp+".server", d.Server))
		}
	}
	for _, ns := range []struct{ key, value string }{
		{"namespace", d.Namespace}, {"appProjectNamespace", d.AppProjectNamespace}, {"applicationNamespace", d.ApplicationNamespace},
	} {
		if p := dp + "." + ns.key; ns.value != "" && (len(ns.value) > 63 || !namespaceRE.MatchString(ns.value)) {
			s.problem(p, "%s is not a Kubernetes namespace name (lowercase letters, digits and '-', at most 63)", s.quote(p, ns.value))
		}
	}
	for i, w := range a.SyncWindows {
		validateSyncWindow(w, index(path+".syncWindows", i), s)
	}
	for i, e := range a.AccessList {
		if e.Kind == "" {
			s.problem(index(path+".accessList", i)+".kind", `required: a resource kind such as Namespace, or "*"`)
		}
	}
	keys := make([]string, 0, len(a.ApplicationAnnotations))
	for k := range a.ApplicationAnnotations {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := join(path+".applicationAnnotations", k)
		switch {
		case k == "":
			s.problem(p, "an annotation needs a name")
		case strings.HasPrefix(k, kuberpultAnnotationPrefix) || k == generatePathsAnnotation:
			s.problem(p, "is set by Kuberpult on every Application; remove it here")
		}
	}
	for i, d := range a.IgnoreDifferences {
		if d.Kind == "" {
			s.problem(index(path+".ignoreDifferences", i)+".kind", "required: the resource kind, e.g. Deployment")
		}
	}
	for i, o := range a.SyncOptions {
		if k, v, ok := strings.Cut(o, "="); !ok || k == "" || v == "" {
			p := index(path+".syncOptions", i)
			s.problem(p, "%s is not an Argo CD sync option of the form Name=value, e.g. CreateNamespace=true", s.quote(p, o))
		}
	}
}

func validateSyncWindow(w deploy.SyncWindow, path string, s *source) {
	if w.Kind != "allow" && w.Kind != "deny" {
		s.problem(path+".kind", "%s is not allow or deny", s.quote(path+".kind", w.Kind))
	}
	if err := checkCron(w.Schedule); err != nil {
		p := path + ".schedule"
		detail := ": " + err.Error()
		if _, expanded := s.raw[p]; expanded {
			detail = "" // the detail would quote the expanded value
		}
		s.problem(p, "%s is not a cron schedule%s", s.quote(p, w.Schedule), detail)
	}
	if d, err := time.ParseDuration(w.Duration); err != nil || d <= 0 {
		s.problem(path+".duration", "%s is not a duration: use a number with h, m or s, e.g. 2h, 30m or 1h30m", s.quote(path+".duration", w.Duration))
	}
	for i, a := range w.Applications {
		if a == "" {
			s.problem(index(path+".applications", i), `an empty application name; use an app name or a pattern such as "*"`)
		}
	}
}

type cronField struct {
	name     string
	min, max int
	names    []string // names for min, min+1, ...
}

var cronFields = []cronField{
	{name: "minute", min: 0, max: 59},
	{name: "hour", min: 0, max: 23},
	{name: "day of month", min: 1, max: 31},
	{name: "month", min: 1, max: 12, names: strings.Fields("jan feb mar apr may jun jul aug sep oct nov dec")},
	{name: "day of week", min: 0, max: 6, names: strings.Fields("sun mon tue wed thu fri sat")},
}

var cronDescriptors = map[string]bool{
	"@yearly": true, "@annually": true, "@monthly": true, "@weekly": true,
	"@daily": true, "@midnight": true, "@hourly": true,
}

// checkCron checks a standard five-field cron schedule (as Argo CD reads sync windows).
func checkCron(sched string) error {
	if strings.HasPrefix(sched, "@") {
		if cronDescriptors[sched] {
			return nil
		}
		return fmt.Errorf("unknown descriptor; use one of @hourly, @daily, @weekly, @monthly, @yearly")
	}
	fields := strings.Fields(sched)
	if len(fields) != len(cronFields) {
		return fmt.Errorf(`it has %d fields; want 5 (minute hour day-of-month month day-of-week), e.g. "0 9 * * 1-5"`, len(fields))
	}
	for i, f := range fields {
		if err := cronFields[i].check(f); err != nil {
			return err
		}
	}
	return nil
}

func (c cronField) check(field string) error {
	for _, part := range strings.Split(field, ",") {
		rng, step, hasStep := strings.Cut(part, "/")
		if n, err := strconv.Atoi(step); hasStep && (err != nil || n < 1) {
			return fmt.Errorf("%s: step %q is not a positive number", c.name, step)
		}
		if rng == "*" || rng == "?" {
			continue
		}
		lo, hi, isRange := strings.Cut(rng, "-")
		a, err := c.value(lo)
		if err != nil {
			return err
		}
		if isRange {
			b, err := c.value(hi)
			if err != nil {
				return err
			}
			if b < a {
				return fmt.Errorf("%s: range %s ends before it starts", c.name, rng)
			}
		}
	}
	return nil
}

func (c cronField) value(s string) (int, error) {
	for i, n := range c.names {
		if strings.EqualFold(s, n) {
			return c.min + i, nil
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < c.min || n > c.max {
		return 0, fmt.Errorf("%s %q is not a number from %d to %d", c.name, s, c.min, c.max)
	}
	return n, nil
}
