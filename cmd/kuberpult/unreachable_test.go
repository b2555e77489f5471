package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeStartsWhileGitIsUnreachable: SQLite is the source of truth. serve starts while
// the env repo's host is down, accepts a release, says in /readyz why nothing is pushed, and
// pushes once the host answers.
func TestServeStartsWhileGitIsUnreachable(t *testing.T) {
	addr := freeAddr(t)
	gitAddr := freeAddr(t) // nothing listens there yet
	cfgPath, _ := writeConfig(t, addr)
	root := t.TempDir()
	bare := filepath.Join(root, "envrepo.git")
	if out, err := exec.Command("git", "init", "-q", "--bare", "-b", "main", bare).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
	if out, err := exec.Command("git", "--git-dir", bare, "config", "http.receivepack", "true").CombinedOutput(); err != nil {
		t.Fatalf("git config: %v\n%s", err, out)
	}
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(cfg), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "  url: ") {
			lines[i] = "  url: http://" + gitAddr + "/envrepo.git"
		}
	}
	if err := os.WriteFile(cfgPath, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	serveErr := make(chan error, 1)
	go func() { serveErr <- run(ctx, []string{"serve", "--config", cfgPath}, nil, io.Discard, io.Discard) }()
	base := "http://" + addr
	waitHealthy(t, base, serveErr)
	if st := post(t, kuberpultCLIRelease(t, base, "checkout", 1, "development")); st != http.StatusCreated {
		t.Fatalf("release while git is down: %d", st)
	}
	readyz := func() string {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.Status + "\n" + string(b)
	}
	waitFor(t, "/readyz to say the env repo is unreachable", func() bool {
		r := readyz()
		return strings.HasPrefix(r, "200") && strings.Contains(r, "env repo: unreachable since") && strings.Contains(r, "outbox: 2 change(s) waiting")
	})

	// The git host comes up.
	ln, err := net.Listen("tcp", gitAddr)
	if err != nil {
		t.Fatal(err)
	}
	gitBin, _ := exec.LookPath("git")
	srv := &http.Server{Handler: &cgi.Handler{Path: gitBin, Args: []string{"http-backend"},
		Env:        []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null"},
		InheritEnv: []string{"PATH"}, Stderr: io.Discard}}
	go srv.Serve(ln)
	defer srv.Close()
	waitFor(t, "the accepted changes to be pushed", func() bool {
		r := readyz()
		return strings.Contains(r, "env repo: ok, at") && strings.Contains(r, "outbox: 0 change(s) waiting")
	})
	if got := git(t, bare, "log", "--format=%s", "main"); got != "deploy checkout 1 to development\nupdate environment configuration" {
		t.Errorf("git log:\n%s", got)
	}
	cancel()
	if err := <-serveErr; err != nil {
		t.Fatalf("serve: %v", err)
	}
}
