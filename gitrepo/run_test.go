package gitrepo

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"kuberpult/deploy"
)

func TestFlushPushesAllPending(t *testing.T) {
	bare := newBare(t)
	w := openWriter(t, bare)
	var entries []deploy.OutboxEntry
	for i := range batchSize + 3 { // more than one batch
		entries = append(entries, deployEntry(int64(i+1), "development", "checkout", "v: "+strings.Repeat("x", i)+"\n"))
	}
	ob := newFakeOutbox(entries...)
	if err := w.Flush(context.Background(), ob); err != nil {
		t.Fatal(err)
	}
	done := ob.done()
	if len(done) != len(entries) {
		t.Fatalf("%d entries marked, want %d", len(done), len(entries))
	}
	if got := run(t, bare, "rev-parse", "main"); got != done[len(done)-1].Commit {
		t.Errorf("main is at %s, want the last entry's commit %s", got, done[len(done)-1].Commit)
	}
	if got, want := run(t, bare, "rev-list", "--count", "main"), "53"; got != want {
		t.Errorf("%s commits, want %s", got, want)
	}
}

func TestRunPushesWhenNotified(t *testing.T) {
	bare := newBare(t)
	w, err := Open(context.Background(), Options{URL: bare, PollInterval: time.Hour, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	ob := newFakeOutbox()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- w.Run(ctx, ob) }()

	ob.add(deployEntry(1, "development", "checkout", "v: 1\n"))
	w.Notify()
	w.Notify() // never blocks
	<-ob.marked
	// Flush may run alongside Run: it waits for its turn and finds nothing left.
	if err := w.Flush(context.Background(), ob); err != nil {
		t.Fatal(err)
	}
	head := run(t, bare, "rev-parse", "main")
	if diff := cmp.Diff([]deploy.Pushed{{ID: 1, Commit: head}}, ob.done()); diff != "" {
		t.Errorf("marked (-want +got):\n%s", diff)
	}
	cancel()
	if err := <-stopped; err != nil {
		t.Errorf("run returned %v, want nil", err)
	}
}

// failingOutbox fails to read the first n times, then has nothing pending.
type failingOutbox struct {
	mu    sync.Mutex
	n     int
	calls []time.Time
}

func (o *failingOutbox) Pending(context.Context, int) ([]deploy.OutboxEntry, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, time.Now())
	if len(o.calls) <= o.n {
		return nil, errors.New("database is locked")
	}
	return nil, nil
}

func (o *failingOutbox) MarkPushed(context.Context, []deploy.Pushed) error { return nil }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRunBacksOffAndKeepsGoing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs syncBuffer
		w := &Writer{
			opts:   Options{Branch: "main", PollInterval: time.Minute, Now: time.Now},
			log:    slog.New(slog.NewTextHandler(&logs, nil)),
			notify: make(chan struct{}, 1),
		}
		ob := &failingOutbox{n: 3}
		ctx, cancel := context.WithCancel(context.Background())
		stopped := make(chan error, 1)
		start := time.Now()
		go func() { stopped <- w.Run(ctx, ob) }()
		<-time.After(10 * time.Second) // the bubble's fake clock jumps ahead
		synctest.Wait()
		cancel()
		if err := <-stopped; err != nil {
			t.Errorf("run returned %v, want nil", err)
		}
		var waits []time.Duration
		for _, c := range ob.calls {
			waits = append(waits, c.Sub(start))
			start = c
		}
		// Three failures: pauses of 1s, 2s and 4s; then the poll interval applies.
		want := []time.Duration{0, time.Second, 2 * time.Second, 4 * time.Second}
		if diff := cmp.Diff(want, waits); diff != "" {
			t.Errorf("pauses between reads (-want +got):\n%s", diff)
		}
		if n := strings.Count(logs.String(), "env repo write failed"); n != 3 {
			t.Errorf("logged %d failures, want 3:\n%s", n, logs.String())
		}
		if strings.Contains(logs.String(), "level=INFO") {
			t.Errorf("unexpected log lines:\n%s", logs.String())
		}
	})
}
