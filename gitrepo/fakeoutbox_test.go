package gitrepo

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"kuberpult/deploy"
)

// fakeOutbox is an in-memory Outbox with the store's semantics: entries in id order, builds
// and failures fenced by the lease, idempotent marking, and a lease that is taken when
// free, expired, already ours or held with a lower priority (a take-over bumps the epoch).
type fakeOutbox struct {
	mu      sync.Mutex
	entries []*fakeEntry
	nextID  int64
	state   deploy.RenderState
	lease   *deploy.Lease
	epoch   int64

	// Faults and observations for tests.
	failMarkPushed int                // MarkPushed fails this many more times
	onMarkFail     func()             // called when it fails, outside the lock
	onRecord       func()             // called after RecordBuilds recorded, outside the lock
	recordTimes    []time.Time        // when RecordBuilds was called (time.Now)
	marks          []deploy.Pushed    // every MarkPushed, in order
	marked         chan deploy.Pushed // gets every marked entry, if not nil
	onPending      func() error       // called by Pending before it reads, outside the lock; its error is Pending's
	renewFails     bool               // AcquireLease and RenewLease fail (the store unreachable)
}

type fakeEntry struct {
	entry  deploy.OutboxEntry
	pushed string
	done   bool
	failed string
}

func newFakeOutbox() *fakeOutbox {
	return &fakeOutbox{state: deploy.RenderState{Teams: map[deploy.App]deploy.Team{}, Envs: deploy.Environments{}}}
}

// add appends changes as new entries and returns their ids.
func (o *fakeOutbox) add(changes ...deploy.RepoChange) []int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	var ids []int64
	for _, c := range changes {
		o.nextID++
		o.entries = append(o.entries, &fakeEntry{entry: deploy.OutboxEntry{ID: o.nextID, Change: c}})
		ids = append(ids, o.nextID)
	}
	return ids
}

// addBroken appends an entry that cannot be read.
func (o *fakeOutbox) addBroken(why string) int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.nextID++
	o.entries = append(o.entries, &fakeEntry{entry: deploy.OutboxEntry{ID: o.nextID, Broken: why}})
	return o.nextID
}

func (o *fakeOutbox) setTeam(app deploy.App, team deploy.Team) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.state.Teams[app] = team
}

func (o *fakeOutbox) setEnv(env deploy.Env, cfg deploy.EnvConfig) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.state.Envs[env] = cfg
}

// pushed returns the commit each entry was marked with ("" when not marked).
func (o *fakeOutbox) pushed() map[int64]string {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[int64]string{}
	for _, e := range o.entries {
		if e.done {
			out[e.entry.ID] = e.pushed
		}
	}
	return out
}

// failures returns the reason of every failed entry.
func (o *fakeOutbox) failures() map[int64]string {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[int64]string{}
	for _, e := range o.entries {
		if e.failed != "" {
			out[e.entry.ID] = e.failed
		}
	}
	return out
}

func (o *fakeOutbox) allMarks() []deploy.Pushed {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.marks)
}

func (o *fakeOutbox) builds(id int64) []deploy.Build {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, e := range o.entries {
		if e.entry.ID == id {
			return slices.Clone(e.entry.Builds)
		}
	}
	return nil
}

func (o *fakeOutbox) Pending(_ context.Context, limit int) ([]deploy.OutboxEntry, error) {
	if o.onPending != nil {
		if err := o.onPending(); err != nil {
			return nil, err
		}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []deploy.OutboxEntry
	for _, e := range o.entries {
		if e.done || e.failed != "" {
			continue
		}
		c := e.entry
		c.Builds = slices.Clone(c.Builds)
		out = append(out, c)
		if limit > 0 && len(out) == limit {
			break
		}
	}
	return out, nil
}

func (o *fakeOutbox) RenderState(context.Context) (deploy.RenderState, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return deploy.RenderState{Teams: maps.Clone(o.state.Teams), Envs: maps.Clone(o.state.Envs)}, nil
}

// fenced checks that l is the current lease; the caller holds mu.
func (o *fakeOutbox) fenced(l deploy.Lease) error {
	if o.lease == nil || o.lease.Epoch != l.Epoch || o.lease.Holder != l.Holder {
		return fmt.Errorf("epoch %d of %s: %w", l.Epoch, l.Holder, deploy.ErrLeaseLost)
	}
	return nil
}

func (o *fakeOutbox) RecordBuilds(_ context.Context, l deploy.Lease, builds []deploy.BuildRecord) error {
	o.mu.Lock()
	if err := o.fenced(l); err != nil {
		o.mu.Unlock()
		return err
	}
	o.recordTimes = append(o.recordTimes, time.Now())
	for _, b := range builds {
		for _, e := range o.entries {
			if e.entry.ID == b.ID {
				e.entry.Builds = append(e.entry.Builds, b.Build)
			}
		}
	}
	hook := o.onRecord
	o.mu.Unlock()
	if hook != nil {
		hook()
	}
	return nil
}

func (o *fakeOutbox) MarkPushed(_ context.Context, pushed []deploy.Pushed) error {
	o.mu.Lock()
	if o.failMarkPushed > 0 {
		o.failMarkPushed--
		hook := o.onMarkFail
		o.mu.Unlock()
		if hook != nil {
			hook()
		}
		return fmt.Errorf("database is locked")
	}
	o.marks = append(o.marks, pushed...)
	for _, p := range pushed {
		for _, e := range o.entries {
			if e.entry.ID == p.ID && !e.done {
				e.done, e.pushed = true, p.Commit
			}
		}
	}
	ch := o.marked
	o.mu.Unlock()
	for _, p := range pushed {
		if ch != nil {
			ch <- p
		}
	}
	return nil
}

func (o *fakeOutbox) MarkFailed(_ context.Context, l deploy.Lease, id int64, reason string, _ time.Time) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.fenced(l); err != nil {
		return err
	}
	for _, e := range o.entries {
		if e.entry.ID == id {
			e.failed = reason
		}
	}
	return nil
}

func (o *fakeOutbox) AcquireLease(_ context.Context, name, holder string, priority int, now time.Time, ttl time.Duration) (deploy.Lease, bool, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.renewFails {
		return deploy.Lease{}, false, fmt.Errorf("acquire lease: the store does not answer")
	}
	cur := o.lease
	if cur != nil && now.Before(cur.Expires) && cur.Holder != holder && cur.Priority >= priority {
		return *cur, false, nil
	}
	l := deploy.Lease{Name: name, Holder: holder, Priority: priority, Expires: now.Add(ttl)}
	if cur != nil && cur.Holder == holder {
		l.Epoch = cur.Epoch
	} else {
		o.epoch++
		l.Epoch = o.epoch
	}
	o.lease = &l
	return l, true, nil
}

func (o *fakeOutbox) RenewLease(_ context.Context, l deploy.Lease, now time.Time, ttl time.Duration) (deploy.Lease, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.renewFails {
		return deploy.Lease{}, fmt.Errorf("renew lease: the store does not answer")
	}
	if err := o.fenced(l); err != nil {
		return deploy.Lease{}, err
	}
	o.lease.Expires = now.Add(ttl)
	return *o.lease, nil
}

func (o *fakeOutbox) ReleaseLease(_ context.Context, l deploy.Lease) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fenced(l) == nil {
		o.lease = nil
	}
	return nil
}

func (o *fakeOutbox) holder() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.lease == nil {
		return ""
	}
	return o.lease.Holder
}
