package policy

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"kuberpult/deploy"
)

// testPolicy is a policy.csv as an admin of a shop would write it.
const testPolicy = `
# developers work on development and may release anything
p, role:Developer, CreateLock, development:development, *, allow
p, role:Developer, DeployRelease, development:*, *, allow
p, role:Developer, CreateRelease, *:*, *, allow

# release managers of checkout
p, role:Releaser, DeployRelease, production:*, checkout, allow
p, role:Releaser, DeployReleaseTrain, production:production-de, *, allow

# on call may lock production-jp in any group and unlock anything
p, role:Oncall, CreateLock, *:production-jp, *, allow
p, role:Oncall, DeleteLock, *:*, *, allow

p, role:Admin, DeployRelease, *:*, *, allow
p, role:Admin, CreateEnvironment, *:*, *, allow
p, role:Undeployer, CreateUndeploy, staging:*, cart, allow
p, role:Everyone, DeployRelease, staging:staging, *, allow
p, role:CI, CreateRelease, *:*, *, allow
p, role:Approver, Approve, production:*, *, allow

g, U0DEV, role:Developer
g, @platform, role:Admin
g, jane@example.com, role:Releaser
g, jane@example.com, role:Oncall
g, admin@example.com, role:Admin
g, U0UNDO, role:Undeployer
`

const everyone = "g, *, role:Everyone\n"

var testBindings = map[string][]string{
	"token:ci":       {"CI"},
	"token:deployer": {"role:Releaser"},
}

var testTeams = map[string][]string{
	"shop":     {"U0DEV", "@shoppers", "jane@example.com"},
	"payments": {"token:ci"},
	"*":        {"admin@example.com"},
}

var (
	dev      = deploy.Actor{Kind: deploy.ActorUser, ID: "U0DEV", Name: "Dev", Email: "dev@example.com"}
	jane     = deploy.Actor{Kind: deploy.ActorUser, ID: "U0JANE", Name: "Jane", Email: "jane@example.com"}
	admin    = deploy.Actor{Kind: deploy.ActorUser, ID: "U0ADMIN", Name: "Admin", Email: "admin@example.com"}
	nobody   = deploy.Actor{Kind: deploy.ActorUser, ID: "U0NOBODY", Email: "nobody@example.com"}
	plat     = deploy.Actor{Kind: deploy.ActorUser, ID: "U0PLAT", Email: "plat@example.com"}
	undoer   = deploy.Actor{Kind: deploy.ActorUser, ID: "U0UNDO", Email: "undo@example.com"}
	ci       = deploy.Actor{Kind: deploy.ActorAPI, ID: "ci", Name: "CI", Email: "ci@example.com"}
	deployer = deploy.Actor{Kind: deploy.ActorAPI, ID: "token:deployer"}
	// An API client whose author headers name an admin: headers grant nothing.
	posing = deploy.Actor{Kind: deploy.ActorAPI, ID: "anonymous", Name: "Admin", Email: "admin@example.com"}
	// A token named like an admin's email is still only a token.
	tokenAdmin = deploy.Actor{Kind: deploy.ActorAPI, ID: "admin@example.com"}
)

func in(env, group string) Scope { return Scope{Env: deploy.Env(env), Group: deploy.Group(group)} }

func (s Scope) app(app, team string) Scope {
	s.App, s.Team = deploy.App(app), deploy.Team(team)
	return s
}

func TestCheck(t *testing.T) {
	const noRole = "you have no role; ask an admin to bind you in rbac.policy"
	tests := []struct {
		name   string
		actor  deploy.Actor
		groups []string
		extra  string              // policy lines added to testPolicy
		teams  map[string][]string // nil: testTeams
		teamOn bool
		action Action
		scope  Scope
		want   string // "" when allowed
	}{
		// groups and environments
		{name: "env without group is its own group", actor: dev, action: CreateLock, scope: in("development", "")},
		{name: "env with explicit group", actor: dev, action: CreateLock, scope: in("development", "development")},
		{name: "env lock elsewhere denied", actor: dev, action: CreateLock, scope: in("staging", ""),
			want: "you need CreateLock on staging:staging"},
		{name: "env wildcard in line", actor: dev, action: DeployRelease, scope: in("development", "").app("checkout", "shop")},
		{name: "group named in line, env not in group", actor: dev, action: DeployRelease, scope: in("production-de", "production").app("checkout", "shop"),
			want: "you need DeployRelease on production:production-de for app checkout"},
		{name: "app named in line", actor: jane, action: DeployRelease, scope: in("production-de", "production").app("checkout", "shop")},
		{name: "other app denied", actor: jane, action: DeployRelease, scope: in("production-jp", "production").app("cart", "shop"),
			want: "you need DeployRelease on production:production-jp for app cart"},
		{name: "group line does not match env outside the group", actor: jane, action: DeployRelease, scope: in("production-de", "").app("checkout", "shop"),
			want: "you need DeployRelease on production-de:production-de for app checkout"},
		{name: "train on an env", actor: jane, action: DeployReleaseTrain, scope: in("production-de", "production")},
		{name: "train on another env of the group", actor: jane, action: DeployReleaseTrain, scope: in("production-jp", "production"),
			want: "you need DeployReleaseTrain on production:production-jp"},
		{name: "app * is env-wide", actor: jane, action: DeployReleaseTrain, scope: in("production-de", "production").app("*", "")},
		{name: "group wildcard in line", actor: jane, action: CreateLock, scope: in("production-jp", "production")},
		{name: "everything wildcard", actor: jane, action: DeleteLock, scope: in("staging", "").app("cart", "shop")},
		{name: "no env and no group is *:*", actor: admin, action: CreateEnvironment, scope: Scope{}},
		{name: "no env and no group denied", actor: dev, action: CreateEnvironment, scope: Scope{},
			want: "you need CreateEnvironment on *:*"},

		// several roles, emails, groups, everyone
		{name: "second role of a subject", actor: jane, action: CreateLock, scope: in("production-jp", "production")},
		{name: "neither role allows", actor: jane, action: CreateLock, scope: in("production-de", "production"),
			want: "you need CreateLock on production:production-de"},
		{name: "email matched ignoring case", actor: deploy.Actor{Kind: deploy.ActorUser, ID: "U0J", Email: "Jane@Example.COM"},
			action: DeployRelease, scope: in("production-de", "production").app("checkout", "")},
		{name: "role through Slack user group", actor: plat, groups: []string{"platform"}, action: DeployRelease,
			scope: in("production-de", "production").app("checkout", "shop")},
		{name: "same person outside the group", actor: plat, action: DeployRelease,
			scope: in("production-de", "production").app("checkout", "shop"), want: noRole},
		{name: "no role at all", actor: nobody, action: DeployRelease, scope: in("staging", "").app("cart", ""), want: noRole},
		{name: "everyone bound with *", actor: nobody, extra: everyone, action: DeployRelease, scope: in("staging", "").app("cart", "")},
		{name: "everyone's role is not enough", actor: plat, extra: everyone, action: DeployRelease,
			scope: in("production-de", "production").app("checkout", "shop"),
			want:  "you need DeployRelease on production:production-de for app checkout"},
		{name: "system actor has no role", actor: deploy.System, action: DeployRelease, scope: in("staging", ""), want: noRole},

		// API clients
		{name: "token bound in config", actor: ci, action: CreateRelease, scope: in("production-de", "production").app("pay", "payments")},
		{name: "token without the permission", actor: ci, action: DeployRelease, scope: in("development", "").app("pay", "payments"),
			want: "you need DeployRelease on development:development for app pay"},
		{name: "token named with prefix, role with prefix", actor: deployer, action: DeployRelease,
			scope: in("production-jp", "production").app("checkout", "shop")},
		{name: "author headers of an API call grant nothing", actor: posing, action: DeployRelease,
			scope: in("production-de", "production").app("checkout", "shop"), want: noRole},
		{name: "author headers grant nothing beside everyone's role", actor: posing, extra: everyone, action: DeployRelease,
			scope: in("production-de", "production").app("checkout", "shop"),
			want:  "you need DeployRelease on production:production-de for app checkout"},
		{name: "token named like an admin's email", actor: tokenAdmin, action: DeployRelease,
			scope: in("production-de", "production").app("checkout", "shop"), want: noRole},

		// env-independent actions
		{name: "env-independent checked with env *", actor: undoer, action: CreateUndeploy, scope: in("staging", "").app("cart", "shop")},
		{name: "env-independent in another group", actor: undoer, action: CreateUndeploy, scope: in("production-de", "production").app("cart", "shop"),
			want: "you need CreateUndeploy on production:* for app cart"},
		{name: "env-independent with a concrete env given", actor: dev, action: CreateRelease, scope: in("production-de", "production").app("checkout", "shop")},
		{name: "env-independent denied", actor: plat, extra: everyone, action: CreateRelease, scope: in("production-de", "production").app("checkout", "shop"),
			want: "you need CreateRelease on production:* for app checkout"},

		// approvals
		{name: "approve", actor: nobody, extra: "g, U0NOBODY, role:Approver", action: Approve,
			scope: in("production-jp", "production").app("checkout", "shop")},
		{name: "approve elsewhere", actor: nobody, extra: "g, U0NOBODY, role:Approver", action: Approve,
			scope: in("staging", "").app("checkout", "shop"), want: "you need Approve on staging:staging for app checkout"},

		// team permissions
		{name: "team member", actor: dev, teamOn: true, action: DeployRelease, scope: in("development", "").app("checkout", "shop")},
		{name: "not in the owning team", actor: dev, teamOn: true, action: DeployRelease, scope: in("development", "").app("pay", "payments"),
			want: "you need to be a member of team payments (owner of pay) for DeployRelease"},
		{name: "teams ignored when team permissions are off", actor: dev, action: DeployRelease, scope: in("development", "").app("pay", "payments")},
		{name: "member of team * owns every team", actor: admin, teamOn: true, action: DeployRelease, scope: in("staging", "").app("pay", "payments")},
		{name: "app without team needs team *", actor: dev, teamOn: true, action: DeployRelease, scope: in("development", "").app("orphan", ""),
			want: "you need to be a member of team * (orphan has no team) for DeployRelease"},
		{name: "app without team, member of team *", actor: admin, teamOn: true, action: DeployRelease, scope: in("development", "").app("orphan", "")},
		{name: "member through Slack user group", actor: nobody, groups: []string{"@shoppers"}, extra: everyone, teamOn: true,
			action: DeployRelease, scope: in("staging", "").app("checkout", "shop")},
		{name: "token member of a team", actor: ci, teamOn: true, action: CreateRelease, scope: in("production-de", "production").app("pay", "payments")},
		{name: "token outside the team", actor: ci, teamOn: true, action: CreateRelease, scope: in("production-de", "production").app("checkout", "shop"),
			want: "you need to be a member of team shop (owner of checkout) for CreateRelease"},
		{name: "everyone in team *", actor: nobody, extra: everyone, teams: map[string][]string{"*": {"*"}}, teamOn: true,
			action: DeployRelease, scope: in("staging", "").app("orphan", "")},
		{name: "everyone in one team", actor: nobody, extra: everyone, teams: map[string][]string{"shop": {"*"}}, teamOn: true,
			action: DeployRelease, scope: in("staging", "").app("checkout", "shop")},
		{name: "everyone in one team, not another", actor: nobody, extra: everyone, teams: map[string][]string{"shop": {"*"}}, teamOn: true,
			action: DeployRelease, scope: in("staging", "").app("pay", "payments"),
			want: "you need to be a member of team payments (owner of pay) for DeployRelease"},
		{name: "team lock of own team", actor: dev, teamOn: true, action: CreateLock, scope: in("development", "").app("", "shop")},
		{name: "team lock of another team", actor: dev, teamOn: true, action: CreateLock, scope: in("development", "").app("", "payments"),
			want: "you need to be a member of team payments for CreateLock"},
		{name: "env lock is not team-scoped", actor: dev, teamOn: true, action: CreateLock, scope: in("development", "")},
		{name: "role is checked before team", actor: dev, teamOn: true, action: DeployRelease, scope: in("staging", "").app("pay", "payments"),
			want: "you need DeployRelease on staging:staging for app pay"},

		{name: "unknown action", actor: admin, action: Action("Launch"), scope: in("staging", ""),
			want: `there is no permission "Launch"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			teams := tt.teams
			if teams == nil {
				teams = testTeams
			}
			p, err := New(Config{Policy: testPolicy + tt.extra, Teams: teams, TeamPermissions: tt.teamOn, Bindings: testBindings})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			err = p.Check(SubjectOf(tt.actor, tt.groups...), tt.action, tt.scope)
			if diff := cmp.Diff(tt.want, denial(t, err)); diff != "" {
				t.Errorf("Check (-want +got):\n%s", diff)
			}
		})
	}
}

// denial returns the user message of a denial, "" for nil, and fails for any other error.
func denial(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var ue *deploy.Error
	if !errors.As(err, &ue) || !errors.Is(err, deploy.ErrDenied) {
		t.Fatalf("got %T %v; want a *deploy.Error of kind ErrDenied", err, err)
	}
	return ue.Msg
}

// TestCheckWildcards checks every form of scope a line can have against a set of requests.
func TestCheckWildcards(t *testing.T) {
	requests := []Scope{
		in("production-de", "production").app("app1", ""),
		in("production-de", "production").app("app2", ""),
		in("production-jp", "production").app("app1", ""),
		in("staging", "").app("app1", ""),
		in("production-de", "production"),
	}
	tests := []struct {
		scope string // of the policy line: <group>:<env>, <app>
		want  []bool // per request
	}{
		{"production:production-de, app1", []bool{true, false, false, false, false}},
		{"production:production-de, *", []bool{true, true, false, false, true}},
		{"production:*, app1", []bool{true, false, true, false, false}},
		{"production:*, *", []bool{true, true, true, false, true}},
		{"*:production-de, app1", []bool{true, false, false, false, false}},
		{"*:production-de, *", []bool{true, true, false, false, true}},
		{"*:*, app1", []bool{true, false, true, true, false}},
		{"*:*, *", []bool{true, true, true, true, true}},
		{"staging:staging, *", []bool{false, false, false, true, false}},
	}
	for _, tt := range tests {
		t.Run(tt.scope, func(t *testing.T) {
			p, err := New(Config{Policy: "p, role:Developer, CreateLock, " + tt.scope + ", allow\ng, U1, role:Developer"})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			var got []bool
			for _, sc := range requests {
				got = append(got, p.Check(Subject{"U1"}, CreateLock, sc) == nil)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("allowed per request (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNilPolicyAllowsEverything(t *testing.T) {
	var p *Policy
	for _, a := range Actions() {
		if err := p.Check(nil, a, in("production-de", "production").app("checkout", "shop")); err != nil {
			t.Errorf("Check(%s) = %v; want nil", a, err)
		}
	}
	if got := p.Roles(Subject{"U1"}); got != nil {
		t.Errorf("Roles = %v; want nil", got)
	}
}

func TestRoles(t *testing.T) {
	tests := []struct {
		name   string
		actor  deploy.Actor
		groups []string
		extra  string
		want   []string
	}{
		{name: "several roles, sorted", actor: jane, want: []string{"Oncall", "Releaser"}},
		{name: "with everyone's role", actor: jane, extra: everyone, want: []string{"Everyone", "Oncall", "Releaser"}},
		{name: "through a group", actor: jane, groups: []string{"platform"}, want: []string{"Admin", "Oncall", "Releaser"}},
		{name: "same role twice", actor: admin, groups: []string{"platform"}, want: []string{"Admin"}},
		{name: "token from config", actor: deployer, want: []string{"Releaser"}},
		{name: "none", actor: nobody, want: []string{}},
		{name: "API author headers", actor: posing, want: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(Config{Policy: testPolicy + tt.extra, Bindings: testBindings})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if diff := cmp.Diff(tt.want, p.Roles(SubjectOf(tt.actor, tt.groups...))); diff != "" {
				t.Errorf("Roles (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSubjectOf(t *testing.T) {
	tests := []struct {
		name   string
		actor  deploy.Actor
		groups []string
		want   Subject
	}{
		{name: "Slack user with groups", actor: deploy.Actor{Kind: deploy.ActorUser, ID: "U1", Name: "Jane", Email: "jane@example.com"},
			groups: []string{"platform", "@sre"}, want: Subject{"U1", "jane@example.com", "@platform", "@sre"}},
		{name: "console user whose id is the email", actor: deploy.Actor{Kind: deploy.ActorUser, ID: "jane@example.com", Email: "Jane@example.com"},
			want: Subject{"jane@example.com"}},
		{name: "user cannot pose as a token", actor: deploy.Actor{Kind: deploy.ActorUser, ID: "token:ci", Email: "Token:ci"},
			groups: []string{""}, want: nil},
		{name: "user without email", actor: deploy.Actor{Kind: deploy.ActorUser, ID: "U1"}, want: Subject{"U1"}},
		{name: "API client is only its token", actor: ci, groups: []string{"platform"}, want: Subject{"token:ci"}},
		{name: "API client already prefixed", actor: deployer, want: Subject{"token:deployer"}},
		{name: "API client without id", actor: deploy.Actor{Kind: deploy.ActorAPI, Email: "admin@example.com"}, want: nil},
		{name: "system", actor: deploy.System, want: nil},
		{name: "unknown kind", actor: deploy.Actor{ID: "U1", Email: "admin@example.com"}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, SubjectOf(tt.actor, tt.groups...)); diff != "" {
				t.Errorf("SubjectOf (-want +got):\n%s", diff)
			}
		})
	}
}
