package commands_test

import (
	"errors"
	"strings"
	"testing"

	"kuberpult/commands"
	"kuberpult/deploy"
	"kuberpult/reply"
)

// TestUnlockedHeldAttemptWaitsForAPerson: a held auto-deploy whose lock is removed no
// longer names the lock: it waits, says how to deploy it by hand, and is never deployed by
// itself.
func TestUnlockedHeldAttemptWaitsForAPerson(t *testing.T) {
	f := newFixture(t)
	f.mustRelease("checkout", "shop", 1)
	f.mustExec(`lock development "broken tests" --id dev-freeze`)
	f.mustRelease("checkout", "shop", 2)
	if text := reply.Text(f.mustExec("status")); !strings.Contains(text, "✋2") {
		t.Fatalf("status while locked:\n%s", text)
	}
	f.mustExec("unlock dev-freeze")
	st := f.state()
	h, ok := st.HeldOn("development", "checkout")
	if !ok || len(h.By) != 0 || h.Reason != "waiting — lock removed; deploy by hand: `deploy checkout 2 to development`" {
		t.Errorf("held after the unlock: %+v (ok %v)", h, ok)
	}
	if got := f.versions("checkout")["development"]; got != 1 {
		t.Errorf("development runs %d after the unlock, want 1 (unlocking never deploys)", got)
	}
	text := reply.Text(f.mustExec("status"))
	if !strings.Contains(text, "⏸2") || strings.Contains(text, "✋2") || !strings.Contains(text, "⏸ checkout 2 on development: waiting — lock removed") {
		t.Errorf("status after the unlock:\n%s", text)
	}
	f.mustExec("deploy checkout 2 to development")
	if _, ok := f.state().HeldOn("development", "checkout"); ok {
		t.Error("the waiting attempt outlived the deploy by hand")
	}
}

// TestEmptyManifestsAreRefused: a manifest with nothing in it (empty, only "---" or
// comments) would make Argo CD delete everything the app runs: refused, nothing written.
func TestEmptyManifestsAreRefused(t *testing.T) {
	f := newFixture(t)
	for _, m := range []string{"", "   \n", "---\n", "# nothing\n---\n# here\n", "--- \n...\n"} {
		req := releaseReq("checkout", "shop", 1, "development")
		req.Manifests["development"] = m
		res := f.h.CreateRelease(t.Context(), commands.Request{Actor: ci, Via: deploy.ViaAPI}, req)
		if !errors.Is(res.Err, deploy.ErrInvalid) || !strings.Contains(reply.Text(res), "manifests[development] is empty") {
			t.Errorf("manifest %q: %v %s", m, res.Err, reply.Text(res))
		}
	}
	if len(f.state().Apps) != 0 {
		t.Error("a refused release was recorded")
	}
}

// TestLockIDsNameOneLock: a chosen lock id that already names a lock of another kind is
// refused (unlock <id> would remove both); the same lock again replaces it, and the same
// kind of lock may have the id on several environments. Messages are limited. Unlocking by id is audited on the
// environment (or group) of the locks.
func TestLockIDsNameOneLock(t *testing.T) {
	f := newFixture(t)
	f.mustRelease("checkout", "shop", 1)
	f.mustExec(`lock production "release freeze" --id freeze`)
	f.mustExec(`lock production "release freeze, longer" --id freeze`)
	if n := len(f.state().Locks); n != 2 {
		t.Errorf("%d locks, want the group's 2", n)
	}
	for line, want := range map[string]string{
		`lock checkout on production "x" --id freeze`:                           "lock id freeze already names the environment lock on production-de by Alice",
		`lock team shop on staging "x" --id freeze`:                             "lock id freeze already names the environment lock on production-de",
		`lock production-de "x" --id freeze`:                                    "",
		`lock staging "` + strings.Repeat("x", 1001) + `"`:                      "the lock message is 1001 characters long; at most 1000 are allowed",
		`deploy checkout to staging --lock "` + strings.Repeat("y", 1001) + `"`: "the lock message is 1001 characters long",
	} {
		res := f.exec(line)
		if want == "" {
			if !res.OK() {
				t.Errorf("%.40s: %s", line, reply.Text(res))
			}
			continue
		}
		if res.OK() || !strings.Contains(reply.Text(res), want) {
			t.Errorf("%.40s: %s %q, want %q", line, res.Outcome, reply.Text(res), want)
		}
	}
	if n := len(f.state().Locks); n != 2 {
		t.Errorf("%d locks after the refusals, want 2", n)
	}

	f.mustExec("unlock freeze")
	if text := reply.Text(f.mustExec("audit --env production-de")); !strings.Contains(text, "unlock freeze") {
		t.Errorf("audit --env production-de does not find the unlock:\n%s", text)
	}
	f.mustExec(`lock staging "ci" --id ci-lock`) // the same kind of lock on several environments, as CI does it
	f.mustExec(`lock production-de "ci" --id ci-lock`)
	if n := len(f.state().Locks); n != 2 {
		t.Errorf("%d locks, want 2", n)
	}
}

// TestDisplayVersions: a release's display version works wherever a version does.
func TestDisplayVersions(t *testing.T) {
	f := newFixture(t)
	for v, display := range map[int]string{1: "1.1.0", 2: "1.2.0"} {
		req := releaseReq("checkout", "shop", v)
		req.DisplayVersion = display
		if res := f.h.CreateRelease(t.Context(), commands.Request{Actor: ci, Via: deploy.ViaAPI}, req); !res.OK() {
			t.Fatal(reply.Text(res))
		}
	}
	f.mustExec("deploy checkout 1.1.0 to staging")
	f.mustExec("deploy checkout v1.2.0 to staging")
	if got := f.versions("checkout")["staging"]; got != 2 {
		t.Errorf("staging runs %d, want 2 (v1.2.0)", got)
	}
	f.mustExec("rollback checkout on staging to v1.1.0")
	if got := f.versions("checkout")["staging"]; got != 1 {
		t.Errorf("staging runs %d after the rollback to v1.1.0, want 1", got)
	}
	if res := f.exec("deploy checkout v9.9 to staging"); !errors.Is(res.Err, deploy.ErrNotFound) || !strings.Contains(reply.Text(res), "checkout has no release v9.9") {
		t.Errorf("unknown display version: %s", reply.Text(res))
	}
}

// TestHistoryOnAGroup: `history <app> on <group>` lists the deployments of every environment
// of the group, newest first.
func TestHistoryOnAGroup(t *testing.T) {
	f := newFixture(t)
	f.mustRelease("checkout", "shop", 1)
	f.mustRelease("checkout", "shop", 2)
	f.mustExec("deploy checkout 1 to production")
	f.mustExec("deploy checkout 2 to production-jp")
	res := f.mustExec("history checkout on production")
	var got []string
	for _, d := range res.History {
		got = append(got, string(d.Env)+"="+d.Version.String())
	}
	if strings.Join(got, " ") != "production-jp=2 production-de=1 production-jp=1" {
		t.Errorf("history on production: %v", got)
	}
	if !strings.Contains(reply.Text(res), "Deployments of checkout on production, newest first") {
		t.Errorf("text: %s", reply.Text(res))
	}
}
