package gitrepo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/google/go-cmp/cmp"

	"kuberpult/deploy"
)

// burst adds n deploys of a few apps, each a new version.
func burst(ob *fakeOutbox, n int) []int64 {
	var ids []int64
	for i := range n {
		app := deploy.App(fmt.Sprintf("app-%d", i%7))
		env := []deploy.Env{"dev", "staging"}[i%2]
		ids = append(ids, ob.add(deployChange(env, app, deploy.Version(i+1), manifest(app, i+1)))...)
	}
	return ids
}

// checkBurst checks that every entry has a commit of its own, in order, marked with it.
func checkBurst(t *testing.T, bare string, ob *fakeOutbox, ids []int64) {
	t.Helper()
	log := strings.Split(run(t, bare, "log", "--reverse", "--format=%H %s", "main"), "\n")
	if len(log) != len(ids) {
		t.Fatalf("%d commits for %d entries", len(log), len(ids))
	}
	pushed := ob.pushed()
	for i, id := range ids {
		if c, _, _ := strings.Cut(log[i], " "); pushed[id] != c {
			t.Errorf("entry %d marked %q, commit %d is %s", id, pushed[id], i, log[i])
		}
	}
	assertEachVersionOnce(t, bare)
	fsck(t, bare)
}

// TestPipelinedBatches: 250 entries wait; they go in three pushes, each batch built while
// the one before is pushed, one commit per entry, in order.
func TestPipelinedBatches(t *testing.T) {
	bare := newBare(t)
	w := openWriter(t, bare)
	ob := newFakeOutbox()
	var events []int64
	claimed := map[int64]int64{} // action → the writer's claim when its push event came
	w.opts.OnPush = func(e deploy.PushEvent) {
		events = append(events, e.ActionID)
		claimed[e.ActionID] = w.Status().Claimed
	}
	ids := burst(ob, 250)
	flush(t, w, ob)
	checkBurst(t, bare, ob, ids)
	if diff := cmp.Diff(ids, events); diff != "" {
		t.Errorf("push events (-want +got):\n%s", diff)
	}
	// While a batch lands, the writer claims the batch built behind it; the last claims
	// itself; afterwards nothing is claimed.
	wantClaims := map[int64]int64{ids[0]: ids[199], ids[100]: ids[249], ids[200]: ids[249]}
	for id, want := range wantClaims {
		if claimed[id] != want {
			t.Errorf("claim when %d was pushed = %d, want %d", id, claimed[id], want)
		}
	}
	if c := w.Status().Claimed; c != 0 {
		t.Errorf("claim after the flush = %d, want 0", c)
	}
	if n := len(strings.Split(run(t, bare, "reflog", "show", "--format=%H", "refs/heads/main"), "\n")); n != 3 {
		t.Errorf("branch moved %d times, want 3", n)
	}
	// The second and third batches were built on the tips of the ones before.
	if b := ob.builds(ids[100]); len(b) != 1 || b[0].Base != ob.pushed()[ids[99]] {
		t.Errorf("builds of the first entry of the second batch: %+v", b)
	}
}

// TestPipelineDropsTheNextBatch: the first push is refused while the second batch is
// already built and recorded. Nothing of the second is pushed on top of a push that did
// not land; once the hook lets pushes through, every entry is pushed once.
func TestPipelineDropsTheNextBatch(t *testing.T) {
	bare := newBare(t)
	count := filepath.Join(t.TempDir(), "count")
	installHook(t, bare, "pre-receive", `#!/bin/sh
echo x >> `+count+`
if [ "$(wc -l < `+count+`)" -eq 1 ]; then echo "protected branch: not now" >&2; exit 1; fi
`)
	logs := newLogHandler()
	w := openWriter(t, bare, func(o *Options) { o.Logger = slogFor(logs) })
	ob := newFakeOutbox()
	ids := burst(ob, 150)
	flush(t, w, ob)
	checkBurst(t, bare, ob, ids)
	if b := ob.builds(ids[149]); len(b) != 2 {
		t.Errorf("the last entry was built %d times (%+v), want twice: dropped once, then pushed", len(b), b)
	}
	if s := w.Status().Stats; s.PushRefusals != 1 || s.Pushes != 2 {
		t.Errorf("stats = %+v", s)
	}
	if got, err := os.ReadFile(count); err != nil || strings.Count(string(got), "x") != 3 {
		t.Errorf("the hook ran %q times, want 3 (refused, then two batches)", got)
	}
}

// racingConn pushes someone else's commit just before the writer's n-th push.
type racingConn struct {
	conn
	t     *testing.T
	bare  string
	n     int
	calls int
}

func (c *racingConn) receivePack(ctx context.Context, plan func(*packp.AdvRefs) (*packp.ReferenceUpdateRequest, error)) (*packp.ReportStatus, string, error) {
	if c.calls++; c.calls == c.n {
		pushOther(c.t, c.bare, map[string]string{"README.md": "hello\n"})
	}
	return c.conn.receivePack(ctx, plan)
}

// TestPipelineLosesARace: someone pushes just before the second of three pipelined
// pushes; the writer applies the rest again on their tip, and the third batch, built on
// the second, is dropped and built again.
func TestPipelineLosesARace(t *testing.T) {
	bare := newBare(t)
	w := openWriter(t, bare)
	w.remote.conn = &racingConn{conn: w.remote.conn, t: t, bare: bare, n: 2}
	ob := newFakeOutbox()
	ids := burst(ob, 250)
	flush(t, w, ob)
	log := strings.Split(run(t, bare, "log", "--reverse", "--format=%H %s", "main"), "\n")
	other := slices.IndexFunc(log, func(l string) bool { return strings.HasSuffix(l, " other change README.md") })
	if other != 100 || len(log) != 251 {
		t.Fatalf("someone else's commit is %d of %d, want 100 of 251", other, len(log))
	}
	log = slices.Delete(log, other, other+1)
	pushed := ob.pushed()
	for i, id := range ids {
		if c, _, _ := strings.Cut(log[i], " "); pushed[id] != c {
			t.Errorf("entry %d marked %q, commit %d is %s", id, pushed[id], i, log[i])
		}
	}
	if s := w.Status().Stats; s.PushFailures != 1 || s.Pushes != 3 {
		t.Errorf("stats = %+v", s)
	}
	if b := ob.builds(ids[200]); len(b) != 2 || b[0].Base == b[1].Base {
		t.Errorf("builds of the first entry of the third batch: %+v; want one dropped, one pushed", b)
	}
	assertEachVersionOnce(t, bare)
	fsck(t, bare)
}
