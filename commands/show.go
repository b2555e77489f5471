package commands

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"kuberpult/deploy"
)

func (a *action) status(ctx context.Context, c Status) (Reply, error) {
	a.app = c.App
	st, err := a.h.store.State(ctx)
	if err != nil {
		return Reply{}, err
	}
	if c.App != "" {
		if err := knownApp(st, c.App); err != nil {
			return Reply{}, err
		}
		return Reply{Outcome: deploy.OutcomeDone, Text: a.appStatus(st, c.App)}, nil
	}
	if len(st.Apps) == 0 {
		return Reply{Outcome: deploy.OutcomeDone, Text: "No apps yet: CI registers releases with POST /api/release."}, nil
	}
	envs := a.h.envs.Names()
	var b strings.Builder
	rows := [][]string{append([]string{"app", "team"}, envStrings(envs)...)}
	for _, app := range sortedApps(st) {
		row := []string{string(app), orDash(string(st.TeamOf(app)))}
		for _, env := range envs {
			row = append(row, cell(st, env, app))
		}
		rows = append(rows, row)
	}
	writeTable(&b, rows)
	b.WriteString("🔒 locked  ✋ held auto-deploy  ⏳ not yet in the env repo")
	for _, h := range st.Held {
		fmt.Fprintf(&b, "\n✋ %s %s on %s: %s", h.App, h.Version, h.Env, h.Reason)
	}
	return Reply{Outcome: deploy.OutcomeDone, Text: b.String()}, nil
}

// cell is one version in the status board with its marks.
func cell(st deploy.State, env deploy.Env, app deploy.App) string {
	s := "-"
	if d, ok := st.Deployed(env, app); ok {
		s = d.Version.String()
		if d.Pending {
			s += "⏳"
		}
	}
	if len(st.LocksFor(env, app)) > 0 {
		s += "🔒"
	}
	if h, ok := st.HeldOn(env, app); ok {
		s += fmt.Sprintf("✋%s", h.Version)
	}
	return s
}

func (a *action) appStatus(st deploy.State, app deploy.App) string {
	info := st.Apps[app]
	var b strings.Builder
	fmt.Fprintf(&b, "%s (team %s), newest release %s\n", app, orDash(string(info.Team)), info.Latest)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, env := range a.h.envs.Names() {
		d, ok := st.Deployed(env, app)
		if !ok {
			fmt.Fprintf(tw, "  %s\t-\t\t\n", env)
		} else {
			fmt.Fprintf(tw, "  %s\t%s\t%s by %s, %s\t%s\n", env, d.Version, d.How, d.Actor.Display(), ago(a.now, d.Time), commitText(d))
		}
	}
	_ = tw.Flush()
	for _, env := range a.h.envs.Names() {
		if ls := st.LocksFor(env, app); len(ls) > 0 {
			b.WriteString(lockLines(ls, a.now) + "\n")
		}
		if h, ok := st.HeldOn(env, app); ok {
			fmt.Fprintf(&b, "  ✋ %s held on %s, %s: %s\n", h.Version, env, ago(a.now, h.Time), h.Reason)
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

func commitText(d deploy.Deployment) string {
	switch {
	case d.Pending:
		return "⏳ waiting for the env repo"
	case d.Commit != "":
		return "commit " + short(d.Commit)
	}
	return ""
}

func short(commit string) string {
	if len(commit) > 7 {
		return commit[:7]
	}
	return commit
}

func (a *action) listEnvs(ctx context.Context) (Reply, error) {
	st, err := a.h.store.State(ctx)
	if err != nil {
		return Reply{}, err
	}
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "environment\tupstream\tgroup\tapps\tlocks")
	for _, env := range a.h.envs.Names() {
		up := "none"
		if u := a.h.envs[env].Upstream; u != nil && u.Latest {
			up = "latest"
		} else if u != nil && u.Environment != "" {
			up = string(u.Environment)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\n", env, up, a.h.envs.GroupOf(env), len(st.Deployments[env]), countLocks(st, env))
	}
	_ = tw.Flush()
	return Reply{Outcome: deploy.OutcomeDone, Text: strings.TrimRight(b.String(), "\n")}, nil
}

func countLocks(st deploy.State, env deploy.Env) int {
	n := 0
	for _, l := range st.Locks {
		if l.Env == env {
			n++
		}
	}
	return n
}

func (a *action) history(ctx context.Context, c History) (Reply, error) {
	a.app, a.env = c.App, c.Env
	st, err := a.h.store.StateOf(ctx, nil)
	if err != nil {
		return Reply{}, err
	}
	if err := knownApp(st, c.App); err != nil {
		return Reply{}, err
	}
	if c.Env != "" {
		if err := a.h.singleEnv(c.Env); err != nil {
			return Reply{}, err
		}
	}
	hist, err := a.h.store.History(ctx, c.App, c.Env, 50)
	if err != nil {
		return Reply{}, err
	}
	where := ""
	if c.Env != "" {
		where = " on " + string(c.Env)
	}
	if len(hist) == 0 {
		return Reply{Outcome: deploy.OutcomeDone, Text: fmt.Sprintf("%s has no deployments%s yet.", c.App, where)}, nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Deployments of %s%s, newest first:\n", c.App, where)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, d := range hist {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s", d.Time.Format("2006-01-02 15:04 MST"), d.Env, d.Version, d.How, d.Actor.Display(), commitText(d))
		if d.Reason != "" {
			fmt.Fprintf(tw, "\t%q", d.Reason)
		}
		fmt.Fprintln(tw)
	}
	_ = tw.Flush()
	return Reply{Outcome: deploy.OutcomeDone, Text: strings.TrimRight(b.String(), "\n")}, nil
}

func help(c Help) Reply {
	var b strings.Builder
	if c.Verb != "" {
		for _, u := range usage {
			if u.verb == c.Verb {
				fmt.Fprintf(&b, "%s\n%s", u.synopsis, u.about)
			}
		}
		return Reply{Outcome: deploy.OutcomeDone, Text: b.String()}
	}
	b.WriteString("Commands:\n")
	for _, u := range usage {
		for _, line := range strings.Split(u.synopsis, "\n") {
			fmt.Fprintf(&b, "  %s\n", line)
		}
	}
	b.WriteString("Quote messages with spaces. `help <command>` explains one command.")
	return Reply{Outcome: deploy.OutcomeDone, Text: b.String()}
}

func sortedApps(st deploy.State) []deploy.App {
	apps := make([]deploy.App, 0, len(st.Apps))
	for a := range st.Apps {
		apps = append(apps, a)
	}
	sort.Slice(apps, func(i, j int) bool { return apps[i] < apps[j] })
	return apps
}

func envStrings(es []deploy.Env) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = string(e)
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
