package commands

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"kuberpult/deploy"
	"kuberpult/policy"
)

// Store is what the Handler needs of the state store. Each method is one transaction.
type Store interface {
	State(ctx context.Context) (deploy.State, error)
	// StateOf is State with the deployments and held attempts of envs only.
	StateOf(ctx context.Context, envs []deploy.Env) (deploy.State, error)
	Release(ctx context.Context, app deploy.App, v deploy.Version) (deploy.Release, error)
	Releases(ctx context.Context, app deploy.App) ([]deploy.Release, error)
	History(ctx context.Context, app deploy.App, env deploy.Env, limit int) ([]deploy.Deployment, error)
	Apply(ctx context.Context, c deploy.Change) (int64, error)
	Audit(ctx context.Context, e deploy.AuditEntry) error
	AuditLog(ctx context.Context, f deploy.AuditFilter) ([]deploy.AuditEntry, error)
}

// Options configure a Handler.
type Options struct {
	Store        Store
	Environments deploy.Environments
	// Policy decides who may do what; nil allows everything.
	Policy *policy.Policy
	// Notify wakes the git writer after a change was committed to the outbox. Optional.
	Notify func()
	// Now is the clock; NewID makes lock ids. Both default to the real thing.
	Now    func() time.Time
	NewID  func() string
	Logger *slog.Logger
}

// Handler executes commands for every entry point. Actions are serialised: each reads a
// snapshot, decides and commits before the next one starts, so decisions never race.
type Handler struct {
	store  Store
	envs   deploy.Environments
	policy *policy.Policy
	notify func()
	now    func() time.Time
	newID  func() string
	log    *slog.Logger
	mu     sync.Mutex
}

// New returns a Handler.
func New(o Options) *Handler {
	h := &Handler{store: o.Store, envs: o.Environments, policy: o.Policy, notify: o.Notify, now: o.Now, newID: o.NewID, log: o.Logger}
	if h.notify == nil {
		h.notify = func() {}
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.newID == nil {
		h.newID = randomLockID
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h
}

// State returns a snapshot of the current state, for read-only adapters (API, boards).
func (h *Handler) State(ctx context.Context) (deploy.State, error) { return h.store.State(ctx) }

// Release returns one release with its manifests.
func (h *Handler) Release(ctx context.Context, app deploy.App, v deploy.Version) (deploy.Release, error) {
	return h.store.Release(ctx, app, v)
}

// Environments returns the configured environments.
func (h *Handler) Environments() deploy.Environments { return h.envs }

// Request is one command as an entry point received it.
type Request struct {
	Actor deploy.Actor
	Via   deploy.Via
	Text  string // the command line as typed, for the audit log
}

// Execute parses and runs one command line and records it in the audit log.
func (h *Handler) Execute(ctx context.Context, r Request) Reply {
	cmd, err := Parse(r.Text)
	if err != nil {
		rep := h.errorReply(err)
		h.audit(ctx, r, rep, "", "")
		return rep
	}
	return h.Run(ctx, r, cmd)
}

// Run executes a parsed command (for example the confirmed form of an earlier one).
func (h *Handler) Run(ctx context.Context, r Request, cmd Command) Reply {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.Text == "" {
		r.Text = Format(cmd)
	}
	a := action{h: h, req: r, now: h.now().UTC()}
	rep, err := a.run(ctx, cmd)
	if err != nil {
		rep = h.errorReply(err)
	}
	if !a.audited {
		h.audit(ctx, r, rep, a.env, a.app)
	}
	return rep
}

// action carries one command's context while it runs.
type action struct {
	h       *Handler
	req     Request
	now     time.Time
	env     deploy.Env // main target, for the audit log
	app     deploy.App
	audited bool // the audit entry went into the action's transaction
}

func (a *action) run(ctx context.Context, cmd Command) (Reply, error) {
	switch c := cmd.(type) {
	case Deploy:
		return a.deploy(ctx, c)
	case Rollback:
		return a.rollback(ctx, c)
	case Lock:
		return a.lock(ctx, c)
	case Unlock:
		return a.unlock(ctx, c)
	case Locks:
		return a.locks(ctx, c)
	case Status:
		return a.status(ctx, c)
	case Envs:
		return a.listEnvs(ctx)
	case History:
		return a.history(ctx, c)
	case Help:
		return help(c), nil
	case Audit:
		return a.auditLog(ctx, c)
	}
	return Reply{}, fmt.Errorf("no handler for %T", cmd)
}

// commit applies a change with the action's audit entry and wakes the git writer.
func (a *action) commit(ctx context.Context, c deploy.Change, rep Reply) error {
	c.Audit = a.auditEntry(rep)
	if _, err := a.h.store.Apply(ctx, c); err != nil {
		return fmt.Errorf("apply %s: %w", a.req.Text, err)
	}
	a.audited = true
	if c.Repo != nil {
		a.h.notify()
	}
	return nil
}

func (a *action) auditEntry(rep Reply) deploy.AuditEntry {
	return deploy.AuditEntry{
		Time: a.now, Actor: a.req.Actor, Via: a.req.Via, Command: a.req.Text,
		Env: a.env, App: a.app, Outcome: rep.Outcome, Detail: rep.Text,
	}
}

func (h *Handler) audit(ctx context.Context, r Request, rep Reply, env deploy.Env, app deploy.App) {
	a := action{h: h, req: r, now: h.now().UTC(), env: env, app: app}
	e := a.auditEntry(rep)
	if err := h.store.Audit(ctx, e); err != nil {
		h.log.Error("audit failed", "actor", r.Actor.Display(), "cmd", r.Text, "err", err)
	}
}

// errorReply turns an error into a reply: user errors show their text, anything else
// shows a reference and is logged once with it.
func (h *Handler) errorReply(err error) Reply {
	if msg, ok := deploy.UserMessage(err); ok {
		out := deploy.OutcomeInvalid
		if errors.Is(err, deploy.ErrDenied) {
			out = deploy.OutcomeDenied
		}
		return Reply{Outcome: out, Text: msg, Err: err}
	}
	ref := newRef()
	h.log.Error("command failed", "ref", ref, "err", err)
	return Reply{Outcome: deploy.OutcomeFailed, Text: fmt.Sprintf("internal error (ref %s)", ref), Err: err}
}

func newRef() string {
	b := make([]byte, 3)
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
