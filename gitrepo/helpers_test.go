package gitrepo

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
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
	run(t, dir, "config", "uploadpack.allowFilter", "true")
	return dir
}

// fsck checks the remote with git fsck --strict.
func fsck(t testing.TB, bare string) {
	t.Helper()
	cmd := exec.Command("git", "-C", bare, "fsck", "--strict", "--no-dangling")
	cmd.Env = gitEnv()
	if out, err := cmd.CombinedOutput(); err != nil || strings.Contains(string(out), "error") || strings.Contains(string(out), "warning") {
		t.Errorf("git fsck --strict: %v\n%s", err, out)
	}
}

// locks returns the lock files left in a bare repository.
func locks(t testing.TB, bare string) []string {
	t.Helper()
	var out []string
	_ = filepath.WalkDir(bare, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".lock") {
			out = append(out, strings.TrimPrefix(p, bare+"/"))
		}
		return nil
	})
	return out
}

// pushOther commits files from a separate clone of bare and pushes them, as someone else
// would. files maps paths to contents.
func pushOther(t testing.TB, bare string, files map[string]string) {
	t.Helper()
	if err := pushFromClone(bare, filepath.Join(t.TempDir(), "other"), files); err != nil {
		t.Fatal(err)
	}
}

// pushFromClone is pushOther for goroutines that may not stop the test.
func pushFromClone(bare, dir string, files map[string]string) error {
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
	var paths []string
	for path, content := range files {
		file := filepath.Join(dir, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
			return err
		}
		paths = append(paths, path)
	}
	for _, args := range [][]string{append([]string{"add", "--"}, paths...), {"commit", "--quiet", "-m", "other change " + strings.Join(paths, " ")}, {"push", "--quiet", "origin", "HEAD:main"}} {
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

const testArgoURL = "https://git.example.com/org/envrepo.git"

// testOptions are the options of the writers in tests; edit changes them.
func testOptions(url string, edit ...func(*Options)) Options {
	o := Options{
		URL: url, Branch: "main", CommitterName: "Kuberpult", CommitterEmail: "kuberpult@example.com",
		ArgoRepoURL: testArgoURL, Now: fixedNow, Holder: "test writer", PollInterval: 20 * time.Millisecond,
	}
	for _, f := range edit {
		f(&o)
	}
	return o
}

func openWriter(t testing.TB, url string, edit ...func(*Options)) *Writer {
	t.Helper()
	w, err := Open(context.Background(), testOptions(url, edit...))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return w
}

// flush pushes everything pending, with a deadline so that a broken writer fails the test.
func flush(t testing.TB, w *Writer, ob Outbox) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := w.Flush(ctx, ob); err != nil {
		t.Fatalf("flush: %v", err)
	}
}

// deployChange deploys app (with manifest text, as version v) on env.
func deployChange(env deploy.Env, app deploy.App, v deploy.Version, manifest string) deploy.RepoChange {
	return deploy.RepoChange{
		Message:   fmt.Sprintf("deploy %s %d to %s", app, v, env),
		Author:    alice,
		Time:      t0.Add(time.Duration(v) * time.Minute),
		Manifests: []deploy.ManifestChange{{Env: env, App: app, Version: v, Manifest: manifest}},
	}
}

// removeChange removes app from env.
func removeChange(env deploy.Env, app deploy.App) deploy.RepoChange {
	return deploy.RepoChange{
		Message: fmt.Sprintf("remove %s from %s", app, env), Author: alice, Time: t0,
		Manifests: []deploy.ManifestChange{{Env: env, App: app, Remove: true}},
	}
}

func manifest(app deploy.App, v int) string { return fmt.Sprintf("app: %s\nversion: %d\n", app, v) }

// logHandler is a slog.Handler that hands every message to the test.
type logHandler struct {
	mu   sync.Mutex
	msgs []string
	ch   chan string
}

func newLogHandler() *logHandler { return &logHandler{ch: make(chan string, 1000)} }

func (h *logHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *logHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logHandler) WithGroup(string) slog.Handler            { return h }
func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	line := r.Message
	r.Attrs(func(a slog.Attr) bool {
		line += " " + a.Key + "=" + a.Value.String()
		return true
	})
	h.mu.Lock()
	h.msgs = append(h.msgs, line)
	h.mu.Unlock()
	select {
	case h.ch <- line:
	default:
	}
	return nil
}

// waitFor returns the first logged line (from now on) that starts with prefix.
func (h *logHandler) waitFor(t testing.TB, prefix string) string {
	t.Helper()
	timeout := time.NewTimer(60 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case l := <-h.ch:
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-timeout.C:
			t.Fatalf("no log line %q; got:\n%s", prefix, strings.Join(h.lines(), "\n"))
		}
	}
}

func (h *logHandler) lines() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.msgs...)
}

func slogFor(h slog.Handler) *slog.Logger { return slog.New(h) }
