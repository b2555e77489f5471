package main

import (
	"context"
	"sync"
	"time"

	"kuberpult/gitrepo"
)

// Backpressure. git takes about as long per commit as everything else Kuberpult does for an
// action, so a burst of releases can be accepted faster than it can be pushed. Rather than
// let the outbox grow and the environments run minutes behind what CI was told, a new action
// waits while the change first in line was accepted more than maxLag ago and this process's
// writer is pushing: acceptance then runs at the pace of git, and what is accepted reaches
// the env repo within a few seconds. While git is unreachable, or another process writes
// the env repo, nothing waits: changes are accepted and queued (SQLite is the source of
// truth).
const (
	maxLag          = 1500 * time.Millisecond // the first change in line may wait this long before actions wait
	maxAdmitWait    = 30 * time.Second        // an action never waits longer than this
	pushingRecently = 10 * time.Second        // the writer counts as pushing if it pushed this recently
	outboxFresh     = 25 * time.Millisecond
)

// throttle holds actions back while the env repo lags behind.
type throttle struct {
	oldest func(ctx context.Context) (time.Time, error) // when the first change in line was accepted; zero when none
	status func() gitrepo.Status
	now    func() time.Time

	mu   sync.Mutex
	read time.Time // when first was read
	head time.Time
}

// wait returns when the env repo is close behind, when the writer is not pushing, after
// maxAdmitWait, or when ctx ends.
func (t *throttle) wait(ctx context.Context) {
	deadline := t.now().Add(maxAdmitWait)
	for t.now().Before(deadline) {
		st := t.status()
		if !st.Holding || !st.Reachable || t.now().Sub(st.Stats.LastPushTime) > pushingRecently {
			return
		}
		head, err := t.first(ctx)
		if err != nil || head.IsZero() || t.now().Sub(head) <= maxLag {
			return
		}
		timer := time.NewTimer(outboxFresh)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
	}
}

// first reads when the first change in line was accepted, at most every outboxFresh
// however many actions ask.
func (t *throttle) first(ctx context.Context) (time.Time, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if now := t.now(); now.Sub(t.read) >= outboxFresh {
		head, err := t.oldest(ctx)
		if err != nil {
			return time.Time{}, err
		}
		t.read, t.head = now, head
	}
	return t.head, nil
}
