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
	qRequest    = stmt(`SELECT fingerprint, action_id, result, at FROM requests WHERE request_key = ?`)
	qAddRequest = stmt(`INSERT INTO requests (request_key, fingerprint, action_id, result, at)
		VALUES (?, ?, ?, ?, ?)`)
	qPruneRequests = stmt(`DELETE FROM requests WHERE at < ?`)
)

// Act runs one action in one write transaction (BEGIN IMMEDIATE), so that nothing changes
// between the decision and its effect, also when other processes write the same file:
//
//  1. If key.Key is set and a request with that key was recorded, Act returns its recorded
//     outcome and true, without calling fn, when key.Fingerprint is the recorded one, and an
//     error wrapping deploy.ErrConflict naming the key otherwise.
//  2. Else fn decides on a view that reads inside the transaction.
//  3. Its change is written (the audit entry first: its id is the action id), and with
//     key.Key set the request record: key, fingerprint, action id, result and the audit
//     entry's time.
//  4. The transaction commits, and Act returns the new action id, the result and the time.
//
// When fn fails or the change cannot be written (a release that exists already is an error
// wrapping deploy.ErrConflict, with a message for the user), nothing at all is written, the
// request record neither. fn must be a pure function of the view: a backend may call it
// again when it has to retry the transaction (this one never does: SQLite's write lock is
// taken before fn runs). fn must not call Act itself: the write transaction is held while it
// runs.
func (db *DB) Act(ctx context.Context, key deploy.RequestKey,
	fn func(ctx context.Context, v deploy.View) (deploy.Decided, error)) (deploy.Recorded, bool, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return deploy.Recorded{}, false, fmt.Errorf("act: begin: %w", err)
	}
	defer tx.Rollback()
	if db.postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, writeLock); err != nil {
			return deploy.Recorded{}, false, fmt.Errorf("act: take the write lock: %w", err)
		}
	}
	r := runner{tx, db.writeStmts, db.postgres}
	if key.Key != "" {
		rec, found, err := lookupRequest(ctx, r, key)
		if err != nil {
			return deploy.Recorded{}, false, fmt.Errorf("act: %w", err)
		}
		if found {
			return rec, true, nil
		}
	}
	decided, err := fn(ctx, &view{r: r})
	if err != nil {
		return deploy.Recorded{}, false, fmt.Errorf("decide: %w", err)
	}
	id, err := apply(ctx, r, decided.Change)
	if err != nil {
		return deploy.Recorded{}, false, fmt.Errorf("write change: %w", err)
	}
	rec := deploy.Recorded{ActionID: id, Result: result(decided.Result), Time: decided.Change.Audit.Time}
	if key.Key != "" {
		body := rec.Result
		if body == nil {
			body = []byte{}
		}
		if _, err := r.exec(ctx, qAddRequest, key.Key, key.Fingerprint, id, body, fmtTime(rec.Time)); err != nil {
			return deploy.Recorded{}, false, fmt.Errorf("act: record request %q: %w", key.Key, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return deploy.Recorded{}, false, fmt.Errorf("act: commit: %w", err)
	}
	return rec, false, nil
}

// result keeps "no result" as nil however it was stored.
func result(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

func lookupRequest(ctx context.Context, r runner, key deploy.RequestKey) (deploy.Recorded, bool, error) {
	var (
		fp  string
		rec deploy.Recorded
		at  string
	)
	err := r.queryRow(ctx, qRequest, key.Key).Scan(&fp, &rec.ActionID, &rec.Result, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return deploy.Recorded{}, false, nil
	}
	if err != nil {
		return deploy.Recorded{}, false, fmt.Errorf("look up request %q: %w", key.Key, err)
	}
	if fp != key.Fingerprint {
		return deploy.Recorded{}, false, deploy.Conflictf("request key %q was already used for a different request", key.Key)
	}
	rec.Result = result(rec.Result)
	if rec.Time, err = parseTime(at); err != nil {
		return deploy.Recorded{}, false, fmt.Errorf("request %q: %w", key.Key, err)
	}
	return rec, true, nil
}

// View runs fn on a consistent read-only snapshot. It never blocks writers, and what fn
// reads may be outdated by the time it returns: decisions belong in Act.
func (db *DB) View(ctx context.Context, fn func(ctx context.Context, v deploy.View) error) error {
	return db.snapshot(ctx, func(r runner) error {
		return fn(ctx, &view{r: r})
	})
}

// Audit records a standalone audit entry (a query, a parse error, an internal failure) and
// returns its id. Its ID and Commit are the store's to set, as for an action's entry.
func (db *DB) Audit(ctx context.Context, e deploy.AuditEntry) (int64, error) {
	var id int64
	err := db.update(ctx, func(r runner) error {
		var err error
		id, err = insertAudit(ctx, r, e)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("audit: %w", err)
	}
	return id, nil
}

// PruneRequests deletes the request records made before before, and returns how many. A
// request repeated after that acts again.
func (db *DB) PruneRequests(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := db.update(ctx, func(r runner) error {
		res, err := r.exec(ctx, qPruneRequests, fmtTime(before))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune requests: %w", err)
	}
	return int(n), nil
}
