package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"kuberpult/commands"
	"kuberpult/config"
	"kuberpult/console"
	"kuberpult/deploy"
	"kuberpult/store"
)

// writeConfig writes a configuration with a temp SQLite file, a bare env repo that does not
// exist yet, and four environments.
func writeConfig(t *testing.T, listen string) (path, bare string) {
	t.Helper()
	dir := t.TempDir()
	bare = filepath.Join(dir, "envrepo.git")
	cfg := fmt.Sprintf(`state:
  sqlite: %s
git:
  url: %s
  author: {name: Kuberpult, email: kuberpult@example.com}
environments:
  development: {upstream: {latest: true}}
  staging: {upstream: {environment: development}}
  production-de: {upstream: {environment: staging}, group: production}
  production-jp: {upstream: {environment: staging}, group: production}
api:
  listen: %q
console:
  user: {name: Olga Ops, email: olga@example.com}
`, filepath.Join(dir, "k.db"), bare, listen)
	path = filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, bare
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func git(t *testing.T, bare string, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"--git-dir", bare}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// kuberpultCLIRelease builds a request the way Kuberpult's CLI does: form fields, one file
// part per manifest named "<env>-manifest", base64 author headers.
func kuberpultCLIRelease(t *testing.T, base, app string, version int, envs ...string) *http.Request {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range map[string]string{
		"application": app, "version": fmt.Sprint(version), "team": "shop",
		"source_commit_id": fmt.Sprintf("%040x", version), "source_author": "Jane Doe <jane@example.com>",
		"source_message": "faster checkout", "display_version": fmt.Sprintf("v1.%d", version),
	} {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	for _, env := range envs {
		w, err := mw.CreateFormFile("manifests["+env+"]", env+"-manifest")
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(w, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: %s\ndata:\n  version: %q\n", app, env, fmt.Sprint(version))
	}
	mw.Close()
	req, err := http.NewRequest(http.MethodPost, base+"/api/release", &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("author-name", base64.StdEncoding.EncodeToString([]byte("Jane Doe")))
	req.Header.Set("author-email", base64.StdEncoding.EncodeToString([]byte("jane@example.com")))
	return req
}

func waitHealthy(t *testing.T, base string, serveErr <-chan error) {
	t.Helper()
	for i := 0; i < 1200; i++ { // 30 s: a loaded machine migrating a new PostgreSQL schema
		select {
		case err := <-serveErr:
			t.Fatalf("serve stopped: %v", err)
		default:
		}
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(25 * time.Millisecond) // polling a real server coming up, not timing behaviour
	}
	t.Fatal("server did not become ready")
}

// TestEndToEnd starts the whole program the way a user would: serve takes releases from
// CI over HTTP, then a console script promotes, locks and inspects; the env repo is checked
// with the git CLI.
func TestEndToEnd(t *testing.T) {
	addr := freeAddr(t)
	cfgPath, bare := writeConfig(t, addr)
	base := "http://" + addr

	ctx, cancel := context.WithCancel(context.Background())
	serveErr := make(chan error, 1)
	var logs syncBuffer // serve's log, shown when the test fails
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("serve's log:\n%s", logs.String())
		}
	})
	go func() { serveErr <- run(ctx, []string{"serve", "--config", cfgPath}, nil, io.Discard, &logs) }()
	waitHealthy(t, base, serveErr)

	for _, tc := range []struct {
		version int
		want    int
	}{{1, 201}, {2, 201}, {2, 200}} {
		resp, err := http.DefaultClient.Do(kuberpultCLIRelease(t, base, "checkout", tc.version, "development", "staging", "production-de", "production-jp"))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Fatalf("release %d: status %d (%s), want %d", tc.version, resp.StatusCode, b, tc.want)
		}
	}
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), "kuberpult_outbox_pending") {
		t.Errorf("metrics lack the outbox gauge:\n%s", metrics)
	}
	// Wait for what the test checks (the push), not for the stop to do it.
	waitFor(t, "the releases in the env repo", func() bool {
		out, err := exec.Command("git", "--git-dir", bare, "show", "main:environments/development/applications/checkout/manifests/manifests.yaml").Output()
		return err == nil && strings.Contains(string(out), `version: "2"`)
	})
	resp, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`kuberpult_git_push_duration_seconds_bucket{le="+Inf"} `, "kuberpult_git_push_duration_seconds_count ",
		"go_goroutines ", "process_resident_memory_bytes ", "process_cpu_seconds_total ", "process_open_fds "} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(string(metrics), "kuberpult_git_push_duration_seconds_count 0\n") {
		t.Errorf("no push counted in the histogram:\n%s", metrics)
	}
	cancel()
	if err := <-serveErr; err != nil {
		t.Fatalf("serve: %v", err)
	}

	// Releases were auto-deployed to development, committed by the author from the headers.
	if got := git(t, bare, "show", "main:environments/development/applications/checkout/manifests/manifests.yaml"); !strings.Contains(got, `version: "2"`) {
		t.Errorf("development manifest:\n%s", got)
	}
	if got := git(t, bare, "log", "-1", "--format=%an <%ae>|%cn|%s", "main"); got != "Jane Doe <jane@example.com>|Kuberpult|deploy checkout 2 to development" {
		t.Errorf("last commit = %q", got)
	}

	script := strings.Join([]string{
		"status",
		"deploy checkout 1 to staging",
		`lock production "peak hours"`,
		"deploy checkout 1 to production", // asks for confirmation: not done in a script
		"deploy checkout 1 to production --force",
		"history checkout on production-de",
	}, "\n")
	var out bytes.Buffer
	err = run(context.Background(), []string{"console", "--config", cfgPath}, stdinFile(t, script), &out, io.Discard)
	if !errors.Is(err, console.ErrFailed) {
		t.Fatalf("console: err = %v, want ErrFailed (one deploy was not confirmed)\n%s", err, out.String())
	}
	for _, want := range []string{
		"> deploy checkout 1 to staging\n✅ Deployed checkout 1 (v1.1) to staging (first deployment).",
		"Not confirmed (input is not a terminal): nothing was done.",
		"✅ Deployed checkout 1 (v1.1) to production-de (first deployment), production-jp (first deployment).",
		"production-de  1  manual  Olga Ops",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("console output lacks %q:\n%s", want, out.String())
		}
	}
	log := git(t, bare, "log", "--format=%an|%s", "main")
	wantLog := "Olga Ops|deploy checkout 1 to production-de, production-jp\nOlga Ops|deploy checkout 1 to staging\n" +
		"Jane Doe|deploy checkout 2 to development\nJane Doe|deploy checkout 1 to development\nkuberpult|update environment configuration"
	if log != wantLog {
		t.Errorf("git log:\n%s\nwant:\n%s", log, wantLog)
	}
	for _, path := range []string{
		"environments/production-jp/config.json",
		"environments/production-jp/applications/checkout/manifests/manifests.yaml",
		"argocd/v1alpha1/production-jp.yaml",
	} {
		git(t, bare, "cat-file", "-e", "main:"+path)
	}
	if got := git(t, bare, "show", "main:argocd/v1alpha1/staging.yaml"); !strings.Contains(got, "name: staging-checkout") {
		t.Errorf("staging Argo CD file lacks the Application:\n%s", got)
	}
}

// TestRestartPushesPendingOutbox: an action accepted while the writer was not running (as
// after a crash) is pushed at the next start, exactly once.
func TestRestartPushesPendingOutbox(t *testing.T) {
	cfgPath, bare := writeConfig(t, "")
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := store.Open(ctx, cfg.State.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	h := commands.New(commands.Options{Store: db, Environments: cfg.Environments})
	req := commands.ReleaseRequest{Application: "payments", Version: "7", Manifests: map[string]string{"development": "kind: ConfigMap\n"}}
	if res := h.CreateRelease(ctx, commands.Request{Actor: deploy.Actor{Kind: deploy.ActorAPI, Name: "CI", Email: "ci@example.com"}, Via: deploy.ViaAPI}, req); !res.OK() {
		t.Fatal(res.Problem)
	}
	db.Close() // "crash": nothing was pushed

	for i := 0; i < 2; i++ { // two starts: the second has nothing left to push
		if err := run(ctx, []string{"console", "--config", cfgPath}, stdinFile(t, ""), io.Discard, io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	if got := git(t, bare, "log", "--format=%an|%s", "main"); got != "CI|deploy payments 7 to development" {
		t.Errorf("git log = %q", got)
	}
	db, err = store.Open(ctx, cfg.State.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := commands.New(commands.Options{Store: db, Environments: cfg.Environments}).State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d := st.Deployments["development"]["payments"]
	if d.Pending || d.Commit != git(t, bare, "rev-parse", "main") {
		t.Errorf("deployment = %+v, want the pushed commit", d)
	}
}

func TestCheckConfig(t *testing.T) {
	var out bytes.Buffer
	t.Setenv("GIT_TOKEN", "secret-token")
	t.Setenv("KUBERPULT_CI_TOKEN", "0123456789abcdef0123")
	t.Setenv("SLACK_APP_TOKEN", "xapp-1-example")
	t.Setenv("SLACK_BOT_TOKEN", "xoxb-example")
	if err := run(context.Background(), []string{"check-config", "--config", "../../config.example.yaml"}, nil, &out, io.Discard); err != nil {
		t.Fatalf("check-config config.example.yaml: %v", err)
	}
	if !strings.Contains(out.String(), "ok") || strings.Contains(out.String(), "secret-token") {
		t.Errorf("output = %q", out.String())
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("state: {sqlite: x.db}\nenvironments:\n  Dev: {}\nslak: {}\n"), 0o600)
	err := run(context.Background(), []string{"check-config", "--config", bad}, nil, &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "slak") || !strings.Contains(err.Error(), "Dev") || !strings.Contains(err.Error(), "git") {
		t.Errorf("check-config bad.yaml: %v; want every problem listed", err)
	}
	roles := filepath.Join(t.TempDir(), "roles.yaml")
	os.WriteFile(roles, []byte(`state: {sqlite: x.db}
git: {url: repo.git}
environments: {staging: {upstream: {latest: true}}, production: {upstream: {environment: staging}}}
rbac: {policy: "p, role:admin, CreateLock, *:*, *, allow"}
windows:
  - {name: board, environments: [production], schedule: "0 9 * * *", duration: 1h, override: approval, approvers: role:release-manager}
trains:
  - {name: daily, target: production, schedule: "0 10 * * *", approval: role:admin}
`), 0o600)
	err = run(context.Background(), []string{"check-config", "--config", roles}, nil, &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), `:6: windows[0].approvers: "role:release-manager" is not a role of rbac.policy`) ||
		strings.Contains(err.Error(), "trains[0]") {
		t.Errorf("check-config with an undefined role: %v", err)
	}
}

func stdinFile(t *testing.T, content string) *os.File {
	t.Helper()
	p := filepath.Join(t.TempDir(), "stdin")
	if err := os.WriteFile(p, []byte(content+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestVersion: `kuberpult version` of a binary built in this checkout names its commit.
func TestVersion(t *testing.T) {
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatalf("git rev-parse: %v (the tests run in a git checkout)", err)
	}
	bin := filepath.Join(t.TempDir(), "kuberpult")
	if out, err := exec.Command("go", "build", "-buildvcs=true", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("version: %v\n%s", err, out)
	}
	if !strings.HasPrefix(string(out), "kuberpult ") || !strings.Contains(string(out), "(commit "+strings.TrimSpace(string(head))) {
		t.Errorf("version = %q, want the commit %s", out, head)
	}
}

// syncBuffer is a bytes.Buffer that a server's logger and the test may use at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestHelpOfEveryCommand: `kuberpult <command> -h` says what the command does and exits 0.
func TestHelpOfEveryCommand(t *testing.T) {
	for _, cmd := range []string{"demo", "serve", "console", "check-config", "migrate-state"} {
		out, err := exec.Command(binary(t), cmd, "-h").CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), "kuberpult "+cmd+": "+commandAbout[cmd]) {
			t.Errorf("%s -h: %v\n%s", cmd, err, out)
		}
	}
}

// TestDemoListen: the demo's banner names the address its API listens on (--listen), and
// says so instead when the port is taken.
func TestDemoListen(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	free := freeAddr(t)
	for _, tc := range []struct{ listen, want string }{
		{free, "HTTP API on http://" + free + " "},
		{taken.Addr().String(), "HTTP API not started: listen tcp " + taken.Addr().String()},
	} {
		p := start(t, "status\nexit\n", "demo", "--data", t.TempDir(), "--listen", tc.listen)
		if err := p.wait(t); err != nil {
			t.Fatalf("demo --listen %s: %v\n%s", tc.listen, err, p.logs)
		}
		if !strings.Contains(p.logs.String(), tc.want) {
			t.Errorf("demo --listen %s:\n%s\nwant %q", tc.listen, p.logs, tc.want)
		}
		// The log goes to the file the banner names, never over the prompt.
		if !strings.Contains(p.logs.String(), "Logs: ") || strings.Contains(p.logs.String(), "level=") {
			t.Errorf("demo output has no log file line, or log lines:\n%s", p.logs)
		}
	}
}

// TestConsoleNeedsOnlyItsSecrets: a console starts although the API's and Slack's token
// variables are unset (it uses neither); serve and check-config name them.
func TestConsoleNeedsOnlyItsSecrets(t *testing.T) {
	cfgPath, _ := writeConfig(t, "")
	f, err := os.OpenFile(cfgPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("slack: {app_token: \"${NO_SUCH_APP_TOKEN}\", bot_token: \"${NO_SUCH_BOT_TOKEN}\", default_channel: C0DEPLOY}\n")
	f.Close()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"console", "--config", cfgPath}, stdinFile(t, "envs"), &out, io.Discard); err != nil {
		t.Fatalf("console: %v\n%s", err, out.String())
	}
	for _, cmd := range []string{"serve", "check-config"} {
		err := run(context.Background(), []string{cmd, "--config", cfgPath}, nil, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "slack.app_token: environment variable NO_SUCH_APP_TOKEN is not set") {
			t.Errorf("%s: %v", cmd, err)
		}
	}
}
