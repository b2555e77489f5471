package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"kuberpult/deploy"
)

// step does one round of work, holding the lease: it brings the tip up to date when the
// remote may have moved, recognises entries whose builds are already on the remote, and
// builds and pushes one batch. It reports whether there may be more to do at once.
func (w *Writer) step(ctx context.Context, ob Outbox) (bool, error) {
	if !w.synced {
		if err := w.syncTip(ctx); err != nil {
			return false, err
		}
	}
	entries, err := ob.Pending(ctx, batchSize)
	if err != nil {
		return false, fmt.Errorf("read outbox: %w", err)
	}
	if len(entries) == 0 {
		return false, nil
	}
	found, err := w.recognise(ctx, entries)
	if errors.Is(err, errMoved) {
		w.synced = false
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if len(found) > 0 {
		// Mark them, then read again what is still pending: an entry on the remote is
		// never applied again.
		w.log.Info("found pushed entries on the remote", "entries", len(found), "commit", w.tip.String())
		return true, w.markPushed(ctx, ob, entries, found)
	}
	b, err := w.build(ctx, ob, entries, w.tip)
	if err != nil || b == nil {
		return b == nil && err == nil, err
	}
	if b.tip == w.tip {
		// Nothing to push. The no-op is only true of the branch as it is now: someone may
		// have changed it by hand since the last fetch (one advertisement to find out).
		before := w.tip
		if err := w.syncTip(ctx); err != nil {
			return false, err
		}
		if w.tip != before {
			return true, nil // build again on the new tip
		}
		return true, w.markPushed(ctx, ob, entries, b.pushed)
	}
	if w.stopping(ctx) {
		return false, nil // abandoned before its push
	}
	if err := ob.RecordBuilds(ctx, w.ten.current(), b.records); err != nil {
		return false, fmt.Errorf("record builds: %w", err)
	}
	return w.pushAll(ctx, ob, entries, b)
}

// pushAll pushes b and, while its push is in flight, builds the next batch on top of it,
// so that git's work on the server and the writer's own overlap (they take about the same
// time). The next batch is pushed only once b landed; otherwise it is dropped, and its
// entries are built again later (its recorded builds are then not found on the remote).
func (w *Writer) pushAll(ctx context.Context, ob Outbox, entries []deploy.OutboxEntry, b *batch) (bool, error) {
	for {
		if w.stopping(ctx) {
			return false, nil // recorded but not pushed: found missing and built again later
		}
		f := w.startPush(ctx, b)
		w.claim(entries)
		next, nextEntries, nerr := w.prepareNext(ctx, ob, entries, b)
		if next != nil {
			w.pinned = next.tip
			w.claim(nextEntries)
		}
		ok, more, err := w.landed(ctx, ob, entries, b, w.awaitPush(ctx, f))
		w.pinned = zeroHash
		if !ok || next == nil {
			w.claim(nil)
		}
		switch {
		case err != nil || !ok:
			return more, err
		case nerr != nil:
			return true, nerr
		case next == nil:
			return true, nil
		case next.tip == b.tip:
			return true, w.markPushed(ctx, ob, nextEntries, next.pushed)
		}
		entries, b = nextEntries, next
	}
}

// claim publishes the last entry of the batches the writer pushes or has built to push next
// (none: nothing is claimed), so that backpressure can look at what waits behind them.
func (w *Writer) claim(entries []deploy.OutboxEntry) {
	var id int64
	if len(entries) > 0 {
		id = entries[len(entries)-1].ID
	}
	w.update(func(s *Status) { s.Claimed = id })
}

// prepareNext builds and records the batch after b, on b's tip, from the entries pending
// behind b's. It builds nothing when entries behind have builds already: those are looked
// for on the remote first.
func (w *Writer) prepareNext(ctx context.Context, ob Outbox, entries []deploy.OutboxEntry, b *batch) (*batch, []deploy.OutboxEntry, error) {
	if w.stopping(ctx) {
		return nil, nil, nil
	}
	last := entries[len(entries)-1].ID
	pending, err := ob.Pending(ctx, len(entries)+batchSize)
	if err != nil {
		return nil, nil, nil // read again after the push
	}
	var rest []deploy.OutboxEntry
	for _, e := range pending {
		if e.ID <= last {
			continue
		}
		if len(e.Builds) > 0 {
			return nil, nil, nil
		}
		if rest = append(rest, e); len(rest) == batchSize {
			break
		}
	}
	if len(rest) == 0 {
		return nil, nil, nil
	}
	next, err := w.build(ctx, ob, rest, b.tip)
	if err != nil || next == nil || next.tip == b.tip {
		return next, rest, err
	}
	if err := ob.RecordBuilds(ctx, w.ten.current(), next.records); err != nil {
		return nil, nil, fmt.Errorf("record builds: %w", err)
	}
	return next, rest, nil
}

// stopping reports whether the writer must not start a push: it is stopping, or it lost
// the lease.
func (w *Writer) stopping(ctx context.Context) bool {
	return ctx.Err() != nil || w.ten == nil || w.ten.ctx.Err() != nil
}

// syncTip fetches the branch's tip into the store.
func (w *Writer) syncTip(ctx context.Context) error {
	fctx, cancel := context.WithTimeout(ctx, w.opts.PushTimeout)
	defer cancel()
	tip, n, err := w.remote.sync(fctx, w.st, w.tip, w.built)
	w.update(func(s *Status) { s.Stats.FetchedBytes += n })
	if err != nil {
		return err
	}
	if tip.IsZero() && !w.tip.IsZero() {
		w.log.Warn("the env repo branch is gone; starting it again", "ref", w.opts.Branch)
		w.st = newObjects()
	}
	if tip != w.tip {
		w.looked = nil
	}
	w.tip, w.built, w.synced = tip, nil, true
	w.reached(tip)
	w.collect()
	return nil
}

// landed handles the outcome of b's push: ok when it landed.
func (w *Writer) landed(ctx context.Context, ob Outbox, entries []deploy.OutboxEntry, b *batch, err error) (ok, more bool, _ error) {
	var pe *pushError
	if err != nil && !errors.As(err, &pe) {
		pe = &pushError{outcome: unknown, err: err}
	}
	switch {
	case err == nil:
		n := int64(len(b.commits))
		w.update(func(s *Status) {
			s.Stats.Pushes++
			s.Stats.CommitsPushed += n
			s.Stats.LastPushDuration = b.took
			s.Stats.LastPushTime = w.opts.Now()
			secs := b.took.Seconds()
			s.Stats.PushSecondsSum += secs
			for i, le := range PushBuckets {
				if secs <= le {
					s.Stats.PushSeconds[i]++
				}
			}
		})
		w.log.Debug("pushed", "ref", w.opts.Branch, "commit", b.tip.String(), "commits", n, "bytes", len(b.pack))
		w.tip, w.built, w.races, w.looked = b.tip, nil, 0, nil
		w.sentBytes += int64(len(b.pack))
		w.reached(w.tip)
		w.collect()
		return true, true, w.markPushed(ctx, ob, entries, b.pushed)
	case pe.outcome == lostRace:
		w.update(func(s *Status) { s.Stats.PushFailures++ })
		w.synced, w.built = false, nil
		w.races++
		if w.races < maxRaces && ctx.Err() == nil {
			w.log.Info("the remote moved; applying again on its tip", "ref", w.opts.Branch, "err", err)
			return false, true, nil
		}
		w.races = 0
		return false, false, err
	case pe.outcome == refused:
		w.update(func(s *Status) { s.Stats.PushFailures++; s.Stats.PushRefusals++ })
		w.built = nil
		w.reached(w.tip)
		return false, false, err
	default:
		// It may have landed: fetch before building again, and take our own commit if
		// it is there.
		w.update(func(s *Status) { s.Stats.PushFailures++ })
		w.built = []hash{b.tip}
		w.synced = false
		return false, false, err
	}
}

// collect lets the store drop what neither the tip nor a batch waiting for its push needs.
func (w *Writer) collect() {
	roots := []hash{w.tip}
	if !w.pinned.IsZero() {
		roots = append(roots, w.pinned)
	}
	w.st.gc(roots, maxHistory)
}

// errAbandoned: a stop did not wait longer for a push in flight.
var errAbandoned = errors.New("stopped while the push was in flight; it goes on, and the next start looks for it")

// flight is a push under way.
type flight struct {
	b     *batch
	res   chan error
	pctx  context.Context
	start time.Time
}

// startPush starts b's push with its own deadline, never the caller's context: a stop
// waits up to StopTimeout for the push in flight, and then leaves it running rather than
// kill git in the middle of a ref update.
func (w *Writer) startPush(ctx context.Context, b *batch) *flight {
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.opts.PushTimeout)
	f := &flight{b: b, res: make(chan error, 1), pctx: pctx, start: time.Now()}
	go func() {
		defer cancel()
		f.res <- w.remote.push(pctx, b.base, b.tip, b.pack)
	}()
	return f
}

// awaitPush waits for the push's answer.
func (w *Writer) awaitPush(ctx context.Context, f *flight) error {
	defer func() { f.b.took = time.Since(f.start) }()
	select {
	case err := <-f.res:
		return err
	case <-f.pctx.Done():
		select {
		case err := <-f.res: // it ended just now
			return err
		default:
		}
		return &pushError{outcome: unknown, err: fmt.Errorf("push %s: no answer within %s", w.opts.Branch, w.opts.PushTimeout)}
	case <-ctx.Done():
	}
	w.log.Info("stopping; waiting for the push in flight", "ref", w.opts.Branch, "commit", f.b.tip.String(), "timeout", w.opts.StopTimeout)
	t := time.NewTimer(w.opts.StopTimeout)
	defer t.Stop()
	select {
	case err := <-f.res:
		return err
	case <-t.C:
		return &pushError{outcome: unknown, err: errAbandoned}
	}
}

// markPushed records pushed in the outbox and then tells OnPush, in id order.
func (w *Writer) markPushed(ctx context.Context, ob Outbox, entries []deploy.OutboxEntry, pushed []deploy.Pushed) error {
	if ctx.Err() != nil {
		// Stopping: what landed is still marked.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), w.opts.StopTimeout)
		defer cancel()
	}
	if err := ob.MarkPushed(ctx, pushed); err != nil {
		return fmt.Errorf("mark pushed: %w", err)
	}
	w.signal()
	if w.opts.OnPush == nil {
		return nil
	}
	byID := make(map[int64]deploy.RepoChange, len(entries))
	for _, e := range entries {
		byID[e.ID] = e.Change
	}
	now := w.opts.Now()
	for _, p := range pushed {
		w.opts.OnPush(deploy.PushEvent{ActionID: p.ID, Commit: p.Commit, Carried: deploy.CarriedBy(byID[p.ID]), Time: now})
	}
	return nil
}

// setAside marks an entry that cannot be applied as failed; the entries behind it go on.
func (w *Writer) setAside(ctx context.Context, ob Outbox, e deploy.OutboxEntry, reason string) error {
	if err := ob.MarkFailed(ctx, w.ten.current(), e.ID, reason, w.opts.Now()); err != nil {
		return fmt.Errorf("set outbox entry %d aside: %w", e.ID, err)
	}
	w.log.Error("outbox entry set aside", "id", e.ID, "reason", reason)
	w.update(func(s *Status) { s.Stats.FailedEntries++ })
	w.signal()
	if w.opts.OnPush != nil {
		w.opts.OnPush(deploy.PushEvent{ActionID: e.ID, Failed: reason, Carried: deploy.CarriedBy(e.Change), Time: w.opts.Now()})
	}
	return nil
}
