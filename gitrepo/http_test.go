package gitrepo

import (
	"context"
	"io"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"kuberpult/deploy"
)

// gitHTTPServer serves the bare repositories under root over smart HTTP with git
// http-backend, which checks a ref's old value on push like a real git host. It asks for
// basic auth with user x-access-token and token. beforePush, if not nil, runs once, just
// before the first push reaches the backend.
func gitHTTPServer(t *testing.T, root, token string, beforePush func()) *httptest.Server {
	t.Helper()
	gitBin, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git is not installed")
	}
	backend := &cgi.Handler{
		Path:       gitBin,
		Args:       []string{"http-backend"},
		Env:        []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null"},
		InheritEnv: []string{"PATH"},
		Stderr:     io.Discard, // the refused push is logged there
	}
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok || user != "x-access-token" || pass != token {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-receive-pack") && beforePush != nil {
			once.Do(beforePush)
		}
		backend.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestWriteOverHTTPWhileSomeonePushes(t *testing.T) {
	bare := newBare(t)
	const token = "s3cret-token"
	ctx := context.Background()
	var raced bool
	other := filepath.Join(t.TempDir(), "other")
	srv := gitHTTPServer(t, filepath.Dir(bare), token, func() {
		// The writer saw the old tip in the ref advertisement; move the branch now, so
		// that only the server's compare-and-swap can notice.
		if err := pushFromClone(bare, other, "README.md", "hello\n"); err != nil {
			t.Error(err)
		}
		raced = true
	})
	url := srv.URL + "/" + filepath.Base(bare)

	if _, err := Open(ctx, Options{URL: url, Token: "wrong"}); err == nil || strings.Contains(err.Error(), "wrong") {
		t.Errorf("open with a wrong token: err = %v, want an error that does not show the token", err)
	}

	w, err := Open(ctx, Options{URL: url, Token: token, CommitterName: "Kuberpult", CommitterEmail: "kuberpult@example.com", Now: fixedNow})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	entries := []deploy.OutboxEntry{
		deployEntry(1, "development", "checkout", "v: 1\n"),
		deployEntry(2, "staging", "checkout", "v: 1\n"),
	}
	pushed, err := w.Write(ctx, entries)
	if err != nil {
		t.Fatalf("write: %v", err)
	}
	if !raced {
		t.Fatal("the concurrent push did not happen")
	}
	want := "deploy checkout to staging\ndeploy checkout to development\nother change README.md"
	if diff := cmp.Diff(want, run(t, bare, "log", "--format=%s", "main")); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
	if got := run(t, bare, "rev-parse", "main"); got != pushed[1].Commit {
		t.Errorf("main is at %s, want %s", got, pushed[1].Commit)
	}
	if s := w.Stats(); s.PushFailures != 1 || s.CommitsPushed != 2 {
		t.Errorf("stats = %+v, want 1 failure and 2 commits", s)
	}
	// The Applications point at the configured URL, not at the push URL.
	argo := run(t, bare, "show", "main:argocd/v1alpha1/staging.yaml")
	if !strings.Contains(argo, "repoURL: "+url+"\n") {
		t.Errorf("argocd file does not point at %s:\n%s", url, argo)
	}
}
