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
