package config

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"kuberpult/deploy"
	"kuberpult/policy"
	"kuberpult/schedule"
)

// Window is a time when deployments to some environments stop: weekly (schedule and
// duration) or one-off (from and until, whole days).
type Window struct {
	Name         string   `yaml:"name"`
	Environments []string `yaml:"environments"` // environments, groups, or "*"
	Schedule     string   `yaml:"schedule"`     // weekly: cron of each start, e.g. "0 9 * * MON-FRI"
	Duration     string   `yaml:"duration"`     // weekly: how long each stays open, e.g. 2h
	From         string   `yaml:"from"`         // one-off: the first day, e.g. 2026-12-23
	Until        string   `yaml:"until"`        // one-off: the last day (inclusive)
	Timezone     string   `yaml:"timezone"`     // IANA name; default UTC
	Override     string   `yaml:"override"`     // what a person's deploy does inside: confirm (default), approval, deny
	Approvers    string   `yaml:"approvers"`    // override approval: the role that approves
	// ArgoCDSyncWindow also renders a weekly window into its environments' Argo CD
	// AppProject as a deny sync window (manualSync: true), so that Argo CD holds automated
	// syncs then too.
	ArgoCDSyncWindow bool `yaml:"argocd_sync_window"`
}

const (
	dateLayout  = "2006-01-02"
	maxDuration = 7 * 24 * time.Hour
)

var roleRE = regexp.MustCompile(`^role:[^\s,]+$`)

// Approvals configures approval requests (deploys inside windows with override approval).
type Approvals struct {
	ExpireAfter string `yaml:"expire_after"` // how long a request waits, e.g. 1h (default)
}

// ApprovalExpiry is approvals.expire_after of a validated Config (0: the default).
func (c *Config) ApprovalExpiry() time.Duration {
	d, _ := time.ParseDuration(c.Approvals.ExpireAfter)
	return d
}

// Roles are the roles the configuration names outside rbac (window approvers, train
// approvals), by key path: rbac.policy must define each.
func (c *Config) Roles() map[string]string {
	out := map[string]string{}
	for i, w := range c.Windows {
		if w.Approvers != "" {
			out[index("windows", i)+".approvers"] = w.Approvers
		}
	}
	for i, t := range c.Trains {
		if t.Approval != "" {
			out[index("trains", i)+".approval"] = t.Approval
		}
	}
	return out
}

func (a Approvals) validate(s *source) {
	if a.ExpireAfter == "" {
		return
	}
	if d, err := time.ParseDuration(a.ExpireAfter); err != nil || d < time.Minute || d > maxDuration {
		s.problem("approvals.expire_after", "%s is not a duration between 1m and 168h, e.g. 1h", s.quote("approvals.expire_after", a.ExpireAfter))
	}
}

// PolicyWindows returns the windows of a validated Config.
func (c *Config) PolicyWindows() policy.Windows {
	out := make(policy.Windows, 0, len(c.Windows))
	for _, w := range c.Windows {
		pw, err := w.policy()
		if err == nil {
			out = append(out, pw)
		}
	}
	return out
}

func (w Window) policy() (policy.Window, error) {
	loc, err := time.LoadLocation(w.Timezone)
	if err != nil {
		return policy.Window{}, err
	}
	o := policy.Override(w.Override)
	if o == "" {
		o = policy.OverrideConfirm
	}
	pw := policy.Window{Name: w.Name, Targets: w.Environments, Override: o, Approvers: w.Approvers, Zone: loc}
	if w.From != "" || w.Until != "" {
		from, err1 := time.ParseInLocation(dateLayout, w.From, loc)
		until, err2 := time.ParseInLocation(dateLayout, w.Until, loc)
		if err1 != nil || err2 != nil {
			return policy.Window{}, fmt.Errorf("dates")
		}
		pw.From, pw.Until = from, until.AddDate(0, 0, 1) // whole days: until the end of the last
		return pw, nil
	}
	if pw.Start, err = schedule.Parse(w.Schedule, w.Timezone); err != nil {
		return policy.Window{}, err
	}
	if pw.Duration, err = time.ParseDuration(w.Duration); err != nil {
		return policy.Window{}, err
	}
	return pw, nil
}

func (c *Config) validateWindows(s *source) {
	names := map[string]string{}
	for i, w := range c.Windows {
		p := index("windows", i)
		switch err := deploy.ValidateTrain(w.Name); {
		case w.Name == "":
			s.problem(p+".name", "required: a name such as peak-hours, shown wherever the window stops a deployment")
		case err != nil:
			s.problem(p+".name", "%s", strings.Replace(err.Error(), "train name", "window name", 1))
		case names[w.Name] != "":
			s.problem(p+".name", "%s is also the name of %s; every window needs its own name", s.quote(p+".name", w.Name), names[w.Name])
		default:
			names[w.Name] = p
		}
		if len(w.Environments) == 0 {
			s.problem(p+".environments", `required: the environments or groups it applies to, e.g. [production], or ["*"] for all`)
		}
		for j, e := range w.Environments {
			if e != "*" && len(targetsOf(c.Environments, e)) == 0 {
				ep := fmt.Sprintf("%s.environments[%d]", p, j)
				s.problem(ep, "no environment or group %s; environments: %s", s.quote(ep, e), envList(c.Environments))
			}
		}
		var loc *time.Location
		if w.Timezone != "" {
			var err error
			if loc, err = time.LoadLocation(w.Timezone); err != nil || w.Timezone == "Local" {
				s.problem(p+".timezone", "%s is not a time zone; use an IANA name such as Europe/Berlin or UTC", s.quote(p+".timezone", w.Timezone))
				loc = nil
			}
		} else {
			loc = time.UTC
		}
		oneOff := w.From != "" || w.Until != ""
		switch {
		case oneOff && (w.Schedule != "" || w.Duration != ""):
			s.problem(p, "set either schedule and duration (a weekly window) or from and until (a one-off freeze), not both")
		case oneOff:
			c.validateFreeze(w, p, loc, s)
		default:
			validateWeekly(w, p, s)
		}
		if w.ArgoCDSyncWindow {
			if oneOff {
				s.problem(p+".argocd_sync_window", "only a weekly window (schedule and duration) is rendered as an Argo CD sync window")
			}
			for _, e := range w.Environments {
				for _, env := range c.windowEnvs(e) {
					if c.Environments[env].ArgoCD == nil {
						s.problem(p+".argocd_sync_window", "environment %s has no argocd section to render the sync window into", env)
					}
				}
			}
		}
		switch policy.Override(w.Override) {
		case "", policy.OverrideConfirm, policy.OverrideDeny:
			if w.Approvers != "" {
				s.problem(p+".approvers", "only a window with override: approval has approvers")
			}
		case policy.OverrideApproval:
			if w.Approvers == "" {
				s.problem(p+".approvers", "required with override approval: the role whose holders approve a deploy inside, e.g. role:release-manager")
			} else if !roleRE.MatchString(w.Approvers) {
				s.problem(p+".approvers", "%s is not a role; write it as in rbac.policy, e.g. role:release-manager", s.quote(p+".approvers", w.Approvers))
			}
		default:
			s.problem(p+".override", "%s is not an override: confirm (a deploy inside needs a reason), approval or deny", s.quote(p+".override", w.Override))
		}
	}
}

func validateWeekly(w Window, p string, s *source) {
	if w.Schedule == "" {
		s.problem(p+".schedule", `required: a cron spec of when it opens, e.g. "0 9 * * MON-FRI" (or from and until for a freeze)`)
	} else if _, err := schedule.Parse(w.Schedule, ""); err != nil {
		s.problem(p+".schedule", `%s is not a cron spec of five fields (minute hour day-of-month month day-of-week), e.g. "0 9 * * MON-FRI"`,
			s.quote(p+".schedule", w.Schedule))
	}
	if w.Duration == "" {
		s.problem(p+".duration", "required: how long it stays open, e.g. 2h")
	} else if d, err := time.ParseDuration(w.Duration); err != nil || d <= 0 || d > maxDuration {
		s.problem(p+".duration", "%s is not a duration above 0 and at most a week (168h), e.g. 2h", s.quote(p+".duration", w.Duration))
	}
}

func (c *Config) validateFreeze(w Window, p string, loc *time.Location, s *source) {
	if loc == nil {
		loc = time.UTC
	}
	var from, until time.Time
	var errF, errU error
	from, errF = time.ParseInLocation(dateLayout, w.From, loc)
	until, errU = time.ParseInLocation(dateLayout, w.Until, loc)
	if errF != nil {
		s.problem(p+".from", "%s is not a date such as 2026-12-23", s.quote(p+".from", w.From))
	}
	if errU != nil {
		s.problem(p+".until", "%s is not a date such as 2027-01-02 (the last day of the freeze)", s.quote(p+".until", w.Until))
	}
	if errF == nil && errU == nil && until.Before(from) {
		s.problem(p+".until", "%s is before from (%s); until is the last day of the freeze", s.quote(p+".until", w.Until), w.From)
	}
}

// targetsOf resolves an environment or group name.
func targetsOf(envs deploy.Environments, name string) []deploy.Env {
	if m := envs.Members(deploy.Group(name)); len(m) > 0 {
		return m
	}
	if _, ok := envs[deploy.Env(name)]; ok {
		return []deploy.Env{deploy.Env(name)}
	}
	return nil
}

func (c *Config) windowEnvs(target string) []deploy.Env {
	if target == "*" {
		return c.Environments.Names()
	}
	return targetsOf(c.Environments, target)
}

// addSyncWindows renders the weekly windows marked argocd_sync_window into their
// environments' Argo CD settings (a validated Config).
func (c *Config) addSyncWindows() {
	for _, w := range c.Windows {
		if !w.ArgoCDSyncWindow || w.Schedule == "" {
			continue
		}
		seen := map[deploy.Env]bool{}
		for _, t := range w.Environments {
			for _, env := range c.windowEnvs(t) {
				cfg := c.Environments[env]
				if seen[env] || cfg.ArgoCD == nil {
					continue
				}
				seen[env] = true
				argo := *cfg.ArgoCD // not shared with other environments (YAML merge keys)
				argo.SyncWindows = append(append([]deploy.SyncWindow(nil), argo.SyncWindows...),
					deploy.SyncWindow{Kind: "deny", Schedule: w.Schedule, Duration: w.Duration, TimeZone: w.Timezone})
				cfg.ArgoCD = &argo
				c.Environments[env] = cfg
			}
		}
	}
}

// validateRoles checks that rbac.policy defines every role the configuration names outside
// it (window approvers, train approvals). Without rbac everyone may approve; with a policy
// that does not load, rbac's own problems say why.
func (c *Config) validateRoles(s *source) {
	if c.RBAC == nil || c.RBAC.Policy == "" {
		return
	}
	bindings := map[string][]string{}
	for _, t := range c.API.Tokens {
		bindings["token:"+t.Name] = append(bindings["token:"+t.Name], t.Role)
	}
	p, err := policy.New(policy.Config{Policy: c.RBAC.Policy, Teams: c.RBAC.Teams, Bindings: bindings})
	if err != nil {
		return
	}
	roles := c.Roles()
	paths := make([]string, 0, len(roles))
	for path := range roles {
		paths = append(paths, path)
	}
	sort.Strings(paths)
	for _, path := range paths {
		if !p.Defines(roles[path]) {
			s.problem(path, "%s is not a role of rbac.policy (no p or g line names it)", s.quote(path, roles[path]))
		}
	}
}
