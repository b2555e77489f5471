package commands_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"kuberpult/commands"
	"kuberpult/deploy"
	"kuberpult/policy"
	"kuberpult/reply"
	"kuberpult/store"
)

// keyed runs a command line with an idempotency key.
func (f *fixture) keyed(key, line string) commands.Result {
	f.t.Helper()
	return f.h.Execute(context.Background(), commands.Request{Actor: alice, Via: deploy.ViaConsole, Text: line, Key: key})
}

// effects is what an action may change: deployments, locks, held attempts, outbox, audit.
func (f *fixture) effects() string {
	f.t.Helper()
	st := f.state()
	return fmt.Sprintf("%v|%v|%v|outbox %d|audit %d", st.Deployments, st.Locks, st.Held, len(f.pending()), len(f.auditLog(deploy.AuditFilter{})))
}

func TestEveryVerbTwiceWithTheSameKeyActsOnce(t *testing.T) {
	for _, line := range []string{
		"deploy checkout 1 to staging",
		"deploy checkout 1 to production --force",
		`deploy checkout 2 to staging --lock "pin"`,
		"rollback checkout on development to 1",
		`lock staging "tests"`,
		`lock checkout on production "x" --id pin`,
		"unlock freeze",
		"unlock checkout on production-de",
		"deploy checkout 1 to production-de", // asks: the lock
		"deploy checkout 9 to staging",       // refused: no such release
	} {
		t.Run(line, func(t *testing.T) {
			f := newFixture(t)
			f.mustRelease("checkout", "shop", 1)
			f.mustRelease("checkout", "shop", 2)
			f.mustExec(`lock development "x" --id freeze`)
			f.mustExec(`lock checkout on production-de "y"`)
			first := f.keyed("k1", line)
			after := f.effects()
			notified := f.notified
			f.now = f.now.Add(time.Hour) // "ago" texts would differ if the answer were made again
			second := f.keyed("k1", line)
			{
				if !second.Replayed {
					t.Errorf("second answer is not marked as replayed")
				}
				if got := f.effects(); got != after {
					t.Errorf("the repeat changed something:\nafter first  %s\nafter second %s", after, got)
				}
				if f.notified != notified {
					t.Errorf("the repeat woke the git writer")
				}
			}
			opts := cmp.Options{cmpopts.IgnoreFields(commands.Result{}, "Replayed", "Err"), cmpopts.EquateEmpty()}
			if diff := cmp.Diff(first, second, opts); diff != "" {
				t.Errorf("answers differ (-first +second):\n%s", diff)
			}
			if !strings.Contains(reply.Text(second), "nothing was done again") {
				t.Errorf("the second answer does not say it was answered before:\n%s", reply.Text(second))
			}
			if (first.Err == nil) != (second.Err == nil) || (first.Err != nil && !errors.Is(second.Err, errKind(first.Err))) {
				t.Errorf("errors differ: %v / %v", first.Err, second.Err)
			}
		})
	}
}

func errKind(err error) error {
	for _, k := range []error{deploy.ErrDenied, deploy.ErrNotFound, deploy.ErrConflict, deploy.ErrInvalid} {
		if errors.Is(err, k) {
			return k
		}
	}
	return err
}

func TestReleaseWithKeyAndKeyReuse(t *testing.T) {
	f := newFixture(t)
	r := commands.Request{Actor: ci, Via: deploy.ViaAPI, Key: "token:ci:build-7"}
	first := f.h.CreateRelease(context.Background(), r, releaseReq("checkout", "shop", 1))
	second := f.h.CreateRelease(context.Background(), r, releaseReq("checkout", "shop", 1))
	if first.Release.Outcome != commands.ReleaseCreated || second.Release.Outcome != commands.ReleaseCreated || !second.Replayed {
		t.Errorf("outcomes %s, %s (replayed %v): want the first answer twice", first.Release.Outcome, second.Release.Outcome, second.Replayed)
	}
	if n := len(f.pending()); n != 1 {
		t.Errorf("%d outbox entries, want 1", n)
	}
	// The same key for another request is refused and changes nothing.
	before := f.effects()
	other := f.h.CreateRelease(context.Background(), r, releaseReq("checkout", "shop", 2))
	if !errors.Is(other.Err, deploy.ErrConflict) || !strings.Contains(reply.Text(other), "build-7") {
		t.Errorf("key reuse: %s %q, want a conflict naming the key", other.Outcome, reply.Text(other))
	}
	if got := f.effects(); !strings.HasPrefix(got, strings.Split(before, "|audit")[0]) {
		t.Errorf("key reuse changed state:\n%s\n%s", before, got)
	}
	// Keys are scoped by entry point: the same key from the console is another request.
	if res := f.keyed("token:ci:build-7", "deploy checkout 1 to staging"); res.Replayed || !res.OK() {
		t.Errorf("console request with an API key: %s replayed=%v", res.Outcome, res.Replayed)
	}
}

func TestRollbackButtonWhoseStateMoved(t *testing.T) {
	f := newFixture(t)
	for v := 1; v <= 3; v++ {
		f.mustRelease("checkout", "shop", v)
	}
	f.mustExec("deploy checkout 2 to staging")
	// A card offered "Rollback & lock" from 2; meanwhile Bob deployed 3.
	bob := deploy.Actor{Kind: deploy.ActorUser, ID: "U2", Name: "Bob", Email: "bob@example.com"}
	f.now = f.now.Add(time.Minute)
	if res := f.h.Execute(context.Background(), commands.Request{Actor: bob, Via: deploy.ViaSlack, Text: "deploy checkout 3 to staging"}); !res.OK() {
		t.Fatal(reply.Text(res))
	}
	before := f.effects()
	f.now = f.now.Add(3 * time.Minute)
	res := f.h.Run(context.Background(), commands.Request{Actor: alice, Via: deploy.ViaSlack, Key: "click-1"},
		commands.Rollback{App: "checkout", Env: "staging", To: 1, From: 2})
	if res.Outcome != deploy.OutcomeStale || res.Stale == nil {
		t.Fatalf("result %s %q, want stale", res.Outcome, reply.Text(res))
	}
	want := "Nothing was done: checkout on staging changed since this was asked. It was expected to run 2 and now runs 3 (manual by Bob, 3m ago)."
	if diff := cmp.Diff(want, reply.Text(res)); diff != "" {
		t.Errorf("text (-want +got):\n%s", diff)
	}
	if got := f.effects(); strings.Split(got, "|audit")[0] != strings.Split(before, "|audit")[0] {
		t.Errorf("a stale click changed state")
	}
	// With the state it was made for, the same kind of click works.
	res = f.h.Run(context.Background(), commands.Request{Actor: alice, Via: deploy.ViaSlack, Key: "click-2"},
		commands.Rollback{App: "checkout", Env: "staging", To: 1, From: 3})
	if res.Outcome != deploy.OutcomeDone {
		t.Fatalf("rollback from 3: %s %q", res.Outcome, reply.Text(res))
	}
}

func TestConfirmationWhoseStateMoved(t *testing.T) {
	f := newFixture(t)
	f.mustRelease("checkout", "shop", 1)
	f.mustRelease("checkout", "shop", 2)
	f.mustExec(`lock staging "tests"`)
	ask := f.exec("deploy checkout 1 to staging")
	if ask.Confirm == nil {
		t.Fatalf("want a question, got %s", reply.Text(ask))
	}
	f.mustExec("deploy checkout 2 to staging --force")
	res := f.h.Run(context.Background(), commands.Request{Actor: alice, Via: deploy.ViaConsole}, ask.Confirm.Command)
	if res.Outcome != deploy.OutcomeStale || f.versions("checkout")["staging"] != 2 {
		t.Errorf("confirming a question whose state moved: %s %q; staging runs %d", res.Outcome, reply.Text(res), f.versions("checkout")["staging"])
	}
}

// TestTwoHandlersOnOneDatabase is what `serve` and `console` on one database do: each
// deploys different apps to one environment at the same moment, many times. Every
// deployment must survive, and every outbox entry must carry only its own change.
func TestTwoHandlersOnOneDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.db")
	open := func() *commands.Handler {
		db, err := store.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return commands.New(commands.Options{Store: db, Environments: testEnvs()})
	}
	a, b := open(), open()
	const apps, rounds = 6, 15
	for i := 0; i < apps; i++ {
		h := a
		if i%2 == 1 {
			h = b
		}
		for v := 1; v <= rounds; v++ {
			res := h.CreateRelease(context.Background(), commands.Request{Actor: ci, Via: deploy.ViaAPI}, releaseReq(fmt.Sprintf("app-%d", i), "shop", v, "staging"))
			if !res.OK() {
				t.Fatal(reply.Text(res))
			}
		}
	}
	var wg sync.WaitGroup
	errs := make(chan string, apps*rounds)
	for i := 0; i < apps; i++ {
		h := a
		if i%2 == 1 {
			h = b
		}
		wg.Add(1)
		go func(i int, h *commands.Handler) {
			defer wg.Done()
			for v := 1; v <= rounds; v++ {
				line := fmt.Sprintf("deploy app-%d %d to staging", i, v)
				res := h.Execute(context.Background(), commands.Request{Actor: alice, Via: deploy.ViaConsole, Text: line})
				if res.Outcome != deploy.OutcomeDone {
					errs <- line + ": " + reply.Text(res)
				}
			}
		}(i, h)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	st, err := a.State(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < apps; i++ {
		if d := st.Deployments["staging"][deploy.App(fmt.Sprintf("app-%d", i))]; d.Version != rounds {
			t.Errorf("app-%d runs %d on staging, want %d", i, d.Version, rounds)
		}
	}
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	pending, err := db.Pending(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != apps*rounds {
		t.Fatalf("%d outbox entries, want %d", len(pending), apps*rounds)
	}
	for i, e := range pending {
		if i > 0 && e.ID <= pending[i-1].ID {
			t.Errorf("outbox ids out of order: %d after %d", e.ID, pending[i-1].ID)
		}
		if len(e.Change.Manifests) != 1 || len(e.Change.Configs) != 0 {
			t.Errorf("entry %d is not a one-manifest delta: %+v", e.ID, e.Change)
		}
	}
}

func TestReleaseCannotTakeAnAppFromItsTeam(t *testing.T) {
	const pol = `
p, role:ci, CreateRelease, *:*, *, allow
g, token:shop-ci, role:ci
g, token:pay-ci, role:ci
g, token:platform-ci, role:ci
`
	teams := map[string][]string{"shop": {"token:shop-ci", "token:platform-ci"}, "payments": {"token:pay-ci", "token:platform-ci"}}
	for _, tt := range []struct {
		name    string
		teamsOn bool
		sender  string
		want    error
		text    string
		owner   deploy.Team
	}{
		{"other team's ci, team permissions on", true, "pay-ci", deploy.ErrDenied, "member of team shop (owner of checkout)", "shop"},
		{"member of both teams", true, "platform-ci", nil, "", "payments"},
		{"team permissions off", false, "pay-ci", deploy.ErrConflict, "checkout belongs to team shop; this release names team payments", "shop"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			p, err := policy.New(policy.Config{Policy: pol, Teams: teams, TeamPermissions: tt.teamsOn})
			if err != nil {
				t.Fatal(err)
			}
			f.h = commands.New(commands.Options{Store: f.db, Environments: testEnvs(), Policy: p, Now: func() time.Time { return f.now }})
			shop := deploy.Actor{Kind: deploy.ActorAPI, ID: "shop-ci", Name: "shop CI"}
			if res := f.h.CreateRelease(context.Background(), commands.Request{Actor: shop, Via: deploy.ViaAPI}, releaseReq("checkout", "shop", 1)); !res.OK() {
				t.Fatal(reply.Text(res))
			}
			sender := deploy.Actor{Kind: deploy.ActorAPI, ID: tt.sender, Name: tt.sender}
			before := f.effects()
			res := f.h.CreateRelease(context.Background(), commands.Request{Actor: sender, Via: deploy.ViaAPI}, releaseReq("checkout", "payments", 2))
			switch {
			case tt.want == nil && !res.OK():
				t.Fatalf("release: %s %q, want it allowed", res.Outcome, reply.Text(res))
			case tt.want != nil && (!errors.Is(res.Err, tt.want) || !strings.Contains(reply.Text(res), tt.text)):
				t.Fatalf("release: %s %q, want %v naming %q", res.Outcome, reply.Text(res), tt.want, tt.text)
			case tt.want != nil && strings.Split(f.effects(), "|audit")[0] != strings.Split(before, "|audit")[0]:
				t.Errorf("a refused take-over changed state")
			}
			if got := f.state().TeamOf("checkout"); got != tt.owner {
				t.Errorf("checkout belongs to %q, want %q", got, tt.owner)
			}
			if tt.want == nil {
				p := f.pending()
				if teams := p[len(p)-1].Change.Teams; len(teams) != 1 || teams[0].Team != "payments" {
					t.Errorf("the move is not in the env-repo change: %+v", p[len(p)-1].Change)
				}
			}
		})
	}
}

func TestVersionLimitKeepsEveryReadWorking(t *testing.T) {
	f := newFixture(t)
	f.mustRelease("checkout", "shop", 1)
	big := releaseReq("checkout", "shop", 1)
	big.Version = "9223372036854775807"
	if res := f.h.CreateRelease(context.Background(), commands.Request{Actor: ci, Via: deploy.ViaAPI}, big); !res.OK() {
		t.Fatalf("2^63-1: %s", reply.Text(res))
	}
	big.Version = "9223372036854775808"
	if res := f.h.CreateRelease(context.Background(), commands.Request{Actor: ci, Via: deploy.ViaAPI}, big); !errors.Is(res.Err, deploy.ErrInvalid) {
		t.Fatalf("2^63: %s %s, want invalid", res.Outcome, reply.Text(res))
	}
	for _, line := range []string{"status", "status checkout", "history checkout", "envs", "locks", "deploy checkout 1 to staging", "audit"} {
		if res := f.exec(line); !res.OK() {
			t.Errorf("%s after a release at the limit: %s", line, reply.Text(res))
		}
	}
	if got := f.versions("checkout")["development"]; got != deploy.MaxVersion {
		t.Errorf("development runs %d, want %d", got, deploy.MaxVersion)
	}
}

func TestUnlockWordThatIsBothEnvironmentAndLockID(t *testing.T) {
	f := newFixture(t)
	f.mustRelease("checkout", "shop", 1)
	f.mustExec(`lock staging "env lock"`)
	f.mustExec(`lock checkout on production-de "named like an env" --id staging`)
	res := f.exec("unlock staging")
	if res.Outcome != deploy.OutcomeConfirm || res.Choice == nil || len(res.Choice.Options) != 2 {
		t.Fatalf("unlock staging: %s %q, want a question", res.Outcome, reply.Text(res))
	}
	if len(f.state().Locks) != 2 {
		t.Fatal("the question removed a lock")
	}
	text := reply.Text(res)
	for _, want := range []string{"`staging` is both an environment and a lock id", "`unlock env staging`", "`unlock --id staging`"} {
		if !strings.Contains(text, want) {
			t.Errorf("question lacks %q:\n%s", want, text)
		}
	}
	done := f.h.Run(context.Background(), commands.Request{Actor: alice, Via: deploy.ViaConsole}, res.Choice.Options[1].Command)
	if !done.OK() || len(done.Unlocked) != 1 || done.Unlocked[0].Kind != deploy.LockApp {
		t.Fatalf("unlock --id staging: %s", reply.Text(done))
	}
	// Now only the environment has a lock called so: no question.
	if res := f.exec("unlock staging"); !res.OK() || len(res.Unlocked) != 1 || res.Unlocked[0].Kind != deploy.LockEnv {
		t.Errorf("unlock staging: %s", reply.Text(res))
	}
}

func TestExactUnlock(t *testing.T) {
	f := newFixture(t)
	f.mustRelease("checkout", "shop", 1)
	f.mustExec(`lock staging "a" --id one`)
	f.mustExec(`lock staging "b" --id two`)
	res := f.exec("unlock staging --id one")
	if !res.OK() || len(res.Unlocked) != 1 || res.Unlocked[0].ID != "one" {
		t.Fatalf("unlock staging --id one: %s", reply.Text(res))
	}
	if ls := f.state().EnvLocks("staging"); len(ls) != 1 || ls[0].ID != "two" {
		t.Errorf("locks left: %+v", ls)
	}
	res = f.exec("unlock staging --id one")
	if res.Outcome != deploy.OutcomeNoop || reply.Text(res) != "no env lock `one` on staging; nothing to do" {
		t.Errorf("again: %s %q", res.Outcome, reply.Text(res))
	}
}

func TestAuditSinceIsBounded(t *testing.T) {
	f := newFixture(t)
	res := f.exec("audit --since 20000w")
	if res.Outcome != deploy.OutcomeInvalid || !strings.Contains(reply.Text(res), "at most 521w") {
		t.Errorf("audit --since 20000w: %s %q", res.Outcome, reply.Text(res))
	}
	if res := f.exec("audit --since 521w"); !res.OK() {
		t.Errorf("audit --since 521w: %s", reply.Text(res))
	}
}
