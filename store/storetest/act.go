package storetest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"kuberpult/deploy"
)

func testPing(t *testing.T, s Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func testDuplicateRelease(t *testing.T, s Store) {
	ctx := t.Context()
	r1 := release("checkout", 1, "payments", map[deploy.Env]string{"development": "a: 1\n"})
	act(t, s, deploy.Change{Releases: []deploy.Release{r1}, Audit: auditEntry("release 1", 1)})
	before := take(t, s, "checkout")

	r2 := release("checkout", 2, "other", map[deploy.Env]string{"development": "a: 2\n"})
	changes := map[string]deploy.Change{
		"existing release": {
			Releases:    []deploy.Release{r2, r1},
			Deployments: []deploy.Deployment{deployment("development", "checkout", 2, 3)},
			Held:        []deploy.Held{held("staging", "checkout", 2, 3, lock(deploy.LockEnv, "freeze", "staging", 3))},
			CreateLocks: []deploy.Lock{lock(deploy.LockEnv, "freeze", "staging", 3)},
			Owners:      []deploy.AppTeam{{App: "checkout", Team: "other"}},
			EnvConfigs:  []deploy.EnvConfigChange{{Env: "staging", Config: deploy.EnvConfig{Group: "g"}}},
			Repo:        repoChange("deploy checkout 2", 3),
			Audit:       auditEntry("release 1 again", 3),
		},
		"same release twice in one change": {
			Releases:    []deploy.Release{r2, r2},
			Deployments: []deploy.Deployment{deployment("development", "checkout", 2, 3)},
			Repo:        repoChange("deploy checkout 2", 3),
			Audit:       auditEntry("release 2 twice", 3),
		},
	}
	for name, c := range changes {
		t.Run(name, func(t *testing.T) {
			key := deploy.RequestKey{Key: "key-" + name, Fingerprint: "fp"}
			rec, replayed, err := s.Act(ctx, key, decide(c))
			if !errors.Is(err, deploy.ErrConflict) {
				t.Fatalf("Act error = %v, want one wrapping ErrConflict", err)
			}
			if rec.ActionID != 0 || rec.Result != nil || replayed {
				t.Errorf("Act = %+v, %v; want nothing", rec, replayed)
			}
			if msg, ok := deploy.UserMessage(err); !ok || !strings.Contains(msg, "checkout") {
				t.Errorf("Act error %q has no user message naming the release", err)
			}
			unchanged(t, s, before, "checkout")
			// The key was not recorded either: the same request acts now.
			calls := 0
			_, replayed, err = s.Act(ctx, key, func(context.Context, deploy.View) (deploy.Decided, error) {
				calls++
				return deploy.Decided{Change: deploy.Change{Audit: auditEntry("retry", 4)}}, nil
			})
			if err != nil || replayed || calls != 1 {
				t.Errorf("Act with the key again = replayed %v, %d calls, %v; want a new action", replayed, calls, err)
			}
			before = take(t, s, "checkout")
		})
	}
}

func testActView(t *testing.T, s Store) {
	act(t, s, deploy.Change{
		Releases:    []deploy.Release{release("checkout", 1, "payments", nil)},
		Deployments: []deploy.Deployment{deployment("staging", "checkout", 1, 1)},
		Audit:       auditEntry("deploy 1", 1),
	})
	// deployNext deploys the next version of what it sees on staging.
	deployNext := func(seen *deploy.Version) func(context.Context, deploy.View) (deploy.Decided, error) {
		return func(ctx context.Context, v deploy.View) (deploy.Decided, error) {
			st, err := v.State(ctx, deploy.Query{Envs: []deploy.Env{"staging"}, Apps: []deploy.App{"checkout"}})
			if err != nil {
				return deploy.Decided{}, err
			}
			d, _ := st.Deployed("staging", "checkout")
			*seen = d.Version
			next := d.Version + 1
			return deploy.Decided{Change: deploy.Change{
				Releases:    []deploy.Release{release("checkout", next, "", nil)},
				Deployments: []deploy.Deployment{deployment("staging", "checkout", next, int(next))},
				Audit:       auditEntry("deploy next", int(next)),
			}}, nil
		}
	}
	var seen2, seen3 deploy.Version
	read(t, s, func(ctx context.Context, v deploy.View) error {
		before, err := v.State(ctx, deploy.Everything)
		if err != nil {
			return err
		}
		// An action while a snapshot is open decides on the newest state, and the
		// snapshot does not see it.
		if _, _, err := s.Act(ctx, deploy.RequestKey{}, deployNext(&seen2)); err != nil {
			return err
		}
		if _, _, err := s.Act(ctx, deploy.RequestKey{}, deployNext(&seen3)); err != nil {
			return err
		}
		after, err := v.State(ctx, deploy.Everything)
		if err != nil {
			return err
		}
		if diff := cmp.Diff(before, after); diff != "" {
			t.Errorf("a View's snapshot changed while actions were taken (-before +after):\n%s", diff)
		}
		return nil
	})
	if seen2 != 1 || seen3 != 2 {
		t.Errorf("actions saw versions %d and %d on staging, want 1 and 2", seen2, seen3)
	}
	if d, _ := state(t, s, deploy.Everything).Deployed("staging", "checkout"); d.Version != 3 {
		t.Errorf("staging runs checkout %d, want 3", d.Version)
	}
}

func testActError(t *testing.T, s Store) {
	ctx := t.Context()
	act(t, s, deploy.Change{Releases: []deploy.Release{release("checkout", 1, "payments", nil)}, Audit: auditEntry("r", 1)})
	before := take(t, s, "checkout")
	boom := errors.New("boom")
	for name, fnErr := range map[string]error{
		"internal": boom,
		"user":     deploy.Deniedf("you may not deploy checkout to production"),
	} {
		t.Run(name, func(t *testing.T) {
			key := deploy.RequestKey{Key: "k-" + name, Fingerprint: "f"}
			_, _, err := s.Act(ctx, key, func(ctx context.Context, v deploy.View) (deploy.Decided, error) {
				if _, _, err := v.App(ctx, "checkout"); err != nil {
					return deploy.Decided{}, err
				}
				return deploy.Decided{Change: deploy.Change{
					Deployments: []deploy.Deployment{deployment("staging", "checkout", 1, 2)},
					Audit:       auditEntry("deploy", 2),
				}}, fnErr
			})
			if !errors.Is(err, fnErr) {
				t.Errorf("Act error = %v, want one wrapping %v", err, fnErr)
			}
			if want, ok := deploy.UserMessage(fnErr); ok {
				if got, _ := deploy.UserMessage(err); got != want {
					t.Errorf("user message = %q, want %q", got, want)
				}
			}
			unchanged(t, s, before, "checkout")
			calls := 0
			_, replayed, err := s.Act(ctx, key, func(context.Context, deploy.View) (deploy.Decided, error) {
				calls++
				return deploy.Decided{}, boom
			})
			if replayed || calls != 1 || !errors.Is(err, boom) {
				t.Errorf("Act with the key of a failed action: replayed %v, %d calls, %v; want fn called", replayed, calls, err)
			}
		})
	}
}

func testRequestKeys(t *testing.T, s Store) {
	ctx := t.Context()
	calls := 0
	counting := func(c deploy.Change, result string) func(context.Context, deploy.View) (deploy.Decided, error) {
		return func(context.Context, deploy.View) (deploy.Decided, error) {
			calls++
			d := deploy.Decided{Change: c}
			if result != "" {
				d.Result = []byte(result)
			}
			return d, nil
		}
	}
	rollback := deploy.Change{
		Deployments: []deploy.Deployment{deployment("staging", "checkout", 1, 1)},
		CreateLocks: []deploy.Lock{lock(deploy.LockApp, "rollback", "staging", 1)},
		Repo:        repoChange("rollback checkout", 1),
		Audit:       auditEntry("rollback checkout on staging", 1),
	}
	k1 := deploy.RequestKey{Key: "slack:Ev01", Fingerprint: "rollback checkout on staging"}
	first, replayed, err := s.Act(ctx, k1, counting(rollback, `{"rolled":"2->1"}`))
	if err != nil || replayed {
		t.Fatalf("first Act = %v, %v", replayed, err)
	}
	want := deploy.Recorded{ActionID: first.ActionID, Result: []byte(`{"rolled":"2->1"}`), Time: at(1)}
	if diff := cmp.Diff(want, first); diff != "" {
		t.Errorf("first Act (-want +got):\n%s", diff)
	}
	before := take(t, s, "checkout")

	again, replayed, err := s.Act(ctx, k1, counting(rollback, "other"))
	if err != nil || !replayed {
		t.Fatalf("repeated Act = replayed %v, %v; want the recorded outcome", replayed, err)
	}
	if diff := cmp.Diff(want, again); diff != "" {
		t.Errorf("repeated Act (-want +got):\n%s", diff)
	}
	unchanged(t, s, before, "checkout")

	_, _, err = s.Act(ctx, deploy.RequestKey{Key: k1.Key, Fingerprint: "deploy checkout 3 to staging"}, counting(rollback, ""))
	if !errors.Is(err, deploy.ErrConflict) {
		t.Errorf("Act with a used key for another request: error %v, want one wrapping ErrConflict", err)
	}
	msg, ok := deploy.UserMessage(err)
	if !ok || !strings.Contains(msg, k1.Key) || strings.Contains(msg, k1.Fingerprint) {
		t.Errorf("user message %q (%v) must name the key %q and not the fingerprints", msg, ok, k1.Key)
	}
	if calls != 1 {
		t.Errorf("fn called %d times, want once: a recorded key never decides again", calls)
	}
	unchanged(t, s, before, "checkout")

	// No result is replayed as no result; a later request key acts.
	k2 := deploy.RequestKey{Key: "console:2", Fingerprint: "status"}
	status := deploy.Change{Audit: auditEntry("status", 3)}
	second, _, err := s.Act(ctx, k2, counting(status, ""))
	if err != nil {
		t.Fatal(err)
	}
	replay, replayed, err := s.Act(ctx, k2, counting(status, ""))
	if err != nil || !replayed {
		t.Fatalf("repeated Act = replayed %v, %v", replayed, err)
	}
	if diff := cmp.Diff(deploy.Recorded{ActionID: second.ActionID, Time: at(3)}, replay); diff != "" {
		t.Errorf("replay without result (-want +got):\n%s", diff)
	}
	if second.ActionID <= first.ActionID {
		t.Errorf("action ids %d then %d do not grow", first.ActionID, second.ActionID)
	}

	// Without a key nothing is deduplicated.
	for range 2 {
		if _, replayed, err := s.Act(ctx, deploy.RequestKey{}, counting(status, "")); err != nil || replayed {
			t.Errorf("Act without key = replayed %v, %v", replayed, err)
		}
	}
	if calls != 4 {
		t.Errorf("fn called %d times, want 4", calls)
	}

	// Pruning forgets records older than the cut, and then the request acts again.
	n, err := s.PruneRequests(ctx, at(2))
	if err != nil || n != 1 {
		t.Errorf("PruneRequests = %d, %v; want 1", n, err)
	}
	if _, replayed, err := s.Act(ctx, k1, counting(deploy.Change{Audit: auditEntry("again", 4)}, "")); err != nil || replayed {
		t.Errorf("Act with a pruned key = replayed %v, %v; want a new action", replayed, err)
	}
	if _, replayed, err := s.Act(ctx, k2, counting(status, "")); err != nil || !replayed {
		t.Errorf("Act with a kept key = replayed %v, %v; want the recorded outcome", replayed, err)
	}
	if n, err := s.PruneRequests(ctx, at(0)); err != nil || n != 0 {
		t.Errorf("PruneRequests(nothing older) = %d, %v; want 0", n, err)
	}
}
