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
	"kuberpult/commands"
	"kuberpult/config"
	"kuberpult/console"
	"kuberpult/deploy"
	"kuberpult/gitrepo"
	"kuberpult/policy"
	"kuberpult/store"
)

// app holds the parts every mode of the program uses.
type app struct {
	cfg     *config.Config
	log     *slog.Logger
	db      *store.DB
	writer  *gitrepo.Writer
	handler *commands.Handler
	actor   deploy.Actor // the console's actor
}

func openApp(ctx context.Context, cfg *config.Config, log *slog.Logger) (*app, error) {
	db, err := store.Open(ctx, cfg.State.SQLite)
	if err != nil {
		return nil, err
	}
	w, err := gitrepo.Open(ctx, gitrepo.Options{
		URL: cfg.Git.URL, Branch: cfg.Git.Branch, Token: cfg.Git.Token, SSHKeyFile: cfg.Git.SSHKey,
		ArgoRepoURL: cfg.Git.ArgoCDRepoURL, CommitterName: cfg.Git.Author.Name, CommitterEmail: cfg.Git.Author.Email,
		Logger: log,
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	pol, err := buildPolicy(cfg)
	if err != nil {
		db.Close()
		return nil, err
	}
	h := commands.New(commands.Options{Store: db, Environments: cfg.Environments, Policy: pol, Notify: w.Notify, Logger: log})
	return &app{cfg: cfg, log: log, db: db, writer: w, handler: h, actor: consoleActor(cfg)}, nil
}

func (a *app) Close() error { return a.db.Close() }

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

// serve runs the HTTP API and the git writer until ctx is done.
func serve(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	a, err := openApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.handler.SyncEnvironments(ctx, deploy.ViaScheduler); err != nil {
		return err
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.writer.Run(ctx, a.db) })
	if cfg.API.Listen != "" {
		srv := a.apiServer()
		g.Go(func() error { return srv.Run(ctx, cfg.API.Listen) })
	}
	log.Info("kuberpult started", "api", cfg.API.Listen, "git", gitrepo.RedactURL(cfg.Git.URL), "environments", len(cfg.Environments))
	err = g.Wait()
	// Push what was accepted before stopping, with a bounded grace period.
	flushCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if ferr := a.writer.Flush(flushCtx, a.db); ferr != nil {
		log.Warn("pending env-repo changes stay queued for the next start", "err", ferr)
	}
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	log.Info("kuberpult stopped")
	return err
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
		Ready: func(ctx context.Context) error {
			_, err := a.db.OutboxLen(ctx)
			return err
		},
		Metrics: []api.MetricFunc{
			{Name: "kuberpult_outbox_pending", Help: "Env-repo changes accepted but not yet pushed.", Type: "gauge", Value: func() float64 {
				n, err := a.db.OutboxLen(context.Background())
				if err != nil {
					return -1
				}
				return float64(n)
			}},
			{Name: "kuberpult_git_commits_pushed_total", Help: "Commits pushed to the env repo.", Type: "counter", Value: func() float64 {
				return float64(a.writer.Stats().CommitsPushed)
			}},
			{Name: "kuberpult_git_push_failures_total", Help: "Failed pushes to the env repo (retried).", Type: "counter", Value: func() float64 {
				return float64(a.writer.Stats().PushFailures)
			}},
			{Name: "kuberpult_git_last_push_seconds", Help: "Duration of the last push.", Type: "gauge", Value: func() float64 {
				return a.writer.Stats().LastPushDuration.Seconds()
			}},
		},
	})
}

// runConsole runs the command language on stdin as the configured console user, with the
// git writer running alongside.
func runConsole(ctx context.Context, cfg *config.Config, as string, stdin *os.File, stdout io.Writer, log *slog.Logger) error {
	a, err := openApp(ctx, cfg, log)
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

// console runs the console with the git writer alongside; pushEach makes every command
// wait until its change is in the env repo (the demo, so `status` shows commits at once).
func (a *app) console(ctx context.Context, stdin *os.File, stdout io.Writer, pushEach bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.writer.Run(ctx, a.db) }()
	opts := console.Options{
		Exec: a.handler, Actor: a.actor, In: stdin, Out: stdout,
		Interactive: console.IsTerminal(stdin),
	}
	if pushEach {
		opts.AfterCommand = func(ctx context.Context) {
			if err := a.writer.Flush(ctx, a.db); err != nil {
				fmt.Fprintf(stdout, "warning: env repo not updated yet: %v\n", err)
			}
		}
	}
	err := console.Run(ctx, opts)
	cancel()
	<-done
	// Push what the session changed before exiting.
	flushCtx, stop := context.WithTimeout(context.Background(), 20*time.Second)
	defer stop()
	if ferr := a.writer.Flush(flushCtx, a.db); ferr != nil {
		fmt.Fprintf(stdout, "warning: env-repo changes stay queued for the next start: %v\n", ferr)
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
