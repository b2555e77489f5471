package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/google/go-cmp/cmp"

	"kuberpult/deploy"
)

// crashAfterPush runs a writer until its first push landed and stops it before it could
// mark anything, as a crash would: its MarkPushed fails and its context ends at once.
func crashAfterPush(t *testing.T, bare string, ob *fakeOutbox) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ob.mu.Lock()
	ob.failMarkPushed, ob.onMarkFail = 1, cancel
	ob.mu.Unlock()
	_ = openWriter(t, bare).Flush(ctx, ob)
	ob.mu.Lock()
	ob.onMarkFail = nil
	ob.mu.Unlock()
}

func TestCrashAfterPushBeforeMarking(t *testing.T) {
	tests := []struct {
		name        string
		someoneElse bool
	}{
		{"nobody pushed since", false},
		{"someone pushed on top", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bare := newBare(t)
			ob := newFakeOutbox()
			ob.add(deployChange("dev", "checkout", 1, manifest("checkout", 1)), deployChange("dev", "cart", 1, manifest("cart", 1)))
			flush(t, openWriter(t, bare), ob)
			base := run(t, bare, "rev-parse", "main")

			ids := ob.add(
				deployChange("dev", "checkout", 2, manifest("checkout", 2)),
				deployChange("dev", "cart", 2, manifest("cart", 2)),
				deployChange("dev", "checkout", 3, manifest("checkout", 3)),
			)
			crashAfterPush(t, bare, ob)
			ours := strings.Fields(run(t, bare, "rev-list", "--reverse", base+"..main"))
			if len(ours) != 3 || len(ob.pushed()) != 2 {
				t.Fatalf("after the crash: %d commits pushed, %d entries marked; want 3 and 2", len(ours), len(ob.pushed()))
			}
			if tt.someoneElse {
				pushOther(t, bare, map[string]string{"README.md": "hello\n"})
			}
			before := run(t, bare, "rev-list", "--count", "main")

			w := openWriter(t, bare)
			var events []int64
			w.opts.OnPush = func(e deploy.PushEvent) { events = append(events, e.ActionID) }
			flush(t, w, ob)
			pushed := ob.pushed()
			for i, id := range ids {
				if pushed[id] != ours[i] {
					t.Errorf("entry %d marked %q, want its real commit %s", id, pushed[id], ours[i])
				}
			}
			if diff := cmp.Diff(ids, events); diff != "" {
				t.Errorf("push events (-want +got):\n%s", diff)
			}
			if after := run(t, bare, "rev-list", "--count", "main"); after != before {
				t.Errorf("the new writer made commits: %s before, %s after", before, after)
			}
			assertEachVersionOnce(t, bare)
			if s := w.Status(); s.Stats.CommitsPushed != 0 || s.Stats.FetchedBytes > 20000 {
				t.Errorf("stats = %+v; want no commit and a small fetch", s.Stats)
			}
		})
	}
}

// TestCrashWithTheNextBatchBuilt: a writer dies after its batch landed, before marking
// it, while the next batch was built on that batch's tip and recorded but not pushed (the
// writer builds the next batch during a push). The next writer finds every entry of the
// landed batch, not only the one whose commit is the next batch's base, and applies only
// the next batch's entries.
func TestCrashWithTheNextBatchBuilt(t *testing.T) {
	bare := newBare(t)
	ob := newFakeOutbox()
	ob.add(deployChange("dev", "checkout", 1, manifest("checkout", 1)))
	flush(t, openWriter(t, bare), ob)
	base := run(t, bare, "rev-parse", "main")
	landed := ob.add(
		deployChange("dev", "checkout", 2, manifest("checkout", 2)),
		deployChange("dev", "cart", 1, manifest("cart", 1)),
		deployChange("dev", "checkout", 3, manifest("checkout", 3)),
	)
	crashAfterPush(t, bare, ob)
	ours := strings.Fields(run(t, bare, "rev-list", "--reverse", base+"..main"))
	tip := ours[len(ours)-1]
	built := ob.add(deployChange("dev", "cart", 2, manifest("cart", 2)), deployChange("dev", "checkout", 4, manifest("checkout", 4)))
	dead, ok, err := ob.AcquireLease(context.Background(), LeaseName, "dead writer", 1, fixedNow().Add(-time.Hour), time.Minute)
	if err != nil || !ok {
		t.Fatalf("lease of the dead writer: %v %v", ok, err)
	}
	var records []deploy.BuildRecord
	for i, id := range built { // built on the landed batch's tip, never pushed
		records = append(records, deploy.BuildRecord{ID: id, Build: deploy.Build{
			Commit: fmt.Sprintf("%040x", i+1), Base: tip, Epoch: dead.Epoch}})
	}
	if err := ob.RecordBuilds(context.Background(), dead, records); err != nil {
		t.Fatal(err)
	}

	flush(t, openWriter(t, bare), ob)
	pushed := ob.pushed()
	for i, id := range landed {
		if pushed[id] != ours[i] {
			t.Errorf("entry %d marked %q, want its real commit %s", id, pushed[id], ours[i])
		}
	}
	want := "deploy checkout 4 to dev\ndeploy cart 2 to dev\ndeploy checkout 3 to dev\ndeploy cart 1 to dev\ndeploy checkout 2 to dev\ndeploy checkout 1 to dev"
	if diff := cmp.Diff(want, run(t, bare, "log", "--format=%s", "main")); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
	assertEachVersionOnce(t, bare)
}

func TestBuildsRecordedButNeverPushed(t *testing.T) {
	bare := newBare(t)
	ob := newFakeOutbox()
	ob.add(deployChange("dev", "checkout", 1, manifest("checkout", 1)))
	flush(t, openWriter(t, bare), ob)
	ids := ob.add(deployChange("dev", "checkout", 2, manifest("checkout", 2)), deployChange("dev", "cart", 1, manifest("cart", 1)))

	// The writer stops right after it recorded its builds: it must not start the push.
	ctx, cancel := context.WithCancel(context.Background())
	ob.onRecord = cancel
	_ = openWriter(t, bare).Flush(ctx, ob)
	ob.onRecord = nil
	if got := run(t, bare, "rev-list", "--count", "main"); got != "1" {
		t.Fatalf("%s commits on main after a stop before the push, want 1", got)
	}
	if n := len(ob.builds(ids[0])); n != 1 {
		t.Fatalf("%d builds recorded, want 1", n)
	}

	flush(t, openWriter(t, bare), ob)
	want := "deploy cart 1 to dev\ndeploy checkout 2 to dev\ndeploy checkout 1 to dev"
	if diff := cmp.Diff(want, run(t, bare, "log", "--format=%s", "main")); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
	commits := strings.Fields(run(t, bare, "rev-list", "--reverse", "main~2..main"))
	pushed := ob.pushed()
	for i, id := range ids {
		if pushed[id] != commits[i] {
			t.Errorf("entry %d marked %q, want %s", id, pushed[id], commits[i])
		}
	}
	assertEachVersionOnce(t, bare)
}

// assertEachVersionOnce checks that the history has no undo and redo: the versions each
// manifest goes through only ever grow, each added once.
func assertEachVersionOnce(t *testing.T, bare string) {
	t.Helper()
	for _, path := range strings.Split(run(t, bare, "ls-tree", "-r", "--name-only", "main"), "\n") {
		if !strings.HasSuffix(path, "manifests.yaml") {
			continue
		}
		var versions []int
		for _, l := range strings.Split(run(t, bare, "log", "--reverse", "-p", "--format=", "main", "--", path), "\n") {
			if v, ok := strings.CutPrefix(l, "+version: "); ok {
				n, err := strconv.Atoi(v)
				if err != nil {
					t.Fatalf("%s: %q", path, l)
				}
				versions = append(versions, n)
			}
		}
		for i := 1; i < len(versions); i++ {
			if versions[i] <= versions[i-1] {
				t.Errorf("%s goes through versions %v: an undo or a redo", path, versions)
				break
			}
		}
	}
}

// TestRemoteMovedBetweenBatches: someone pushes between two batches of the writer; the
// next entry is applied on the new tip, and the fetch costs what changed, not the size of
// the repository.
func TestRemoteMovedBetweenBatches(t *testing.T) {
	g := genSpec{envs: []deploy.Env{"dev", "staging", "prod"}, apps: 300, history: 20}
	bare := filepath.Join(t.TempDir(), "env.git")
	if err := g.generate(bare); err != nil {
		t.Fatal(err)
	}
	ob := newFakeOutbox()
	ob.state = g.state()
	w := openWriter(t, bare)
	ob.add(deployChange("dev", genApp(1), 500, genManifest("dev", genApp(1), 500)))
	flush(t, w, ob)
	clone := w.Status().Stats.FetchedBytes

	pushOther(t, bare, map[string]string{ManifestPath("dev", genApp(2)): genManifest("dev", genApp(2), 900)})
	ids := ob.add(deployChange("dev", genApp(3), 501, genManifest("dev", genApp(3), 501)))
	flush(t, w, ob)
	again := w.Status().Stats.FetchedBytes - clone
	full := run(t, bare, "count-objects", "-v")
	t.Logf("first fetch %d bytes, fetch after the remote moved %d bytes; repository: %s", clone, again, strings.ReplaceAll(full, "\n", ", "))
	if again > 8000 || again*20 > clone {
		t.Errorf("the fetch after the remote moved took %d bytes (the first one %d); want a small part", again, clone)
	}
	want := fmt.Sprintf("deploy %s 501 to dev\nother change %s\ndeploy %s 500 to dev", genApp(3), ManifestPath("dev", genApp(2)), genApp(1))
	if diff := cmp.Diff(want, run(t, bare, "log", "-3", "--format=%s", "main")); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
	if got := ob.pushed()[ids[0]]; got != run(t, bare, "rev-parse", "main") {
		t.Errorf("entry marked %q", got)
	}
	for app, v := range map[deploy.App]string{genApp(1): "500", genApp(2): "900", genApp(3): "501"} {
		if got := run(t, bare, "show", "main:"+ManifestPath("dev", app)); !strings.Contains(got, `app.kubernetes.io/version: "`+v+`"`) {
			t.Errorf("%s is not at version %s", app, v)
		}
	}
	if s := w.Status().Stats; s.PushFailures != 1 || s.Pushes != 2 {
		t.Errorf("stats = %+v, want one lost race and two pushes", s)
	}
	fsck(t, bare)
}

// lossyConn loses the answer to the next push: the push lands, the writer gets an error.
type lossyConn struct {
	conn
	lose   int
	onLost func()
}

func (c *lossyConn) receivePack(ctx context.Context, plan func(*packp.AdvRefs) (*packp.ReferenceUpdateRequest, error)) (*packp.ReportStatus, string, error) {
	report, msg, err := c.conn.receivePack(ctx, plan)
	if err == nil && c.lose > 0 {
		c.lose--
		if c.onLost != nil {
			c.onLost()
		}
		return nil, "", &unreachableError{errors.New("read: connection reset by peer")}
	}
	return report, msg, err
}

func TestPushAnswerLost(t *testing.T) {
	for _, someoneElse := range []bool{false, true} {
		t.Run(fmt.Sprintf("someone pushed on top %v", someoneElse), func(t *testing.T) {
			bare := newBare(t)
			ob := newFakeOutbox()
			w := openWriter(t, bare)
			ob.add(deployChange("dev", "checkout", 1, manifest("checkout", 1)))
			flush(t, w, ob)
			lossy := &lossyConn{conn: w.remote.conn, lose: 1}
			if someoneElse {
				lossy.onLost = func() { pushOther(t, bare, map[string]string{"README.md": "hello\n"}) }
			}
			w.remote.conn = lossy
			ids := ob.add(
				deployChange("dev", "checkout", 2, manifest("checkout", 2)),
				deployChange("dev", "cart", 1, manifest("cart", 1)),
				deployChange("dev", "checkout", 3, manifest("checkout", 3)),
			)
			flush(t, w, ob)
			log := strings.Split(run(t, bare, "log", "--reverse", "--format=%H %s", "main"), "\n")
			if want := 4 + map[bool]int{true: 1}[someoneElse]; len(log) != want {
				t.Fatalf("%d commits, want %d:\n%s", len(log), want, strings.Join(log, "\n"))
			}
			pushed := ob.pushed()
			for i, id := range ids {
				if c, _, _ := strings.Cut(log[i+1], " "); pushed[id] != c {
					t.Errorf("entry %d marked %s, want %s", id, pushed[id], log[i+1])
				}
			}
			// The lost push counts as a failure; its commits were recognised, not pushed again.
			if s := w.Status().Stats; s.PushFailures != 1 || s.CommitsPushed != 1 || s.Pushes != 1 {
				t.Errorf("stats = %+v", s)
			}
			assertEachVersionOnce(t, bare)
			fsck(t, bare)
		})
	}
}
