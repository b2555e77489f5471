package storetest

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"kuberpult/deploy"
)

// testCards: a card is saved, replaced and read back by its action; a card without its
// coordinates is refused; an action's commit shows once its entry is pushed.
func testCards(t *testing.T, s Store) {
	ctx := t.Context()
	id, _, _ := deployWithRepo(t, s, 1, 1)
	if _, ok, err := s.Card(ctx, id); ok || err != nil {
		t.Fatalf("Card before any was saved = %v, %v", ok, err)
	}
	c := deploy.Card{ActionID: id, Channel: "C1", TS: "1700000000.000100", Body: []byte(`{"rows":1}`), At: at(2)}
	if err := s.SaveCard(ctx, c); err != nil {
		t.Fatal(err)
	}
	c.Body, c.At = []byte(`{"rows":2}`), at(3)
	if err := s.SaveCard(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.Card(ctx, id)
	if err != nil || !ok {
		t.Fatalf("Card = %v, %v", ok, err)
	}
	if diff := cmp.Diff(c, got); diff != "" {
		t.Errorf("Card (-want +got):\n%s", diff)
	}
	for _, bad := range []deploy.Card{{ActionID: id, TS: "1"}, {ActionID: id, Channel: "C1"}, {Channel: "C1", TS: "1"}} {
		if err := s.SaveCard(ctx, bad); err == nil {
			t.Errorf("SaveCard(%+v) succeeded", bad)
		}
	}
	if got, _, _ := s.Card(ctx, id); got.Channel != "C1" {
		t.Errorf("a refused card replaced the saved one: %+v", got)
	}

	if commit, err := s.ActionCommit(ctx, id); err != nil || commit != "" {
		t.Errorf("ActionCommit before the push = %q, %v", commit, err)
	}
	if err := s.MarkPushed(ctx, []deploy.Pushed{{ID: id, Commit: "c1"}}); err != nil {
		t.Fatal(err)
	}
	if commit, err := s.ActionCommit(ctx, id); err != nil || commit != "c1" {
		t.Errorf("ActionCommit after the push = %q, %v; want c1", commit, err)
	}
	if commit, err := s.ActionCommit(ctx, 987654); err != nil || commit != "" {
		t.Errorf("ActionCommit of an unknown action = %q, %v", commit, err)
	}
}

// testReminders: a reminder is claimed once, whoever asks again.
func testReminders(t *testing.T, s Store) {
	ctx := t.Context()
	for i, want := range []bool{true, false, false} {
		if got, err := s.Remind(ctx, "lock env/staging/lk-1 1h", at(i)); err != nil || got != want {
			t.Errorf("Remind #%d = %v, %v; want %v", i+1, got, err, want)
		}
	}
	if got, err := s.Remind(ctx, "lock env/staging/lk-1 2h", at(5)); err != nil || !got {
		t.Errorf("Remind of another lifetime = %v, %v; want true", got, err)
	}
}
