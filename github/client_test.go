package github_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"kuberpult/deploy"
	"kuberpult/github"
	"kuberpult/github/githubfake"
)

// sha makes the n-th commit's id.
func sha(n int) string { return fmt.Sprintf("%07d%s", n, strings.Repeat("a", 33)) }

// history is a fake GitHub with commits 1..n by alice (2 by a stranger), PR #10 holding 3
// and 4, PR #11 holding 6.
func history(t *testing.T, n int) (*githubfake.Server, *github.Client) {
	t.Helper()
	fake := githubfake.New(t, "acme/shop")
	for i := 1; i <= n; i++ {
		c := githubfake.Commit{SHA: sha(i), Message: fmt.Sprintf("change %d\n\nbody", i), AuthorName: "Alice", AuthorEmail: "alice@example.com",
			AuthorLogin: "alice", Date: time.Date(2026, 12, 1, 9, i%60, 0, 0, time.UTC)}
		if i == 2 {
			c.AuthorName, c.AuthorEmail, c.AuthorLogin = "Stranger", "stranger@example.org", ""
		}
		fake.AddCommit(c)
	}
	if n >= 6 {
		fake.AddPull(10, "Rounding <fixes>", "alice", sha(3), sha(4))
		fake.AddPull(11, "Faster checkout", "bob", sha(6))
	}
	return fake, client(t, fake)
}

// client is a fresh client: go-github remembers rate limits.
func client(t *testing.T, fake *githubfake.Server) *github.Client {
	t.Helper()
	c, err := github.New(github.Options{Repo: "acme/shop", Token: fake.Token(), APIURL: fake.URL(), Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func subjects(cl deploy.Changelog) []string {
	var out []string
	for _, g := range cl.Groups {
		group := ""
		if g.PR != 0 {
			group = fmt.Sprintf("#%d %s by %s:", g.PR, g.Title, g.Author)
		}
		for _, c := range g.Commits {
			group += " " + c.Subject
		}
		out = append(out, strings.TrimSpace(group))
	}
	return out
}

func TestChangelog(t *testing.T) {
	_, c := history(t, 6)
	ctx := context.Background()
	tests := []struct {
		name       string
		base, head string
		max        int
		back       bool
		total      int
		want       []string
	}{
		{"forward, grouped by pull request, newest first", sha(1), sha(6), 20, false, 5,
			[]string{"#11 Faster checkout by bob: change 6", "change 5", "#10 Rounding <fixes> by alice: change 4 change 3", "change 2"}},
		{"capped", sha(1), sha(6), 2, false, 5, []string{"#11 Faster checkout by bob: change 6", "change 5"}},
		{"a rollback: what it takes out", sha(6), sha(3), 20, true, 3, []string{"#11 Faster checkout by bob: change 6", "change 5", "#10 Rounding <fixes> by alice: change 4"}},
		{"short ids", sha(4)[:8], sha(5)[:7], 20, false, 1, []string{"change 5"}},
		{"the same commit", sha(4), sha(4), 20, false, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl, err := c.Changelog(ctx, tt.base, tt.head, tt.max)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, g := range cl.Groups {
				n += len(g.Commits)
			}
			if cl.Back != tt.back || cl.Total != tt.total || cl.Shown != n {
				t.Errorf("back %v, total %d, shown %d (%d in the groups); want back %v, total %d", cl.Back, cl.Total, cl.Shown, n, tt.back, tt.total)
			}
			if diff := cmp.Diff(tt.want, subjects(cl)); diff != "" {
				t.Errorf("groups (-want +got):\n%s", diff)
			}
			if tt.total > 0 && !strings.Contains(cl.CompareURL, "/acme/shop/compare/") {
				t.Errorf("compare URL %q", cl.CompareURL)
			}
		})
	}
	cl, err := c.Changelog(ctx, sha(1), sha(3), 20)
	if err != nil {
		t.Fatal(err)
	}
	want := []deploy.SourceCommit{{SHA: sha(2), Subject: "change 2", AuthorName: "Stranger", AuthorEmail: "stranger@example.org"}}
	got := cl.Groups[len(cl.Groups)-1].Commits
	for i := range got {
		got[i].URL = "" // GitHub's page of the commit
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("a commit by someone without a GitHub account (-want +got):\n%s", diff)
	}
}

// TestChangelogOfManyCommits: the newest commits are shown when the comparison has several
// pages (GitHub lists the oldest first).
func TestChangelogOfManyCommits(t *testing.T) {
	_, c := history(t, 320)
	cl, err := c.Changelog(context.Background(), sha(1), sha(320), 20)
	if err != nil {
		t.Fatal(err)
	}
	if cl.Total != 319 || cl.Shown != 20 {
		t.Errorf("total %d, shown %d; want 319, 20", cl.Total, cl.Shown)
	}
	subs := subjects(cl)
	if len(subs) != 20 || subs[0] != "change 320" || subs[19] != "change 301" {
		t.Errorf("shown: %v", subs)
	}
}

func TestChangelogFaults(t *testing.T) {
	ctx := context.Background()
	fake, c := history(t, 6)
	if _, err := c.Changelog(ctx, sha(1), sha(99), 20); !errors.Is(err, github.ErrUnknownCommit) {
		t.Errorf("an unknown commit: %v", err)
	}
	fake.FailNext(502, 1)
	if _, err := c.Changelog(ctx, sha(1), sha(6), 20); err == nil || errors.Is(err, github.ErrUnknownCommit) {
		t.Errorf("GitHub down: %v", err)
	}
	reset := time.Now().Add(30 * time.Minute).Truncate(time.Second)
	fake.RateLimit(reset)
	_, err := client(t, fake).Changelog(ctx, sha(1), sha(6), 20)
	var rl *github.RateLimitError
	if !errors.Is(err, github.ErrRateLimited) || !errors.As(err, &rl) || !rl.Reset.Equal(reset) {
		t.Errorf("rate limited: %v", err)
	}
	if strings.Contains(fmt.Sprint(err), fake.Token()) {
		t.Errorf("the token shows in %v", err)
	}
	fake.ClearRateLimit()
	_, err = github.New(github.Options{Repo: "acme", Token: "x"})
	if err == nil {
		t.Error("a repo without owner was taken")
	}
}

func TestDeployment(t *testing.T) {
	fake, c := history(t, 3)
	ctx := context.Background()
	d := deploy.GitHubDeployment{ActionID: 42, Env: "production", App: "checkout", Version: 7, SourceCommit: sha(3), EnvCommit: strings.Repeat("e", 40)}
	id, err := c.CreateDeployment(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []deploy.GitHubState{deploy.GitHubInProgress, deploy.GitHubSuccess} {
		if err := c.SetStatus(ctx, id, d, st); err != nil {
			t.Fatal(err)
		}
	}
	deps := fake.Deployments()
	if len(deps) != 1 {
		t.Fatalf("deployments: %+v", deps)
	}
	got := deps[0]
	if got.ID != id || got.SHA != sha(3) || got.Environment != "production" || got.AutoMerge || got.RequiredContexts == nil || len(got.RequiredContexts) != 0 {
		t.Errorf("deployment: %+v", got)
	}
	wantPayload := map[string]any{"app": "checkout", "version": float64(7), "envCommit": strings.Repeat("e", 40), "actionId": float64(42)}
	if diff := cmp.Diff(wantPayload, got.Payload); diff != "" {
		t.Errorf("payload (-want +got):\n%s", diff)
	}
	var states []string
	for _, s := range got.Statuses {
		states = append(states, s.State)
	}
	if diff := cmp.Diff([]string{"in_progress", "success"}, states); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	found, ok, err := c.FindDeployment(ctx, d)
	if err != nil || !ok || found != id {
		t.Errorf("FindDeployment = %d, %v, %v; want %d", found, ok, err, id)
	}
	other := d
	other.ActionID = 43
	if _, ok, err := c.FindDeployment(ctx, other); err != nil || ok {
		t.Errorf("FindDeployment of another action = %v, %v", ok, err)
	}
	unknown := d
	unknown.SourceCommit = sha(77)
	if _, err := c.CreateDeployment(ctx, unknown); !errors.Is(err, github.ErrUnknownCommit) {
		t.Errorf("a deployment of an unknown commit: %v", err)
	}
}
