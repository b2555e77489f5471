package argocd

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"kuberpult/deploy"
)

// Rollouts keeps the rollouts the tracker follows, and knows which env-repo commit carried
// which action; *store.DB implements it.
type Rollouts interface {
	SaveRollouts(ctx context.Context, rs ...deploy.Rollout) error
	RolloutsInFlight(ctx context.Context) ([]deploy.Rollout, error)
	LastActionOfCommit(ctx context.Context, rev string) (int64, bool, error)
	UntrackedPushes(ctx context.Context, since time.Time) ([]deploy.PushEvent, error)
}

// Tracker follows every pushed deployment until Argo CD runs it (Judge): it hears of
// pushes (Pushed, from the git writer's push events), asks Argo CD for each Application in
// flight every Poll, judges a rollout at once when Argo CD's stream of changes reports its
// Application (without asking again), keeps the states in the store, so a restart resumes
// them, and reports every change (OnChange). Argo CD being down or slow never blocks
// anything: the rollouts say unknown, with the reason, until it answers or they time out;
// a stream that fails leaves the polling.
type Tracker struct {
	Client   *Client
	Store    Rollouts
	Timing   Timing
	Poll     time.Duration // how often rollouts in flight are checked; default 5s
	Now      func() time.Time
	OnChange func(deploy.Rollout) // hears every change of state; must not block
	Logger   *slog.Logger

	mu     sync.Mutex
	pushes []deploy.PushEvent
	wake   chan struct{}
	// inFlight names the Argo CD Applications of the rollouts in flight after the last step;
	// news holds what the stream reported of them since, and newsCh says there is some.
	inFlight map[string]bool
	news     map[string]Event
	newsCh   chan struct{}
}

func (t *Tracker) init() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.wake == nil {
		t.wake = make(chan struct{}, 1)
		t.newsCh = make(chan struct{}, 1)
	}
}

// Pushed hears of a push; it never blocks (the git writer calls it).
func (t *Tracker) Pushed(ev deploy.PushEvent) {
	if ev.Failed != "" || ev.Commit == "" || len(ev.Carried) == 0 {
		return
	}
	t.init()
	t.mu.Lock()
	t.pushes = append(t.pushes, ev)
	t.mu.Unlock()
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// Run checks the rollouts in flight until ctx ends.
func (t *Tracker) Run(ctx context.Context) error {
	t.init()
	poll := t.Poll
	if poll <= 0 {
		poll = 5 * time.Second
	}
	t.recover(ctx)
	tick := time.NewTicker(poll)
	defer tick.Stop()
	go t.watch(ctx)
	all := true
	for {
		if err := t.step(ctx, all); err != nil && ctx.Err() == nil {
			t.log().Warn("rollouts", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			all = true
		case <-t.wake:
			all = true
		case <-t.newsCh:
			all = false
		}
	}
}

// recover follows the pushes that no rollout follows yet, within the timeout: those this
// tracker did not hear of because the program stopped (or died) between a push and its event.
func (t *Tracker) recover(ctx context.Context) {
	timeout := t.Timing.Timeout
	if timeout <= 0 {
		timeout = DefaultRolloutTimeout
	}
	evs, err := t.Store.UntrackedPushes(ctx, t.now().Add(-timeout))
	if err != nil {
		t.log().Warn("rollouts: the pushes of before the start are not followed", "err", err)
		return
	}
	for _, ev := range evs {
		t.Pushed(ev)
	}
	if len(evs) > 0 {
		t.log().Info("rollouts: following pushes made before the start", "pushes", len(evs))
	}
}

// watch follows Argo CD's stream of Application changes and wakes Run at each, so that a
// rollout moves on as soon as Argo CD reports it; a stream that ends is opened again with a
// growing pause (polling goes on meanwhile).
func (t *Tracker) watch(ctx context.Context) {
	const maxPause = time.Minute
	pause := time.Second
	for ctx.Err() == nil {
		err := t.Client.Watch(ctx, "", func(ev Event) {
			pause = time.Second // it answered: the next pause starts small again
			t.heard(ev)
		})
		if ctx.Err() != nil {
			return
		}
		t.log().Debug("argo cd stream ended; polling meanwhile", "err", err, "retry_in", pause)
		timer := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		pause = min(2*pause, maxPause)
	}
}

// heard keeps what the stream reports of an Application in flight and wakes Run; the
// others' changes (a cluster has many) cost nothing.
func (t *Tracker) heard(ev Event) {
	name := ev.Application.Metadata.Name
	t.mu.Lock()
	if !t.inFlight[name] {
		t.mu.Unlock()
		return
	}
	if t.news == nil {
		t.news = map[string]Event{}
	}
	t.news[name] = ev
	t.mu.Unlock()
	select {
	case t.newsCh <- struct{}{}:
	default:
	}
}

// Step records the pushes heard of since the last step and checks every rollout in flight
// once.
func (t *Tracker) Step(ctx context.Context) error { return t.step(ctx, true) }

// step records the pushes heard of since the last step and judges the rollouts in flight:
// those the stream reported on from what it said, and, when all, the others by asking Argo
// CD (the first check of a rollout always asks, with a refresh, so that Argo CD reads git).
// The changes are saved in one transaction, then told to OnChange.
func (t *Tracker) step(ctx context.Context, all bool) error {
	now := t.now()
	t.mu.Lock()
	pushes, news := t.pushes, t.news
	t.pushes, t.news = nil, nil
	t.mu.Unlock()
	current, err := t.Store.RolloutsInFlight(ctx)
	if err != nil {
		t.requeue(pushes)
		return err
	}
	byKey := map[[2]string]deploy.Rollout{}
	for _, r := range current {
		byKey[[2]string{string(r.Env), string(r.App)}] = r
	}
	var changes []change
	for _, ev := range pushes {
		for _, c := range ev.Carried {
			if c.Removed {
				continue // the app's Application is gone there: nothing to roll out
			}
			k := [2]string{string(c.Env), string(c.App)}
			if old, ok := byKey[k]; ok && !old.State.Final() {
				before := old.State
				old.State, old.Changed, old.Message = deploy.RolloutSuperseded, now, "a newer deployment follows: "+c.Version.String()
				changes = append(changes, change{old, before})
			}
			r := deploy.Rollout{Env: c.Env, App: c.App, Version: c.Version, Commit: ev.Commit, ActionID: ev.ActionID,
				State: deploy.RolloutPending, Pushed: ev.Time, Changed: now}
			if r.Pushed.IsZero() {
				r.Pushed = now
			}
			byKey[k] = r
			changes = append(changes, change{r, ""})
		}
	}
	inFlight := map[string]bool{} // known before asking, so that no news is missed meanwhile
	for _, r := range byKey {
		inFlight[AppName(r.Env, r.App)] = true
	}
	t.mu.Lock()
	t.inFlight = inFlight
	t.mu.Unlock()
	// What Argo CD says of each rollout to judge: from the stream's news, or asked, a few
	// at a time (a train carries thousands).
	type answer struct {
		r   deploy.Rollout
		app Application
		err error
	}
	var answers []*answer
	var asking sync.WaitGroup
	slots := make(chan struct{}, askAtOnce)
	for _, r := range byKey {
		name := AppName(r.Env, r.App)
		a := &answer{r: r}
		if ev, ok := news[name]; ok && !r.Checked.IsZero() && ev.Application.Spec.Project == string(r.Env) {
			a.app = ev.Application
			if ev.Type == Deleted {
				a.app, a.err = Application{}, ErrNotFound
			}
		} else if all || r.Checked.IsZero() {
			asking.Add(1)
			go func() {
				defer asking.Done()
				select {
				case slots <- struct{}{}:
				case <-ctx.Done():
					a.err = ctx.Err()
					return
				}
				defer func() { <-slots }()
				a.app, a.err = t.Client.ApplicationInProject(ctx, string(r.Env), name, r.Checked.IsZero())
			}()
		} else {
			continue
		}
		answers = append(answers, a)
	}
	asking.Wait()
	arrived := t.arrival(ctx)
	for _, a := range answers {
		if ctx.Err() != nil {
			break
		}
		r := a.r
		var next deploy.Rollout
		switch {
		case errors.Is(a.err, ErrNotFound): // not (yet) generated from the env repo
			next = Judge(r, Application{}, t.now(), t.Timing, arrived(r))
			if !next.State.Final() {
				next.Message = "Argo CD has no Application " + AppName(r.Env, r.App) + " (yet)"
			}
		case a.err != nil:
			next = Unreachable(r, a.err, t.now(), t.Timing)
		default:
			next = Judge(r, a.app, t.now(), t.Timing, arrived(r))
		}
		if next.State != r.State || next.Message != r.Message || next.Health != r.Health {
			changes = append(changes, change{next, r.State})
		}
	}
	if err := t.report(ctx, changes); err != nil {
		t.requeue(pushes)
		return err
	}
	return nil
}

// askAtOnce is how many Applications a step asks Argo CD for at the same time.
const askAtOnce = 8

// change is a rollout to save, and its state before (empty for a new one).
type change struct {
	r      deploy.Rollout
	before deploy.RolloutState
}

// requeue puts pushes back for the next step (the store could not be read).
func (t *Tracker) requeue(pushes []deploy.PushEvent) {
	t.mu.Lock()
	t.pushes = append(pushes, t.pushes...)
	t.mu.Unlock()
}

// arrival answers, for a rollout, whether a revision Argo CD reports holds its commit: the
// commit itself, or one that carried a later action (Kuberpult pushes actions in order; the
// store knows which commit carried which, also after a restart). Answers are kept for the
// step, as most Applications report the same branch head.
func (t *Tracker) arrival(ctx context.Context) func(deploy.Rollout) func(string) bool {
	last := map[string]int64{} // revision → its newest action, -1 for none
	return func(r deploy.Rollout) func(string) bool {
		commit := strings.ToLower(r.Commit)
		return func(rev string) bool {
			rev = strings.ToLower(rev)
			if rev == commit || (len(rev) >= MinCommitPrefix && strings.HasPrefix(commit, rev)) {
				return true
			}
			if len(rev) < MinCommitPrefix {
				return false
			}
			id, ok := last[rev]
			if !ok {
				got, found, err := t.Store.LastActionOfCommit(ctx, rev)
				switch {
				case err != nil:
					t.log().Warn("rollouts: which actions a commit carried", "commit", rev, "err", err)
					return false // not kept: asked again next time
				case found:
					id = got
				default:
					id = -1
				}
				last[rev] = id
			}
			return id >= r.ActionID
		}
	}
}

// report saves the changes in one transaction and tells OnChange of those whose state
// changed. Unsaved, nothing is told: the next step judges again.
func (t *Tracker) report(ctx context.Context, changes []change) error {
	if len(changes) == 0 {
		return nil
	}
	rs := make([]deploy.Rollout, 0, len(changes))
	for _, c := range changes {
		rs = append(rs, c.r)
	}
	if err := t.Store.SaveRollouts(ctx, rs...); err != nil {
		return err
	}
	if t.OnChange != nil {
		for _, c := range changes {
			if c.r.State != c.before {
				t.OnChange(c.r)
			}
		}
	}
	return nil
}

func (t *Tracker) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

func (t *Tracker) log() *slog.Logger {
	if t.Logger != nil {
		return t.Logger
	}
	return slog.New(slog.DiscardHandler)
}
