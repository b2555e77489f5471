package gitrepo

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kuberpult/deploy"
)

// leadLog records the terms of Lead of several writers: who led with which epoch, and
// whether two ever led at once.
type leadLog struct {
	ob      *fakeOutbox
	active  atomic.Int32
	overlap atomic.Bool
	mu      sync.Mutex
	terms   []term
	started chan term
}

type term struct {
	holder    string
	epoch     int64
	heldAtEnd string // who held the lease in the store when Lead returned
}

func (l *leadLog) lead(holder string) func(ctx context.Context, lease func() deploy.Lease) {
	return func(ctx context.Context, lease func() deploy.Lease) {
		if l.active.Add(1) > 1 {
			l.overlap.Store(true)
		}
		tm := term{holder: holder, epoch: lease().Epoch}
		l.started <- tm
		<-ctx.Done()
		l.active.Add(-1)
		tm.heldAtEnd = l.ob.holder()
		l.mu.Lock()
		l.terms = append(l.terms, tm)
		l.mu.Unlock()
	}
}

func (l *leadLog) ended() []term {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]term(nil), l.terms...)
}

func nextTerm(t *testing.T, l *leadLog, what string) term {
	t.Helper()
	select {
	case tm := <-l.started:
		return tm
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: no writer started leading", what)
		return term{}
	}
}

// TestLeadFollowsTheLease: Lead runs on the writer that holds the lease, never on two of
// one priority at once; its ctx ends before the lease is given up, when it is taken over by a writer with a
// higher priority, and when it cannot be renewed in time; the next holder leads with a
// higher epoch. Flush never leads.
func TestLeadFollowsTheLease(t *testing.T) {
	bare := newBare(t)
	ob := newFakeOutbox()
	ll := &leadLog{ob: ob, started: make(chan term, 10)}
	writer := func(name string, prio int) *Writer {
		return openWriter(t, bare, func(o *Options) {
			o.Holder, o.Priority, o.Now = name, prio, time.Now
			o.LeaseTTL, o.PollInterval = 300*time.Millisecond, 20*time.Millisecond
			o.Lead = ll.lead(name)
		})
	}
	a, b, c := writer("a", 1), writer("b", 1), writer("c", 2)
	runs := map[*Writer]context.CancelFunc{}
	stopped := map[*Writer]chan error{}
	start := func(w *Writer) {
		ctx, cancel := context.WithCancel(context.Background())
		runs[w], stopped[w] = cancel, make(chan error, 1)
		go func() { stopped[w] <- w.Run(ctx, ob) }()
	}
	stop := func(w *Writer) {
		runs[w]()
		if err := <-stopped[w]; err != nil {
			t.Errorf("Run = %v", err)
		}
		delete(runs, w)
	}
	defer func() {
		for w, cancel := range runs {
			cancel()
			<-stopped[w]
		}
	}()

	start(a)
	first := nextTerm(t, ll, "a alone")
	start(b)
	// b waits for the lease (it is asked for every poll interval) and does not lead.
	time.Sleep(200 * time.Millisecond)
	if first.holder != "a" || len(ll.started) != 0 {
		t.Fatalf("first term %+v, and %d more started; want a alone", first, len(ll.started))
	}
	ob.add(deployChange("development", "checkout", 1, "v: 1\n"))
	b.Notify()
	if err := b.Flush(context.Background(), ob); err != nil {
		t.Fatalf("flush of the follower: %v", err)
	}

	stop(a) // a gives the lease up after its Lead returned; b takes over
	second := nextTerm(t, ll, "a stopped")
	if ended := ll.ended(); len(ended) != 1 || ended[0].heldAtEnd != "a" {
		t.Errorf("a's term ended as %+v; want the lease still a's when Lead returned", ended)
	}
	if second.holder != "b" || second.epoch <= first.epoch {
		t.Errorf("after a stopped: %+v, want b with an epoch above %d", second, first.epoch)
	}

	if ll.overlap.Load() {
		t.Errorf("two writers of one priority led at once")
	}
	// A higher priority takes over at once: b stops leading when its next renewal finds
	// out (within a third of the TTL; what it writes meanwhile is fenced by the epoch).
	start(c)
	third := nextTerm(t, ll, "c started")
	if third.holder != "c" || third.epoch <= second.epoch {
		t.Errorf("after c started: %+v, want c with an epoch above %d", third, second.epoch)
	}
	waitForCond(t, "b to stop leading", func() bool { return len(ll.ended()) == 2 })
	if s := b.Status(); s.Holding || s.Stats.LeaseLost != 1 {
		t.Errorf("b after the take-over: holding %v, lost %d times; want not holding, lost once", s.Holding, s.Stats.LeaseLost)
	}

	// The store stops answering c's renewals: c steps down before its lease ends.
	ob.mu.Lock()
	ob.renewFails = true
	ob.mu.Unlock()
	waitForCond(t, "c to step down", func() bool { return len(ll.ended()) == 3 })
	if s := c.Status(); s.Holding || s.Stats.LeaseLost != 1 {
		t.Errorf("c with its renewals failing: holding %v, lost %d times", s.Holding, s.Stats.LeaseLost)
	}
	ob.mu.Lock()
	ob.renewFails = false
	ob.mu.Unlock()
	fourth := nextTerm(t, ll, "c stepped down")
	if fourth.epoch < third.epoch {
		t.Errorf("after c stepped down: %+v, want an epoch of at least %d", fourth, third.epoch)
	}
}

func waitForCond(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestPendingPoll: the writer that holds the lease finds, without being notified, what
// another process accepted (it notified only its own writer), every PendingPoll.
func TestPendingPoll(t *testing.T) {
	bare := newBare(t)
	ob := newFakeOutbox()
	ob.marked = make(chan deploy.Pushed, 10)
	w := openWriter(t, bare, func(o *Options) { o.PollInterval, o.PendingPoll = time.Hour, 20*time.Millisecond })
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- w.Run(ctx, ob) }()
	defer func() { cancel(); <-stopped }()
	waitForCond(t, "the writer to take the lease", func() bool { return w.Status().Holding })
	id := ob.add(deployChange("development", "checkout", 1, "v: 1\n"))[0] // no Notify
	select {
	case m := <-ob.marked:
		if m.ID != id {
			t.Errorf("marked %d, want %d", m.ID, id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("an entry nobody notified about was not pushed")
	}
}
