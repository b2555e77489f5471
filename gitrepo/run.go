package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"kuberpult/deploy"
)

// Outbox is the writer's side of the store: the accepted changes, what the writer built
// and pushed, and the lease that makes it the one writer across processes.
type Outbox interface {
	// Pending returns up to limit entries not pushed or failed yet, in id order, with
	// their Builds; an entry that cannot be read has Broken set.
	Pending(ctx context.Context, limit int) ([]deploy.OutboxEntry, error)
	// RenderState returns the teams and environment configurations as accepted last.
	RenderState(ctx context.Context) (deploy.RenderState, error)
	// RecordBuilds records commits built for entries before they are pushed; fenced: an
	// error wrapping deploy.ErrLeaseLost when l is not the current lease.
	RecordBuilds(ctx context.Context, l deploy.Lease, builds []deploy.BuildRecord) error
	// MarkPushed records the commits that carry entries; idempotent.
	MarkPushed(ctx context.Context, pushed []deploy.Pushed) error
	// MarkFailed sets an entry aside with a reason; fenced like RecordBuilds.
	MarkFailed(ctx context.Context, l deploy.Lease, id int64, reason string, now time.Time) error
	// AcquireLease takes the lease if it is free, expired, already ours or held with a
	// lower priority (a take-over increments the epoch). Without it, it returns the
	// current holder's lease and false.
	AcquireLease(ctx context.Context, name, holder string, priority int, now time.Time, ttl time.Duration) (deploy.Lease, bool, error)
	// RenewLease extends the lease; an error wrapping deploy.ErrLeaseLost when it was
	// taken over.
	RenewLease(ctx context.Context, l deploy.Lease, now time.Time, ttl time.Duration) (deploy.Lease, error)
	// ReleaseLease gives the lease up.
	ReleaseLease(ctx context.Context, l deploy.Lease) error
}

// Run pushes what ob holds, as the one writer: it takes the writer lease first (while
// another process holds it, Run pushes nothing and asks again every poll interval), and
// then works whenever Notify is called and every poll interval, until ctx ends. Failures
// are recorded in Status and retried with a growing pause (1s doubling up to 30s); what
// could not be pushed stays in the outbox.
//
// When ctx ends during a push, Run lets it finish (up to StopTimeout), marks what landed,
// releases the lease and returns nil. A batch not yet being pushed is abandoned.
func (w *Writer) Run(ctx context.Context, ob Outbox) error {
	w.driveMu.Lock()
	defer w.driveMu.Unlock()
	w.running = true
	defer func() { w.running = false }()
	w.drive(ctx, ob, nil)
	return nil
}

// Flush waits until every entry pending when it is called has been pushed or set aside
// as failed, or ctx ends. When no Run of this writer is working, Flush does the work
// itself (taking the lease, and releasing it when done); when another process holds the
// lease, it waits for that one to push.
func (w *Writer) Flush(ctx context.Context, ob Outbox) error {
	last, err := lastPending(ctx, ob)
	if err != nil || last == 0 {
		return err
	}
	done := func() (bool, error) {
		p, err := ob.Pending(ctx, 1)
		if err != nil {
			return false, fmt.Errorf("flush: %w", err)
		}
		return len(p) == 0 || p[0].ID > last, nil
	}
	for {
		if ok, err := done(); ok || err != nil {
			return err
		}
		wake := w.progressed()
		if w.driveMu.TryLock() {
			err := w.drive(ctx, ob, done)
			w.driveMu.Unlock()
			if err != nil {
				return err
			}
			continue
		}
		w.Notify()
		t := time.NewTimer(min(w.opts.PollInterval, 100*time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return flushError(ctx, w.Status())
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}

func flushError(ctx context.Context, s Status) error {
	if s.LastError != "" {
		return fmt.Errorf("flush: %w (last error: %s)", ctx.Err(), s.LastError)
	}
	return fmt.Errorf("flush: %w", ctx.Err())
}

// lastPending returns the highest id pending now (0 when nothing is), reading the pending
// entries in growing pages so that the common case, a few entries, costs one small read.
func lastPending(ctx context.Context, ob Outbox) (int64, error) {
	for n := 64; ; n *= 4 {
		p, err := ob.Pending(ctx, n)
		if err != nil {
			return 0, fmt.Errorf("flush: %w", err)
		}
		if len(p) < n {
			if len(p) == 0 {
				return 0, nil
			}
			return p[len(p)-1].ID, nil
		}
	}
}

// drive works on ob until ctx ends or done says so (nil: never). It returns an error only
// for a Flush whose ctx ended.
func (w *Writer) drive(ctx context.Context, ob Outbox, done func() (bool, error)) error {
	defer w.dropLease(ctx, ob, true)
	var backoff time.Duration
	for {
		if ctx.Err() != nil {
			if done != nil {
				return flushError(ctx, w.Status())
			}
			return nil
		}
		if done != nil {
			if ok, err := done(); ok {
				return nil
			} else if err != nil {
				w.failed(err)
			}
		}
		more, err := w.round(ctx, ob)
		wait, wake := w.opts.PollInterval, w.notify
		switch {
		case err != nil && ctx.Err() != nil:
			continue // stopping: what was cut short is not a failure of the env repo
		case err != nil:
			backoff = min(max(2*backoff, time.Second), maxBackoff)
			wait, wake = backoff, nil // a notification does not cut the pause short
			w.failed(err)
			w.log.Error("env repo write failed", "ref", w.opts.Branch, "err", err, "retry_in", backoff)
		case more:
			backoff = 0
			continue
		default:
			backoff = 0
		}
		if done != nil && err == nil {
			wait = min(wait, 100*time.Millisecond) // a Flush waits for another process
		} else if err == nil && w.ten == nil {
			wake = nil // another process writes: ask for the lease every poll interval, not per action
		} else if err == nil && w.opts.PendingPoll > 0 {
			wait = min(wait, w.opts.PendingPoll) // what other processes accepted
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// round takes or keeps the lease and, holding it, does one step.
func (w *Writer) round(ctx context.Context, ob Outbox) (bool, error) {
	held, err := w.ensureLease(ctx, ob)
	if err != nil || !held {
		return false, err
	}
	more, err := w.step(ctx, ob)
	if errors.Is(err, deploy.ErrLeaseLost) {
		w.lose(w.ten)
		w.dropLease(ctx, ob, false)
		return false, nil
	}
	return more, err
}

// tenure is one time of holding the lease. A goroutine renews it every third of its TTL;
// ctx ends when a renewal finds it taken over (or it is given up).
type tenure struct {
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	led    chan struct{}     // closed when Lead returned; nil without Lead
	lease  chan deploy.Lease // the current lease, with a buffer of one
	lost   atomic.Bool       // taken over by another writer
}

func (t *tenure) current() deploy.Lease {
	l := <-t.lease
	t.lease <- l
	return l
}

// ensureLease reports whether this writer holds the lease, taking it if it can.
func (w *Writer) ensureLease(ctx context.Context, ob Outbox) (bool, error) {
	if w.ten != nil && w.ten.ctx.Err() == nil {
		return true, nil
	}
	if w.ten != nil {
		w.dropLease(ctx, ob, false) // taken over
	}
	l, ok, err := ob.AcquireLease(ctx, LeaseName, w.opts.Holder, w.opts.Priority, w.opts.Now(), w.opts.LeaseTTL)
	if err != nil {
		return false, fmt.Errorf("acquire writer lease: %w", err)
	}
	if !ok {
		prev := w.Status().Holder
		w.update(func(s *Status) { s.Holding, s.Holder, s.Epoch = false, l.Holder, l.Epoch })
		if prev != l.Holder {
			w.log.Info("another process writes the env repo; waiting", "holder", l.Holder)
		}
		return false, nil
	}
	// The tenure outlives a stop of ctx: the lease is renewed while a stop waits for the
	// push in flight, and released after it.
	tctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w.ten = &tenure{ctx: tctx, cancel: cancel, done: make(chan struct{}), lease: make(chan deploy.Lease, 1)}
	w.ten.lease <- l
	go w.renew(w.ten, ob)
	w.update(func(s *Status) { s.Holding, s.Holder, s.Epoch = true, l.Holder, l.Epoch; s.Stats.LeaseTaken++ })
	if w.running && w.opts.Lead != nil {
		t := w.ten
		t.led = make(chan struct{})
		lctx, lcancel := context.WithCancel(tctx)
		stop := context.AfterFunc(ctx, lcancel) // a stopping Run stops leading at once
		go func() {
			defer close(t.led)
			defer lcancel()
			defer stop()
			w.opts.Lead(lctx, t.current)
		}()
	}
	// Another writer may have pushed meanwhile; the push's compare-and-swap finds out.
	w.log.Info("writing the env repo", "holder", l.Holder, "epoch", l.Epoch)
	return true, nil
}

func (w *Writer) renew(t *tenure, ob Outbox) {
	defer close(t.done)
	tick := time.NewTicker(w.opts.LeaseTTL / 3)
	defer tick.Stop()
	for {
		select {
		case <-t.ctx.Done():
			return
		case <-tick.C:
		}
		l, err := ob.RenewLease(t.ctx, t.current(), w.opts.Now(), w.opts.LeaseTTL)
		switch {
		case errors.Is(err, deploy.ErrLeaseLost):
			w.log.Warn("writer lease taken over; stopped pushing and leading", "holder", w.opts.Holder)
			w.lose(t)
			return
		case err != nil && t.ctx.Err() == nil && t.current().Expires.Sub(w.opts.Now()) < w.opts.LeaseTTL/2:
			// Not renewed, and the next try would come too close to the lease's end (the
			// store unreachable, this process paused): step down before another process
			// may take it.
			w.log.Warn("writer lease expired before it could be renewed; stopped pushing and leading", "holder", w.opts.Holder, "err", err)
			w.lose(t)
			return
		case err != nil:
			if t.ctx.Err() == nil {
				w.log.Warn("renew writer lease", "err", err)
			}
		default:
			<-t.lease
			t.lease <- l
		}
	}
}

// lose ends tenure t after its lease was lost.
func (w *Writer) lose(t *tenure) {
	if !t.lost.Swap(true) { // the renewal and a fenced write may both find out
		w.update(func(s *Status) { s.Holding = false; s.Stats.LeaseLost++ })
	}
	t.cancel()
}

// dropLease ends the tenure; with release, it also gives the lease up in the store.
func (w *Writer) dropLease(ctx context.Context, ob Outbox, release bool) {
	t := w.ten
	if t == nil {
		return
	}
	w.ten = nil
	t.cancel()
	<-t.done
	if t.led != nil {
		<-t.led
	}
	w.update(func(s *Status) { s.Holding = false })
	if !release || t.lost.Load() {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.opts.StopTimeout)
	defer cancel()
	if err := ob.ReleaseLease(rctx, t.current()); err != nil {
		w.log.Warn("release writer lease", "err", err)
	}
}
