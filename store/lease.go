package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"kuberpult/deploy"
)

var (
	qLease    = stmt(`SELECT name, holder, priority, epoch, expires_at FROM leases WHERE name = ?`)
	qSetLease = stmt(`INSERT INTO leases (name, holder, priority, epoch, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)
		ON CONFLICT (name) DO UPDATE SET holder = ?2, priority = ?3, epoch = ?4, expires_at = ?5`)
)

// A lease row stays when the lease is released (holder ''), so that epochs keep growing.

func readLease(ctx context.Context, r runner, name string) (deploy.Lease, bool, error) {
	var (
		l       deploy.Lease
		expires string
	)
	err := r.queryRow(ctx, qLease, name).Scan(&l.Name, &l.Holder, &l.Priority, &l.Epoch, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return deploy.Lease{}, false, nil
	}
	if err != nil {
		return deploy.Lease{}, false, fmt.Errorf("read lease %s: %w", name, err)
	}
	if l.Expires, err = parseTime(expires); err != nil {
		return deploy.Lease{}, false, fmt.Errorf("read lease %s: %w", name, err)
	}
	return l, true, nil
}

func writeLease(ctx context.Context, r runner, l deploy.Lease) error {
	if _, err := r.exec(ctx, qSetLease, l.Name, l.Holder, l.Priority, l.Epoch, fmtTime(l.Expires)); err != nil {
		return fmt.Errorf("write lease %s: %w", l.Name, err)
	}
	return nil
}

// fence checks that l is the lease in force: same holder and epoch. An expired lease nobody
// took over is still in force (a take-over bumps the epoch).
func fence(ctx context.Context, r runner, l deploy.Lease) error {
	cur, ok, err := readLease(ctx, r, l.Name)
	if err != nil {
		return err
	}
	if !ok || cur.Holder == "" || cur.Holder != l.Holder || cur.Epoch != l.Epoch {
		return fmt.Errorf("lease %s is held by %q (epoch %d), not by %q (epoch %d): %w",
			l.Name, cur.Holder, cur.Epoch, l.Holder, l.Epoch, deploy.ErrLeaseLost)
	}
	return nil
}

// AcquireLease takes the lease name for holder if it is free (never taken, released, or
// expired: expires <= now), already holder's (then it is renewed and keeps its epoch), or held
// with a lower priority than priority (a take-over). A new holder gets the previous epoch + 1.
// It returns the lease in force after the call and whether holder has it.
func (db *DB) AcquireLease(ctx context.Context, name, holder string, priority int, now time.Time, ttl time.Duration) (deploy.Lease, bool, error) {
	if name == "" || holder == "" || ttl <= 0 {
		return deploy.Lease{}, false, fmt.Errorf("acquire lease %q for %q: name, holder and a positive ttl are needed", name, holder)
	}
	var (
		got  deploy.Lease
		ours bool
	)
	err := db.update(ctx, func(r runner) error {
		cur, _, err := readLease(ctx, r, name)
		if err != nil {
			return err
		}
		switch {
		case cur.Holder == holder:
			// ours already: renewed, same epoch
		case cur.Holder == "" || !cur.Expires.After(now) || cur.Priority < priority:
			cur.Epoch++
		default:
			got, ours = cur, false
			return nil
		}
		got = deploy.Lease{Name: name, Holder: holder, Priority: priority, Epoch: cur.Epoch, Expires: now.Add(ttl)}
		ours = true
		return writeLease(ctx, r, got)
	})
	if err != nil {
		return deploy.Lease{}, false, fmt.Errorf("acquire lease %s for %s: %w", name, holder, err)
	}
	return got, ours, nil
}

// RenewLease extends l to now+ttl. It returns an error wrapping deploy.ErrLeaseLost when the
// lease's holder or epoch is not l's any more; an expired lease nobody took is still l's.
func (db *DB) RenewLease(ctx context.Context, l deploy.Lease, now time.Time, ttl time.Duration) (deploy.Lease, error) {
	var got deploy.Lease
	err := db.update(ctx, func(r runner) error {
		if err := fence(ctx, r, l); err != nil {
			return err
		}
		cur, _, err := readLease(ctx, r, l.Name)
		if err != nil {
			return err
		}
		got = cur
		got.Expires = now.Add(ttl)
		return writeLease(ctx, r, got)
	})
	if err != nil {
		return deploy.Lease{}, fmt.Errorf("renew lease: %w", err)
	}
	return got, nil
}

// ReleaseLease frees l if it is still in force; otherwise it changes nothing.
func (db *DB) ReleaseLease(ctx context.Context, l deploy.Lease) error {
	err := db.update(ctx, func(r runner) error {
		if err := fence(ctx, r, l); errors.Is(err, deploy.ErrLeaseLost) {
			return nil
		} else if err != nil {
			return err
		}
		return writeLease(ctx, r, deploy.Lease{Name: l.Name, Epoch: l.Epoch})
	})
	if err != nil {
		return fmt.Errorf("release lease %s: %w", l.Name, err)
	}
	return nil
}

// Lease returns the lease row of name (Holder "" once released); false if it was never taken.
func (db *DB) Lease(ctx context.Context, name string) (deploy.Lease, bool, error) {
	var (
		l  deploy.Lease
		ok bool
	)
	err := db.snapshot(ctx, func(r runner) error {
		var err error
		l, ok, err = readLease(ctx, r, name)
		return err
	})
	return l, ok, err
}
