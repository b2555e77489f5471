package main

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"kuberpult/api"
	"kuberpult/deploy"
	"kuberpult/gitrepo"
)

// /readyz and /metrics of serve.

// outbox summarises the outbox for /readyz and /metrics.
func (a *app) outbox(ctx context.Context) (deploy.OutboxSummary, error) {
	var sum deploy.OutboxSummary
	err := a.db.View(ctx, func(ctx context.Context, v deploy.View) error {
		var err error
		sum, err = v.Outbox(ctx)
		return err
	})
	return sum, err
}

// ready: the database answers. The env repo and the outbox are reported, not required:
// while git is unreachable Kuberpult accepts changes and pushes them later.
func (a *app) ready(ctx context.Context) ([]string, error) {
	if err := a.db.Ping(ctx); err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	ob, err := a.outbox(ctx)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	st := a.writer.Status()
	var lines []string
	switch {
	case !st.Holding && st.Holder != "":
		lines = append(lines, "env repo: written by "+st.Holder)
	case !st.Reachable && st.LastError != "":
		lines = append(lines, fmt.Sprintf("env repo: unreachable since %s: %s", st.LastErrorAt.UTC().Format(time.RFC3339), st.LastError))
	case st.Reachable:
		lines = append(lines, "env repo: ok, at "+shortCommit(st.Tip))
	default:
		lines = append(lines, "env repo: not contacted yet")
	}
	waiting := fmt.Sprintf("outbox: %d change(s) waiting", ob.Pending)
	if ob.Pending > 0 {
		waiting += ", the oldest accepted " + time.Since(ob.Oldest).Round(time.Second).String() + " ago"
	}
	lines = append(lines, waiting)
	if len(ob.Failed) > 0 {
		lines = append(lines, fmt.Sprintf("outbox: %d change(s) failed and were set aside (see `status`)", len(ob.Failed)))
	}
	return lines, nil
}

func shortCommit(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	if c == "" {
		return "an empty branch"
	}
	return c
}

func (a *app) metrics() []api.MetricFunc {
	var readErrors atomic.Int64
	outbox := func(f func(deploy.OutboxSummary) float64) func() float64 {
		return func() float64 {
			ob, err := a.outbox(context.Background())
			if err != nil {
				readErrors.Add(1) // counted below; the gauge has no value to show
				return math.NaN()
			}
			return f(ob)
		}
	}
	stat := func(f func(gitrepo.Status) float64) func() float64 {
		return func() float64 { return f(a.writer.Status()) }
	}
	bool01 := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	ms := []api.MetricFunc{
		{Name: "kuberpult_outbox_pending", Help: "Env-repo changes accepted but not yet pushed.", Value: outbox(func(o deploy.OutboxSummary) float64 { return float64(o.Pending) })},
		{Name: "kuberpult_outbox_failed", Help: "Env-repo changes the git writer could not apply and set aside.", Value: outbox(func(o deploy.OutboxSummary) float64 { return float64(len(o.Failed)) })},
		{Name: "kuberpult_outbox_read_errors_total", Help: "Reads of the outbox for these metrics that failed (the outbox gauges were NaN then).", Type: "counter", Value: func() float64 { return float64(readErrors.Load()) }},
		{Name: "kuberpult_git_up", Help: "1 while the env repo answered the last fetch or push.", Value: stat(func(s gitrepo.Status) float64 { return bool01(s.Reachable) })},
		{Name: "kuberpult_git_writer_holding", Help: "1 while this process holds the env-repo writer lease.", Value: stat(func(s gitrepo.Status) float64 { return bool01(s.Holding) })},
		{Name: "kuberpult_leader", Help: "1 while this replica leads (holds the env-repo writer lease and runs the scheduler, the Argo CD watcher and GitHub deployments); 0 on the others.", Labels: map[string]string{"replica": replicaName()}, Value: stat(func(s gitrepo.Status) float64 { return bool01(s.Holding) })},
		{Name: "kuberpult_leader_epoch", Help: "The epoch of the leader lease as this replica last saw it; it grows with every change of leader.", Value: stat(func(s gitrepo.Status) float64 { return float64(s.Epoch) })},
		{Name: "kuberpult_leader_terms_total", Help: "Times this replica became the leader.", Type: "counter", Value: stat(func(s gitrepo.Status) float64 { return float64(s.Stats.LeaseTaken) })},
		{Name: "kuberpult_leader_lost_total", Help: "Times this replica lost the leadership to another (taken over, or not renewed in time).", Type: "counter", Value: stat(func(s gitrepo.Status) float64 { return float64(s.Stats.LeaseLost) })},
		{Name: "kuberpult_git_commits_pushed_total", Help: "Commits pushed to the env repo.", Type: "counter", Value: stat(func(s gitrepo.Status) float64 { return float64(s.Stats.CommitsPushed) })},
		{Name: "kuberpult_git_pushes_total", Help: "Pushes to the env repo.", Type: "counter", Value: stat(func(s gitrepo.Status) float64 { return float64(s.Stats.Pushes) })},
		{Name: "kuberpult_git_push_failures_total", Help: "Failed pushes to the env repo (retried).", Type: "counter", Value: stat(func(s gitrepo.Status) float64 { return float64(s.Stats.PushFailures) })},
		{Name: "kuberpult_git_push_refusals_total", Help: "Pushes the env repo refused for another reason than a lost race, e.g. a hook (retried with backoff).", Type: "counter", Value: stat(func(s gitrepo.Status) float64 { return float64(s.Stats.PushRefusals) })},
		{Name: "kuberpult_git_failed_entries_total", Help: "Outbox entries this process set aside as failed.", Type: "counter", Value: stat(func(s gitrepo.Status) float64 { return float64(s.Stats.FailedEntries) })},
		{Name: "kuberpult_git_last_push_seconds", Help: "Duration of the last push.", Value: stat(func(s gitrepo.Status) float64 { return s.Stats.LastPushDuration.Seconds() })},
		pushHistogram(a.writer.Status),
	}
	return append(ms, runtimeMetrics(started)...)
}

// started is when this process started, for process_start_time_seconds.
var started = time.Now()
