package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"kuberpult/console"
)

const rbacSection = `rbac:
  policy: |
    p, role:ci, CreateRelease, *:*, *, allow
    p, role:ops, DeployRelease, *:*, *, allow
    p, role:ops, CreateLock, *:*, *, allow
    p, role:ops, DeleteLock, *:*, *, allow
    g, olga@example.com, role:ops
`

// TestPermissionsEndToEnd runs the program with an rbac section and an API token: the API,
// the console and the console's --as each refuse what the policy does not allow, change
// nothing in SQLite or git, and the refusals show in the audit log.
func TestPermissionsEndToEnd(t *testing.T) {
	addr := freeAddr(t)
	cfgPath, bare := writeConfig(t, addr)
	secret := "ci-secret-0123456789"
	t.Setenv("CI_TOKEN", secret)
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg = bytes.Replace(cfg, []byte("api:\n"), []byte(rbacSection+"api:\n  tokens:\n    - {name: ci, token: \"${CI_TOKEN}\", role: ci}\n"), 1)
	if err := os.WriteFile(cfgPath, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	base := "http://" + addr
	ctx, cancel := context.WithCancel(context.Background())
	serveErr := make(chan error, 1)
	var logs bytes.Buffer
	go func() { serveErr <- run(ctx, []string{"serve", "--config", cfgPath}, nil, io.Discard, &logs) }()
	waitHealthy(t, base, serveErr)

	status := func(req *http.Request, token string) (int, string) {
		t.Helper()
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := status(kuberpultCLIRelease(t, base, "checkout", 1, "development", "staging"), ""); code != 401 {
		t.Errorf("release without token: %d %s, want 401", code, body)
	}
	if code, body := status(kuberpultCLIRelease(t, base, "checkout", 1, "development", "staging"), "wrong-"+secret); code != 401 {
		t.Errorf("release with a wrong token: %d %s, want 401", code, body)
	}
	if code, body := status(kuberpultCLIRelease(t, base, "checkout", 1, "development", "staging"), secret); code != 201 {
		t.Fatalf("release with the ci token: %d %s, want 201", code, body)
	}
	lockReq, _ := http.NewRequest(http.MethodPut, base+"/api/environments/staging/locks/ci-lock", strings.NewReader(`{"message":"from ci"}`))
	lockReq.Header.Set("Content-Type", "application/json")
	if code, body := status(lockReq, secret); code != 403 || !strings.Contains(body, "you need CreateLock on staging:staging") {
		t.Errorf("lock with the ci token: %d %s, want 403 naming the permission", code, body)
	}
	cancel()
	if err := <-serveErr; err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), secret) {
		t.Error("the token appears in the logs")
	}
	head := git(t, bare, "rev-parse", "main")

	// The console acts as console.user (olga, role ops); --as tries someone else.
	var out bytes.Buffer
	err = run(context.Background(), []string{"console", "--config", cfgPath, "--as", "mallory@example.com"},
		stdinFile(t, "deploy checkout 1 to staging\nlocks"), &out, io.Discard)
	if !errors.Is(err, console.ErrFailed) || !strings.Contains(out.String(), "you have no role") {
		t.Fatalf("console --as mallory: %v\n%s", err, out.String())
	}
	if got := git(t, bare, "rev-parse", "main"); got != head {
		t.Error("a denied deploy changed the env repo")
	}
	out.Reset()
	err = run(context.Background(), []string{"console", "--config", cfgPath},
		stdinFile(t, "deploy checkout 1 to staging\naudit --since 1d"), &out, io.Discard)
	if err != nil {
		t.Fatalf("console as olga: %v\n%s", err, out.String())
	}
	words := strings.Join(strings.Fields(out.String()), " ")
	for _, want := range []string{
		"✅ Deployed checkout 1",
		"console mallory@example.com denied deploy checkout 1 to staging",
		"api ci (token:ci) denied PUT /api/environments/staging/locks/ci-lock",
		"api Jane Doe (token:ci) done release checkout 1 commit ",
	} {
		if !strings.Contains(words, want) {
			t.Errorf("console output lacks %q:\n%s", want, out.String())
		}
	}
	if got := git(t, bare, "log", "-1", "--format=%an|%s", "main"); got != "Olga Ops|deploy checkout 1 to staging" {
		t.Errorf("last commit = %q", got)
	}
}
