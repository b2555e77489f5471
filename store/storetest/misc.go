package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"kuberpult/deploy"
)

func testAuditLog(t *testing.T, s Store) {
	ctx := t.Context()
	e := func(cmd string, minute int, actor deploy.Actor, env deploy.Env) deploy.AuditEntry {
		return deploy.AuditEntry{Time: at(minute), Actor: actor, Via: deploy.ViaSlack, Command: cmd,
			Env: env, App: "checkout", Outcome: deploy.OutcomeDenied, Detail: "not allowed"}
	}
	entries := []deploy.AuditEntry{
		e("one", 1, alice, "staging"),
		e("two", 2, bob, "production-de"),
		e("three", 3, alice, "production-jp"),
		e("four", 4, ci, ""),
	}
	var last int64
	for i, entry := range entries {
		if i == 3 {
			entry.Commit = "ignored" // commits come from MarkPushed only
		}
		id, err := s.Audit(ctx, entry)
		if err != nil {
			t.Fatalf("Audit: %v", err)
		}
		if id <= last {
			t.Errorf("Audit id %d after %d", id, last)
		}
		last = id
	}
	one, two, three, four := entries[0], entries[1], entries[2], entries[3]
	prod := []deploy.Env{"production-de", "production-jp"}

	for _, tc := range []struct {
		name   string
		filter deploy.AuditFilter
		want   []deploy.AuditEntry
	}{
		{"all", deploy.AuditFilter{}, []deploy.AuditEntry{four, three, two, one}},
		{"limit", deploy.AuditFilter{Limit: 2}, []deploy.AuditEntry{four, three}},
		{"since is inclusive", deploy.AuditFilter{Since: at(3)}, []deploy.AuditEntry{four, three}},
		{"since in another zone", deploy.AuditFilter{Since: at(2).UTC()}, []deploy.AuditEntry{four, three, two}},
		{"since a nanosecond later", deploy.AuditFilter{Since: at(3).Add(time.Nanosecond)}, []deploy.AuditEntry{four}},
		{"actor id", deploy.AuditFilter{Actor: "U01ALICE"}, []deploy.AuditEntry{three, one}},
		{"actor name ignores case", deploy.AuditFilter{Actor: "bob"}, []deploy.AuditEntry{two}},
		{"actor email", deploy.AuditFilter{Actor: "CI@example.com"}, []deploy.AuditEntry{four}},
		{"unknown actor", deploy.AuditFilter{Actor: "mallory"}, nil},
		{"one env", deploy.AuditFilter{Envs: []deploy.Env{"staging"}}, []deploy.AuditEntry{one}},
		{"envs of a group", deploy.AuditFilter{Envs: prod}, []deploy.AuditEntry{three, two}},
		{"no envs", deploy.AuditFilter{Envs: []deploy.Env{}}, nil},
		{"all together", deploy.AuditFilter{Since: at(2), Actor: "alice@example.com", Envs: prod, Limit: 5},
			[]deploy.AuditEntry{three}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := auditLog(t, s, tc.filter)
			for i := 1; i < len(got); i++ {
				if got[i].ID >= got[i-1].ID {
					t.Errorf("ids not descending: %d then %d", got[i-1].ID, got[i].ID)
				}
			}
			if diff := cmp.Diff(tc.want, withoutIDs(got)); diff != "" {
				t.Errorf("AuditLog(%+v) (-want +got):\n%s", tc.filter, diff)
			}
		})
	}
}

func testMaxVersion(t *testing.T, s Store) {
	ctx := t.Context()
	top := deploy.MaxVersion
	lease := mustAcquire(t, s, "envrepo", "w", 0, at(0))
	rc := repoChange("deploy checkout max", 1)
	rc.Manifests[0].Version = top
	d := deployment("staging", "checkout", top, 1)
	h := held("production", "checkout", top, 1, lock(deploy.LockEnv, "freeze", "production", 1))
	id := act(t, s, deploy.Change{
		Releases:    []deploy.Release{release("checkout", top, "payments", nil), release("checkout", top-1, "", nil), release("checkout", 1, "", nil)},
		Deployments: []deploy.Deployment{d},
		Held:        []deploy.Held{h},
		Repo:        rc,
		Audit:       auditEntry("deploy max", 1),
	})
	d.ActionID, d.Pending = id, true
	st := state(t, s, deploy.Everything)
	want := deploy.State{
		Apps:        map[deploy.App]deploy.AppInfo{"checkout": {App: "checkout", Team: "payments", Latest: top}},
		Deployments: map[deploy.Env]map[deploy.App]deploy.Deployment{"staging": {"checkout": d}},
		Held:        []deploy.Held{h},
	}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("State (-want +got):\n%s", diff)
	}
	read(t, s, func(ctx context.Context, v deploy.View) error {
		rs, err := v.Releases(ctx, "checkout", 0)
		if err != nil {
			return err
		}
		var got []deploy.Version
		for _, r := range rs {
			got = append(got, r.Version)
		}
		if diff := cmp.Diff([]deploy.Version{top, top - 1, 1}, got); diff != "" {
			t.Errorf("Releases order (-want +got):\n%s", diff)
		}
		if r, err := v.Release(ctx, "checkout", top); err != nil || r.Version != top {
			t.Errorf("Release(checkout, max) = %v, %v", r.Version, err)
		}
		return nil
	})
	if diff := cmp.Diff([]deploy.Deployment{d}, history(t, s, "checkout", "staging", 0)); diff != "" {
		t.Errorf("History (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]deploy.OutboxEntry{{ID: id, Change: *rc}}, pending(t, s, 0)); diff != "" {
		t.Errorf("Pending (-want +got):\n%s", diff)
	}
	if err := s.RecordBuilds(ctx, lease, []deploy.BuildRecord{{ID: id, Build: deploy.Build{Commit: "c", Base: "b", Epoch: lease.Epoch}}}); err != nil {
		t.Fatal(err)
	}

	// Beyond the limit nothing is written, wherever the version is.
	before := take(t, s, "checkout", "cart")
	for name, c := range map[string]deploy.Change{
		"release":    {Releases: []deploy.Release{release("cart", top+1, "", nil)}},
		"deployment": {Deployments: []deploy.Deployment{deployment("staging", "cart", top+1, 2)}},
		"held":       {Held: []deploy.Held{held("staging", "cart", top+1, 2, lock(deploy.LockEnv, "x", "staging", 2))}},
		"version 0":  {Releases: []deploy.Release{release("cart", 0, "", nil)}},
	} {
		c.Audit = auditEntry(name, 2)
		_, _, err := s.Act(ctx, deploy.RequestKey{}, decide(c))
		if _, ok := deploy.UserMessage(err); !errors.Is(err, deploy.ErrInvalid) || !ok {
			t.Errorf("%s beyond the limit: error %v, want a user error wrapping ErrInvalid", name, err)
		}
	}
	unchanged(t, s, before, "checkout", "cart")
}

// testTimes checks that every time the store keeps comes back as the same instant, to the
// nanosecond, whatever zone it was given in.
func testTimes(t *testing.T, s Store) {
	ctx := t.Context()
	zones := []*time.Location{time.UTC, time.FixedZone("JST", 9*3600), time.FixedZone("odd", -(3*3600 + 30*60))}
	tm := func(i int) time.Time {
		return T0.Add(time.Duration(i)*time.Hour + time.Duration(i)).In(zones[i%len(zones)])
	}

	rel := release("checkout", 1, "", nil)
	rel.CreatedAt = tm(1)
	d := deployment("staging", "checkout", 1, 0)
	d.Time = tm(2)
	l := lock(deploy.LockEnv, "freeze", "staging", 0)
	l.CreatedAt = tm(3)
	h := deploy.Held{Env: "production", App: "checkout", Version: 1, How: deploy.HowAuto, Time: tm(4),
		By: []deploy.HeldBy{{Kind: deploy.HeldByWindow, Window: "w", Until: tm(5)}}}
	rc := repoChange("deploy", 0)
	rc.Time = tm(6)
	a := auditEntry("deploy", 0)
	a.Time = tm(7)
	key := deploy.RequestKey{Key: "k", Fingerprint: "f"}
	id := mustActKey(t, s, key, deploy.Change{Releases: []deploy.Release{rel}, Deployments: []deploy.Deployment{d},
		CreateLocks: []deploy.Lock{l}, Held: []deploy.Held{h}, Repo: rc, Audit: a})
	d.ActionID, d.Pending = id, true
	a.ID = id
	del := auditEntry("unlock", 0)
	del.Time = tm(8)
	act(t, s, deploy.Change{DeleteLocks: []deploy.LockKey{l.Key()}, Audit: del})

	rec, _, err := s.Act(ctx, key, decide(deploy.Change{}))
	if err != nil {
		t.Fatal(err)
	}
	lease, _, err := s.AcquireLease(ctx, "envrepo", "w", 0, tm(9), 90*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	gotLease, _, err := s.Lease(ctx, "envrepo")
	if err != nil {
		t.Fatal(err)
	}
	st := state(t, s, deploy.Everything)
	type times struct {
		Release, Deployment, Held, Until, Lock, Deleted, Audit, Change, Oldest, Recorded, Lease, LeaseRow time.Time
	}
	got := times{Deployment: st.Deployments["staging"]["checkout"].Time, Recorded: rec.Time,
		Lease: lease.Expires, LeaseRow: gotLease.Expires, Oldest: outbox(t, s).Oldest}
	read(t, s, func(ctx context.Context, v deploy.View) error {
		r, err := v.Release(ctx, "checkout", 1)
		got.Release = r.CreatedAt
		return err
	})
	if len(st.Held) == 1 && len(st.Held[0].By) == 1 {
		got.Held, got.Until = st.Held[0].Time, st.Held[0].By[0].Until
	}
	if lh := lockHistory(t, s, "", 0); len(lh) == 1 {
		got.Lock, got.Deleted = lh[0].CreatedAt, lh[0].DeletedAt
	}
	if log := auditLog(t, s, deploy.AuditFilter{Since: tm(7)}); len(log) == 2 {
		got.Audit = log[1].Time
	}
	if p := pending(t, s, 0); len(p) == 1 {
		got.Change = p[0].Change.Time
	}
	want := times{Release: tm(1), Deployment: tm(2), Held: tm(4), Until: tm(5), Lock: tm(3), Deleted: tm(8),
		Audit: tm(7), Change: tm(6), Oldest: tm(6), Recorded: tm(7), Lease: tm(9).Add(90 * time.Second),
		LeaseRow: tm(9).Add(90 * time.Second)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("times (-want +got):\n%s", diff)
	}
}

func mustActKey(t *testing.T, s Store, key deploy.RequestKey, c deploy.Change) int64 {
	t.Helper()
	rec, replayed, err := s.Act(t.Context(), key, decide(c))
	if err != nil || replayed {
		t.Fatalf("Act = %+v, replayed %v, %v", rec, replayed, err)
	}
	return rec.ActionID
}
