package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"kuberpult/argocd"
	"kuberpult/argocd/argocdfake"
	"kuberpult/github/githubfake"
)

// TestGitHubDeploymentsFollowRollouts: serve with github (deployments) and argocd sections
// shows each pushed deployment on GitHub: in_progress once pushed, then what Argo CD's
// rollout decided; the one replaced becomes inactive. GitHub failing at first only delays it,
// and creates nothing twice.
func TestGitHubDeploymentsFollowRollouts(t *testing.T) {
	argo := argocdfake.New(t)
	gh := githubfake.New(t, "acme/shop")
	for v := 1; v <= 2; v++ {
		gh.AddCommit(githubfake.Commit{SHA: fmt.Sprintf("%040x", v), Message: fmt.Sprintf("change %d", v), AuthorName: "Jane Doe", AuthorEmail: "jane@example.com",
			Date: time.Date(2026, 12, 1, 9, v, 0, 0, time.UTC)})
	}
	addr := freeAddr(t)
	cfgPath, bare := writeConfig(t, addr)
	f, err := os.OpenFile(cfgPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "argocd: {server: '%s', token: '%s', soak: 1s, timeout: 2m}\n", argo.URL(), argo.Token())
	fmt.Fprintf(f, "github: {repo: acme/shop, token: '${TEST_GITHUB_TOKEN}', api_url: '%s', deployments: true}\n", gh.URL())
	f.Close()
	t.Setenv("TEST_GITHUB_TOKEN", gh.Token())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs syncBuffer
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("serve's log:\n%s", logs.String())
		}
	})
	serveErr := make(chan error, 1)
	go func() { serveErr <- run(ctx, []string{"serve", "--config", cfgPath}, nil, io.Discard, &logs) }()
	base := "http://" + addr
	waitHealthy(t, base, serveErr)

	release := func(v int) string {
		t.Helper()
		resp, err := http.DefaultClient.Do(kuberpultCLIRelease(t, base, "checkout", v, "development"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		var pushed string
		waitFor(t, fmt.Sprintf("checkout %d pushed", v), func() bool {
			out, err := exec.Command("git", "--git-dir", bare, "log", "-1", "--format=%H %s", "main").Output()
			if err == nil && strings.Contains(string(out), fmt.Sprintf("deploy checkout %d to development", v)) {
				pushed = strings.Fields(string(out))[0]
				return true
			}
			return false
		})
		return pushed
	}
	states := func() []string {
		var out []string
		for _, d := range gh.Deployments() {
			var ss []string
			for _, s := range d.Statuses {
				ss = append(ss, s.State)
			}
			out = append(out, fmt.Sprintf("%s@%s: %s", d.Environment, d.SHA[len(d.SHA)-1:], strings.Join(ss, " ")))
		}
		return out
	}
	waitStates := func(what string, want ...string) {
		t.Helper()
		wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
		defer wcancel()
		if err := gh.WaitFor(wctx, func() bool { return strings.Join(states(), "\n") == strings.Join(want, "\n") }); err != nil {
			t.Fatalf("%s: GitHub shows\n%s\nwant\n%s", what, strings.Join(states(), "\n"), strings.Join(want, "\n"))
		}
	}
	app := func(commit string, health argocd.HealthStatusCode) argocd.Application {
		var a argocd.Application
		a.Metadata.Name, a.Spec.Project = "development-checkout", "development"
		a.Status.Sync = argocd.SyncStatus{Status: argocd.Synced, Revision: commit}
		a.Status.Health = argocd.HealthStatus{Status: health}
		return a
	}

	gh.FailNext(http.StatusBadGateway, 1) // GitHub is down when the first deployment is pushed
	c1 := release(1)
	waitStates("pushed", "development@1: in_progress")
	argo.Set(app(c1, argocd.Healthy))
	waitStates("healthy in Argo CD", "development@1: in_progress success")

	c2 := release(2)
	argo.Set(app(c2, argocd.Degraded))
	waitStates("replaced, and degraded", "development@1: in_progress success inactive", "development@2: in_progress failure")
	// After the refused attempt the reporter looked for a deployment it might have created
	// before creating it (once); the states above show there is one per deployment.
	if n := gh.Requests("GET", "/repos/acme/shop/deployments"); n != 1 {
		t.Errorf("%d lookups of existing deployments, want 1 (after the refused attempt)", n)
	}
	cancel()
	if err := <-serveErr; err != nil {
		t.Fatalf("serve: %v", err)
	}
}
