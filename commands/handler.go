package commands

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"kuberpult/deploy"
	"kuberpult/policy"
	"kuberpult/train"
)

// Store is what the Handler needs of the state store. Every action is one call of Act: the
// decision reads its view inside the write transaction that also records the change, the
// outbox entry, the audit entry and the request key. Queries read a snapshot with View.
type Store interface {
	Act(ctx context.Context, key deploy.RequestKey, fn func(ctx context.Context, v deploy.View) (deploy.Decided, error)) (deploy.Recorded, bool, error)
	View(ctx context.Context, fn func(ctx context.Context, v deploy.View) error) error
	Audit(ctx context.Context, e deploy.AuditEntry) (int64, error)
}

// Options configure a Handler.
type Options struct {
	Store        Store
	Environments deploy.Environments
	// Policy decides who may do what; nil allows everything.
	Policy *policy.Policy
	// Notify wakes the git writer after a change was committed to the outbox. Optional.
	Notify func()
	// Backpressure, when set, is called before an action is decided; it may hold the action
	// back for a while when the env repo lags behind what was accepted. Queries never wait.
	Backpressure func(ctx context.Context)
	// Observe, when set, hears of every action after it was committed (not of queries, not
	// of replays): chat adapters announce what CI and the scheduler did. It must not block.
	Observe func(Request, Result)
	// Windows are the configured windows (peak hours, freezes), judged by the gate.
	Windows policy.Windows
	// Trains are the scheduled trains (hold, approve, and the scheduler's announcements
	// and departures name them).
	Trains []train.Scheduled
	// ApprovalExpiry is how long an approval request waits; default DefaultApprovalExpiry.
	ApprovalExpiry time.Duration
	// NewApprovalID makes approval request ids; default random ones such as k3f9qa.
	NewApprovalID func() string
	// Now is the clock; NewID makes lock ids. Both default to the real thing.
	Now    func() time.Time
	NewID  func() string
	Logger *slog.Logger
}

// Handler executes commands for every entry point. It keeps no state of its own: every
// decision is made inside the store transaction that writes it, so several handlers (and
// several processes) on one database stay correct.
type Handler struct {
	store   Store
	envs    deploy.Environments
	trains  []train.Scheduled
	policy  *policy.Policy
	gate    policy.Gate
	notify  func()
	observe func(Request, Result)
	wait    func(ctx context.Context)
	now     func() time.Time
	newID   func() string
	log     *slog.Logger

	approvalExpiry time.Duration
	newApprovalID  func() string
}

// New returns a Handler.
func New(o Options) *Handler {
	h := &Handler{store: o.Store, envs: o.Environments, trains: o.Trains, policy: o.Policy, notify: o.Notify, observe: o.Observe, wait: o.Backpressure, now: o.Now, newID: o.NewID, log: o.Logger}
	h.gate = policy.Gate{Policy: o.Policy, Envs: o.Environments, Windows: o.Windows}
	if h.notify == nil {
		h.notify = func() {}
	}
	if h.observe == nil {
		h.observe = func(Request, Result) {}
	}
	if h.wait == nil {
		h.wait = func(context.Context) {}
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.newID == nil {
		h.newID = randomLockID
	}
	h.approvalExpiry, h.newApprovalID = o.ApprovalExpiry, o.NewApprovalID
	if h.approvalExpiry <= 0 {
		h.approvalExpiry = DefaultApprovalExpiry
	}
	if h.newApprovalID == nil {
		h.newApprovalID = newApprovalID
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h
}

// Environments returns the configured environments.
func (h *Handler) Environments() deploy.Environments { return h.envs }

// State returns the whole current state, for read-only adapters (API, boards).
func (h *Handler) State(ctx context.Context) (deploy.State, error) {
	var st deploy.State
	err := h.store.View(ctx, func(ctx context.Context, v deploy.View) error {
		var err error
		st, err = v.State(ctx, deploy.Everything)
		return err
	})
	return st, err
}

// Release returns one release with its manifests.
func (h *Handler) Release(ctx context.Context, app deploy.App, ver deploy.Version) (deploy.Release, error) {
	var rel deploy.Release
	err := h.store.View(ctx, func(ctx context.Context, v deploy.View) error {
		var err error
		rel, err = v.Release(ctx, app, ver)
		return err
	})
	return rel, err
}

// Request is one command as an entry point received it.
type Request struct {
	Actor  deploy.Actor
	Groups []string // the actor's Slack user groups, for the policy
	Via    deploy.Via
	Text   string // the command line as typed, for the audit log
	// Key makes the request idempotent: a Slack envelope or action id, the API's
	// Idempotency-Key, one per console line. A request with a key that was seen before gets
	// the first result back and changes nothing. Keys are scoped by entry point.
	Key string
	// Zone is the time zone of the person asking (an IANA name, from Slack's profile or the
	// console's TZ), for showing times; "" when unknown.
	Zone string
	// Fence, when set, makes the action conditional on that lease being in force when it is
	// recorded (the leader's scheduler): a deposed leader changes nothing.
	Fence *deploy.Lease
}

// Execute parses and runs one command line.
func (h *Handler) Execute(ctx context.Context, r Request) Result {
	cmd, err := Parse(r.Text)
	if err != nil {
		return h.refused(ctx, r, "", err)
	}
	return h.Run(ctx, r, cmd)
}

// Run executes a parsed command (for example the confirmed form of an earlier one).
func (h *Handler) Run(ctx context.Context, r Request, cmd Command) Result {
	if r.Text == "" {
		r.Text = Format(cmd)
	}
	if decide := decision(cmd); decide != nil {
		return h.act(ctx, r, cmd.verb(), Format(cmd), decide)
	}
	return h.query(ctx, r, cmd)
}

// decision is the decider of an action; nil for a query.
func decision(cmd Command) decider {
	switch c := cmd.(type) {
	case Deploy:
		return decide((*action).deploy, c)
	case Rollback:
		return decide((*action).rollback, c)
	case Lock:
		return decide((*action).lock, c)
	case Unlock:
		return decide((*action).unlock, c)
	case Hold:
		return decide((*action).hold, c)
	case Unhold:
		return decide((*action).unhold, c)
	case Approve:
		if c.ID != "" {
			return decide((*action).approveRequest, c.ID)
		}
		return decide((*action).approve, c)
	case Reject:
		return decide((*action).reject, c)
	case Announce:
		return decide((*action).announce, c)
	case Depart:
		return decide((*action).depart, c)
	case CatchUp:
		return decide((*action).catchUp, c)
	case Train:
		if !c.DryRun {
			return decide((*action).train, c)
		}
	case Undeploy:
		return decide((*action).undeploy, c)
	case Remove:
		return decide((*action).remove, c)
	}
	return nil
}

// decide makes a decider of a verb's method and its command.
func decide[C any](verb func(*action, context.Context, deploy.View, C) (Result, deploy.Change, error), c C) decider {
	return func(ctx context.Context, a *action, v deploy.View) (Result, deploy.Change, error) {
		return verb(a, ctx, v, c)
	}
}

// decider decides an action from its view: the result, and the change to write (without
// its audit entry, which act adds). A user error is a refusal, recorded like a result.
type decider func(ctx context.Context, a *action, v deploy.View) (Result, deploy.Change, error)

// act runs one action in one store transaction: key lookup, decision, change, audit entry
// and key → result are written together, or nothing is.
func (h *Handler) act(ctx context.Context, r Request, verb, fingerprint string, decide decider) Result {
	h.wait(ctx)
	now := h.now().UTC()
	var key deploy.RequestKey
	if r.Key != "" {
		key = deploy.RequestKey{Key: string(r.Via) + ":" + r.Key, Fingerprint: verb + " " + fingerprint}
	}
	var (
		res  Result
		repo bool
		a    *action
	)
	rec, replayed, err := h.store.Act(ctx, key, func(ctx context.Context, v deploy.View) (deploy.Decided, error) {
		a = &action{h: h, req: r, now: now}
		var change deploy.Change
		var err error
		res, change, err = decide(ctx, a, v)
		if err != nil {
			if _, ok := deploy.UserMessage(err); !ok {
				return deploy.Decided{}, err
			}
			res, change = refusal(err), deploy.Change{}
		}
		res.Verb, res.At, res.Actor, res.Zone = verb, now, r.Actor, r.Zone
		change.Audit, change.Fence = a.auditEntry(res), r.Fence
		repo = change.Repo != nil
		body, err := json.Marshal(res)
		if err != nil {
			return deploy.Decided{}, fmt.Errorf("encode result: %w", err)
		}
		return deploy.Decided{Change: change, Result: body}, nil
	})
	if err != nil {
		if a == nil {
			a = &action{h: h, req: r, now: now}
		}
		return h.failed(ctx, a, verb, err)
	}
	if replayed {
		if res, err = decodeResult(rec.Result); err != nil {
			return h.failed(ctx, &action{h: h, req: r, now: now}, verb, err)
		}
		res.Replayed = true
	}
	res.ActionID = rec.ActionID
	if repo && !replayed {
		h.notify()
	}
	if !replayed {
		h.observe(r, res)
	}
	return res
}

// query answers a read-only command from a snapshot; it never blocks writers. It is audited.
func (h *Handler) query(ctx context.Context, r Request, cmd Command) Result {
	a := &action{h: h, req: r, now: h.now().UTC()}
	var res Result
	err := h.store.View(ctx, func(ctx context.Context, v deploy.View) error {
		var err error
		res, err = a.answer(ctx, v, cmd)
		return err
	})
	if err != nil {
		return h.failed(ctx, a, cmd.verb(), err)
	}
	res.Verb, res.At, res.Actor, res.Zone = cmd.verb(), a.now, r.Actor, r.Zone
	res.ActionID = a.auditAlone(ctx, res)
	return res
}

// refused answers a command that was refused before any decision (a parse error).
func (h *Handler) refused(ctx context.Context, r Request, verb string, err error) Result {
	a := &action{h: h, req: r, now: h.now().UTC()}
	return h.failed(ctx, a, verb, err)
}

// failed turns an error into a result and audits it on its own: user errors show their
// text; anything else shows a reference and is logged once with it.
func (h *Handler) failed(ctx context.Context, a *action, verb string, err error) Result {
	var res Result
	if errors.Is(err, deploy.ErrLeaseLost) {
		// A fenced request of a process that does not lead any more: it leaves everything,
		// the audit log too, to the leader (which does the same with its own key).
		h.log.Warn("not the leader any more: left to the new one", "cmd", a.req.Text, "err", err)
		return Result{Verb: verb, At: a.now, Actor: a.req.Actor, Outcome: deploy.OutcomeFailed, Err: err,
			Problem: &Problem{Kind: ProblemInternal, Message: "this replica does not lead any more; the leader does it"}}
	}
	if _, ok := deploy.UserMessage(err); ok {
		res = refusal(err)
	} else {
		ref := newRef()
		h.log.Error("command failed", "ref", ref, "actor", a.req.Actor.Display(), "cmd", a.req.Text, "err", err)
		res = Result{Outcome: deploy.OutcomeFailed, Err: err,
			Problem: &Problem{Kind: ProblemInternal, Message: fmt.Sprintf("internal error (ref %s)", ref)}}
	}
	res.Verb, res.At, res.Actor = verb, a.now, a.req.Actor
	res.ActionID = a.auditAlone(ctx, res)
	return res
}

// refusal is the result of a user error.
func refusal(err error) Result {
	msg, _ := deploy.UserMessage(err)
	res := Result{Outcome: deploy.OutcomeInvalid, Err: err, Problem: &Problem{Kind: problemKind(err), Message: msg}}
	if errors.Is(err, deploy.ErrDenied) {
		res.Outcome = deploy.OutcomeDenied
	}
	return res
}

func problemKind(err error) ProblemKind {
	switch {
	case errors.Is(err, deploy.ErrDenied):
		return ProblemDenied
	case errors.Is(err, deploy.ErrNotFound):
		return ProblemNotFound
	case errors.Is(err, deploy.ErrConflict):
		return ProblemConflict
	}
	return ProblemInvalid
}

// problemErrs maps problem kinds back to the sentinel errors, for stored results.
var problemErrs = map[ProblemKind]error{
	ProblemInvalid: deploy.ErrInvalid, ProblemDenied: deploy.ErrDenied,
	ProblemNotFound: deploy.ErrNotFound, ProblemConflict: deploy.ErrConflict,
}

// decodeResult reads a stored result back, with its commands and its error.
func decodeResult(b []byte) (Result, error) {
	var res Result
	if err := json.Unmarshal(b, &res); err != nil {
		return Result{}, fmt.Errorf("decode stored result: %w", err)
	}
	if p := res.Problem; p != nil {
		if kind, ok := problemErrs[p.Kind]; ok {
			res.Err = &deploy.Error{Kind: kind, Msg: p.Message}
		} else {
			res.Err = errors.New(p.Message)
		}
	}
	var err error
	if c := res.Confirm; c != nil {
		if c.Command, err = Parse(c.CommandText); err != nil {
			return Result{}, fmt.Errorf("decode stored confirmation %q: %w", c.CommandText, err)
		}
	}
	if c := res.Choice; c != nil {
		for i := range c.Options {
			if c.Options[i].Command, err = Parse(c.Options[i].CommandText); err != nil {
				return Result{}, fmt.Errorf("decode stored choice %q: %w", c.Options[i].CommandText, err)
			}
		}
	}
	return res, nil
}

// action carries one command's context while it is decided.
type action struct {
	h   *Handler
	req Request
	now time.Time
	env deploy.Env // main target, for the audit log
	app deploy.App
	// approvedBy approved this action (an approval request being run).
	approvedBy *deploy.Actor
}

func (a *action) auditEntry(res Result) deploy.AuditEntry {
	return deploy.AuditEntry{
		Time: a.now, Actor: a.req.Actor, Via: a.req.Via, Command: a.req.Text,
		Env: a.env, App: a.app, Outcome: res.Outcome, Detail: res.Summary(),
	}
}

// auditAlone records the audit entry of something that changed nothing and returns its id.
func (a *action) auditAlone(ctx context.Context, res Result) int64 {
	id, err := a.h.store.Audit(ctx, a.auditEntry(res))
	if err != nil {
		a.h.log.Error("audit failed", "actor", a.req.Actor.Display(), "cmd", a.req.Text, "err", err)
	}
	return id
}

// newRef returns 8 random hex digits that tie an answer to its log line.
func newRef() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

const idAlphabet = "abcdefghijkmnpqrstuvwxyz23456789"

// randomLockID makes ids like "lk-7fq2xm": short enough to type in chat.
func randomLockID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return "lk-" + string(b)
}
