package main

import (
	"context"
	"fmt"
	"time"

	"kuberpult/argocd"
	"kuberpult/bot"
	"kuberpult/commands"
	"kuberpult/deploy"
	"kuberpult/github"
)

// The parts that follow what was pushed: Argo CD's rollouts, and what Slack and GitHub show of them.

// changelogSource is the bot's changelogs: GitHub's, or none.
func changelogSource(c *github.Client) bot.Changelogs {
	if c == nil {
		return nil // an interface holding a nil *github.Client would not be nil
	}
	return c
}

// rolloutTracker follows pushed deployments through Argo CD; the bot (if any) says how
// they ended in their cards' threads, and the GitHub reporter (if any) shows it.
func (a *app) rolloutTracker(b *bot.Bot, reporter *github.Reporter) (*argocd.Tracker, error) {
	ac := a.cfg.ArgoCD
	client, err := argocd.New(argocd.Options{Server: ac.Server, Token: ac.Token, CAFile: ac.CAFile, Insecure: ac.Insecure})
	if err != nil {
		return nil, fmt.Errorf("argocd: %w", err)
	}
	soak, timeout := ac.Durations()
	if soak == 0 {
		soak = argocd.DefaultSoak
	}
	if timeout == 0 {
		timeout = argocd.DefaultRolloutTimeout
	}
	tr := &argocd.Tracker{Client: client, Store: a.db, Timing: argocd.Timing{Soak: soak, Timeout: timeout},
		Logger: a.log.With("part", "argocd"), OnChange: func(r deploy.Rollout) {
			a.log.Info("rollout", "env", r.Env, "app", r.App, "version", r.Version, "commit", r.Commit, "state", r.State, "message", r.Message)
			if b != nil {
				b.Rollout(r)
			}
			if ac.AutoLock {
				go a.lockFailed(r)
			}
			if reporter != nil && r.State.Final() {
				reporter.Wake()
			}
		}}
	a.onPush = append(a.onPush, tr.Pushed)
	return tr, nil
}

// lockFailed locks an app whose rollout failed (argocd.auto_lock), once per deployment.
func (a *app) lockFailed(r deploy.Rollout) {
	switch r.State {
	case deploy.RolloutError, deploy.RolloutUnhealthy, deploy.RolloutTimeout:
	default:
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	actor := deploy.Actor{Kind: deploy.ActorSystem, ID: "argocd", Name: "Argo CD rollouts", Email: deploy.System.Email}
	msg := fmt.Sprintf("rollout of %s %s failed: %s in Argo CD", r.App, r.Version, r.State)
	if r.Message != "" {
		msg += " (" + r.Message + ")"
	}
	if n := len([]rune(msg)); n > 1000 {
		msg = string([]rune(msg)[:999]) + "…"
	}
	key := fmt.Sprintf("autolock:%s:%s:%d", r.Env, r.App, r.Version)
	res := a.handler.Run(ctx, commands.Request{Actor: actor, Via: deploy.ViaScheduler, Key: key},
		commands.Lock{Kind: deploy.LockApp, Target: string(r.Env), App: r.App, Message: msg, ID: "failed-" + string(r.App)})
	if res.Problem != nil {
		a.log.Error("auto-lock after a failed rollout", "env", r.Env, "app", r.App, "err", res.Problem.Message)
	}
}
