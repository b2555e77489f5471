package commands

import (
	"context"
	"crypto/rand"
	"fmt"
	"regexp"
	"strings"
	"time"

	"kuberpult/deploy"
	"kuberpult/policy"
)

// Approvals: a person's deploy (or rollback) inside a window with override approval becomes
// an approval request. Someone else holding the window's approvers role approves it — the
// command then runs under the requester's name, with the approver recorded — or rejects it;
// the requester may withdraw it. Requests expire. `approve <id>` and `reject <id>` work from
// every entry point, and each click is checked again for the person who clicks.

// Reject rejects (or, by the requester, withdraws) an approval request.
type Reject struct{ ID string }

func (Reject) verb() string { return "reject" }

// DefaultApprovalExpiry is how long an approval request waits unless configured otherwise.
const DefaultApprovalExpiry = time.Hour

var approvalIDRE = regexp.MustCompile(`^[a-z0-9]{4,12}$`)

func approvalID(s string) (string, error) {
	if !approvalIDRE.MatchString(s) {
		return "", deploy.Invalidf("%q is not an approval id (such as a1b2c3); the request's reply names it", s)
	}
	return s, nil
}

func parseReject(args []word) (Command, error) {
	if len(args) != 1 {
		return nil, deploy.Invalidf("reject needs the id of an approval request, e.g. `reject a1b2c3`")
	}
	id, err := approvalID(args[0].text)
	if err != nil {
		return nil, err
	}
	return Reject{ID: id}, nil
}

// newApprovalID makes ids like "k3f9qa": short enough to type.
func newApprovalID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b)
}

// needsApproval lists the windows of the environments whose gate wants an approval.
func needsApproval(gates map[deploy.Env]policy.Decision, envs []deploy.Env) (approvers string, windows []string, until time.Time) {
	seen := map[string]bool{}
	for _, env := range envs {
		d := gates[env]
		if d.Verdict != policy.NeedsApproval {
			continue
		}
		for _, w := range d.Windows {
			if w.Override == policy.OverrideApproval {
				if approvers == "" {
					approvers = w.Approvers
				}
				if !seen[w.Name] {
					seen[w.Name] = true
					windows = append(windows, w.Name)
				}
				if until.IsZero() || w.Until.Before(until) {
					until = w.Until
				}
			}
		}
	}
	return approvers, windows, until
}

// requestApproval records an approval request for cmd (the exact command that runs when it
// is approved, with its precondition) instead of doing it.
func (a *action) requestApproval(ctx context.Context, v deploy.View, res Result, cmd Command, target string, approvers string, windows []string, until time.Time) (Result, deploy.Change, error) {
	if a.req.Actor.Kind != deploy.ActorUser {
		return Result{}, deploy.Change{}, deploy.Deniedf("%s is in window %s, where a deploy needs a person's approval request; ask a person to run it",
			target, strings.Join(windows, ", "))
	}
	id, err := a.freeApprovalID(ctx, v)
	if err != nil {
		return Result{}, deploy.Change{}, err
	}
	ap := deploy.Approval{ID: id, Command: Format(cmd), Env: deploy.Env(target), RequestedBy: a.req.Actor,
		Groups: a.req.Groups, RequestedAt: a.now, Expires: a.now.Add(a.h.approvalExpiry), Approvers: approvers,
		Windows: windows, Until: until, State: deploy.ApprovalPending}
	res.Outcome, res.Approval = deploy.OutcomePending, &ap
	return res, deploy.Change{Approvals: []deploy.Approval{ap}}, nil
}

// freeApprovalID makes an approval id that no request has.
func (a *action) freeApprovalID(ctx context.Context, v deploy.View) (string, error) {
	for i := 0; i < 20; i++ {
		id := a.h.newApprovalID()
		if _, taken, err := v.Approval(ctx, id); err != nil {
			return "", err
		} else if !taken {
			return id, nil
		}
	}
	return "", fmt.Errorf("no free approval id")
}

// holdsRole checks that the acting person holds role (anyone does without rbac).
func (a *action) holdsRole(role, what string) error {
	if a.req.Actor.Kind != deploy.ActorUser {
		return deploy.Deniedf("%s is approved by a person with role %s", what, role)
	}
	if a.h.policy == nil {
		return nil
	}
	want := strings.TrimPrefix(role, "role:")
	for _, r := range a.h.policy.Roles(policy.SubjectOf(a.req.Actor, a.req.Groups...)) {
		if strings.TrimPrefix(r, "role:") == want {
			return nil
		}
	}
	return deploy.Deniedf("approving %s needs role %s, which you do not have", what, role)
}

func samePerson(x, y deploy.Actor) bool {
	return x.Kind == y.Kind && ((x.ID != "" && x.ID == y.ID) || (x.Email != "" && strings.EqualFold(x.Email, y.Email)))
}

// pendingApproval reads an approval request that can still be decided; one that expired is
// marked so (expired is true, and the change records it).
func (a *action) pendingApproval(ctx context.Context, v deploy.View, id string) (ap deploy.Approval, expired bool, err error) {
	ap, ok, err := v.Approval(ctx, id)
	if err != nil {
		return ap, false, err
	}
	if !ok {
		return ap, false, deploy.NotFoundf("no approval request %s", id)
	}
	a.env = ap.Env
	switch ap.State {
	case deploy.ApprovalApproved:
		return ap, false, deploy.Conflictf("approval request %s was approved already, by %s at %s", id, ap.DecidedBy.Display(), ap.DecidedAt.UTC().Format("2006-01-02 15:04 MST"))
	case deploy.ApprovalRejected:
		return ap, false, deploy.Conflictf("approval request %s was rejected, by %s at %s", id, ap.DecidedBy.Display(), ap.DecidedAt.UTC().Format("2006-01-02 15:04 MST"))
	case deploy.ApprovalExpired:
		return ap, false, deploy.Conflictf("approval request %s expired at %s; ask again", id, ap.Expires.UTC().Format("2006-01-02 15:04 MST"))
	}
	if !a.now.Before(ap.Expires) {
		ap.State, ap.DecidedAt, ap.Note = deploy.ApprovalExpired, a.now, "expired before anyone approved it"
		return ap, true, nil
	}
	return ap, false, nil
}

func (a *action) approveRequest(ctx context.Context, v deploy.View, id string) (Result, deploy.Change, error) {
	ap, expired, err := a.pendingApproval(ctx, v, id)
	if err != nil {
		return Result{}, deploy.Change{}, err
	}
	if expired {
		return Result{Outcome: deploy.OutcomeNoop, Approval: &ap}, deploy.Change{Approvals: []deploy.Approval{ap}}, nil
	}
	if c, err := Parse(ap.Command); err == nil {
		if dep, ok := c.(Approve); ok && dep.Train != "" {
			return a.approve(ctx, v, dep) // a train's departure: approved like `approve train <name>`
		}
	}
	if samePerson(a.req.Actor, ap.RequestedBy) {
		return Result{}, deploy.Change{}, deploy.Deniedf("you asked for %s yourself; someone else with role %s approves it", id, ap.Approvers)
	}
	if err := a.holdsRole(ap.Approvers, "request "+id); err != nil {
		return Result{}, deploy.Change{}, err
	}
	cmd, err := Parse(ap.Command)
	if err != nil {
		return Result{}, deploy.Change{}, fmt.Errorf("approval %s: stored command %q: %w", id, ap.Command, err)
	}
	approver := a.req.Actor
	run := &action{h: a.h, req: Request{Actor: ap.RequestedBy, Groups: ap.Groups, Via: a.req.Via, Text: ap.Command},
		now: a.now, approvedBy: &approver}
	var res Result
	var change deploy.Change
	switch c := cmd.(type) {
	case Deploy:
		res, change, err = run.deploy(ctx, v, c)
	case Rollback:
		res, change, err = run.rollback(ctx, v, c)
	default:
		return Result{}, deploy.Change{}, fmt.Errorf("approval %s: cannot run %T", id, cmd)
	}
	if err != nil {
		return Result{}, deploy.Change{}, err // the requester may no longer do it: said, and it stays pending
	}
	a.app = run.app
	if res.Outcome == deploy.OutcomeDone || res.Outcome == deploy.OutcomeNoop {
		ap.State, ap.DecidedBy, ap.DecidedAt = deploy.ApprovalApproved, &approver, a.now
		change.Approvals = append(change.Approvals, ap)
	}
	res.Approval = &ap
	return res, change, nil
}

func (a *action) reject(ctx context.Context, v deploy.View, c Reject) (Result, deploy.Change, error) {
	ap, expired, err := a.pendingApproval(ctx, v, c.ID)
	if err != nil {
		return Result{}, deploy.Change{}, err
	}
	if expired {
		return Result{Outcome: deploy.OutcomeNoop, Approval: &ap}, deploy.Change{Approvals: []deploy.Approval{ap}}, nil
	}
	if samePerson(a.req.Actor, ap.RequestedBy) {
		ap.Note = "withdrawn by the requester"
	} else if err := a.holdsRole(ap.Approvers, "request "+c.ID); err != nil {
		return Result{}, deploy.Change{}, deploy.Deniedf("rejecting request %s needs role %s (or to be the one who asked)", c.ID, ap.Approvers)
	}
	actor := a.req.Actor
	ap.State, ap.DecidedBy, ap.DecidedAt = deploy.ApprovalRejected, &actor, a.now
	return Result{Outcome: deploy.OutcomeDone, Approval: &ap}, deploy.Change{Approvals: []deploy.Approval{ap}}, nil
}
