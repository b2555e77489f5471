package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"kuberpult/deploy"
)

// Outbox is where the writer takes accepted repo changes from and reports their commits.
type Outbox interface {
	// Pending returns up to limit changes not pushed yet, oldest first.
	Pending(ctx context.Context, limit int) ([]deploy.OutboxEntry, error)
	// MarkPushed records which commit carried each change.
	MarkPushed(ctx context.Context, pushed []deploy.Pushed) error
}

// Flush pushes everything pending in ob, in batches, and returns when nothing is left. It
// is safe to call while Run is running.
func (w *Writer) Flush(ctx context.Context, ob Outbox) error {
	w.flushMu.Lock()
	defer w.flushMu.Unlock()
	for {
		entries, err := ob.Pending(ctx, batchSize)
		if err != nil {
			return fmt.Errorf("flush: %w", err)
		}
		if len(entries) == 0 {
			return nil
		}
		pushed, err := w.Write(ctx, entries)
		if err != nil {
			return fmt.Errorf("flush: %w", err)
		}
		if err := ob.MarkPushed(ctx, pushed); err != nil {
			return fmt.Errorf("flush: %w", err)
		}
		if len(entries) < batchSize {
			return nil
		}
	}
}

// Run drains ob whenever Notify is called and every poll interval, until ctx is done; it
// then returns nil. Failures are logged and retried with a growing pause (up to 30s):
// what could not be pushed stays in the outbox.
func (w *Writer) Run(ctx context.Context, ob Outbox) error {
	var backoff time.Duration
	for {
		err := w.Flush(ctx, ob)
		if ctx.Err() != nil {
			return nil
		}
		wait := w.opts.PollInterval
		wake := w.notify
		if err != nil {
			backoff = min(max(2*backoff, time.Second), maxBackoff)
			wait, wake = backoff, nil // a notification does not cut the pause short
			attrs := []any{"ref", w.opts.Branch, "err", err, "retry_in", backoff}
			var pe *pushError
			if errors.As(err, &pe) {
				attrs = append(attrs, "commit", pe.commit)
			}
			w.log.Error("env repo write failed", attrs...)
		} else {
			backoff = 0
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}
