// Package github tells people what a deployment changes and shows GitHub what runs where:
// changelogs between two source commits (compare API, grouped by pull request) and GitHub
// Deployments whose statuses follow the rollouts. It is the only package that imports
// go-github.
package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	gh "github.com/google/go-github/v60/github"

	"kuberpult/deploy"
)

// Options say how to reach GitHub.
type Options struct {
	Repo   string // owner/name
	Token  string
	APIURL string // GitHub Enterprise (https://github.example.com); "" for api.github.com
	// Timeout bounds one request; default 10s.
	Timeout time.Duration
}

// Client asks GitHub about one repository.
type Client struct {
	gh          *gh.Client
	owner, name string
}

// Errors of the client, for errors.Is.
var (
	// ErrUnknownCommit: GitHub does not know a commit (not pushed, or another repository).
	ErrUnknownCommit = deploy.ErrUnknownCommit
	// ErrRateLimited: GitHub refuses requests until RateLimitError.Reset.
	ErrRateLimited = errors.New("GitHub's rate limit is reached")
)

// RateLimitError says until when GitHub refuses requests.
type RateLimitError struct{ Reset time.Time }

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("GitHub's rate limit is reached until %s", e.Reset.UTC().Format(time.RFC3339))
}

func (e *RateLimitError) Is(target error) bool { return target == ErrRateLimited }

// New returns a client for o.Repo.
func New(o Options) (*Client, error) {
	owner, name, ok := strings.Cut(o.Repo, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return nil, fmt.Errorf("github: repo %q is not owner/name", o.Repo)
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	c := gh.NewClient(&http.Client{Timeout: timeout}).WithAuthToken(o.Token)
	if o.APIURL != "" {
		var err error
		if c, err = c.WithEnterpriseURLs(o.APIURL, o.APIURL); err != nil {
			return nil, fmt.Errorf("github: api_url: %w", err)
		}
	}
	return &Client{gh: c, owner: owner, name: name}, nil
}

// classify turns go-github's errors into ours; the token never appears in them.
func classify(what string, err error) error {
	var rl *gh.RateLimitError
	var abuse *gh.AbuseRateLimitError
	var er *gh.ErrorResponse
	switch {
	case errors.As(err, &rl):
		return fmt.Errorf("github: %s: %w", what, &RateLimitError{Reset: rl.Rate.Reset.Time})
	case errors.As(err, &abuse):
		wait := time.Minute
		if abuse.RetryAfter != nil {
			wait = *abuse.RetryAfter
		}
		return fmt.Errorf("github: %s: %w", what, &RateLimitError{Reset: time.Now().Add(wait)})
	case errors.As(err, &er) && er.Response != nil && (er.Response.StatusCode == http.StatusNotFound || er.Response.StatusCode == http.StatusUnprocessableEntity):
		return fmt.Errorf("github: %s: %w (%d %s)", what, ErrUnknownCommit, er.Response.StatusCode, er.Message)
	case errors.As(err, &er) && er.Response != nil:
		return fmt.Errorf("github: %s: %d %s", what, er.Response.StatusCode, er.Message)
	}
	return fmt.Errorf("github: %s: %w", what, err)
}

// perPage is the size of a page of compared commits.
const perPage = 100

// Changelog returns the commits between base (running now) and head (about to run), newest
// first, at most max of them (the rest counted in Total), grouped by the pull request each
// belongs to. When head is older than base (a rollback) the commits are those taken out,
// and Back is set.
func (c *Client) Changelog(ctx context.Context, base, head string, max int) (deploy.Changelog, error) {
	cl := deploy.Changelog{Base: base, Head: head}
	cmp, commits, err := c.compare(ctx, base, head, max)
	if err != nil {
		return cl, err
	}
	if cmp.GetStatus() == "behind" {
		cl.Back = true
		if cmp, commits, err = c.compare(ctx, head, base, max); err != nil {
			return cl, err
		}
	}
	cl.Total, cl.CompareURL = cmp.GetTotalCommits(), cmp.GetHTMLURL()
	// Newest first, capped.
	var newest []*gh.RepositoryCommit
	for i := len(commits) - 1; i >= 0 && len(newest) < max; i-- {
		newest = append(newest, commits[i])
	}
	cl.Shown = len(newest)
	pulls, err := c.pullsOf(ctx, newest)
	if err != nil {
		return cl, err
	}
	byPR := map[int]int{} // PR number → index in Groups
	for i, rc := range newest {
		sc := sourceCommit(rc)
		pr := pulls[i]
		n := pr.GetNumber()
		if n == 0 {
			cl.Groups = append(cl.Groups, deploy.ChangeGroup{Commits: []deploy.SourceCommit{sc}})
			continue
		}
		if g, ok := byPR[n]; ok {
			cl.Groups[g].Commits = append(cl.Groups[g].Commits, sc)
			continue
		}
		byPR[n] = len(cl.Groups)
		cl.Groups = append(cl.Groups, deploy.ChangeGroup{PR: n, Title: pr.GetTitle(), URL: pr.GetHTMLURL(), Author: pr.GetUser().GetLogin(),
			Commits: []deploy.SourceCommit{sc}})
	}
	return cl, nil
}

// compare asks for base...head and returns the comparison with its commits, oldest first:
// all of them, or at least the newest max when there are several pages.
func (c *Client) compare(ctx context.Context, base, head string, max int) (*gh.CommitsComparison, []*gh.RepositoryCommit, error) {
	what := fmt.Sprintf("compare %s...%s", short(base), short(head))
	cmp, resp, err := c.gh.Repositories.CompareCommits(ctx, c.owner, c.name, base, head, &gh.ListOptions{PerPage: perPage})
	if err != nil {
		return nil, nil, classify(what, err)
	}
	commits := cmp.Commits
	if resp.LastPage > 1 { // the newest are on the last pages
		commits = nil
		for page := resp.LastPage; page >= 1 && len(commits) < max; page-- {
			more, _, err := c.gh.Repositories.CompareCommits(ctx, c.owner, c.name, base, head, &gh.ListOptions{PerPage: perPage, Page: page})
			if err != nil {
				return nil, nil, classify(what, err)
			}
			commits = append(append([]*gh.RepositoryCommit(nil), more.Commits...), commits...)
		}
	}
	return cmp, commits, nil
}

// pullsOf returns, for each commit, the pull request it came with (a zero one for none),
// asking a few at a time.
func (c *Client) pullsOf(ctx context.Context, commits []*gh.RepositoryCommit) ([]*gh.PullRequest, error) {
	out := make([]*gh.PullRequest, len(commits))
	errs := make([]error, len(commits))
	slots := make(chan struct{}, 5)
	var wg sync.WaitGroup
	for i, rc := range commits {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots <- struct{}{}
			defer func() { <-slots }()
			prs, _, err := c.gh.PullRequests.ListPullRequestsWithCommit(ctx, c.owner, c.name, rc.GetSHA(), &gh.ListOptions{PerPage: 10})
			if err != nil {
				errs[i] = classify("pull requests of "+short(rc.GetSHA()), err)
				return
			}
			out[i] = &gh.PullRequest{}
			for _, pr := range prs {
				if pr.MergedAt != nil || out[i].Number == nil {
					out[i] = pr // a merged one first, else the first
					if pr.MergedAt != nil {
						break
					}
				}
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil && !errors.Is(err, ErrUnknownCommit) {
			return nil, err
		}
		if out[i] == nil {
			out[i] = &gh.PullRequest{}
		}
	}
	return out, nil
}

func sourceCommit(rc *gh.RepositoryCommit) deploy.SourceCommit {
	subject, _, _ := strings.Cut(rc.GetCommit().GetMessage(), "\n")
	a := rc.GetCommit().GetAuthor()
	return deploy.SourceCommit{SHA: rc.GetSHA(), Subject: strings.TrimSpace(subject), AuthorName: a.GetName(), AuthorEmail: a.GetEmail(),
		AuthorLogin: rc.GetAuthor().GetLogin(), URL: rc.GetHTMLURL()}
}

// payload is what a GitHub Deployment made by Kuberpult carries.
type payload struct {
	App       string `json:"app"`
	Version   uint64 `json:"version"`
	EnvCommit string `json:"envCommit"`
	ActionID  int64  `json:"actionId"`
}

func description(d deploy.GitHubDeployment) string {
	return fmt.Sprintf("%s %s on %s (env repo %s)", d.App, d.Version, d.Env, short(d.EnvCommit))
}

// CreateDeployment creates the GitHub Deployment of d on its source commit and returns its id.
func (c *Client) CreateDeployment(ctx context.Context, d deploy.GitHubDeployment) (int64, error) {
	noContexts := []string{}
	req := &gh.DeploymentRequest{Ref: gh.String(d.SourceCommit), Task: gh.String("deploy"), AutoMerge: gh.Bool(false),
		RequiredContexts: &noContexts, Environment: gh.String(string(d.Env)), Description: gh.String(description(d)),
		Payload: payload{App: string(d.App), Version: uint64(d.Version), EnvCommit: d.EnvCommit, ActionID: d.ActionID}}
	dep, _, err := c.gh.Repositories.CreateDeployment(ctx, c.owner, c.name, req)
	if err != nil {
		return 0, classify(fmt.Sprintf("create the deployment of %s %s on %s", d.App, d.Version, d.Env), err)
	}
	return dep.GetID(), nil
}

// FindDeployment looks for the deployment of d that an earlier attempt may have created
// (same commit and environment, its action in the payload).
func (c *Client) FindDeployment(ctx context.Context, d deploy.GitHubDeployment) (int64, bool, error) {
	deps, _, err := c.gh.Repositories.ListDeployments(ctx, c.owner, c.name, &gh.DeploymentsListOptions{SHA: d.SourceCommit, Environment: string(d.Env),
		ListOptions: gh.ListOptions{PerPage: 100}})
	if err != nil {
		return 0, false, classify(fmt.Sprintf("list the deployments of %s on %s", d.App, d.Env), err)
	}
	want := `"actionId":` + strconv.FormatInt(d.ActionID, 10)
	for _, dep := range deps {
		if strings.Contains(strings.ReplaceAll(string(dep.Payload), " ", ""), want) {
			return dep.GetID(), true, nil
		}
	}
	return 0, false, nil
}

// SetStatus posts a status of deployment id.
func (c *Client) SetStatus(ctx context.Context, id int64, d deploy.GitHubDeployment, state deploy.GitHubState) error {
	req := &gh.DeploymentStatusRequest{State: gh.String(string(state)), Description: gh.String(statusText(d, state)),
		Environment: gh.String(string(d.Env))}
	if _, _, err := c.gh.Repositories.CreateDeploymentStatus(ctx, c.owner, c.name, id, req); err != nil {
		return classify(fmt.Sprintf("set the deployment of %s %s on %s to %s", d.App, d.Version, d.Env, state), err)
	}
	return nil
}

func statusText(d deploy.GitHubDeployment, state deploy.GitHubState) string {
	switch state {
	case deploy.GitHubInProgress:
		return fmt.Sprintf("%s %s pushed to %s; Argo CD rolls it out", d.App, d.Version, d.Env)
	case deploy.GitHubSuccess:
		return fmt.Sprintf("%s %s runs on %s", d.App, d.Version, d.Env)
	case deploy.GitHubFailure:
		return fmt.Sprintf("the rollout of %s %s on %s failed", d.App, d.Version, d.Env)
	case deploy.GitHubInactive:
		return fmt.Sprintf("a newer deployment of %s replaced %s on %s", d.App, d.Version, d.Env)
	}
	return string(state)
}

func short(commit string) string {
	if len(commit) > 7 {
		return commit[:7]
	}
	return commit
}
