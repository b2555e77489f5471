package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"kuberpult/deploy"
)

// report is everything a run measured.
type report struct {
	Apps      int          `json:"apps"`
	Envs      int          `json:"environments"`
	GroupEnvs int          `json:"groupEnvironments"` // of them, in the group trains go to
	Commits   int          `json:"commits"`
	Clients   int          `json:"clients"`
	State     string       `json:"state"`    // "sqlite" or "postgres"
	Replicas  int          `json:"replicas"` // serve processes sharing the database
	Binary    string       `json:"binary"`
	Runs      []*runReport `json:"runs"`
	Targets   []target     `json:"targets"`
}

// runReport is one setup (a database with History releases per app) and its phases.
type runReport struct {
	History    int            `json:"history"`
	Releases   int            `json:"releases"`
	Schema     string         `json:"schema,omitempty"` // the setup's PostgreSQL schema
	Setup      setupResult    `json:"setup"`
	Latency    *latencyResult `json:"latency,omitempty"`
	Steady     *loadResult    `json:"steady,omitempty"`
	Train      *trainResult   `json:"train,omitempty"`
	Onboarding *loadResult    `json:"onboarding,omitempty"`
	Checks     []checkResult  `json:"checks"`
	Stop       string         `json:"stopError,omitempty"`
}

type setupResult struct {
	Commits         int     `json:"commits"`
	RepoMB          float64 `json:"repoMB"`
	GenerateSeconds float64 `json:"generateSeconds"`
	DBMB            float64 `json:"databaseMB"`
	SeedSeconds     float64 `json:"seedSeconds"`
	AnalyzeSeconds  float64 `json:"analyzeSeconds,omitempty"` // PostgreSQL: ANALYZE after the seed
	StartSeconds    float64 `json:"startSeconds"`             // exec until /readyz answers 200
	SyncSeconds     float64 `json:"syncSeconds"`              // exec until the initial sync is pushed; -1: it pushed nothing
	Serve           usage   `json:"serve"`
	Replicas        []usage `json:"replicas,omitempty"` // each replica's, with -replicas > 1
}

// target is one figure the core issue asks for.
type target struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Want  string `json:"want"`
	OK    bool   `json:"ok"`
}

func (r *report) ok() bool {
	for _, t := range r.Targets {
		if !t.OK {
			return false
		}
	}
	return len(r.Targets) > 0
}

func (r *report) run(history int) *runReport {
	for _, rr := range r.Runs {
		if rr.History == history {
			return rr
		}
	}
	return nil
}

// evaluate compares the figures with the targets of the core issue.
func (r *report) evaluate(o options) {
	add := func(name, value, want string, ok bool) {
		r.Targets = append(r.Targets, target{name, value, want, ok})
	}
	load := func(name string, l *loadResult, rate, lag float64) {
		add(name+": accepted", fmt.Sprintf("%.1f releases/s", l.Rate), fmt.Sprintf("≥ %.0f releases/s", rate), l.Rate >= rate)
		add(name+": pushed after the last acceptance", seconds(l.PushLag), fmt.Sprintf("≤ %.0f s", lag), l.PushLag >= 0 && l.PushLag <= lag)
		add(name+": answered 201", fmt.Sprintf("%d of %d", l.Accepted, l.Sent), "all", l.Sent > 0 && l.Accepted == l.Sent)
	}
	primary := r.run(o.history)
	if primary != nil && primary.Latency != nil {
		add("latency: median request→pushed / git CLI", fmt.Sprintf("%.2f×", primary.Latency.Ratio), "≤ 0.30×", primary.Latency.Ratio <= 0.3)
	}
	if primary != nil && primary.Steady != nil && o.has("steady") {
		load("steady", primary.Steady, 100, 2)
	}
	if primary != nil && primary.Train != nil {
		t := primary.Train
		add(fmt.Sprintf("train: prognosis, median of %d", prognosisRuns), fmt.Sprintf("%.0f ms (max %.0f)", t.Prognosis.Median, t.Prognosis.Max), "≤ 200 ms", t.Prognosis.Median <= 200)
		add(fmt.Sprintf("train: %d deployments into %s, request → pushed", t.Planned, t.Group), trainMs(t.PushedMs), "≤ 1 s", t.PushedMs >= 0 && t.PushedMs <= 1000)
		add("train: as planned (prognosis, one commit of the group's manifests)",
			fmt.Sprintf("%s, %d of %d manifests, %d other files", plural(t.Commits, "commit"), t.Manifests, t.Planned, t.OtherFiles),
			"1 commit, all planned", len(t.Problems) == 0 && t.Commits == 1)
		add("train again: new commits", fmt.Sprint(t.Again.Commits), "none", t.Again.Commits == 0 && t.Again.Deployed == 0)
	}
	if primary != nil && primary.Onboarding != nil {
		load("onboarding", primary.Onboarding, 50, 10)
		add("onboarding: new apps sent", fmt.Sprint(primary.Onboarding.Sent), fmt.Sprintf("all %d", o.onboardN), !primary.Onboarding.Capped)
	}
	if cmp := r.run(o.compare); o.has("history") && primary != nil && cmp != nil && primary.Steady != nil && cmp.Steady != nil {
		ratio := primary.Steady.Rate / cmp.Steady.Rate
		add(fmt.Sprintf("history: steady rate at %d / at %d releases", primary.Releases, cmp.Releases),
			fmt.Sprintf("%.2f×", ratio), "≥ 0.80×", ratio >= 0.8)
		req := primary.Steady.Request.Median / cmp.Steady.Request.Median
		add(fmt.Sprintf("history: median request at %d / at %d releases", primary.Releases, cmp.Releases),
			fmt.Sprintf("%.2f×", req), "≤ 1.25×", req <= 1.25)
	}
	peak, consistent, checks := 0.0, 0, 0
	var peaks []float64 // per replica, with several
	for _, rr := range r.Runs {
		for _, m := range rr.usages() {
			peak = max(peak, m.PeakMB)
		}
		for _, ms := range rr.replicaUsages() {
			for i, m := range ms {
				if i >= len(peaks) {
					peaks = append(peaks, 0)
				}
				peaks[i] = max(peaks[i], m.PeakMB)
			}
		}
		for _, c := range rr.Checks {
			checks++
			if c.ok() {
				consistent++
			}
		}
	}
	if len(peaks) == 0 {
		add("peak RSS of serve (VmHWM)", fmt.Sprintf("%.0f MB", peak), "≤ 200 MB", peak <= 200)
	}
	for i, p := range peaks {
		add(fmt.Sprintf("peak RSS of serve replica %d (VmHWM)", i+1), fmt.Sprintf("%.0f MB", p), "≤ 200 MB", p <= 200)
	}
	add("end state: git = database, fsck", fmt.Sprintf("%d of %d checks", consistent, checks), "all", consistent == checks)
}

func (rr *runReport) usages() []usage {
	ms := []usage{rr.Setup.Serve}
	if rr.Latency != nil {
		ms = append(ms, rr.Latency.Serve)
	}
	for _, l := range []*loadResult{rr.Steady, rr.Onboarding} {
		if l != nil {
			ms = append(ms, l.Serve)
		}
	}
	if rr.Train != nil {
		ms = append(ms, rr.Train.Serve)
	}
	return ms
}

// replicaUsages is, with several replicas, each phase's figures of every replica.
func (rr *runReport) replicaUsages() [][]usage {
	ms := [][]usage{rr.Setup.Replicas}
	if rr.Latency != nil {
		ms = append(ms, rr.Latency.Replicas)
	}
	for _, l := range []*loadResult{rr.Steady, rr.Onboarding} {
		if l != nil {
			ms = append(ms, l.Replicas)
		}
	}
	if rr.Train != nil {
		ms = append(ms, rr.Train.Replicas)
	}
	return slices.DeleteFunc(ms, func(u []usage) bool { return len(u) == 0 })
}

func trainMs(v float64) string {
	if v < 0 {
		return "not pushed in time"
	}
	return fmt.Sprintf("%.0f ms", v)
}

func seconds(s float64) string {
	if s < 0 {
		return "not pushed in time"
	}
	return fmt.Sprintf("%.2f s", s)
}

func printReport(w io.Writer, r *report) {
	envs := "upstream latest"
	if r.GroupEnvs > 0 {
		envs = fmt.Sprintf("%d upstream latest, %d in group %s", r.Envs-r.GroupEnvs, r.GroupEnvs, trainGroup)
	}
	fmt.Fprintf(w, "Kuberpult end-to-end benchmark: %d apps × %d environments (%s), %d commits of history, %d clients\n",
		r.Apps, r.Envs, envs, r.Commits, r.Clients)
	if r.State == "postgres" {
		fmt.Fprintf(w, "state: PostgreSQL, %s of serve sharing it (requests go to each in turn)\n", plural(r.Replicas, "replica"))
	}
	fmt.Fprintf(w, "binary: %s\n", r.Binary)
	for _, rr := range r.Runs {
		s := rr.Setup
		schema := ""
		if rr.Schema != "" {
			schema = ", schema " + rr.Schema
		}
		fmt.Fprintf(w, "\n== database with %d releases per app (%d releases; -history %d%s)\n", rr.Releases/max(r.Apps, 1), rr.Releases, rr.History, schema)
		analyzed := ""
		if s.AnalyzeSeconds > 0 {
			analyzed = fmt.Sprintf(", analyzed in %.1f s", s.AnalyzeSeconds)
		}
		fmt.Fprintf(w, "setup       env repo %d commits, %.0f MB, generated in %.1f s; database %.0f MB, seeded in %.1f s%s\n",
			s.Commits, s.RepoMB, s.GenerateSeconds, s.DBMB, s.SeedSeconds, analyzed)
		sync := fmt.Sprintf("initial sync pushed after %.1f s", s.SyncSeconds)
		if s.SyncSeconds < 0 {
			sync = "initial sync pushed NOTHING (no Argo CD files rendered)"
		}
		if len(s.Replicas) == 0 {
			fmt.Fprintf(w, "            serve ready after %.1f s, %s; %s\n", s.StartSeconds, sync, mem(s.Serve))
		} else {
			fmt.Fprintf(w, "            %d replicas ready after %.1f s, %s\n", len(s.Replicas), s.StartSeconds, sync)
			printMem(w, s.Serve, s.Replicas)
		}
		if l := rr.Latency; l != nil {
			fmt.Fprintf(w, "latency     %d rounds, request → remote branch holds it:\n", l.Rounds)
			fmt.Fprintf(w, "              kuberpult  %s\n", minMedMax(l.Kuberpult))
			fmt.Fprintf(w, "              git CLI    %s  (pull, write %d files, add, commit, push)\n", minMedMax(l.GitCLI), l.Files)
			for i, d := range l.ByReplica {
				fmt.Fprintf(w, "              replica %d  %s  (%d rounds)\n", i+1, minMedMax(d), (l.Rounds+len(l.ByReplica)-1-i)/len(l.ByReplica))
			}
			if len(l.Replicas) == 0 {
				fmt.Fprintf(w, "              ratio of medians %.2f; %s\n", l.Ratio, mem(l.Serve))
			} else {
				fmt.Fprintf(w, "              ratio of medians %.2f\n", l.Ratio)
				printMem(w, l.Serve, l.Replicas)
			}
			printPostgresCPU(w, l.PostgresCPUSeconds)
		}
		for _, p := range []struct {
			name string
			l    *loadResult
		}{{"steady", rr.Steady}, {"onboarding", rr.Onboarding}} {
			if p.l != nil {
				printLoad(w, p.name, p.l)
			}
			if p.name == "steady" && rr.Train != nil {
				printTrain(w, rr.Train)
			}
		}
		for _, c := range rr.Checks {
			state := "git = database"
			if !c.ok() {
				state = fmt.Sprintf("WRONG: %d manifests, %d Argo CD files, %d pending, %d failed; e.g. %s",
					c.Mismatches, c.ArgoCD, c.Pending, c.Failed, strings.Join(c.Examples[:min(2, len(c.Examples))], "; "))
				if c.ReplicasDiffer > 0 {
					state += fmt.Sprintf("; %d replicas differ from the store", c.ReplicasDiffer)
				}
			} else if c.Source == "store" {
				state = "git = database (the store"
				if r.Replicas > 1 {
					state += fmt.Sprintf(", and all %d replicas' API", r.Replicas)
				}
				state += ")"
			}
			fmt.Fprintf(w, "check       after %-10s %d apps, %d deployments: %s (fsck %s, %.1f s)\n",
				c.After, c.Apps, c.Deployments, state, c.Fsck, c.Seconds)
		}
		if rr.Stop != "" {
			fmt.Fprintf(w, "stop        %s\n", rr.Stop)
		}
	}
	if len(r.Targets) == 0 {
		return
	}
	fmt.Fprintln(w, "\ntargets (core issue, \"Performance\")")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, t := range r.Targets {
		mark := "ok"
		if !t.OK {
			mark = "MISSED"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", mark, t.Name, t.Value, t.Want)
	}
	tw.Flush()
}

func printLoad(w io.Writer, name string, l *loadResult) {
	capped := ""
	if l.Capped {
		capped = " (stopped by the time limit)"
	}
	fmt.Fprintf(w, "%-11s %d sent by %d clients%s, %d answered 201: %.1f releases/s over %.1f s\n",
		name, l.Sent, l.Clients, capped, l.Accepted, l.Rate, l.Seconds)
	fmt.Fprintf(w, "            request p50 %.0f ms, p95 %.0f ms, max %.0f ms; backlog at the last acceptance %d, pushed %s later\n",
		l.Request.Median, l.Request.P95, l.Request.Max, l.PendingAtEnd, seconds(l.PushLag))
	pushes := "pushes not counted"
	if l.Pushes >= 0 {
		pushes = fmt.Sprintf("%d pushes", l.Pushes)
	}
	fmt.Fprintf(w, "            %d commits pushed, %s\n", l.Commits, pushes)
	for i, p := range l.ByReplica {
		fmt.Fprintf(w, "            replica %d: %d sent, %d answered 201, request p50 %.0f ms, p95 %.0f ms, max %.0f ms\n",
			i+1, p.Sent, p.Accepted, p.Request.Median, p.Request.P95, p.Request.Max)
	}
	printMem(w, l.Serve, l.Replicas)
	printPostgresCPU(w, l.PostgresCPUSeconds)
	for _, e := range l.Errors {
		fmt.Fprintf(w, "            refused: %s\n", e)
	}
}

func printTrain(w io.Writer, t *trainResult) {
	fmt.Fprintf(w, "train       into %s (%s) from %s: %d deployments planned, %d in the prognosis\n",
		t.Group, strings.Join(envStrings(t.Envs), ", "), t.Upstream, t.Planned, t.Listed)
	fmt.Fprintf(w, "              prognosis  %s  (%d runs)\n", minMedMax(t.Prognosis), prognosisRuns)
	fmt.Fprintf(w, "              train      answered after %.0f ms (%d deployments), pushed after %s: %s, %d manifests and %d other files changed\n",
		t.RequestMs, t.Deployed, trainMs(t.PushedMs), plural(t.Commits, "commit"), t.Manifests, t.OtherFiles)
	fmt.Fprintf(w, "              again      answered after %.0f ms (%d deployments), %s\n", t.Again.RequestMs, t.Again.Deployed, plural(t.Again.Commits, "new commit"))
	printMem(w, t.Serve, t.Replicas)
	for _, o := range t.Other {
		fmt.Fprintf(w, "            changed: %s\n", o)
	}
	for _, p := range t.Problems {
		fmt.Fprintf(w, "            WRONG: %s\n", p)
	}
}

// printMem prints the figures of serve, or of each replica.
func printMem(w io.Writer, one usage, replicas []usage) {
	for _, line := range memLines(one, replicas) {
		fmt.Fprintf(w, "            %s\n", line)
	}
}

func printPostgresCPU(w io.Writer, s float64) {
	if s > 0 {
		fmt.Fprintf(w, "            PostgreSQL backends: %.1f CPU-s\n", s)
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func envStrings(envs []deploy.Env) []string {
	out := make([]string, len(envs))
	for i, e := range envs {
		out[i] = string(e)
	}
	return out
}

func minMedMax(d durations) string {
	return fmt.Sprintf("min %4.0f ms  median %4.0f ms  max %4.0f ms", d.Min, d.Median, d.Max)
}

func mem(m usage) string {
	return fmt.Sprintf("serve: %.1f CPU-s (its git processes %.1f), RSS now %.0f MB, phase max %.0f MB, peak since start %.0f MB", m.CPUSeconds, m.GitCPUSeconds, m.CurrentMB, m.PhaseMaxMB, m.PeakMB)
}
