package storetest

import (
	"context"
	"errors"
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
	err = s.View(ctx, func(ctx context.Context, v deploy.View) error {
		mine, err := v.Rollouts(ctx, "checkout")
		if err == nil && !cmp.Equal([]deploy.Rollout{other, newer}, mine) {
			t.Errorf("View.Rollouts(checkout) (-want +got):\n%s", cmp.Diff([]deploy.Rollout{other, newer}, mine))
		}
		none, err2 := v.Rollouts(ctx, "cart")
		if err2 == nil && len(none) != 0 {
			t.Errorf("View.Rollouts(cart) = %v", none)
		}
		return errors.Join(err, err2)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []deploy.Rollout{{App: "a", State: deploy.RolloutPending}, {Env: "e", State: deploy.RolloutPending}, {Env: "e", App: "a"}} {
		if err := s.SaveRollout(ctx, bad); err == nil {
			t.Errorf("SaveRollout(%+v) succeeded", bad)
		}
	}
}
