package gitrepo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"kuberpult/deploy"
)

func TestFirstCommitIntoEmptyRepo(t *testing.T) {
	bare := newBare(t)
	w := openWriter(t, bare)
	ob := newFakeOutbox()
	ob.setTeam("checkout", "team-a")
	rc := deployChange("development", "checkout", 7, "kind: ConfigMap\nmetadata:\n  name: checkout\n")
	rc.Configs = []deploy.EnvConfigChange{{Env: "development", Config: deploy.EnvConfig{Upstream: &deploy.Upstream{Latest: true}}}}
	var events []deploy.PushEvent
	w.opts.OnPush = func(e deploy.PushEvent) { events = append(events, e) }
	ids := ob.add(rc)
	flush(t, w, ob)

	head := run(t, bare, "rev-parse", "main")
	if diff := cmp.Diff(map[int64]string{ids[0]: head}, ob.pushed()); diff != "" {
		t.Errorf("pushed (-want +got):\n%s", diff)
	}
	want := []deploy.PushEvent{{ActionID: ids[0], Commit: head, Time: fixedNow(),
		Carried: []deploy.Carried{{Env: "development", App: "checkout", Version: 7}}}}
	if diff := cmp.Diff(want, events); diff != "" {
		t.Errorf("push events (-want +got):\n%s", diff)
	}
	cfg, _ := ConfigFile(rc.Configs[0].Config)
	files := map[string]string{
		"environments/development/config.json":                                    string(cfg),
		"environments/development/applications/checkout/manifests/manifests.yaml": rc.Manifests[0].Manifest,
		"argocd/v1alpha1/development.yaml": string(ArgoFile("development", deploy.EnvConfig{},
			[]deploy.AppTeam{{App: "checkout", Team: "team-a"}}, testArgoURL, "main")),
	}
	for path, content := range files {
		// git show drops the final newline of the output; compare the trimmed content.
		if diff := cmp.Diff(strings.TrimRight(content, "\n"), run(t, bare, "show", "main:"+path)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", path, diff)
		}
	}
	got := run(t, bare, "log", "--format=%an/%ae %cn/%ce %ad %P|%s", "--date=iso-strict", "main")
	wantLog := "Alice Example/alice@example.com Kuberpult/kuberpult@example.com 2026-03-01T10:07:00+00:00 |deploy checkout 7 to development"
	if diff := cmp.Diff(wantLog, got); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
	fsck(t, bare)
	s := w.Status()
	if s.Stats.CommitsPushed != 1 || s.Stats.Pushes != 1 || s.Stats.PushFailures != 0 || !s.Stats.LastPushTime.Equal(fixedNow()) {
		t.Errorf("stats = %+v", s.Stats)
	}
	if !s.Reachable || s.Tip != head || s.Holding || s.Holder != "test writer" || s.LastError != "" {
		t.Errorf("status = %+v", s)
	}
	if h := ob.holder(); h != "" {
		t.Errorf("the lease is still held by %q after Flush", h)
	}
}

func TestAuthorFallsBackToCommitter(t *testing.T) {
	bare := newBare(t)
	w := openWriter(t, bare)
	ob := newFakeOutbox()
	rc := deployChange("development", "checkout", 1, "a: 1\n")
	rc.Author = deploy.Actor{Name: "Mallory <evil>\nx", Email: ""}
	ob.add(rc)
	rc = deployChange("development", "checkout", 2, "a: 2\n")
	rc.Author = deploy.Actor{}
	ob.add(rc)
	flush(t, w, ob)
	want := "Kuberpult/kuberpult@example.com\nMallory evil x/kuberpult@example.com"
	if diff := cmp.Diff(want, run(t, bare, "log", "--format=%an/%ae", "main")); diff != "" {
		t.Errorf("authors (-want +got):\n%s", diff)
	}
	fsck(t, bare)
}

func TestEntriesThatChangeNothing(t *testing.T) {
	tests := []struct {
		name  string
		first []deploy.RepoChange // pushed before
		then  []deploy.RepoChange
		want  []string // per entry of then: "new" (a commit of its own), "prev" (the commit before it)
	}{
		{
			name: "same entry again in the same batch",
			then: []deploy.RepoChange{deployChange("dev", "checkout", 1, "v: 1\n"), deployChange("dev", "checkout", 1, "v: 1\n")},
			want: []string{"new", "prev"},
		},
		{
			name:  "same entry in a later batch",
			first: []deploy.RepoChange{deployChange("dev", "checkout", 1, "v: 1\n")},
			then:  []deploy.RepoChange{deployChange("dev", "checkout", 1, "v: 1\n")},
			want:  []string{"prev"},
		},
		{
			name:  "removing an app that is not there",
			first: []deploy.RepoChange{deployChange("dev", "checkout", 1, "v: 1\n")},
			then:  []deploy.RepoChange{removeChange("dev", "cart"), deployChange("dev", "checkout", 2, "v: 2\n")},
			want:  []string{"prev", "new"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bare := newBare(t)
			w := openWriter(t, bare)
			ob := newFakeOutbox()
			ob.add(tt.first...)
			flush(t, w, ob)
			prev := ""
			if len(tt.first) > 0 {
				prev = run(t, bare, "rev-parse", "main")
			}
			ids := ob.add(tt.then...)
			flush(t, w, ob)
			commits := strings.Fields(run(t, bare, "rev-list", "--reverse", "main"))
			pushed := ob.pushed()
			var got []string
			for _, id := range ids {
				switch c := pushed[id]; {
				case c == prev && c != "":
					got = append(got, "prev")
				case c != "" && strings.Contains(strings.Join(commits, " "), c):
					got = append(got, "new")
					prev = c
				default:
					got = append(got, "bad: "+c)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("commits (-want +got):\n%s", diff)
			}
			if n := len(commits); n != len(tt.first)+strings.Count(strings.Join(tt.want, " "), "new") {
				t.Errorf("%d commits on main", n)
			}
		})
	}
}

func TestRemoveAppDirectory(t *testing.T) {
	bare := newBare(t)
	w := openWriter(t, bare)
	ob := newFakeOutbox()
	both := deployChange("staging", "cart", 1, "cart: 1\n")
	both.Manifests = append(both.Manifests, deploy.ManifestChange{Env: "staging", App: "checkout", Version: 1, Manifest: "checkout: 1\n"})
	ob.add(both, removeChange("staging", "cart"))
	flush(t, w, ob)
	want := strings.Join([]string{
		"argocd/v1alpha1/staging.yaml",
		"environments/staging/applications/checkout/manifests/manifests.yaml",
	}, "\n")
	if diff := cmp.Diff(want, run(t, bare, "ls-tree", "-r", "--name-only", "main")); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"staging-checkout"}, argoApps(t, bare, "main", "staging")); diff != "" {
		t.Errorf("applications (-want +got):\n%s", diff)
	}
	// Removing the last app of an environment removes the now empty directories.
	ob.add(removeChange("staging", "checkout"))
	flush(t, w, ob)
	if diff := cmp.Diff("argocd/v1alpha1/staging.yaml", run(t, bare, "ls-tree", "-r", "--name-only", "main")); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	if apps := argoApps(t, bare, "main", "staging"); len(apps) != 0 {
		t.Errorf("applications left: %v", apps)
	}
	fsck(t, bare)
}

// argoApps returns the names of the Applications in env's Argo CD file at rev.
func argoApps(t testing.TB, bare, rev string, env deploy.Env) []string {
	t.Helper()
	var out []string
	for _, d := range decodeDocs(t.(*testing.T), []byte(run(t, bare, "show", rev+":"+ArgoPath(env)))) {
		if d["kind"] == "Application" {
			out = append(out, d["metadata"].(map[string]any)["name"].(string))
		}
	}
	return out
}

func TestOpenCreatesBareRepository(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "envrepo.git")
	w := openWriter(t, dir)
	if got := run(t, dir, "symbolic-ref", "HEAD"); got != "refs/heads/main" {
		t.Errorf("HEAD = %q", got)
	}
	ob := newFakeOutbox()
	ob.add(deployChange("development", "checkout", 1, ""))
	flush(t, w, ob)
	clone := filepath.Join(t.TempDir(), "clone")
	run(t, ".", "clone", "--quiet", dir, clone)
	got, err := os.ReadFile(filepath.Join(clone, "environments/development/applications/checkout/manifests/manifests.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != " " {
		t.Errorf("empty manifest written as %q, want a single space", got)
	}
}

func TestNewBranchInExistingRepository(t *testing.T) {
	bare := newBare(t)
	pushOther(t, bare, map[string]string{"README.md": "hello\n"})
	w := openWriter(t, "file://"+bare, func(o *Options) { o.Branch = "envs" })
	ob := newFakeOutbox()
	ob.add(deployChange("development", "checkout", 1, "v: 1\n"))
	flush(t, w, ob)
	if got := run(t, bare, "rev-list", "--count", "envs"); got != "1" {
		t.Errorf("envs has %s commits, want 1 (a new root)", got)
	}
	if got := run(t, bare, "rev-list", "--count", "main"); got != "1" {
		t.Errorf("main has %s commits, want 1", got)
	}
}

func TestOpenChecksOptions(t *testing.T) {
	for _, o := range []Options{{}, {URL: "/tmp/x", Branch: "a..b"}, {URL: "ftp://host/repo"}} {
		if _, err := Open(context.Background(), o); err == nil {
			t.Errorf("Open(%+v) succeeded", o)
		}
	}
}

// TestStopIsNotAFailure: a round cut short because the writer is stopping (the outbox read
// ends with the context) is neither logged as a failure nor shown as the env repo's state.
func TestStopIsNotAFailure(t *testing.T) {
	bare := newBare(t)
	logs := newLogHandler()
	w := openWriter(t, bare, func(o *Options) { o.Logger = slogFor(logs) })
	ob := newFakeOutbox()
	ob.add(deployChange("development", "checkout", 1, "v: 1\n"))
	ctx, cancel := context.WithCancel(context.Background())
	ob.onPending = func() error { cancel(); return fmt.Errorf("read outbox: %w", ctx.Err()) }
	if err := w.Run(ctx, ob); err != nil {
		t.Fatalf("Run = %v", err)
	}
	for _, l := range logs.lines() {
		if strings.Contains(l, "failed") {
			t.Errorf("stopping logged %q", l)
		}
	}
	if st := w.Status(); st.LastError != "" {
		t.Errorf("status after a stop: %q", st.LastError)
	}
}
