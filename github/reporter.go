package github

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"kuberpult/deploy"
)

// Deployments keeps the GitHub deployment rows; *store.DB implements it.
type Deployments interface {
	SyncGitHubDeployments(ctx context.Context, since, now time.Time, followRollouts bool) (int, error)
	GitHubDeploymentsDue(ctx context.Context, now time.Time, limit int) ([]deploy.GitHubDeployment, error)
	SaveGitHubDeployment(ctx context.Context, d deploy.GitHubDeployment) error
}

// Reporter shows GitHub what runs where: for every pushed deployment (of a release with a
// source commit) a GitHub Deployment on that commit, in_progress while Argo CD rolls it out
// (FollowRollouts) and then success or failure, or success at once without Argo CD; the one
// it replaced becomes inactive. It works from the store alone — push events and rollout
// changes only wake it — so a restart, GitHub being down or rate-limited lose nothing: each
// row is retried with a growing pause, and nothing else ever waits for GitHub.
type Reporter struct {
	Client         *Client
	Store          Deployments
	FollowRollouts bool
	Poll           time.Duration // how often the rows are looked at without a wake (retries are due); default 2s
	Now            func() time.Time
	Logger         *slog.Logger

	once sync.Once
	wake chan struct{}
}

// Back-off of a failed row: 2s, 4s, … at most maxPause; given up after maxAttempts.
const (
	maxPause    = 10 * time.Minute
	maxAttempts = 30
	batch       = 50 // rows a step works on
	// lookBack: at the start, deployments pushed this long before are reported too.
	lookBack = time.Hour
)

// Wake makes Run look at the rows now; it never blocks.
func (r *Reporter) Wake() {
	select {
	case r.wakeCh() <- struct{}{}:
	default:
	}
}

func (r *Reporter) wakeCh() chan struct{} {
	r.once.Do(func() { r.wake = make(chan struct{}, 1) })
	return r.wake
}

// Run reports until ctx ends.
func (r *Reporter) Run(ctx context.Context) error {
	wake := r.wakeCh()
	poll := r.Poll
	if poll <= 0 {
		poll = 2 * time.Second
	}
	since := r.now().Add(-lookBack)
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		if err := r.Step(ctx, since); err != nil && ctx.Err() == nil {
			r.log().Warn("github deployments", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-wake:
		}
	}
}

// Step records the deployments pushed since since and works on the rows that are due once.
func (r *Reporter) Step(ctx context.Context, since time.Time) error {
	if _, err := r.Store.SyncGitHubDeployments(ctx, since, r.now(), r.FollowRollouts); err != nil {
		return err
	}
	due, err := r.Store.GitHubDeploymentsDue(ctx, r.now(), batch)
	if err != nil {
		return err
	}
	for _, d := range due {
		if ctx.Err() != nil {
			return nil
		}
		before := d.Attempts
		err := r.report(ctx, &d)
		var rl *RateLimitError
		switch {
		case err == nil:
			d.Shown, d.Attempts, d.Error = d.Want, 0, ""
		case errors.As(err, &rl):
			d.NextTry, d.Error = rl.Reset, err.Error()
		case errors.Is(err, ErrUnknownCommit):
			r.log().Warn("github deployment given up", "env", d.Env, "app", d.App, "version", d.Version, "err", err)
			d.Shown, d.Error = d.Want, err.Error() // retrying cannot help
		default:
			if d.Attempts == before { // report did not count this attempt already
				d.Attempts++
			}
			d.Error = err.Error()
			if d.Attempts >= maxAttempts {
				r.log().Warn("github deployment given up", "env", d.Env, "app", d.App, "version", d.Version, "attempts", d.Attempts, "err", err)
				d.Shown = d.Want
			} else {
				d.NextTry = r.now().Add(pause(d.Attempts))
			}
		}
		if serr := r.Store.SaveGitHubDeployment(ctx, d); serr != nil {
			return serr
		}
		if rl != nil {
			return nil // every other row would be refused too
		}
	}
	return nil
}

// report creates the deployment of d if needed and posts the status it should show.
func (r *Reporter) report(ctx context.Context, d *deploy.GitHubDeployment) error {
	if d.GitHubID == 0 {
		if d.Want == deploy.GitHubInactive {
			return nil // replaced before it was ever shown: nothing to retire
		}
		if d.Attempts > 0 { // an earlier attempt may have created it before it failed or died
			id, ok, err := r.Client.FindDeployment(ctx, *d)
			if err != nil {
				return err
			}
			d.GitHubID = id
			if !ok {
				d.GitHubID = 0
			}
		}
		if d.GitHubID == 0 {
			// Counted before asking, so that a crash right after GitHub created it makes the
			// next attempt look for it first.
			d.Attempts++
			if err := r.Store.SaveGitHubDeployment(ctx, *d); err != nil {
				return err
			}
			id, err := r.Client.CreateDeployment(ctx, *d)
			if err != nil {
				return err
			}
			d.GitHubID = id
		}
	}
	return r.Client.SetStatus(ctx, d.GitHubID, *d, d.Want)
}

func pause(attempts int) time.Duration {
	p := time.Second << min(attempts, 10)
	return min(p, maxPause)
}

func (r *Reporter) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Reporter) log() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.New(slog.DiscardHandler)
}
