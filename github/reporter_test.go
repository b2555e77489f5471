package github_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"kuberpult/deploy"
	"kuberpult/github"
	"kuberpult/github/githubfake"
)

// memRows keeps GitHub deployment rows as the store does (the store's conformance suite
// checks the real one, and its sync).
type memRows struct {
	mu   sync.Mutex
	rows map[string]deploy.GitHubDeployment
}

func key(d deploy.GitHubDeployment) string { return fmt.Sprintf("%s/%s/%d", d.Env, d.App, d.ActionID) }

func (m *memRows) put(d deploy.GitHubDeployment) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rows == nil {
		m.rows = map[string]deploy.GitHubDeployment{}
	}
	m.rows[key(d)] = d
}

func (m *memRows) get(d deploy.GitHubDeployment) deploy.GitHubDeployment {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rows[key(d)]
}

func (m *memRows) want(d deploy.GitHubDeployment, w deploy.GitHubState) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.rows[key(d)]
	r.Want = w
	m.rows[key(d)] = r
}

func (m *memRows) SyncGitHubDeployments(context.Context, time.Time, time.Time, bool) (int, error) {
	return 0, nil
}

func (m *memRows) GitHubDeploymentsDue(_ context.Context, now time.Time, limit int) ([]deploy.GitHubDeployment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []deploy.GitHubDeployment
	for _, d := range m.rows {
		if d.Want != d.Shown && !d.NextTry.After(now) {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ActionID < out[j].ActionID })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (m *memRows) SaveGitHubDeployment(_ context.Context, d deploy.GitHubDeployment) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	want := m.rows[key(d)].Want // the reporter never changes want
	d.Want = want
	m.rows[key(d)] = d
	return nil
}

type reporterWorld struct {
	t    *testing.T
	fake *githubfake.Server
	rows *memRows
	now  time.Time
	r    *github.Reporter
}

func newReporterWorld(t *testing.T) *reporterWorld {
	fake, c := history(t, 6)
	w := &reporterWorld{t: t, fake: fake, rows: &memRows{}, now: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	w.r = &github.Reporter{Client: c, Store: w.rows, FollowRollouts: true, Now: func() time.Time { return w.now }}
	return w
}

func (w *reporterWorld) step() {
	w.t.Helper()
	if err := w.r.Step(context.Background(), w.now.Add(-time.Hour)); err != nil {
		w.t.Fatal(err)
	}
}

func row(action int64, commit string) deploy.GitHubDeployment {
	return deploy.GitHubDeployment{ActionID: action, Env: "production", App: "checkout", Version: deploy.Version(action), SourceCommit: commit,
		EnvCommit: strings.Repeat("e", 40), Want: deploy.GitHubInProgress}
}

func statesOf(d githubfake.Deployment) string {
	var out []string
	for _, s := range d.Statuses {
		out = append(out, s.State)
	}
	return strings.Join(out, " ")
}

// TestReporterFollowsTheRollout: created on the source commit, in_progress, then what the
// rollout decided; a replaced one becomes inactive.
func TestReporterFollowsTheRollout(t *testing.T) {
	w := newReporterWorld(t)
	first := row(1, sha(3))
	w.rows.put(first)
	w.step()
	w.rows.want(first, deploy.GitHubSuccess)
	w.step()
	second := row(2, sha(5))
	w.rows.put(second)
	w.rows.want(first, deploy.GitHubInactive)
	w.step()
	w.rows.want(second, deploy.GitHubFailure)
	w.step()
	deps := w.fake.Deployments()
	if len(deps) != 2 || deps[0].SHA != sha(3) || deps[1].SHA != sha(5) {
		t.Fatalf("deployments: %+v", deps)
	}
	if got := statesOf(deps[0]); got != "in_progress success inactive" {
		t.Errorf("the first deployment's statuses: %s", got)
	}
	if got := statesOf(deps[1]); got != "in_progress failure" {
		t.Errorf("the second deployment's statuses: %s", got)
	}
	if r := w.rows.get(second); r.Shown != deploy.GitHubFailure || r.GitHubID != deps[1].ID || r.Attempts != 0 || r.Error != "" {
		t.Errorf("row: %+v", r)
	}
	// Replaced before it was ever shown: nothing is asked of GitHub.
	third := row(3, sha(6))
	third.Want = deploy.GitHubInactive
	w.rows.put(third)
	before := w.fake.Requests("", "/repos")
	w.step()
	if r := w.rows.get(third); r.Shown != deploy.GitHubInactive || w.fake.Requests("", "/repos") != before {
		t.Errorf("a row replaced before it was shown: %+v, %d requests", r, w.fake.Requests("", "/repos")-before)
	}
}

// TestReporterFaults: GitHub down → retried later, once created; a crash after GitHub created
// it → found, not created twice; rate limited → nothing more asked until the reset; an
// unknown commit → given up.
func TestReporterFaults(t *testing.T) {
	t.Run("down", func(t *testing.T) {
		w := newReporterWorld(t)
		d := row(1, sha(3))
		w.rows.put(d)
		w.fake.FailNext(502, 1)
		w.step()
		r := w.rows.get(d)
		if r.Shown != "" || r.Attempts == 0 || !r.NextTry.After(w.now) || !strings.Contains(r.Error, "502") {
			t.Fatalf("after a failure: %+v", r)
		}
		w.step() // not due yet
		if n := len(w.fake.Deployments()); n != 0 {
			t.Errorf("retried before its time: %d deployments", n)
		}
		w.now = r.NextTry
		w.step()
		deps := w.fake.Deployments()
		if len(deps) != 1 || statesOf(deps[0]) != "in_progress" || w.rows.get(d).Shown != deploy.GitHubInProgress {
			t.Errorf("after the retry: %+v, row %+v", deps, w.rows.get(d))
		}
	})
	t.Run("a crash after GitHub created it", func(t *testing.T) {
		w := newReporterWorld(t)
		d := row(1, sha(3))
		if _, err := client(t, w.fake).CreateDeployment(context.Background(), d); err != nil {
			t.Fatal(err)
		}
		d.Attempts = 1 // counted before the call that created it
		w.rows.put(d)
		w.step()
		deps := w.fake.Deployments()
		if len(deps) != 1 || statesOf(deps[0]) != "in_progress" || w.rows.get(d).GitHubID != deps[0].ID {
			t.Errorf("deployments: %+v, row %+v", deps, w.rows.get(d))
		}
	})
	t.Run("rate limited", func(t *testing.T) {
		w := newReporterWorld(t)
		a, b := row(1, sha(3)), row(2, sha(4))
		b.Env = "staging"
		w.rows.put(a)
		w.rows.put(b)
		reset := w.now.Add(20 * time.Minute).Truncate(time.Second)
		w.fake.RateLimit(reset)
		w.step()
		if r := w.rows.get(a); !r.NextTry.Equal(reset) || r.Shown != "" {
			t.Errorf("rate-limited row: %+v", r)
		}
		if n := w.fake.Requests("", "/repos"); n != 1 {
			t.Errorf("%d requests while rate limited, want 1 (the pass stops)", n)
		}
	})
	t.Run("an unknown commit", func(t *testing.T) {
		w := newReporterWorld(t)
		d := row(1, sha(99))
		w.rows.put(d)
		w.step()
		if r := w.rows.get(d); r.Shown != r.Want || !strings.Contains(r.Error, "unknown commit") {
			t.Errorf("row: %+v", r)
		}
		w.step()
		if n := w.fake.Requests("POST", "/repos/acme/shop/deployments"); n != 1 {
			t.Errorf("an unknown commit was asked for %d times", n)
		}
	})
}
