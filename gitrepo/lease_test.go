package gitrepo

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"kuberpult/deploy"
)

func TestRunPushesWhenNotified(t *testing.T) {
	bare := newBare(t)
	w := openWriter(t, bare, func(o *Options) { o.PollInterval = time.Hour })
	var events []deploy.PushEvent
	w.opts.OnPush = func(e deploy.PushEvent) { events = append(events, e) }
	ob := newFakeOutbox()
	ob.marked = make(chan deploy.Pushed, 10)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- w.Run(ctx, ob) }()

	id := ob.add(deployChange("development", "checkout", 1, "v: 1\n"))[0]
	w.Notify()
	w.Notify() // never blocks
	<-ob.marked
	// Flush while Run works: it waits for Run, which pushes what it finds.
	id2 := ob.add(deployChange("development", "checkout", 2, "v: 2\n"))[0]
	flush(t, w, ob)
	cancel()
	if err := <-stopped; err != nil {
		t.Errorf("run returned %v, want nil", err)
	}
	commits := strings.Fields(run(t, bare, "rev-list", "--reverse", "main"))
	want := []deploy.PushEvent{
		{ActionID: id, Commit: commits[0], Time: fixedNow(), Carried: []deploy.Carried{{Env: "development", App: "checkout", Version: 1}}},
		{ActionID: id2, Commit: commits[1], Time: fixedNow(), Carried: []deploy.Carried{{Env: "development", App: "checkout", Version: 2}}},
	}
	if diff := cmp.Diff(want, events); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if h := ob.holder(); h != "" {
		t.Errorf("lease still held by %q after Run returned", h)
	}
}

// TestOneWriterAtATime: a console's writer (priority 0) pushes until serve's (priority 1)
// takes the lease over; from then on only serve pushes, the console waits and says who
// holds the lease. Then both keep running while entries stream in: every entry is pushed
// exactly once, and no commit is made twice.
func TestOneWriterAtATime(t *testing.T) {
	bare := newBare(t)
	ob := newFakeOutbox()
	ob.marked = make(chan deploy.Pushed, 1000)
	writer := func(name string, prio int, logs *logHandler) *Writer {
		return openWriter(t, bare, func(o *Options) {
			o.Holder, o.Priority, o.CommitterName = name, prio, name
			o.LeaseTTL, o.PollInterval, o.Logger = 300*time.Millisecond, 20*time.Millisecond, slogFor(logs)
		})
	}
	consoleLogs, serveLogs := newLogHandler(), newLogHandler()
	console, serve := writer("console", 0, consoleLogs), writer("serve", 1, serveLogs)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 2)
	go func() { done <- console.Run(ctx, ob) }()

	version := 0
	deployN := func(n int) []int64 {
		var ids []int64
		for range n {
			version++
			app := deploy.App(fmt.Sprintf("app-%d", version%3))
			ids = append(ids, ob.add(deployChange("dev", app, deploy.Version(version), manifest(app, version)))...)
			console.Notify()
			serve.Notify()
		}
		return ids
	}
	waitMarked := func(n int) {
		for range n {
			<-ob.marked
		}
	}
	first := deployN(5)
	waitMarked(len(first))
	if h := ob.holder(); h != "console" {
		t.Fatalf("lease held by %q, want console", h)
	}

	go func() { done <- serve.Run(ctx, ob) }()
	consoleLogs.waitFor(t, "writer lease taken over")
	second := deployN(10)
	waitMarked(len(second))
	if got := run(t, bare, "log", "-10", "--format=%cn", "main"); strings.Count(got, "serve") != 10 {
		t.Errorf("committers after the take-over:\n%s\nwant serve only", got)
	}
	if s := console.Status(); s.Holding || s.Holder != "serve" {
		t.Errorf("console status: holding %v, holder %q; want serve to hold it", s.Holding, s.Holder)
	}
	consoleLogs.waitFor(t, "another process writes the env repo; waiting holder=serve")

	// Both keep running while entries stream in.
	third := deployN(30)
	waitMarked(len(third))
	cancel()
	<-done
	<-done

	all := append(append(first, second...), third...)
	commitOf := map[int64]string{}
	for _, m := range ob.allMarks() {
		if c, ok := commitOf[m.ID]; ok && c != m.Commit {
			t.Errorf("entry %d marked with %s and %s", m.ID, c, m.Commit)
		}
		commitOf[m.ID] = m.Commit
	}
	log := strings.Split(run(t, bare, "log", "--reverse", "--format=%H %s", "main"), "\n")
	if len(log) != len(all) {
		t.Errorf("%d commits for %d entries", len(log), len(all))
	}
	seen := map[string]bool{}
	for i, l := range log {
		c, subject, _ := strings.Cut(l, " ")
		if seen[subject] {
			t.Errorf("commit %q made twice", subject)
		}
		seen[subject] = true
		if i < len(all) && commitOf[all[i]] != c {
			t.Errorf("entry %d marked %s, commit %d is %s", all[i], commitOf[all[i]], i, c)
		}
	}
	assertEachVersionOnce(t, bare)
}

// TestFlushWaitsForTheHolder: a Flush of a writer that does not get the lease pushes
// nothing and returns once the holder pushed.
func TestFlushWaitsForTheHolder(t *testing.T) {
	bare := newBare(t)
	ob := newFakeOutbox()
	serve := openWriter(t, bare, func(o *Options) { o.Holder, o.Priority, o.PollInterval = "serve", 1, time.Hour })
	console := openWriter(t, bare, func(o *Options) { o.Holder, o.CommitterName = "console", "console" })
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	// serve takes the lease, and is not notified of the entry below: the console's Flush
	// has to wait until serve looks.
	if _, ok, _ := ob.AcquireLease(ctx, LeaseName, "serve", 1, fixedNow(), time.Hour); !ok {
		t.Fatal("no lease for serve")
	}
	id := ob.add(deployChange("dev", "checkout", 1, "v: 1\n"))[0]
	flushed := make(chan error, 1)
	go func() { flushed <- console.Flush(ctx, ob) }()
	go func() { stopped <- serve.Run(ctx, ob) }()
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	if got := run(t, bare, "log", "--format=%cn", "main"); got != "Kuberpult" {
		t.Errorf("committed by %q, want serve's writer", got)
	}
	if ob.pushed()[id] == "" {
		t.Error("Flush returned before the entry was pushed")
	}
	if s := console.Status(); s.Holding || s.Holder != "serve" {
		t.Errorf("console status = %+v", s)
	}
	cancel()
	<-stopped
}

// TestTakeOverWhileEntriesStream: serve takes the lease over while the console is busy
// pushing a stream of entries, perhaps in the middle of a push. Every entry is still
// pushed exactly once, in order, and no app ever moves back.
func TestTakeOverWhileEntriesStream(t *testing.T) {
	for round := range 3 {
		t.Run(fmt.Sprint(round), func(t *testing.T) {
			bare := newBare(t)
			ob := newFakeOutbox()
			ob.marked = make(chan deploy.Pushed, 1000)
			writer := func(name string, prio int) *Writer {
				return openWriter(t, bare, func(o *Options) {
					o.Holder, o.Priority, o.CommitterName = name, prio, name
					o.LeaseTTL, o.PollInterval = 150*time.Millisecond, 10*time.Millisecond
				})
			}
			console, serve := writer("console", 0), writer("serve", 1)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 2)
			go func() { done <- console.Run(ctx, ob) }()
			var ids []int64
			seen := map[int64]bool{}
			for i := range 60 {
				if i == 10+10*round {
					go func() { done <- serve.Run(ctx, ob) }()
				}
				app := deploy.App(fmt.Sprintf("app-%d", i%4))
				ids = append(ids, ob.add(deployChange("dev", app, deploy.Version(i+1), manifest(app, i+1)))...)
				console.Notify()
				serve.Notify()
				if i%7 == 0 {
					seen[(<-ob.marked).ID] = true // let the writers catch up now and then
				}
			}
			for len(seen) < len(ids) {
				seen[(<-ob.marked).ID] = true
			}
			cancel()
			<-done
			<-done
			log := strings.Split(run(t, bare, "log", "--reverse", "--format=%H %s", "main"), "\n")
			if len(log) != len(ids) {
				t.Errorf("%d commits for %d entries", len(log), len(ids))
			}
			pushed := ob.pushed()
			for i, l := range log {
				c, _, _ := strings.Cut(l, " ")
				if i < len(ids) && pushed[ids[i]] != c {
					t.Errorf("entry %d marked %s, commit %d is %s", ids[i], pushed[ids[i]], i, l)
				}
			}
			assertEachVersionOnce(t, bare)
		})
	}
}
