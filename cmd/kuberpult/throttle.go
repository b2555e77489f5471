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
// waits while this process's writer is pushing and the first change waiting behind the
// batches it has taken (the one being pushed and the one built to go next) was accepted more
// than maxLag ago: acceptance then runs at the pace of git, and what is accepted reaches the
// env repo within a couple of batches. While git is unreachable, or another process writes
// the env repo, nothing waits: changes are accepted and queued (SQLite is the source of
// truth).
const (
	maxLag          = 500 * time.Millisecond // the first change behind the writer's batches may wait this long before actions wait
	maxAdmitWait    = 30 * time.Second       // an action never waits longer than this
	pushingRecently = 10 * time.Second       // the writer counts as pushing if it pushed this recently
	outboxFresh     = 25 * time.Millisecond
)

// throttle holds actions back while the env repo lags behind.
type throttle struct {
	// waiting says when the first change pending after the entry id after was accepted;
	// zero when none is.
	waiting func(ctx context.Context, after int64) (time.Time, error)
	status  func() gitrepo.Status
	now     func() time.Time

	mu    sync.Mutex
	read  time.Time // when first was read
	after int64     // the claim it was read behind
	head  time.Time
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
		head, err := t.first(ctx, st.Claimed)
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

// first reads when the first change waiting behind the claimed entry was accepted, at most
// every outboxFresh however many actions ask (and again when the claim moved).
func (t *throttle) first(ctx context.Context, claimed int64) (time.Time, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if now := t.now(); now.Sub(t.read) >= outboxFresh || claimed != t.after {
		head, err := t.waiting(ctx, claimed)
		if err != nil {
			return time.Time{}, err
		}
		t.read, t.after, t.head = now, claimed, head
	}
	return t.head, nil
}
