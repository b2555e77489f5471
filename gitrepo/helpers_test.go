package gitrepo

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"kuberpult/deploy"
)

// gitEnv isolates git from the machine's configuration.
func gitEnv() []string {
	return append(os.Environ(),
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=Other Person", "GIT_AUTHOR_EMAIL=other@example.com",
		"GIT_COMMITTER_NAME=Other Person", "GIT_COMMITTER_EMAIL=other@example.com",
	)
}

// run runs git in dir and returns its trimmed output.
func run(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = gitEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimRight(string(out), "\n")
}

// newBare creates an empty bare repository whose HEAD is main and which keeps a reflog.
func newBare(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "env.git")
	run(t, ".", "init", "--quiet", "--bare", "--initial-branch=main", dir)
	run(t, dir, "config", "core.logAllRefUpdates", "always")
	run(t, dir, "config", "http.receivepack", "true")
	return dir
}

// pushOther commits a file from a separate clone of bare and pushes it, as someone else would.
func pushOther(t testing.TB, bare, path, content string) {
	t.Helper()
	if err := pushFromClone(bare, filepath.Join(t.TempDir(), "other"), path, content); err != nil {
		t.Fatal(err)
	}
}

// pushFromClone is pushOther for goroutines that may not stop the test.
func pushFromClone(bare, dir, path, content string) error {
	git := func(dir string, args ...string) error {
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Env = gitEnv()
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := git(".", "clone", "--quiet", bare, dir); err != nil {
		return err
	}
	file := filepath.Join(dir, filepath.FromSlash(path))
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		return err
	}
	for _, args := range [][]string{{"add", path}, {"commit", "--quiet", "-m", "other change " + path}, {"push", "--quiet", "origin", "HEAD:main"}} {
		if err := git(dir, args...); err != nil {
			return err
		}
	}
	return nil
}

var (
	alice = deploy.Actor{Kind: deploy.ActorUser, ID: "U1", Name: "Alice Example", Email: "alice@example.com"}
	t0    = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
)

func fixedNow() time.Time { return t0.Add(time.Hour) }

func openWriter(t testing.TB, url string) *Writer {
	t.Helper()
	w, err := Open(context.Background(), Options{
		URL: url, Branch: "main", CommitterName: "Kuberpult", CommitterEmail: "kuberpult@example.com",
		ArgoRepoURL: "https://git.example.com/org/envrepo.git", Now: fixedNow,
	})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return w
}

// deployEntry is an outbox entry that deploys app (with manifest text) on env.
func deployEntry(id int64, env deploy.Env, app deploy.App, manifest string, apps ...deploy.App) deploy.OutboxEntry {
	ef := deploy.EnvFiles{
		Env:       env,
		Config:    deploy.EnvConfig{Upstream: &deploy.Upstream{Latest: true}},
		Manifests: []deploy.AppManifest{{App: app, Manifest: manifest}},
	}
	if len(apps) == 0 {
		apps = []deploy.App{app}
	}
	for _, a := range apps {
		ef.Apps = append(ef.Apps, deploy.ArgoApp{App: a, Team: "team-a"})
	}
	return deploy.OutboxEntry{ID: id, Change: deploy.RepoChange{
		Message: "deploy " + string(app) + " to " + string(env),
		Author:  alice,
		Time:    t0.Add(time.Duration(id) * time.Minute),
		Envs:    []deploy.EnvFiles{ef},
	}}
}

// fakeOutbox is an in-memory Outbox.
type fakeOutbox struct {
	mu      sync.Mutex
	entries []deploy.OutboxEntry
	pushed  []deploy.Pushed
	marked  chan struct{} // gets a value after each MarkPushed
}

func newFakeOutbox(entries ...deploy.OutboxEntry) *fakeOutbox {
	return &fakeOutbox{entries: entries, marked: make(chan struct{}, 100)}
}

func (o *fakeOutbox) add(e deploy.OutboxEntry) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.entries = append(o.entries, e)
}

func (o *fakeOutbox) Pending(_ context.Context, limit int) ([]deploy.OutboxEntry, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []deploy.OutboxEntry
	for _, e := range o.entries {
		if !slices.ContainsFunc(o.pushed, func(p deploy.Pushed) bool { return p.ID == e.ID }) {
			out = append(out, e)
		}
	}
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (o *fakeOutbox) MarkPushed(_ context.Context, pushed []deploy.Pushed) error {
	o.mu.Lock()
	o.pushed = append(o.pushed, pushed...)
	o.mu.Unlock()
	o.marked <- struct{}{}
	return nil
}

func (o *fakeOutbox) done() []deploy.Pushed {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.pushed)
}
