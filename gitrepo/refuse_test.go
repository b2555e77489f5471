package gitrepo

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"kuberpult/deploy"
)

// installHook writes an executable hook into a bare repository.
func installHook(t testing.TB, bare, name, script string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(bare, "hooks", name), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestRefusedPushIsRetriedWithBackoff: a pre-receive hook refuses pushes while a file
// exists. The writer reports git's own message, counts the refusals and tries again after
// 1s, 2s and 4s; once the hook lets it through, the entry is pushed once.
func TestRefusedPushIsRetriedWithBackoff(t *testing.T) {
	bare := newBare(t)
	protect := filepath.Join(t.TempDir(), "protected")
	if err := os.WriteFile(protect, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	installHook(t, bare, "pre-receive", `#!/bin/sh
if [ -e `+protect+` ]; then
  echo "protected branch: main is protected, ask the admins" >&2
  exit 1
fi
`)
	synctest.Test(t, func(t *testing.T) {
		w := openWriter(t, bare, func(o *Options) { o.PollInterval = time.Hour })
		ob := newFakeOutbox()
		ob.marked = make(chan deploy.Pushed, 1)
		attempts := 0
		var refused Status
		ob.onRecord = func() {
			if attempts++; attempts == 4 {
				refused = w.Status()
				_ = os.Remove(protect) // the admins relented
			}
		}
		id := ob.add(deployChange("dev", "checkout", 1, "v: 1\n"))[0]
		ctx, cancel := context.WithCancel(context.Background())
		stopped := make(chan error, 1)
		go func() { stopped <- w.Run(ctx, ob) }()
		p := <-ob.marked
		cancel()
		if err := <-stopped; err != nil {
			t.Errorf("run returned %v", err)
		}

		var pauses []time.Duration
		for i := 1; i < len(ob.recordTimes); i++ {
			pauses = append(pauses, ob.recordTimes[i].Sub(ob.recordTimes[i-1]))
		}
		if diff := cmp.Diff([]time.Duration{time.Second, 2 * time.Second, 4 * time.Second}, pauses); diff != "" {
			t.Errorf("pauses between attempts (-want +got):\n%s", diff)
		}
		for _, want := range []string{"pre-receive hook declined", "remote: protected branch: main is protected, ask the admins"} {
			if !strings.Contains(refused.LastError, want) {
				t.Errorf("last error %q does not say %q", refused.LastError, want)
			}
		}
		if !refused.Reachable || refused.Stats.PushRefusals != 3 || refused.Stats.PushFailures != 3 {
			t.Errorf("status while refused = %+v", refused)
		}
		if p.ID != id || p.Commit != run(t, bare, "rev-parse", "main") {
			t.Errorf("marked %+v, main is at %s", p, run(t, bare, "rev-parse", "main"))
		}
		if got := run(t, bare, "rev-list", "--count", "main"); got != "1" {
			t.Errorf("%s commits, want 1", got)
		}
		if s := w.Status().Stats; s.PushRefusals != 3 || s.Pushes != 1 {
			t.Errorf("stats = %+v", s)
		}
	})
}

// failingOutbox fails to give the lease the first n times.
type failingOutbox struct {
	*fakeOutbox
	n     int
	calls []time.Time
}

func (o *failingOutbox) AcquireLease(ctx context.Context, name, holder string, priority int, now time.Time, ttl time.Duration) (deploy.Lease, bool, error) {
	o.calls = append(o.calls, time.Now())
	if len(o.calls) <= o.n {
		return deploy.Lease{}, false, context.DeadlineExceeded
	}
	return o.fakeOutbox.AcquireLease(ctx, name, holder, priority, now, ttl)
}

func TestRunBacksOffAndKeepsGoing(t *testing.T) {
	bare := newBare(t)
	synctest.Test(t, func(t *testing.T) {
		logs := newLogHandler()
		w := openWriter(t, bare, func(o *Options) { o.PollInterval = time.Minute; o.Logger = slogFor(logs) })
		ob := &failingOutbox{fakeOutbox: newFakeOutbox(), n: 3}
		ctx, cancel := context.WithCancel(context.Background())
		stopped := make(chan error, 1)
		start := time.Now()
		go func() { stopped <- w.Run(ctx, ob) }()
		time.Sleep(10 * time.Second) // the bubble's clock: no real waiting
		synctest.Wait()
		cancel()
		if err := <-stopped; err != nil {
			t.Errorf("run returned %v, want nil", err)
		}
		var waits []time.Duration
		for _, c := range ob.calls {
			waits = append(waits, c.Sub(start))
			start = c
		}
		// Three failures: pauses of 1s, 2s and 4s; then the lease is held.
		want := []time.Duration{0, time.Second, 2 * time.Second, 4 * time.Second}
		if diff := cmp.Diff(want, waits); diff != "" {
			t.Errorf("pauses between attempts (-want +got):\n%s", diff)
		}
		failures := 0
		for _, l := range logs.lines() {
			if strings.HasPrefix(l, "env repo write failed") {
				failures++
			}
		}
		if failures != 3 {
			t.Errorf("logged %d failures, want 3:\n%s", failures, strings.Join(logs.lines(), "\n"))
		}
	})
}
