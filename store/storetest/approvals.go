package storetest

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"kuberpult/deploy"
)

// testApprovals: an approval request is recorded with the action that asked for it, its
// decision with the action that decided it, and read back by id.
func testApprovals(t *testing.T, s Store) {
	ctx := t.Context()
	read := func(id string) (deploy.Approval, bool) {
		t.Helper()
		var a deploy.Approval
		var ok bool
		err := s.View(ctx, func(ctx context.Context, v deploy.View) error {
			var err error
			a, ok, err = v.Approval(ctx, id)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return a, ok
	}
	if _, ok := read("a1b2c3"); ok {
		t.Fatal("an approval before any was recorded")
	}
	req := deploy.Approval{ID: "a1b2c3", Command: "deploy checkout 2 to production", Env: "production", RequestedBy: alice,
		RequestedAt: at(1).UTC(), Expires: at(61).UTC(), Approvers: "role:release-manager", Windows: []string{"peak"}, State: deploy.ApprovalPending}
	id1 := mustActKey(t, s, deploy.RequestKey{}, deploy.Change{Approvals: []deploy.Approval{req},
		Audit: deploy.AuditEntry{Time: at(1), Actor: alice, Command: "deploy checkout 2 to production"}})
	want := req
	want.Requested = id1
	got, ok := read("a1b2c3")
	if diff := cmp.Diff(want, got); !ok || diff != "" {
		t.Errorf("pending approval (-want +got):\n%s", diff)
	}
	decided := got
	decided.State, decided.DecidedBy, decided.DecidedAt = deploy.ApprovalApproved, &bob, at(5).UTC()
	id2 := mustActKey(t, s, deploy.RequestKey{}, deploy.Change{Approvals: []deploy.Approval{decided},
		Audit: deploy.AuditEntry{Time: at(5), Actor: bob, Command: "approve a1b2c3"}})
	decided.Decided = id2
	if got, _ := read("a1b2c3"); !cmp.Equal(decided, got) {
		t.Errorf("decided approval (-want +got):\n%s", cmp.Diff(decided, got))
	}
	_, _, err := s.Act(ctx, deploy.RequestKey{}, decide(deploy.Change{Approvals: []deploy.Approval{{ID: "x"}},
		Audit: deploy.AuditEntry{Time: at(6), Actor: bob, Command: "bad"}}))
	if err == nil {
		t.Error("an approval without a state was written")
	}
}
