package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"kuberpult/deploy"
)

func testLeases(t *testing.T, s Store) {
	ctx := t.Context()
	sec := func(n int) time.Time { return T0.Add(time.Duration(n) * time.Second) }
	lease := func(holder string, priority int, epoch int64, expires time.Time) deploy.Lease {
		return deploy.Lease{Name: "envrepo", Holder: holder, Priority: priority, Epoch: epoch, Expires: expires}
	}
	if _, ok, err := s.Lease(ctx, "envrepo"); ok || err != nil {
		t.Errorf("Lease of a fresh store = %v, %v; want none", ok, err)
	}

	steps := []struct {
		name     string
		holder   string
		priority int
		now      int
		want     deploy.Lease
		ours     bool
	}{
		{"free", "console-1", 0, 0, lease("console-1", 0, 1, sec(30)), true},
		{"held by another of the same priority", "console-2", 0, 10, lease("console-1", 0, 1, sec(30)), false},
		{"own: renewed, same epoch", "console-1", 0, 20, lease("console-1", 0, 1, sec(50)), true},
		{"expiring exactly now", "console-2", 0, 50, lease("console-2", 0, 2, sec(80)), true},
		{"lower priority is taken over", "serve-1", 1, 60, lease("serve-1", 1, 3, sec(90)), true},
		{"equal priority is refused", "serve-2", 1, 61, lease("serve-1", 1, 3, sec(90)), false},
		{"higher priority is refused", "console-1", 0, 62, lease("serve-1", 1, 3, sec(90)), false},
	}
	for _, st := range steps {
		got, ours, err := s.AcquireLease(ctx, "envrepo", st.holder, st.priority, sec(st.now), ttl)
		if err != nil {
			t.Fatalf("%s: AcquireLease: %v", st.name, err)
		}
		if diff := cmp.Diff(st.want, got); diff != "" || ours != st.ours {
			t.Errorf("%s: AcquireLease = ours %v (want %v) (-want +got):\n%s", st.name, ours, st.ours, diff)
		}
	}
	serve := lease("serve-1", 1, 3, sec(90))
	if got, ok, err := s.Lease(ctx, "envrepo"); err != nil || !ok || !cmp.Equal(serve, got) {
		t.Errorf("Lease = %+v, %v, %v; want %+v", got, ok, err, serve)
	}

	// The console lost it: renewing fails, releasing changes nothing.
	lost := lease("console-2", 0, 2, sec(80))
	if _, err := s.RenewLease(ctx, lost, sec(63), ttl); !errors.Is(err, deploy.ErrLeaseLost) {
		t.Errorf("RenewLease after a take-over: error %v, want one wrapping ErrLeaseLost", err)
	}
	if err := s.ReleaseLease(ctx, lost); err != nil {
		t.Errorf("ReleaseLease of a lost lease: %v", err)
	}
	// An expired lease nobody took over is still ours to renew.
	renewed, err := s.RenewLease(ctx, serve, sec(200), ttl)
	if err != nil {
		t.Fatalf("RenewLease: %v", err)
	}
	if want := lease("serve-1", 1, 3, sec(230)); !cmp.Equal(want, renewed) {
		t.Errorf("RenewLease = %+v, want %+v", renewed, want)
	}
	if got, _, _ := s.Lease(ctx, "envrepo"); !cmp.Equal(renewed, got) {
		t.Errorf("Lease = %+v, want %+v", got, renewed)
	}

	// Released: free for anyone, and the epoch keeps growing.
	if err := s.ReleaseLease(ctx, renewed); err != nil {
		t.Fatalf("ReleaseLease: %v", err)
	}
	if got, ok, err := s.Lease(ctx, "envrepo"); err != nil || !ok || got.Holder != "" || got.Epoch != 3 {
		t.Errorf("Lease after release = %+v, %v, %v; want no holder, epoch 3", got, ok, err)
	}
	if _, err := s.RenewLease(ctx, renewed, sec(210), ttl); !errors.Is(err, deploy.ErrLeaseLost) {
		t.Errorf("RenewLease after release: error %v, want one wrapping ErrLeaseLost", err)
	}
	next := mustAcquire(t, s, "envrepo", "console-1", 0, sec(211))
	if want := lease("console-1", 0, 4, sec(241)); !cmp.Equal(want, next) {
		t.Errorf("AcquireLease after release = %+v, want %+v", next, want)
	}
	// Leases of other names are independent.
	other := mustAcquire(t, s, "other", "serve-1", 1, sec(0))
	if other.Epoch != 1 {
		t.Errorf("lease of another name has epoch %d, want 1", other.Epoch)
	}
	for _, bad := range []struct {
		name, holder string
		ttl          time.Duration
	}{{"", "h", ttl}, {"n", "", ttl}, {"n", "h", 0}} {
		if _, _, err := s.AcquireLease(ctx, bad.name, bad.holder, 0, sec(0), bad.ttl); err == nil {
			t.Errorf("AcquireLease(%q, %q, ttl %v) succeeded", bad.name, bad.holder, bad.ttl)
		}
	}
}

// testFencedActs: an action fenced by a lease is written while that lease is in force
// (also expired, when nobody took it over) and writes nothing, not even its request key,
// once another holder took the lease.
func testFencedActs(t *testing.T, s Store) {
	ctx := t.Context()
	sec := func(n int) time.Time { return T0.Add(time.Duration(n) * time.Second) }
	leader := mustAcquire(t, s, "envrepo", "serve-1", 1, sec(0))
	fenced := func(l deploy.Lease, minute int) deploy.Change {
		return deploy.Change{
			Deployments: []deploy.Deployment{deployment("staging", "checkout", deploy.Version(minute), minute)},
			Repo:        repoChange("deploy", minute),
			Audit:       auditEntry("train daily departs", minute),
			Fence:       &l,
		}
	}
	act(t, s, fenced(leader, 1))
	leader.Expires = sec(100) // expired on the clock; nobody took it over: still in force
	act(t, s, fenced(leader, 2))

	next := mustAcquire(t, s, "envrepo", "serve-2", 1, sec(200)) // a take-over after expiry
	before := take(t, s, "checkout")
	key := deploy.RequestKey{Key: "scheduler:depart:daily:slot-3", Fingerprint: "depart daily"}
	rec, replayed, err := s.Act(ctx, key, decide(fenced(leader, 3)))
	if !errors.Is(err, deploy.ErrLeaseLost) || rec.ActionID != 0 || replayed {
		t.Fatalf("Act of the deposed leader = %+v, %v, %v; want an error wrapping ErrLeaseLost", rec, replayed, err)
	}
	unchanged(t, s, before, "checkout")
	// The new leader acts with the same key: the deposed one left nothing behind.
	rec, replayed, err = s.Act(ctx, key, decide(fenced(next, 3)))
	if err != nil || replayed || rec.ActionID == 0 {
		t.Fatalf("Act of the new leader = %+v, %v, %v; want a new action", rec, replayed, err)
	}
	if _, _, err := s.Act(ctx, deploy.RequestKey{}, decide(fenced(next, 4))); err != nil {
		t.Errorf("Act of the new leader: %v", err)
	}
}
