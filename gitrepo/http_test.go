package gitrepo

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"kuberpult/deploy"
)

// gitHTTPHandler serves the bare repositories under root over smart HTTP with git
// http-backend, which checks a ref's old value on push like a real git host. It asks for
// basic auth with user x-access-token and token. beforePush, if not nil, runs once, just
// before the first push reaches the backend.
func gitHTTPHandler(t *testing.T, root, token string, beforePush func()) http.Handler {
	t.Helper()
	gitBin, err := exec.LookPath("git")
	if err != nil {
		t.Fatal("git is not installed")
	}
	backend := &cgi.Handler{
		Path:       gitBin,
		Args:       []string{"http-backend"},
		Env:        []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null"},
		InheritEnv: []string{"PATH"},
		Stderr:     io.Discard, // the refused push is logged there
	}
	var once sync.Once
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
	})
}

func TestPushOverHTTPWhileSomeonePushes(t *testing.T) {
	bare := newBare(t)
	const token = "s3cret-token"
	var raced bool
	other := filepath.Join(t.TempDir(), "other")
	srv := httptest.NewServer(gitHTTPHandler(t, filepath.Dir(bare), token, func() {
		// The writer saw the old tip in the ref advertisement; move the branch now, so
		// that only the server's compare-and-swap can notice.
		if err := pushFromClone(bare, other, map[string]string{"README.md": "hello\n"}); err != nil {
			t.Error(err)
		}
		raced = true
	}))
	defer srv.Close()
	url := srv.URL + "/" + filepath.Base(bare)

	t.Run("wrong token", func(t *testing.T) {
		w := openWriter(t, url, func(o *Options) { o.Token = "wrong" })
		ob := newFakeOutbox()
		ob.add(deployChange("dev", "checkout", 1, "v: 1\n"))
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		err := w.Flush(ctx, ob)
		s := w.Status()
		if err == nil || s.Reachable || !strings.Contains(s.LastError, "authentication required") || strings.Contains(s.LastError+err.Error(), "wrong") {
			t.Errorf("flush = %v, status %+v; want an error that does not show the token", err, s)
		}
	})

	w := openWriter(t, url, func(o *Options) { o.Token = token; o.ArgoRepoURL = "" })
	ob := newFakeOutbox()
	ids := ob.add(deployChange("development", "checkout", 1, "v: 1\n"), deployChange("staging", "checkout", 1, "v: 1\n"))
	flush(t, w, ob)
	if !raced {
		t.Fatal("the concurrent push did not happen")
	}
	want := "deploy checkout 1 to staging\ndeploy checkout 1 to development\nother change README.md"
	if diff := cmp.Diff(want, run(t, bare, "log", "--format=%s", "main")); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
	if got := run(t, bare, "rev-parse", "main"); got != ob.pushed()[ids[1]] {
		t.Errorf("main is at %s, want %s", got, ob.pushed()[ids[1]])
	}
	if s := w.Status().Stats; s.PushFailures != 1 || s.CommitsPushed != 2 {
		t.Errorf("stats = %+v, want 1 failure and 2 commits", s)
	}
	// The Applications point at the configured URL: here the push URL.
	if argo := run(t, bare, "show", "main:argocd/v1alpha1/staging.yaml"); !strings.Contains(argo, "repoURL: "+url+"\n") {
		t.Errorf("argocd file does not point at %s:\n%s", url, argo)
	}

	// A refusal comes with the remote's own words, over the side band.
	installHook(t, bare, "pre-receive", "#!/bin/sh\necho 'protected branch: no pushes on Fridays' >&2\nexit 1\n")
	logs := newLogHandler()
	w.log = slogFor(logs)
	ob.add(deployChange("development", "checkout", 2, "v: 2\n"))
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		logs.waitFor(t, "env repo write failed")
		cancel()
	}()
	if err := w.Flush(ctx, ob); err == nil {
		t.Error("flush succeeded against a refusing hook")
	}
	if s := w.Status(); !strings.Contains(s.LastError, "remote: protected branch: no pushes on Fridays") || s.Stats.PushRefusals != 1 {
		t.Errorf("status = %+v", s)
	}
	fsck(t, bare)
}

// TestUnreachableAtStart: the remote is down when the writer opens and starts; Open
// succeeds, Status says what is wrong, and once the remote is up the entries are pushed.
func TestUnreachableAtStart(t *testing.T) {
	bare := newBare(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now: connections are refused
	logs := newLogHandler()
	w, err := Open(context.Background(), testOptions("http://"+addr+"/env.git", func(o *Options) {
		o.Token = "t"
		o.Logger = slogFor(logs)
	}))
	if err != nil {
		t.Fatalf("open while the remote is down: %v", err)
	}
	ob := newFakeOutbox()
	ob.marked = make(chan deploy.Pushed, 10)
	ids := ob.add(deployChange("dev", "checkout", 1, "v: 1\n"), deployChange("dev", "cart", 1, "v: 1\n"))
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- w.Run(ctx, ob) }()

	logs.waitFor(t, "env repo write failed")
	s := w.Status()
	if s.Reachable || !strings.Contains(s.LastError, "connection refused") || !s.LastErrorAt.Equal(fixedNow()) || !s.Holding {
		t.Errorf("status while down = %+v", s)
	}
	up, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: up, Config: &http.Server{Handler: gitHTTPHandler(t, filepath.Dir(bare), "t", nil)}}
	srv.Start()
	defer srv.Close()
	var got []int64
	for range ids {
		got = append(got, (<-ob.marked).ID)
	}
	cancel()
	<-stopped
	if diff := cmp.Diff(ids, got); diff != "" {
		t.Errorf("marked (-want +got):\n%s", diff)
	}
	if s := w.Status(); !s.Reachable || s.Tip != run(t, bare, "rev-parse", "main") {
		t.Errorf("status once up = %+v", s)
	}
}
