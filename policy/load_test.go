package policy

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"kuberpult/deploy"
)

// Kuberpult's own policy files and lines from its tests and documentation load as they are.
func TestNewLoadsKuberpultPolicies(t *testing.T) {
	tests := []struct {
		name   string
		policy string
	}{
		{name: "services/cd-service/policy.csv", policy: `p, role:Developer, CreateLock, *:*, *, allow
p, role:Developer, DeleteLock, *:*, *, allow
p, role:Developer, CreateRelease, *:*, *, allow
p, role:Developer, DeployRelease, *:*, *, allow
p, role:Developer, CreateUndeploy, *:*, *, allow
p, role:Developer, DeployUndeploy, *:*, *, allow
p, role:Developer, CreateEnvironment, *:*, *, allow
p, role:Developer, DeleteEnvironmentApplication, *:*, *, allow
p, role:Developer, DeployReleaseTrain, *:*, *, allow
`},
		{name: "dex policy.csv with comments and an email binding", policy: `p, role:Developer, CreateLock, *:*, *, allow
p, role:Developer, DeleteEnvironment, *:*, *, allow

# The local user has no groups; its email is matched against the g lines.
g, dex-user@example.com, role:Developer
`},
		{name: "documentation example", policy: "p, role:developer, CreateLock, development:development, *, allow"},
		{name: "no spaces", policy: "p,role:Developer,CreateUndeploy,dev:*,*,allow"},
		{name: "all wildcard forms", policy: `p,role:Developer,CreateLock,production:production,app1,allow
p,role:Developer,CreateLock,production:production,*,allow
p,role:Developer,CreateLock,production:*,app1,allow
p,role:Developer,CreateLock,production:*,*,allow
p,role:Developer,CreateLock,*:production,app1,allow
p,role:Developer,CreateLock,*:production,*,allow
p,role:Developer,CreateLock,*:*,app1,allow
p,role:Developer,CreateLock,*:*,*,allow`},
		{name: "identity provider group", policy: "p, role:admin, DeployRelease, *:*, *, allow\ng,freiheit-com-org:fdc-org-team1,role:admin"},
		{name: "Kuberpult event queue actions are accepted and ignored", policy: "p, role:Developer, CreateLock, *:*, *, allow\np,role:Developer,SkipEslEvent,*:*,*,allow\np, role:Developer, RetryFailedEvent, *:*, *, allow"},
		{name: "tabs and Windows line ends", policy: "p,\trole:Developer,\tCreateLock,\t*:*,\t*,\tallow\r\ng, U1, role:Developer\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(Config{Policy: tt.policy}); err != nil {
				t.Errorf("New: %v", err)
			}
		})
	}
}

func TestKuberpultPolicyDecides(t *testing.T) {
	p, err := New(Config{Policy: "p, role:Developer, DeployRelease, *:*, *, allow\n# a comment\ng, dex-user@example.com, role:Developer\n"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	user := deploy.Actor{Kind: deploy.ActorUser, ID: "U1", Email: "dex-user@example.com"}
	if err := p.Check(SubjectOf(user), DeployRelease, in("production-de", "production").app("checkout", "shop")); err != nil {
		t.Errorf("Check: %v; want allowed", err)
	}
	if err := p.Check(SubjectOf(user), CreateLock, in("production-de", "production")); err == nil {
		t.Errorf("Check(CreateLock) allowed; want denied")
	}
}

func TestNewReportsEveryProblem(t *testing.T) {
	const text = `# a policy with mistakes
p, role:Developer, CreateLock, development:development, *
p, role:Developer, DeployEverything, development:development, *, allow
p, role:Developer, CreateRelease, production:production-de, *, allow
p, role:Developer, CreateLock, development, *, allow
p, role:Developer, CreateLock, Dev:development, *, allow
p, role:Developer, CreateLock, development:development, *, deny
g, jane@example.com, Developer
p, Developer, CreateLock, development:development, *, allow
x, something
p, role:Developer, CreateLock, development:development, Checkout_App, allow
g, jane@example.com
p, role:Developer, DeleteLock, *:*, *, allow
p, role:Developer, SkipEslEvent, dev:*, *, allow
p, role:, DeployRelease, *:*, *, allow
p, role:Developer, DeployRelease, a:b:c, *, allow
p, role:Developer, Deploy, *:*, *, permit
g, , role:Developer
Developer, CreateLock, development:development, *, allow
`
	const nameRules = "use lowercase letters, digits and single dashes (^[a-z0-9]+(-[a-z0-9]+)*$)"
	const actions = "CreateLock, DeleteLock, CreateRelease, DeployRelease, DeployReleaseTrain, CreateUndeploy, DeployUndeploy, CreateEnvironment, DeleteEnvironment, DeleteEnvironmentApplication, Approve"
	want := []Problem{
		{2, "policy line 2: a permission line has 6 fields (p, role:<role>, <action>, <group>:<env>, <app>, allow); this one has 5"},
		{3, `policy line 3: unknown action "DeployEverything"; actions are ` + actions},
		{4, "policy line 4: CreateRelease does not depend on the environment: write <group>:*, e.g. production:*"},
		{5, `policy line 5: scope "development" must be <group>:<env>, each a name or *`},
		{6, `policy line 6: scope "Dev:development": environment group name "Dev" is not valid: ` + nameRules},
		{8, `policy line 8: the role must be written role:<name>, not "Developer"`},
		{9, `policy line 9: the role must be written role:<name>, not "Developer"`},
		{10, `policy line 10: unknown line kind "x": lines start with p (permission) or g (binding); comments start with #`},
		{11, `policy line 11: application name "Checkout_App" is not valid: ` + nameRules},
		{12, "policy line 12: a binding line has 3 fields (g, <subject>, role:<role>); this one has 2"},
		{14, "policy line 14: SkipEslEvent is not scoped: write *:* and *"},
		{15, "policy line 15: the role name after role: is empty"},
		{16, `policy line 16: scope "a:b:c" must be <group>:<env>, each a name or *`},
		{17, `policy line 17: unknown action "Deploy"; actions are ` + actions},
		{17, `policy line 17: the last field must be allow (or deny, which grants nothing), not "permit"`},
		{18, "policy line 18: the subject is empty: name a Slack user id, @group, email, token:<name> or *"},
		{19, `policy line 19: unknown line kind "Developer": lines start with p (permission) or g (binding); comments start with #`},
	}
	_, err := New(Config{Policy: text})
	if diff := cmp.Diff(want, problems(t, err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestNewChecksTeamsAndBindings(t *testing.T) {
	_, err := New(Config{
		Policy: "p, role:Developer, CreateLock, *:*, *, allow",
		Teams: map[string][]string{
			"Shop":     {"jane@example.com"},
			"payments": {"U1", " "},
			"*":        {"admin@example.com"},
		},
		Bindings: map[string][]string{
			"token:ci": {"role:CI", ""},
			"":         {"Admin"},
		},
	})
	want := []Problem{
		{0, `team "Shop": team name "Shop" is not valid: use lowercase letters, digits and single dashes (^[a-z0-9]+(-[a-z0-9]+)*$)`},
		{0, `team "payments": a member is empty`},
		{0, "binding: the subject is empty"},
		{0, `binding for "token:ci": a role is empty`},
	}
	if diff := cmp.Diff(want, problems(t, err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestNewNeedsPermissions(t *testing.T) {
	for _, text := range []string{"", "# nothing yet\n\ng, U1, role:Developer\n"} {
		_, err := New(Config{Policy: text})
		want := []Problem{{0, "the policy has no permission (p) lines, so nobody could do anything"}}
		if diff := cmp.Diff(want, problems(t, err)); diff != "" {
			t.Errorf("New(%q) problems (-want +got):\n%s", text, diff)
		}
	}
}

// problems returns the problems of err, which must be a *LoadError of kind ErrInvalid.
func problems(t *testing.T, err error) []Problem {
	t.Helper()
	var le *LoadError
	if !errors.As(err, &le) || !errors.Is(err, deploy.ErrInvalid) {
		t.Fatalf("got %T %v; want a *LoadError of kind ErrInvalid", err, err)
	}
	return le.Problems
}

// TestKuberpultPolicyFiles: deny lines grant nothing (as in Kuberpult, where only allow
// lines are looked up), comments may follow a line, empty lines are fine.
func TestKuberpultPolicyFiles(t *testing.T) {
	p, err := New(Config{Policy: `
# developers
p, role:developer, CreateLock, *:*, *, allow   # everywhere

p, role:developer, DeployRelease, *:*, *, deny
g, alice@example.com, role:developer
`})
	if err != nil {
		t.Fatal(err)
	}
	alice := SubjectOf(deploy.Actor{Kind: deploy.ActorUser, ID: "alice@example.com", Email: "alice@example.com"})
	if err := p.Check(alice, CreateLock, Scope{Env: "staging"}); err != nil {
		t.Errorf("CreateLock (an allow line with a comment after it): %v", err)
	}
	if err := p.Check(alice, DeployRelease, Scope{Env: "staging", App: "checkout"}); err == nil {
		t.Error("a deny line granted DeployRelease")
	}
}
