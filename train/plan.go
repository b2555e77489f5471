package train

import (
	"sort"
	"time"

	"kuberpult/deploy"
	"kuberpult/policy"
)

// SkipCause says why an environment or an app is left out of a train; the names are
// Kuberpult's.
type SkipCause string

// Environment causes, in the order they are checked.
const (
	EnvHasNoUpstream                    SkipCause = "ENV_HAS_NO_UPSTREAM"
	EnvHasNoUpstreamLatestOrUpstreamEnv SkipCause = "ENV_HAS_NO_UPSTREAM_LATEST_OR_UPSTREAM_ENV"
	EnvHasBothUpstreamLatestAndEnv      SkipCause = "ENV_HAS_BOTH_UPSTREAM_LATEST_AND_UPSTREAM_ENV"
	UpstreamEnvConfigNotFound           SkipCause = "UPSTREAM_ENV_CONFIG_NOT_FOUND"
	EnvIsLocked                         SkipCause = "ENV_IS_LOCKED"
)

// App causes, in the order they are checked.
const (
	AppWithoutTeam               SkipCause = "APP_WITHOUT_TEAM"
	AppHasNoVersionInUpstreamEnv SkipCause = "APP_HAS_NO_VERSION_IN_UPSTREAM_ENV"
	AppAlreadyInUpstreamVersion  SkipCause = "APP_ALREADY_IN_UPSTREAM_VERSION"
	AppIsLocked                  SkipCause = "APP_IS_LOCKED"
	AppDoesNotExistInEnv         SkipCause = "APP_DOES_NOT_EXIST_IN_ENV"
	NoTeamPermission             SkipCause = "NO_TEAM_PERMISSION"
	TeamIsLocked                 SkipCause = "TEAM_IS_LOCKED"
	// EnvInWindow: a window (peak hours, a freeze) is open on the environment.
	EnvInWindow SkipCause = "ENV_IN_WINDOW"
)

// Input is what a plan is computed from.
type Input struct {
	Target string      // an environment or a group
	Team   deploy.Team // "" for all teams
	Envs   deploy.Environments
	// State holds the apps, the deployments of the targets and their upstreams, and the
	// locks of the targets.
	State deploy.State
	// HasManifest reports whether release version of app has a manifest for env.
	HasManifest func(app deploy.App, v deploy.Version, env deploy.Env) bool
	Gate        policy.Gate
	Actor       deploy.Actor
	Groups      []string
	Now         time.Time
}

// Plan is a train's prognosis: per target environment what it deploys and skips.
type Plan struct {
	Target string      `json:"target"`
	Team   deploy.Team `json:"team,omitempty"`
	Envs   []EnvPlan   `json:"envs"`
}

// EnvPlan is one environment of a train: skipped as a whole (Skip), or per app.
type EnvPlan struct {
	Env      deploy.Env    `json:"env"`
	Upstream string        `json:"upstream,omitempty"` // an environment, or "latest"
	Skip     SkipCause     `json:"skip,omitempty"`
	Locks    []deploy.Lock `json:"locks,omitempty"` // the env locks of ENV_IS_LOCKED
	// Windows are the open windows of ENV_IN_WINDOW, the strictest first.
	Windows []policy.OpenWindow `json:"windows,omitempty"`
	Apps    []AppPlan           `json:"apps,omitempty"`
}

// AppPlan is one app of an environment: deployed from From to To, or skipped.
type AppPlan struct {
	App   deploy.App     `json:"app"`
	Team  deploy.Team    `json:"team,omitempty"`
	From  deploy.Version `json:"from,omitempty"` // what runs now (0: nothing)
	To    deploy.Version `json:"to,omitempty"`   // what the train deploys (0 when skipped)
	Skip  SkipCause      `json:"skip,omitempty"`
	Locks []deploy.Lock  `json:"locks,omitempty"` // app or team locks of the skip
}

// Deploys lists what the plan deploys.
func (p Plan) Deploys() []AppPlan {
	var out []AppPlan
	for _, e := range p.Envs {
		for _, a := range e.Apps {
			if a.Skip == "" {
				out = append(out, a)
			}
		}
	}
	return out
}

// Targets resolves a train's target: the environments of the group, else the environment
// of that name. None: the target is unknown.
func Targets(envs deploy.Environments, target string) []deploy.Env {
	if members := envs.Members(deploy.Group(target)); len(members) > 0 {
		return members
	}
	if _, ok := envs[deploy.Env(target)]; ok {
		return []deploy.Env{deploy.Env(target)}
	}
	return nil
}

// Compute plans a train. A missing DeployReleaseTrain permission on one of the targets is
// an error (the whole train fails); everything else is a skip cause.
func Compute(in Input) (Plan, error) {
	p := Plan{Target: in.Target, Team: in.Team}
	targets := Targets(in.Envs, in.Target)
	sort.Slice(targets, func(i, j int) bool { return targets[i] < targets[j] })
	subject := policy.SubjectOf(in.Actor, in.Groups...)
	for _, env := range targets {
		ep := EnvPlan{Env: env}
		cfg := in.Envs[env]
		if cfg.Upstream == nil {
			ep.Skip = EnvHasNoUpstream
			p.Envs = append(p.Envs, ep)
			continue
		}
		if in.Actor.Kind != deploy.ActorSystem {
			sc := policy.Scope{Env: env, Group: in.Envs.GroupOf(env)}
			if err := in.Gate.Policy.Check(subject, policy.DeployReleaseTrain, sc); err != nil {
				return Plan{}, err
			}
		}
		up := *cfg.Upstream
		switch {
		case !up.Latest && up.Environment == "":
			ep.Skip = EnvHasNoUpstreamLatestOrUpstreamEnv
		case up.Latest && up.Environment != "":
			ep.Skip = EnvHasBothUpstreamLatestAndEnv
		case up.Environment != "":
			ep.Upstream = string(up.Environment)
			if _, ok := in.Envs[up.Environment]; !ok {
				ep.Skip = UpstreamEnvConfigNotFound
			}
		default:
			ep.Upstream = "latest"
		}
		if ep.Skip == "" {
			if locks := envLocks(in.State, env); len(locks) > 0 {
				ep.Skip, ep.Locks = EnvIsLocked, locks
			}
		}
		if ep.Skip == "" {
			if open := in.Gate.Windows.At(in.Envs, env, in.Now); len(open) > 0 {
				ep.Skip, ep.Windows = EnvInWindow, open
			}
		}
		if ep.Skip == "" {
			ep.Apps = planApps(in, env, up, subject)
		}
		p.Envs = append(p.Envs, ep)
	}
	return p, nil
}

func envLocks(st deploy.State, env deploy.Env) []deploy.Lock {
	var out []deploy.Lock
	for _, l := range st.Locks {
		if l.Env == env && l.Kind == deploy.LockEnv {
			out = append(out, l)
		}
	}
	deploy.SortLocks(out)
	return out
}

// candidates are the apps a train into env considers: those in the upstream environment,
// or for a latest upstream those already in env.
func candidates(st deploy.State, env deploy.Env, up deploy.Upstream) []deploy.App {
	from := up.Environment
	if up.Latest {
		from = env
	}
	apps := make([]deploy.App, 0, len(st.Deployments[from]))
	for app := range st.Deployments[from] {
		apps = append(apps, app)
	}
	sort.Slice(apps, func(i, j int) bool { return apps[i] < apps[j] })
	return apps
}

func planApps(in Input, env deploy.Env, up deploy.Upstream, subject policy.Subject) []AppPlan {
	var out []AppPlan
	for _, app := range candidates(in.State, env, up) {
		team := in.State.TeamOf(app)
		ap := AppPlan{App: app, Team: team}
		if cur, ok := in.State.Deployed(env, app); ok {
			ap.From = cur.Version
		}
		if in.Team != "" {
			if team == "" {
				ap.Skip = AppWithoutTeam
				out = append(out, ap)
				continue
			}
			if team != in.Team {
				continue // another team's app: not part of this train at all
			}
		}
		var to deploy.Version
		if up.Latest {
			to = in.State.Apps[app].Latest
			if to == 0 {
				continue // no release at all: nothing to say
			}
		} else if d, ok := in.State.Deployed(up.Environment, app); ok {
			to = d.Version
		}
		switch {
		case to == 0:
			ap.Skip = AppHasNoVersionInUpstreamEnv
		case to == ap.From:
			ap.Skip = AppAlreadyInUpstreamVersion
		}
		if ap.Skip == "" {
			ap.Skip, ap.Locks = lockedBy(in, env, app, "", deploy.LockApp)
		}
		if ap.Skip == "" && in.HasManifest != nil && !in.HasManifest(app, to, env) {
			ap.Skip = AppDoesNotExistInEnv
		}
		if ap.Skip == "" && team != "" && in.Actor.Kind != deploy.ActorSystem {
			sc := policy.Scope{Env: env, Group: in.Envs.GroupOf(env), Team: team}
			if in.Gate.Policy.Check(subject, policy.DeployReleaseTrain, sc) != nil {
				ap.Skip = NoTeamPermission
			}
		}
		if ap.Skip == "" {
			ap.Skip, ap.Locks = lockedBy(in, env, app, team, deploy.LockTeam)
		}
		if ap.Skip == "" {
			ap.To = to
		}
		out = append(out, ap)
	}
	return out
}

// lockedBy asks the deployment gate about a train's deployment of app to env and returns the
// skip cause of the locks of kind that hold it (none: "").
func lockedBy(in Input, env deploy.Env, app deploy.App, team deploy.Team, kind deploy.LockKind) (SkipCause, []deploy.Lock) {
	d := in.Gate.Decide(in.State, policy.Attempt{Env: env, App: app, Team: team, How: deploy.HowTrain, Actor: deploy.System, Now: in.Now})
	var locks []deploy.Lock
	for _, l := range d.Locks {
		if l.Kind == kind {
			locks = append(locks, l)
		}
	}
	if len(locks) == 0 {
		return "", nil
	}
	if kind == deploy.LockApp {
		return AppIsLocked, locks
	}
	return TeamIsLocked, locks
}
