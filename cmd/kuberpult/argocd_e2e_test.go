package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"kuberpult/argocd"
	"kuberpult/argocd/argocdfake"
	"kuberpult/deploy"
	"kuberpult/store"
)

// TestRolloutsFollowedThroughArgoCD: serve with an argocd section follows CI's release
// through (a fake) Argo CD: pending until Argo CD runs the pushed commit, then successful
// once it was healthy for the soak time; the state is in the database.
func TestRolloutsFollowedThroughArgoCD(t *testing.T) {
	fake := argocdfake.New(t)
	addr := freeAddr(t)
	cfgPath, bare := writeConfig(t, addr)
	f, err := os.OpenFile(cfgPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("argocd: {server: '" + fake.URL() + "', token: '" + fake.Token() + "', soak: 1s, timeout: 2m, auto_lock: true}\n")
	f.Close()
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
	resp, err := http.DefaultClient.Do(kuberpultCLIRelease(t, base, "checkout", 1, "development", "staging"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var commit string
	waitFor(t, "the release pushed", func() bool {
		out, err := exec.Command("git", "--git-dir", bare, "log", "-1", "--format=%H %s", "main").Output()
		if err == nil && strings.Contains(string(out), "deploy checkout 1 to development") {
			commit = strings.Fields(string(out))[0]
			return true
		}
		return false
	})
	state := func() deploy.Rollout {
		db, err := store.Open(context.Background(), strings.TrimSuffix(dbPathOf(t, cfgPath), "\n"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		rs, err := db.Rollouts(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if r.Env == "development" && r.App == "checkout" {
				return r
			}
		}
		return deploy.Rollout{}
	}
	waitFor(t, "the rollout followed", func() bool { return state().State == deploy.RolloutPending })
	var a argocd.Application
	a.Metadata.Name, a.Spec.Project = "development-checkout", "development"
	a.Status.Sync = argocd.SyncStatus{Status: argocd.Synced, Revision: commit}
	a.Status.Health = argocd.HealthStatus{Status: argocd.Healthy}
	fake.Set(a)
	waitFor(t, "the rollout successful", func() bool { return state().State == deploy.RolloutSuccessful })
	if r := state(); r.Commit != commit || r.Version != 1 {
		t.Errorf("rollout: %+v", r)
	}
	// A rollout that goes wrong locks the app there (auto_lock).
	resp, err = http.DefaultClient.Do(kuberpultCLIRelease(t, base, "cart", 1, "development"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var cartCommit string
	waitFor(t, "cart pushed", func() bool {
		out, err := exec.Command("git", "--git-dir", bare, "log", "-1", "--format=%H %s", "main").Output()
		if err == nil && strings.Contains(string(out), "deploy cart 1 to development") {
			cartCommit = strings.Fields(string(out))[0]
			return true
		}
		return false
	})
	var c argocd.Application
	c.Metadata.Name, c.Spec.Project = "development-cart", "development"
	c.Status.Sync = argocd.SyncStatus{Status: argocd.Synced, Revision: cartCommit}
	c.Status.Health = argocd.HealthStatus{Status: argocd.Degraded, Message: "back-off restarting failed container"}
	fake.Set(c)
	waitFor(t, "cart locked after its failed rollout", func() bool {
		st, err := func() (deploy.State, error) {
			db, err := store.Open(context.Background(), dbPathOf(t, cfgPath))
			if err != nil {
				return deploy.State{}, err
			}
			defer db.Close()
			var st deploy.State
			err = db.View(context.Background(), func(ctx context.Context, v deploy.View) error {
				var err error
				st, err = v.State(ctx, deploy.Everything)
				return err
			})
			return st, err
		}()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range st.LocksFor("development", "cart") {
			if l.ID == "failed-cart" && strings.Contains(l.Message, "rollout of cart 1 failed: unhealthy in Argo CD") {
				return true
			}
		}
		return false
	})
	resp, err = http.Get(base + "/api/environments/development/applications/checkout/rollout")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"state":"successful"`) || !strings.Contains(string(body), `"commit":"`+commit+`"`) {
		t.Errorf("GET …/rollout: %d %s", resp.StatusCode, body)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"console", "--config", cfgPath}, stdinFile(t, "status checkout"), &out, io.Discard); err != nil {
		t.Fatalf("console: %v", err)
	}
	if !strings.Contains(out.String(), "Argo CD:\n  ✅ development 1: successful (healthy), checked") {
		t.Errorf("status checkout:\n%s", out.String())
	}
	if !strings.Contains(logs.String(), "state=successful") {
		t.Errorf("the log does not say the rollout ended:\n%s", logs.String())
	}

	// A restart during a rollout: serve stops while checkout 2 is pending, and another
	// app's release is pushed on top; after the start, Argo CD reports that later commit,
	// which holds checkout 2 — known from the database.
	release := func(app string, v int) string {
		t.Helper()
		resp, err := http.DefaultClient.Do(kuberpultCLIRelease(t, base, app, v, "development"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		var pushed string
		waitFor(t, app+" pushed", func() bool {
			out, err := exec.Command("git", "--git-dir", bare, "log", "-1", "--format=%H %s", "main").Output()
			if err == nil && strings.Contains(string(out), fmt.Sprintf("deploy %s %d to development", app, v)) {
				pushed = strings.Fields(string(out))[0]
				return true
			}
			return false
		})
		return pushed
	}
	release("checkout", 2)
	waitFor(t, "checkout 2 followed", func() bool { r := state(); return r.Version == 2 && r.State == deploy.RolloutPending })
	later := release("search", 1)
	cancel()
	if err := <-serveErr; err != nil {
		t.Fatalf("serve: %v", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	go func() { serveErr <- run(ctx, []string{"serve", "--config", cfgPath}, nil, io.Discard, &logs) }()
	waitHealthy(t, base, serveErr)
	a.Status.Sync.Revision = later
	fake.Set(a)
	waitFor(t, "checkout 2 successful after the restart", func() bool { r := state(); return r.Version == 2 && r.State == deploy.RolloutSuccessful })

	// Kuberpult's group rollout status, as a CI step waiting for the group would ask.
	resp, err = http.Post(base+"/environment-groups/development/rollout-status", "application/json", strings.NewReader(`{"waitDuration":"2s"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	// cart failed; search was never seen by Argo CD: Application missing → still pending.
	want := `{"status":"unhealthy","applications":[{"application":"cart","environment":"development","status":"unhealthy"},` +
		`{"application":"search","environment":"development","status":"pending"}]}`
	if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != want {
		t.Errorf("rollout-status: %d %s\nwant %s", resp.StatusCode, body, want)
	}
	cancel()
	if err := <-serveErr; err != nil {
		t.Fatalf("serve: %v", err)
	}
}

// dbPathOf reads state.sqlite of a test configuration.
func dbPathOf(t *testing.T, cfgPath string) string {
	t.Helper()
	data, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if p, ok := strings.CutPrefix(strings.TrimSpace(l), "sqlite: "); ok {
			return p
		}
	}
	t.Fatal("no state.sqlite in the test configuration")
	return ""
}
