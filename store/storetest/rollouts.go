package storetest

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"kuberpult/deploy"
)

// testRollouts: the latest rollout of each (env, app) is kept, replaced by a newer one and
// read back whole; a rollout without env, app or state is refused.
func testRollouts(t *testing.T, s Store) {
	ctx := t.Context()
	if rs, err := s.Rollouts(ctx); err != nil || len(rs) != 0 {
		t.Fatalf("Rollouts on an empty store = %v, %v", rs, err)
	}
	first := deploy.Rollout{Env: "staging", App: "checkout", Version: 1, Commit: "c1", ActionID: 7, State: deploy.RolloutPending, Pushed: at(1).UTC()}
	other := deploy.Rollout{Env: "development", App: "checkout", Version: 2, Commit: "c2", ActionID: 8, State: deploy.RolloutSuccessful,
		Pushed: at(2).UTC(), Checked: at(4).UTC(), Changed: at(4).UTC(), Steady: at(3).UTC(), Message: "healthy"}
	newer := first
	newer.Version, newer.Commit, newer.State = 2, "c3", deploy.RolloutProgressing
	for _, r := range []deploy.Rollout{first, other, newer} {
		if err := s.SaveRollout(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Rollouts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]deploy.Rollout{other, newer}, got); diff != "" {
		t.Errorf("Rollouts (-want +got):\n%s", diff)
	}
	for _, bad := range []deploy.Rollout{{App: "a", State: deploy.RolloutPending}, {Env: "e", State: deploy.RolloutPending}, {Env: "e", App: "a"}} {
		if err := s.SaveRollout(ctx, bad); err == nil {
			t.Errorf("SaveRollout(%+v) succeeded", bad)
		}
	}
}
