package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"kuberpult/commands"
	"kuberpult/config"
	"kuberpult/deploy"
	"kuberpult/reply"
	"kuberpult/train"
)

// demoApps are the example apps of the demo: name, team.
var demoApps = []struct {
	app  string
	team string
}{
	{"checkout", "shop"},
	{"catalog", "shop"},
	{"payments", "payments"},
}

// runDemo starts Kuberpult on embedded defaults: a SQLite file and a bare env repo under
// dataDir, example environments, and a few releases, then opens the console.
func runDemo(ctx context.Context, dataDir, listen string, stdin *os.File, stdout, stderr io.Writer) error {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Kuberpult demo: starting in %s …\n", abs)
	cfg, err := config.Demo(abs)
	if err != nil {
		return err
	}
	if listen != "" {
		cfg.API.Listen = listen
	}
	// Logs go to a file, never over the prompt; the banner names it.
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return fmt.Errorf("demo data directory: %w", err)
	}
	logPath := filepath.Join(abs, "kuberpult.log")
	logs, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("demo log: %w", err)
	}
	defer logs.Close()
	a, err := openApp(ctx, cfg, newLogger(logs, slog.LevelInfo), "demo", priorityConsole)
	if err != nil {
		return err
	}
	defer a.Close()
	stop := a.startWriter(ctx)
	defer stop()
	if err := a.handler.SyncEnvironments(ctx, deploy.ViaConsole); err != nil {
		return err
	}
	st, err := a.handler.State(ctx)
	if err != nil {
		return err
	}
	if len(st.Apps) == 0 {
		if err := seedDemo(ctx, a.handler); err != nil {
			return fmt.Errorf("seed demo: %w", err)
		}
	}
	fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := a.writer.Flush(fctx, a.db); err != nil {
		return fmt.Errorf("write the demo's env repo: %w", err)
	}
	// The port is taken before the banner, so that the banner says what is true.
	apiLine := fmt.Sprintf("HTTP API on http://%s (try: curl -s http://%s/healthz).", cfg.API.Listen, cfg.API.Listen)
	if ln, err := net.Listen("tcp", cfg.API.Listen); err != nil {
		apiLine = fmt.Sprintf("HTTP API not started: %v; choose another address with `demo --listen 127.0.0.1:PORT`.", err)
	} else {
		srv := a.apiServer()
		go func() {
			if err := srv.Serve(ctx, ln); err != nil {
				fmt.Fprintf(stderr, "demo: HTTP API stopped: %v\n", err)
			}
		}()
	}
	if trains := cfg.ScheduledTrains(); len(trains) > 0 || len(cfg.Windows) > 0 {
		// The demo's scheduled train is announced and departs in this terminal, and what
		// its window held is deployed when it closes.
		sched := &train.Scheduler{Trains: trains, Windows: cfg.PolicyWindows(), Envs: cfg.Environments, Now: time.Now, Fire: func(ctx context.Context, e train.Event) {
			if res := a.handler.Fire(ctx, e, nil); res.OK() && !res.Replayed && (res.Departure != nil || len(res.Deployed) > 0) {
				fmt.Fprintf(stdout, "\n%s\n", reply.Text(res))
			}
		}}
		go func() { _ = sched.Run(ctx) }()
	}
	fmt.Fprintf(stdout, `Kuberpult demo — state in %s, env repo in %s
Environments: development (gets every release) → staging → production (production-de, production-jp).
%s
Try: status · deploy checkout to staging · lock production "peak hours" · deploy payments to production
     history checkout · locks · unlock production · train production --dry-run · help · exit
     trains · hold train daily-production "release freeze" (the scheduled train, weekdays 11:30 Berlin time)
     windows (production's peak hours, weekdays 9–11 Berlin time: a deploy then needs --reason)
Inspect the env repo: git --git-dir %s log --stat
Logs: %s

`, cfg.State.SQLite, cfg.Git.URL, apiLine, cfg.Git.URL, logPath)
	return a.session(ctx, stdin, stdout, true)
}

// seedDemo registers example releases (as CI would) and promotes some of them, so the
// board has something to show.
func seedDemo(ctx context.Context, h *commands.Handler) error {
	ci := deploy.Actor{Kind: deploy.ActorAPI, ID: "demo-ci", Name: "Demo CI", Email: "ci@example.com"}
	for _, a := range demoApps {
		for v := 1; v <= 3; v++ {
			req := commands.ReleaseRequest{
				Application: a.app, Version: fmt.Sprint(v), Team: a.team,
				SourceCommitID: fmt.Sprintf("%040x", v*1000+len(a.app)),
				SourceAuthor:   "dev@example.com", SourceMessage: fmt.Sprintf("%s change %d", a.app, v),
				DisplayVersion: fmt.Sprintf("v1.%d.0", v),
				Manifests:      map[string]string{},
			}
			for _, env := range h.Environments().Names() {
				req.Manifests[string(env)] = demoManifest(a.app, string(env), v)
			}
			if res := h.CreateRelease(ctx, commands.Request{Actor: ci, Via: deploy.ViaAPI}, req); !res.OK() {
				return errors.New(reply.Text(res))
			}
		}
	}
	ops := deploy.Actor{Kind: deploy.ActorUser, ID: "demo-ops", Name: "Demo Ops", Email: "ops@example.com"}
	for _, line := range []string{
		"deploy checkout 2 to staging", "deploy catalog 3 to staging", "deploy payments 2 to staging",
		"deploy checkout 1 to production", "deploy catalog 2 to production", "deploy payments 1 to production",
	} {
		// With a reason: the demo may start inside production's peak hours.
		res := h.Execute(ctx, commands.Request{Actor: ops, Via: deploy.ViaConsole, Text: line + ` --reason "the demo's starting point"`})
		if !res.OK() {
			return fmt.Errorf("%s: %s", line, reply.Text(res))
		}
	}
	return nil
}

func demoManifest(app, env string, v int) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
  namespace: %[2]s
spec:
  replicas: 2
  selector:
    matchLabels: {app: %[1]s}
  template:
    metadata:
      labels: {app: %[1]s}
    spec:
      containers:
        - name: %[1]s
          image: registry.example.com/%[1]s:1.%[3]d.0
`, app, env, v)
}
