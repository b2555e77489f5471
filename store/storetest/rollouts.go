package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"kuberpult/deploy"
)

// testRollouts: the latest rollout of each (env, app) is kept, replaced by a newer one and
// read back whole; those in flight are read alone; a batch with a rollout without env, app
// or state is refused whole.
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
	if err := s.SaveRollouts(ctx, first, other); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveRollouts(ctx, newer); err != nil {
		t.Fatal(err)
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
	inFlight, err := s.RolloutsInFlight(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]deploy.Rollout{newer}, inFlight); diff != "" {
		t.Errorf("RolloutsInFlight (-want +got):\n%s", diff)
	}
	for _, st := range []deploy.RolloutState{deploy.RolloutPending, deploy.RolloutProgressing, deploy.RolloutUnknown, deploy.RolloutSuccessful,
		deploy.RolloutError, deploy.RolloutUnhealthy, deploy.RolloutTimeout, deploy.RolloutSuperseded} {
		r := deploy.Rollout{Env: "states", App: deploy.App(st), State: st}
		if err := s.SaveRollouts(ctx, r); err != nil {
			t.Fatal(err)
		}
		inFlight, err := s.RolloutsInFlight(ctx)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, f := range inFlight {
			found = found || f.Env == "states" && f.App == deploy.App(st)
		}
		if found == st.Final() {
			t.Errorf("a %s rollout in flight: %v", st, found)
		}
	}
	valid := deploy.Rollout{Env: "e", App: "fine", State: deploy.RolloutPending}
	for _, bad := range []deploy.Rollout{{App: "a", State: deploy.RolloutPending}, {Env: "e", State: deploy.RolloutPending}, {Env: "e", App: "a"}} {
		if err := s.SaveRollouts(ctx, valid, bad); err == nil {
			t.Errorf("SaveRollouts(%+v) succeeded", bad)
		}
	}
	all, err := s.Rollouts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range all {
		if r.App == "fine" {
			t.Errorf("a refused batch saved %+v", r)
		}
	}
}

// testCommitActions: the newest action a commit carried is found by its hash or a prefix
// of it, in any case; a commit nobody pushed has none.
func testCommitActions(t *testing.T, s Store) {
	ctx := t.Context()
	const a, b = "aaaaaaa1aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbb2bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	id1, _, _ := deployWithRepo(t, s, 1, 1)
	id2, _, _ := deployWithRepo(t, s, 2, 2)
	id3, _, _ := deployWithRepo(t, s, 3, 3)
	if _, ok, err := s.LastActionOfCommit(ctx, a); ok || err != nil {
		t.Errorf("before the push: %v, %v", ok, err)
	}
	if err := s.MarkPushed(ctx, []deploy.Pushed{{ID: id1, Commit: a}, {ID: id2, Commit: b}, {ID: id3, Commit: b}}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		rev  string
		want int64
		ok   bool
	}{{a, id1, true}, {b, id3, true}, {"BBBBBBB2", id3, true}, {"aaaaaaa1", id1, true}, {"aaaaaaa2", 0, false}, {"c" + a[1:], 0, false}, {"", 0, false}} {
		got, ok, err := s.LastActionOfCommit(ctx, tt.rev)
		if err != nil || got != tt.want || ok != tt.ok {
			t.Errorf("LastActionOfCommit(%q) = %d, %v, %v; want %d, %v", tt.rev, got, ok, err, tt.want, tt.ok)
		}
	}
}

// testUntrackedPushes: a pushed deployment no rollout follows is found (as its push event),
// not when it is not pushed yet, older than asked, or followed by a rollout of its action or
// a later one.
func testUntrackedPushes(t *testing.T, s Store) {
	ctx := t.Context()
	untracked := func(since time.Time) []deploy.PushEvent {
		t.Helper()
		evs, err := s.UntrackedPushes(ctx, since)
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}
	id1, d1, _ := deployWithRepo(t, s, 1, 1)
	if evs := untracked(at(0)); len(evs) != 0 {
		t.Errorf("before the push: %+v", evs)
	}
	const c = "cccccccccccccccccccccccccccccccccccccccc"
	if err := s.MarkPushed(ctx, []deploy.Pushed{{ID: id1, Commit: c}}); err != nil {
		t.Fatal(err)
	}
	want := []deploy.PushEvent{{ActionID: id1, Commit: c, Time: d1.Time.UTC(), Carried: []deploy.Carried{{Env: "staging", App: "checkout", Version: 1}}}}
	if diff := cmp.Diff(want, untracked(at(0))); diff != "" {
		t.Errorf("untracked (-want +got):\n%s", diff)
	}
	if evs := untracked(at(2)); len(evs) != 0 {
		t.Errorf("pushes since a later time: %+v", evs)
	}
	older := deploy.Rollout{Env: "staging", App: "checkout", Version: 0, Commit: "b", ActionID: id1 - 1, State: deploy.RolloutSuccessful}
	if err := s.SaveRollouts(ctx, older); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, untracked(at(0))); diff != "" {
		t.Errorf("with an older rollout (-want +got):\n%s", diff)
	}
	followed := deploy.Rollout{Env: "staging", App: "checkout", Version: 1, Commit: c, ActionID: id1, State: deploy.RolloutPending}
	if err := s.SaveRollouts(ctx, followed); err != nil {
		t.Fatal(err)
	}
	if evs := untracked(at(0)); len(evs) != 0 {
		t.Errorf("a followed push: %+v", evs)
	}
}
