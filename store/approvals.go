package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"kuberpult/deploy"
)

var (
	qApproval     = stmt(`SELECT body FROM approvals WHERE id = ?`)
	qSaveApproval = stmt(`INSERT INTO approvals (id, state, body) VALUES (?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET state = excluded.state, body = excluded.body`)
)

func (v *view) Approval(ctx context.Context, id string) (deploy.Approval, bool, error) {
	var body []byte
	err := v.r.queryRow(ctx, qApproval, id).Scan(&body)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return deploy.Approval{}, false, nil
	case err != nil:
		return deploy.Approval{}, false, fmt.Errorf("read approval %s: %w", id, err)
	}
	var a deploy.Approval
	if err := json.Unmarshal(body, &a); err != nil {
		return deploy.Approval{}, false, fmt.Errorf("decode approval %s: %w", id, err)
	}
	return a, true, nil
}

// saveApproval records a; a pending one without its request's action id, or a decided one
// without the decision's, gets id.
func saveApproval(ctx context.Context, r runner, a deploy.Approval, id int64) error {
	if a.ID == "" || a.State == "" {
		return fmt.Errorf("record approval: id %q, state %q: both are needed", a.ID, a.State)
	}
	switch {
	case a.State == deploy.ApprovalPending && a.Requested == 0:
		a.Requested = id
	case a.State != deploy.ApprovalPending && a.Decided == 0:
		a.Decided = id
	}
	body, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("encode approval: %w", err)
	}
	if _, err := r.exec(ctx, qSaveApproval, a.ID, string(a.State), body); err != nil {
		return fmt.Errorf("record approval %s: %w", a.ID, err)
	}
	return nil
}
