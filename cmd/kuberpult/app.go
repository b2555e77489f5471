package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"kuberpult/api"
	"kuberpult/argocd"
	"kuberpult/bot"
	"kuberpult/commands"
	"kuberpult/config"
	"kuberpult/console"
	"kuberpult/deploy"
	"kuberpult/github"
	"kuberpult/gitrepo"
	"kuberpult/policy"
	"kuberpult/store"
	"kuberpult/train"
)

// Writer lease priorities: serve takes the env-repo writer over from a console.
const (
	priorityConsole = 0
	priorityServe   = 1
)

// leaseName is the name of the env-repo writer lease in the store (gitrepo.LeaseName).
const leaseName = gitrepo.LeaseName

// leaseTTL is how long the writer lease of a process that died blocks the others: another
// replica takes over (the writing and the singletons) within it and a poll interval (2s).
const leaseTTL = 10 * time.Second

// pendingPoll is how often the writer holding the lease looks for changes that other
// processes (replicas, consoles) accepted: they notify only their own writer.
const pendingPoll = 100 * time.Millisecond

// drainTimeout bounds how long serve pushes accepted changes after a stop signal.
const drainTimeout = 10 * time.Second

// requestKeyRetention is how long idempotency keys are remembered.
const requestKeyRetention = 7 * 24 * time.Hour

// app holds the parts every mode of the program uses.
type app struct {
	cfg     *config.Config
	log     *slog.Logger
	db      *store.DB
	writer  *gitrepo.Writer
	handler *commands.Handler
	actor   deploy.Actor // the console's actor
	// onPush are the subscribers to push events inside the process (the Slack cards and
	// the Argo CD watcher subscribe here).
	onPush []func(deploy.PushEvent)
	// observers hear of every committed action (the Slack bot announces what CI did).
	observers []func(commands.Request, commands.Result)
	// lead runs the singletons while this process's writer holds the env-repo lease (set
	// by serve before the writer runs; nil: nothing to run).
	lead func(ctx context.Context, lease func() deploy.Lease)
}

// openApp opens the store and prepares the git writer; mode names this process in the
// writer lease ("serve", "console", "demo") and priority orders who writes.
func openApp(ctx context.Context, cfg *config.Config, log *slog.Logger, mode string, priority int) (*app, error) {
	db, err := openStore(ctx, cfg.State)
	if err != nil {
		return nil, err
	}
	pol, err := buildPolicy(cfg)
	if err != nil {
		db.Close()
		return nil, err
	}
	a := &app{cfg: cfg, log: log, db: db, actor: consoleActor(cfg)}
	a.onPush = append(a.onPush, func(ev deploy.PushEvent) {
		log.Debug("pushed", "action", ev.ActionID, "commit", ev.Commit, "deployments", len(ev.Carried))
	})
	w, err := gitrepo.Open(ctx, gitrepo.Options{
		URL: cfg.Git.URL, Branch: cfg.Git.Branch, Token: cfg.Git.Token, SSHKeyFile: cfg.Git.SSHKey,
		ArgoRepoURL: cfg.Git.ArgoCDRepoURL, CommitterName: cfg.Git.Author.Name, CommitterEmail: cfg.Git.Author.Email,
		Logger: log, Holder: holderName(mode), Priority: priority, LeaseTTL: leaseTTL, PendingPoll: pendingPoll,
		Lead: func(ctx context.Context, lease func() deploy.Lease) {
			if a.lead != nil {
				a.lead(ctx, lease)
			}
		},
		OnPush: func(ev deploy.PushEvent) {
			for _, f := range a.onPush {
				f(ev)
			}
		},
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	a.writer = w
	th := &throttle{status: w.Status, now: time.Now, waiting: db.Waiting}
	a.handler = commands.New(commands.Options{Store: db, Environments: cfg.Environments, Policy: pol,
		Trains: cfg.ScheduledTrains(), Windows: cfg.PolicyWindows(), ApprovalExpiry: cfg.ApprovalExpiry(), Notify: w.Notify, Backpressure: th.wait, Logger: log, Observe: func(r commands.Request, res commands.Result) {
			for _, f := range a.observers {
				f(r, res)
			}
		}})
	return a, nil
}

func (a *app) Close() error { return a.db.Close() }

// openStore opens the configured state: a SQLite file, or a PostgreSQL database.
func openStore(ctx context.Context, st config.State) (*store.DB, error) {
	if st.Postgres.DSN != "" {
		return store.OpenPostgres(ctx, st.Postgres.DSN)
	}
	return store.Open(ctx, st.SQLite)
}

// holderName names this process in the writer lease, so another process can say who writes.
func holderName(mode string) string {
	return fmt.Sprintf("kuberpult %s on %s", mode, replicaName())
}

// replicaName names this process among the replicas: the host (a pod's name) and the pid.
func replicaName() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s (pid %d)", host, os.Getpid())
}

// buildPolicy turns the rbac section and the API tokens' roles into a policy; without an
// rbac section everything is allowed (nil).
func buildPolicy(cfg *config.Config) (*policy.Policy, error) {
	if cfg.RBAC == nil {
		return nil, nil
	}
	bindings := map[string][]string{}
	for _, t := range cfg.API.Tokens {
		bindings["token:"+t.Name] = append(bindings["token:"+t.Name], t.Role)
	}
	p, err := policy.New(policy.Config{Policy: cfg.RBAC.Policy, Teams: cfg.RBAC.Teams,
		TeamPermissions: cfg.RBAC.TeamPermissions, Bindings: bindings})
	if err != nil {
		return nil, fmt.Errorf("rbac: %w", err)
	}
	return p, nil
}

// serve runs the HTTP API and the git writer until ctx is done. It starts without the env
// repo (SQLite is the source of truth): accepted changes wait in the outbox.
func serve(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	a, err := openApp(ctx, cfg, log, "serve", priorityServe)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.handler.SyncEnvironments(ctx, deploy.ViaScheduler); err != nil {
		return err
	}
	var ghc *github.Client
	if cfg.GitHub.Enabled() {
		if ghc, err = github.New(github.Options{Repo: cfg.GitHub.Repo, Token: cfg.GitHub.Token, APIURL: cfg.GitHub.APIURL}); err != nil {
			return err
		}
	}
	var b *bot.Bot
	if cfg.Slack.Enabled() {
		b = a.slackBot(ghc)
		a.onPush = append(a.onPush, b.Pushed)
		a.observers = append(a.observers, b.Observe)
	}
	var reporter *github.Reporter
	if ghc != nil && cfg.GitHub.Deployments {
		reporter = &github.Reporter{Client: ghc, Store: a.db, FollowRollouts: cfg.ArgoCD.Enabled(), Logger: a.log.With("part", "github")}
		a.onPush = append(a.onPush, func(deploy.PushEvent) { reporter.Wake() })
	}
	var tr *argocd.Tracker
	if cfg.ArgoCD.Enabled() { // subscribed to push events before the writer starts
		if tr, err = a.rolloutTracker(b, reporter); err != nil {
			return err
		}
	}
	// The singletons run on the leader only: the replica whose writer holds the env-repo
	// lease (see lead).
	var singles []singleton
	if tr != nil {
		singles = append(singles, singleton{"Argo CD watcher", func(ctx context.Context, _ func() deploy.Lease) error { return tr.Run(ctx) }})
	}
	if reporter != nil {
		singles = append(singles, singleton{"GitHub deployments", func(ctx context.Context, _ func() deploy.Lease) error { return reporter.Run(ctx) }})
	}
	if b != nil {
		singles = append(singles, singleton{"lock reminders", func(ctx context.Context, _ func() deploy.Lease) error { b.RunReminders(ctx); return nil }})
	}
	if trains := cfg.ScheduledTrains(); len(trains) > 0 || len(cfg.Windows) > 0 {
		singles = append(singles, singleton{"scheduler", func(ctx context.Context, lease func() deploy.Lease) error {
			s := &train.Scheduler{Trains: trains, Windows: cfg.PolicyWindows(), Envs: cfg.Environments, Now: time.Now,
				Fire: func(ctx context.Context, e train.Event) {
					l := lease()
					a.fire(ctx, e, &l)
				}}
			return s.Run(ctx)
		}})
	}
	failed := make(chan error, 1)
	a.lead = func(ctx context.Context, lease func() deploy.Lease) {
		if err := a.runSingletons(ctx, lease, singles); err != nil {
			select {
			case failed <- err:
			default:
			}
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.writer.Run(gctx, a.db) })
	g.Go(func() error {
		select {
		case <-gctx.Done():
			return nil
		case err := <-failed:
			return err
		}
	})
	if b != nil {
		g.Go(func() error { return b.Run(gctx) })
	}
	g.Go(func() error { return a.pruneRequests(gctx) })
	if cfg.API.Listen != "" {
		srv := a.apiServer()
		g.Go(func() error { return srv.Run(gctx, cfg.API.Listen) })
	}
	for _, w := range cfg.Warnings() {
		log.Warn("config: " + w)
	}
	log.Info("kuberpult started", "api", cfg.API.Listen, "git", gitrepo.RedactURL(cfg.Git.URL), "environments", len(cfg.Environments))
	err = g.Wait()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	// Push what was accepted before the stop, within a bounded grace period; what is left
	// waits in the outbox for the next start.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drainTimeout)
	defer cancel()
	if ferr := a.writer.Flush(fctx, a.db); ferr != nil {
		log.Warn("pending env-repo changes stay queued for the next start", "err", ferr)
	}
	log.Info("kuberpult stopped")
	return err
}

// fire runs one announcement or departure of a scheduled train (the bot posts it, as it
// observes every action) and logs what came of it. fence is the leader's lease: a replica
// that lost it records nothing.
func (a *app) fire(ctx context.Context, e train.Event, fence *deploy.Lease) {
	res := a.handler.Fire(ctx, e, fence)
	args := []any{"train", e.Train, "slot", e.Slot.UTC().Format(time.RFC3339), "outcome", res.Outcome, "action", res.ActionID}
	if res.Departure != nil {
		args = append(args, "state", res.Departure.State)
	}
	switch {
	case res.Problem != nil:
		a.log.Error("scheduled train "+string(e.Kind)+" failed", append(args, "err", res.Problem.Message)...)
	case !res.Replayed:
		a.log.Info("scheduled train "+string(e.Kind), args...)
	}
}

// pruneRequests forgets idempotency keys after requestKeyRetention, hourly.
func (a *app) pruneRequests(ctx context.Context) error {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := a.db.PruneRequests(ctx, time.Now().Add(-requestKeyRetention)); err != nil && ctx.Err() == nil {
			a.log.Warn("prune idempotency keys", "err", err)
		} else if n > 0 {
			a.log.Debug("pruned idempotency keys", "count", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// slackBot prepares the Slack bot of the configuration.
func (a *app) slackBot(changelogs *github.Client) *bot.Bot {
	sc := a.cfg.Slack
	teams := map[deploy.Team]string{}
	for t, c := range sc.Teams {
		teams[deploy.Team(t)] = c.Channel
	}
	return bot.New(bot.Options{AppToken: sc.AppToken, BotToken: sc.BotToken, APIURL: sc.APIURL,
		Command: sc.SlashCommand(), DefaultChannel: sc.DefaultChannel, TeamChannels: teams,
		Exec: a.handler, Store: a.db, Logger: a.log.With("part", "slack"), Changelogs: changelogSource(changelogs),
		RemindApart: true})
}

func (a *app) apiServer() *api.Server {
	tokens := make([]api.Token, len(a.cfg.API.Tokens))
	for i, t := range a.cfg.API.Tokens {
		tokens[i] = api.Token{Name: t.Name, Secret: t.Token}
	}
	return api.New(api.Options{
		Handler: a.handler,
		Tokens:  tokens,
		Logger:  a.log,
		Ready:   a.ready,
		Metrics: a.metrics(),

		FollowsRollouts: a.cfg.ArgoCD.Enabled(),
	})
}

// runConsole runs the command language on stdin as the configured console user.
func runConsole(ctx context.Context, cfg *config.Config, as string, stdin *os.File, stdout io.Writer, log *slog.Logger) error {
	a, err := openApp(ctx, cfg, log, "console", priorityConsole)
	if err != nil {
		return err
	}
	defer a.Close()
	a.actor = consoleActor(cfg)
	if as != "" {
		a.actor = deploy.Actor{Kind: deploy.ActorUser, ID: as, Name: as}
		if strings.Contains(as, "@") && !strings.HasPrefix(as, "@") {
			a.actor.Email = as
		}
		fmt.Fprintf(stdout, "Acting as %s (--as): commands are checked against the policy for this subject.\n", as)
	}
	return a.console(ctx, stdin, stdout, false)
}

// startWriter runs the git writer in the background until the returned stop is called;
// stop waits for it (a push in flight finishes first).
func (a *app) startWriter(ctx context.Context) (stop func() error) {
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.writer.Run(wctx, a.db) }()
	return func() error {
		cancel()
		return <-done
	}
}

// console runs the console with the git writer alongside. Only one process writes the env
// repo: while another (serve) holds the writer lease, this console leaves the pushing to it.
// pushEach makes every command wait until its change is in the env repo (the demo, so
// `status` shows commits at once).
func (a *app) console(ctx context.Context, stdin *os.File, stdout io.Writer, pushEach bool) error {
	if l, ok, err := a.db.Lease(ctx, leaseName); err == nil && ok && l.Expires.After(time.Now()) {
		fmt.Fprintf(stdout, "The env repo is written by %s; this console leaves the pushing to it.\n", l.Holder)
	}
	stop := a.startWriter(ctx)
	err := a.session(ctx, stdin, stdout, pushEach)
	if werr := stop(); werr != nil && err == nil {
		err = werr
	}
	return err
}

// session runs the console while the git writer runs, then waits (bounded) until what the
// session changed is in the env repo, whoever writes it.
func (a *app) session(ctx context.Context, stdin *os.File, stdout io.Writer, pushEach bool) error {
	opts := console.Options{
		Exec: a.handler, Actor: a.actor, In: stdin, Out: stdout,
		Interactive: console.IsTerminal(stdin), Interrupts: interrupts,
	}
	if pushEach {
		opts.AfterCommand = func(ctx context.Context) {
			fctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			if err := a.writer.Flush(fctx, a.db); err != nil && ctx.Err() == nil {
				fmt.Fprintf(stdout, "warning: env repo not updated yet: %v\n", err)
			}
		}
	}
	err := console.Run(ctx, opts)
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
	defer cancel()
	if ferr := a.writer.Flush(fctx, a.db); ferr != nil {
		fmt.Fprintf(stdout, "warning: env-repo changes stay queued for the next writer: %v\n", ferr)
	}
	return err
}

func consoleActor(cfg *config.Config) deploy.Actor {
	name, email := cfg.Console.User.Name, cfg.Console.User.Email
	if name == "" {
		if u, err := user.Current(); err == nil {
			name = u.Username
		}
	}
	return deploy.Actor{Kind: deploy.ActorUser, ID: email, Name: name, Email: email}
}
