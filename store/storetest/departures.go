package storetest

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"kuberpult/deploy"
)

// testDepartures: a departure is recorded with its change, gets the action id of the change
// that announced it and of the one that ended it, is replaced by a later change, and is read
// by train and slot and listed latest slot first. A departure without train, slot or state
// fails the whole change.
func testDepartures(t *testing.T, s Store) {
	ctx := t.Context()
	read := func(train string, n int) deploy.Departure {
		t.Helper()
		var d deploy.Departure
		err := s.View(ctx, func(ctx context.Context, v deploy.View) error {
			var ok bool
			var err error
			d, ok, err = v.Departure(ctx, train, at(n))
			if err == nil && !ok {
				t.Errorf("no departure of %s at %v", train, at(n))
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	announced := deploy.Departure{Train: "daily", Slot: at(60), State: deploy.DepartureAnnounced}
	id1 := mustActKey(t, s, deploy.RequestKey{}, deploy.Change{Departures: []deploy.Departure{announced},
		Audit: deploy.AuditEntry{Time: at(30), Actor: deploy.System, Command: "announce"}})
	want := announced
	want.Slot = at(60).UTC()
	want.Announced = id1
	if diff := cmp.Diff(want, read("daily", 60)); diff != "" {
		t.Errorf("announced departure (-want +got):\n%s", diff)
	}

	held := want
	held.HeldBy, held.HeldAt, held.HoldReason = &alice, at(40).UTC(), "incident"
	held.HeldApps = []deploy.HeldApp{{App: "checkout", By: bob, At: at(41).UTC(), Lock: "train-daily"}}
	mustActKey(t, s, deploy.RequestKey{}, deploy.Change{Departures: []deploy.Departure{held},
		Audit: deploy.AuditEntry{Time: at(40), Actor: alice, Command: "hold train daily"}})
	if diff := cmp.Diff(held, read("daily", 60)); diff != "" {
		t.Errorf("held departure (-want +got):\n%s", diff)
	}

	ended := held
	ended.State, ended.Note = deploy.DepartureNotRun, "held by Alice"
	id3 := mustActKey(t, s, deploy.RequestKey{}, deploy.Change{Departures: []deploy.Departure{ended},
		Audit: deploy.AuditEntry{Time: at(60), Actor: deploy.System, Command: "depart"}})
	ended.Action = id3
	if diff := cmp.Diff(ended, read("daily", 60)); diff != "" {
		t.Errorf("ended departure (-want +got):\n%s", diff)
	}

	other := deploy.Departure{Train: "weekly", Slot: at(90), State: deploy.DepartureMissed}
	id4 := mustActKey(t, s, deploy.RequestKey{}, deploy.Change{Departures: []deploy.Departure{other},
		Audit: deploy.AuditEntry{Time: at(95), Actor: deploy.System, Command: "depart"}})
	if got := read("weekly", 90); got.Action != id4 || got.Announced != 0 {
		t.Errorf("missed departure = %+v, want action %d and no announcement", got, id4)
	}
	later := deploy.Departure{Train: "daily", Slot: at(24 * 60), State: deploy.DepartureAnnounced}
	mustActKey(t, s, deploy.RequestKey{}, deploy.Change{Departures: []deploy.Departure{later},
		Audit: deploy.AuditEntry{Time: at(23 * 60), Actor: deploy.System, Command: "announce"}})

	list := func(train string, limit int) []string {
		t.Helper()
		var out []string
		err := s.View(ctx, func(ctx context.Context, v deploy.View) error {
			ds, err := v.Departures(ctx, train, limit)
			for _, d := range ds {
				out = append(out, d.Train+" "+d.Slot.Sub(at(0)).String()+" "+string(d.State))
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if diff := cmp.Diff([]string{"daily 24h0m0s announced", "weekly 1h30m0s missed", "daily 1h0m0s not-run"}, list("", 0)); diff != "" {
		t.Errorf("Departures of all trains (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"daily 24h0m0s announced"}, list("daily", 1)); diff != "" {
		t.Errorf("Departures(daily, 1) (-want +got):\n%s", diff)
	}
	err := s.View(ctx, func(ctx context.Context, v deploy.View) error {
		_, ok, err := v.Departure(ctx, "daily", at(61))
		if ok {
			t.Error("a departure at a slot nobody recorded")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	for _, bad := range []deploy.Departure{{Slot: at(1), State: deploy.DepartureAnnounced}, {Train: "x", State: deploy.DepartureAnnounced}, {Train: "x", Slot: at(1)}} {
		rel := release("refused", 1, "", map[deploy.Env]string{"staging": "a"})
		_, _, err := s.Act(ctx, deploy.RequestKey{}, decide(deploy.Change{Releases: []deploy.Release{rel}, Departures: []deploy.Departure{bad},
			Audit: deploy.AuditEntry{Time: at(1), Actor: deploy.System, Command: "bad"}}))
		if err == nil {
			t.Errorf("a change with departure %+v was written", bad)
		}
	}
	err = s.View(ctx, func(ctx context.Context, v deploy.View) error {
		if _, ok, err := v.App(ctx, "refused"); ok || err != nil {
			t.Errorf("a refused change left its release behind (%v, %v)", ok, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// testReleasesOfCommit: releases are found by their full source commit id or a prefix of it.
func testReleasesOfCommit(t *testing.T, s Store) {
	ctx := t.Context()
	for _, r := range []deploy.Release{
		{App: "checkout", Version: 1, SourceCommitID: "aaaaaaa111111111111111111111111111111111"},
		{App: "cart", Version: 1, SourceCommitID: "aaaaaaa111111111111111111111111111111111"},
		{App: "checkout", Version: 2, SourceCommitID: "aaaaaab222222222222222222222222222222222"},
	} {
		r.Manifests, r.CreatedAt, r.CreatedBy = map[deploy.Env]string{"staging": "a: 1"}, at(1), alice
		mustActKey(t, s, deploy.RequestKey{}, deploy.Change{Releases: []deploy.Release{r}, Audit: deploy.AuditEntry{Time: at(1), Actor: alice, Command: "release"}})
	}
	for _, tt := range []struct {
		commit string
		want   []string
	}{
		{"aaaaaaa111111111111111111111111111111111", []string{"cart 1", "checkout 1"}},
		{"AAAAAAA1", []string{"cart 1", "checkout 1"}},
		{"aaaaaa", []string{"cart 1", "checkout 1", "checkout 2"}},
		{"bbbbbbb", nil},
	} {
		var got []string
		err := s.View(ctx, func(ctx context.Context, v deploy.View) error {
			rels, err := v.ReleasesOfCommit(ctx, tt.commit)
			for _, r := range rels {
				got = append(got, string(r.App)+" "+r.Version.String())
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ReleasesOfCommit(%s) (-want +got):\n%s", tt.commit, diff)
		}
	}
}
