package commands_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"kuberpult/commands"
	"kuberpult/deploy"
	"kuberpult/policy"
	"kuberpult/reply"
)

const testPolicy = `
# developers: everything on development, locks everywhere, releases
p, role:developer, DeployRelease, development:*, *, allow
p, role:developer, CreateLock, *:*, *, allow
p, role:developer, CreateRelease, *:*, *, allow
# releasers may take checkout to production only
p, role:releaser, DeployRelease, production:*, checkout, allow
p, role:admin, DeleteLock, *:*, *, allow
g, alice@example.com, role:developer
g, bob@example.com, role:releaser
g, @platform, role:admin
g, token:ci, role:developer
`

func withPolicy(t *testing.T, f *fixture, teams map[string][]string) {
	t.Helper()
	p, err := policy.New(policy.Config{Policy: testPolicy, Teams: teams, TeamPermissions: teams != nil})
	if err != nil {
		t.Fatal(err)
	}
	f.h = commands.New(commands.Options{Store: f.db, Environments: testEnvs(), Policy: p,
		Now: func() time.Time { return f.now }})
}

func user(email string) deploy.Actor {
	return deploy.Actor{Kind: deploy.ActorUser, ID: email, Name: strings.Split(email, "@")[0], Email: email}
}

// snapshot is everything a refused action must leave alone.
func (f *fixture) snapshot() string {
	f.t.Helper()
	st := f.state()
	return fmt.Sprintf("%v|%v|%v|%d", st.Deployments, st.Locks, st.Held, len(f.pending()))
}

func TestPermissionsAreCheckedForEveryCommand(t *testing.T) {
	f := newFixture(t)
	f.mustRelease("checkout", "shop", 1)
	f.mustRelease("catalog", "shop", 1)
	f.mustExec(`lock staging "held" --id keep-me`)
	withPolicy(t, f, nil)

	tests := []struct {
		who  string
		line string
		want string // "" = allowed
	}{
		{"alice@example.com", "deploy checkout 1 to staging", "you need DeployRelease on staging:staging for app checkout"},
		{"alice@example.com", "rollback checkout on staging to 1", "you need DeployRelease on staging:staging for app checkout"},
		{"bob@example.com", "deploy catalog 1 to production", "you need DeployRelease on production:production-de for app catalog"},
		{"bob@example.com", `deploy checkout 1 to production --lock "pin"`, "you need CreateLock on production:production-de"},
		{"alice@example.com", "unlock keep-me", "you need DeleteLock on staging:staging"},
		{"carol@example.com", `lock staging "x"`, "you have no role"},
		{"bob@example.com", `lock team shop on staging "x"`, "you need CreateLock on staging:staging"},
		{"bob@example.com", "deploy checkout 1 to production", ""},
		{"alice@example.com", `lock catalog on production "x"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.who+" "+tt.line, func(t *testing.T) {
			before := f.snapshot()
			rep := f.h.Execute(context.Background(), commands.Request{Actor: user(tt.who), Via: deploy.ViaConsole, Text: tt.line})
			if tt.want == "" {
				if !rep.OK() {
					t.Fatalf("%s: %s %s, want allowed", tt.line, rep.Outcome, reply.Text(rep))
				}
				return
			}
			if rep.Outcome != deploy.OutcomeDenied || !errors.Is(rep.Err, deploy.ErrDenied) || !strings.Contains(reply.Text(rep), tt.want) {
				t.Fatalf("%s: %s %q, want denied with %q", tt.line, rep.Outcome, reply.Text(rep), tt.want)
			}
			if after := f.snapshot(); after != before {
				t.Errorf("a denied command changed state:\nbefore %s\nafter  %s", before, after)
			}
			log := f.auditLog(deploy.AuditFilter{Limit: 1})
			if len(log) != 1 || log[0].Outcome != deploy.OutcomeDenied || log[0].Command != tt.line || log[0].Actor.Email != tt.who {
				t.Errorf("last audit entry = %+v; want the denial", log)
			}
		})
	}
	// A member of @platform may delete locks; the Slack adapter passes user groups.
	if rep := f.h.Execute(context.Background(), commands.Request{Actor: user("dana@example.com"), Via: deploy.ViaConsole, Text: "unlock keep-me"}); rep.Outcome != deploy.OutcomeDenied {
		t.Errorf("dana without groups: %s", rep.Outcome)
	}
}

func TestTeamPermissions(t *testing.T) {
	f := newFixture(t)
	f.mustRelease("checkout", "shop", 1)
	f.mustRelease("payments", "pay", 1)
	withPolicy(t, f, map[string][]string{"shop": {"alice@example.com"}})
	alice := user("alice@example.com")
	rep := f.h.Execute(context.Background(), commands.Request{Actor: alice, Via: deploy.ViaConsole, Text: `lock payments on staging "x"`})
	if rep.Outcome != deploy.OutcomeDenied || !strings.Contains(reply.Text(rep), "member of team pay") {
		t.Errorf("lock payments: %s %q", rep.Outcome, reply.Text(rep))
	}
	if rep := f.h.Execute(context.Background(), commands.Request{Actor: alice, Via: deploy.ViaConsole, Text: `lock checkout on staging "x"`}); !rep.OK() {
		t.Errorf("lock checkout: %s %q", rep.Outcome, reply.Text(rep))
	}
}

func TestReleasePermissions(t *testing.T) {
	f := newFixture(t)
	withPolicy(t, f, nil)
	req := commands.ReleaseRequest{Application: "checkout", Version: "1", Manifests: map[string]string{"development": "a: 1"}}
	// The author headers name an admin; permissions come from the token only.
	req.Author = user("alice@example.com")
	anon := deploy.Actor{Kind: deploy.ActorAPI, ID: "token:anonymous", Name: "alice", Email: "alice@example.com"}
	res := f.h.CreateRelease(context.Background(), commands.Request{Actor: anon, Via: deploy.ViaAPI}, req)
	if !errors.Is(res.Err, deploy.ErrDenied) || !strings.Contains(reply.Text(res), "you have no role") {
		t.Fatalf("anonymous release: %s %q", res.Outcome, reply.Text(res))
	}
	if st := f.state(); len(st.Apps) != 0 {
		t.Fatalf("a denied release was stored: %v", st.Apps)
	}
	ci := deploy.Actor{Kind: deploy.ActorAPI, ID: "token:ci", Name: "CI"}
	res = f.h.CreateRelease(context.Background(), commands.Request{Actor: ci, Via: deploy.ViaAPI}, req)
	if !res.OK() {
		t.Fatal(reply.Text(res))
	}
	if diff := cmp.Diff([]deploy.Env{"development"}, res.Release.Deployed); diff != "" {
		t.Errorf("deployed (-want +got):\n%s", diff)
	}
	if res.Release.Release.CreatedBy != req.Author {
		t.Errorf("release recorded for %+v, want the author from the headers", res.Release.Release.CreatedBy)
	}
}
