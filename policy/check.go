package policy

import (
	"fmt"
	"strings"

	"kuberpult/deploy"
)

// tokenPrefix marks the identity of an API client, so it never collides with a person's.
const tokenPrefix = "token:"

// Subject is who acts, as the identities policy lines can name: Slack user ids
// ("U123ABC"), Slack user-group handles ("@platform"), emails and API token names
// ("token:ci").
type Subject []string

// SubjectOf returns the identities of an actor.
//
// A user is their id, their email and the Slack user-group handles given as groups (with or
// without the leading @). An API client is only its token name, as "token:<id>": its name
// and email come from request headers and never grant anything. The system actor has no
// identity; callers do not check permissions for it.
func SubjectOf(a deploy.Actor, groups ...string) Subject {
	var s Subject
	add := func(id string) {
		if id == "" || id == "*" || id == "@" {
			return
		}
		for _, have := range s {
			if canon(have) == canon(id) {
				return
			}
		}
		s = append(s, id)
	}
	switch a.Kind {
	case deploy.ActorUser:
		for _, id := range []string{a.ID, a.Email} {
			// A person can never pose as an API client.
			if !strings.HasPrefix(strings.ToLower(id), tokenPrefix) {
				add(id)
			}
		}
		for _, g := range groups {
			add("@" + strings.TrimPrefix(g, "@"))
		}
	case deploy.ActorAPI:
		if a.ID != "" && !strings.HasPrefix(a.ID, tokenPrefix) {
			add(tokenPrefix + a.ID)
		} else {
			add(a.ID)
		}
	}
	return s
}

// Scope is where an action applies.
type Scope struct {
	// Env is the environment; "" or "*" for env-independent actions and group-wide checks.
	Env deploy.Env
	// Group is Env's group; "" means Env's own name (or * without Env).
	Group deploy.Group
	// App is the app; "" or "*" for environment- or team-wide actions.
	App deploy.App
	// Team owns App ("" if the app has none), or is the team of a team lock.
	Team deploy.Team
}

// Roles returns the roles of s, including those bound to everyone (*), sorted.
func (p *Policy) Roles(s Subject) []string {
	if p == nil {
		return nil
	}
	set := map[string]bool{}
	for _, id := range append([]string{"*"}, s...) {
		for _, r := range p.roles[canon(id)] {
			set[r] = true
		}
	}
	return sortedKeys(set)
}

// TeamPermissions reports whether app-scoped actions also need membership of the app's team.
func (p *Policy) TeamPermissions() bool { return p != nil && p.teamPermissions }

// Check decides whether s may do a on sc. It returns nil if so, and otherwise a
// *deploy.Error of kind deploy.ErrDenied that says what is missing. A nil Policy allows
// everything.
func (p *Policy) Check(s Subject, a Action, sc Scope) error {
	if p == nil {
		return nil
	}
	if !a.Valid() {
		return deploy.Deniedf("there is no permission %q", a)
	}
	group, env, app := normalize(a, sc)
	roles := p.Roles(s)
	if len(roles) == 0 {
		return deploy.Deniedf("you have no role; ask an admin to bind you in rbac.policy")
	}
	if !p.allows(roles, a, group, env, app) {
		msg := fmt.Sprintf("you need %s on %s:%s", a, group, env)
		if app != "*" {
			msg += " for app " + app
		}
		return deploy.Deniedf("%s", msg)
	}
	if !p.teamPermissions || (app == "*" && sc.Team == "") {
		return nil
	}
	if p.member(s, sc.Team) {
		return nil
	}
	switch {
	case sc.Team == "":
		return deploy.Deniedf("you need to be a member of team * (%s has no team) for %s", app, a)
	case app == "*":
		return deploy.Deniedf("you need to be a member of team %s for %s", sc.Team, a)
	}
	return deploy.Deniedf("you need to be a member of team %s (owner of %s) for %s", sc.Team, app, a)
}

// normalize fills in the wildcards of a scope: no env is *, no group is the env's name (or
// * without an env), no app is *; env-independent actions are checked with env *.
func normalize(a Action, sc Scope) (group, env, app string) {
	env, group, app = string(sc.Env), string(sc.Group), string(sc.App)
	if env == "" {
		env = "*"
	}
	if group == "" {
		group = env
	}
	if app == "" {
		app = "*"
	}
	if a.EnvIndependent() {
		env = "*"
	}
	return group, env, app
}

// allows looks for a permission line of one of roles for a on any of the combinations
// {group,*} x {env,*} x {app,*}.
func (p *Policy) allows(roles []string, a Action, group, env, app string) bool {
	for _, g := range []string{group, "*"} {
		for _, e := range []string{env, "*"} {
			for _, ap := range []string{app, "*"} {
				for _, r := range roles {
					if p.perms[perm{role: r, action: a, group: g, env: e, app: ap}] {
						return true
					}
				}
			}
		}
	}
	return false
}

// member reports whether s (or everyone) is listed in team or in team *.
func (p *Policy) member(s Subject, team deploy.Team) bool {
	var lists []map[string]bool
	if team != "" && team != "*" {
		lists = append(lists, p.teams[string(team)])
	}
	lists = append(lists, p.teams["*"])
	for _, list := range lists {
		if list["*"] {
			return true
		}
		for _, id := range s {
			if list[canon(id)] {
				return true
			}
		}
	}
	return false
}

// Defines reports whether role (written with or without "role:") has a permission line or
// is bound to someone: whether a policy speaks of it at all.
func (p *Policy) Defines(role string) bool {
	if p == nil {
		return false
	}
	want := "role:" + strings.TrimPrefix(role, "role:")
	for pm := range p.perms {
		if "role:"+strings.TrimPrefix(pm.role, "role:") == want {
			return true
		}
	}
	for _, rs := range p.roles {
		for _, r := range rs {
			if "role:"+strings.TrimPrefix(r, "role:") == want {
				return true
			}
		}
	}
	return false
}
