package reply

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"kuberpult/commands"
	"kuberpult/deploy"
)

func statusText(r commands.Result) string {
	st := r.State
	if st == nil {
		return string(r.Outcome)
	}
	if r.App != "" {
		return appStatus(*st, r.Targets, r.App, r.At) + rolloutsText(r.Rollouts, r.At)
	}
	if len(st.Apps) == 0 {
		return "No apps yet: CI registers releases with POST /api/release."
	}
	var b strings.Builder
	rows := [][]string{append([]string{"app", "team"}, envStrings(r.Targets)...)}
	failed, undeploy := false, false
	for _, app := range commands.SortedApps(*st) {
		row := []string{string(app), orDash(string(st.TeamOf(app)))}
		for _, env := range r.Targets {
			row = append(row, cell(*st, env, app))
			d, _ := st.Deployed(env, app)
			failed, undeploy = failed || d.Failed, undeploy || d.Undeploy
		}
		rows = append(rows, row)
	}
	writeTable(&b, rows)
	b.WriteString("🔒 locked  ✋ held auto-deploy  ⏳ not yet in the env repo")
	if failed {
		b.WriteString("  ❌ the env-repo change failed")
	}
	if undeploy {
		b.WriteString("  (undeploy): the app's undeploy version, it is gone there")
	}
	waiting := false
	for _, h := range st.Held {
		waiting = waiting || len(h.By) == 0
	}
	if waiting {
		b.WriteString("  ⏸ waiting for a person")
	}
	for _, h := range st.Held {
		mark := "✋"
		if len(h.By) == 0 {
			mark = "⏸"
		}
		fmt.Fprintf(&b, "\n%s %s %s on %s: %s", mark, h.App, h.Version, h.Env, h.Reason)
	}
	b.WriteString(failedText(r.Outbox))
	return b.String()
}

// failedText lists the env-repo changes the git writer set aside.
func failedText(ob *deploy.OutboxSummary) string {
	if ob == nil || len(ob.Failed) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n❌ %s could not be written; the changes after them went on:", plural(len(ob.Failed), "env-repo change", "env-repo changes"))
	for _, f := range ob.Failed {
		fmt.Fprintf(&b, "\n  • action %d %q: %s", f.ID, f.Message, f.Reason)
	}
	return b.String()
}

// cell is one version in the status board with its marks.
func cell(st deploy.State, env deploy.Env, app deploy.App) string {
	s := "-"
	if d, ok := st.Deployed(env, app); ok {
		s = d.Version.String()
		if d.Undeploy {
			s += " (undeploy)" // the app is gone there
		}
		switch {
		case d.Pending:
			s += "⏳"
		case d.Failed:
			s += "❌"
		}
	}
	if len(st.LocksFor(env, app)) > 0 {
		s += "🔒"
	}
	if h, ok := st.HeldOn(env, app); ok {
		if len(h.By) == 0 {
			s += fmt.Sprintf("⏸%s", h.Version) // nothing holds it: it waits for a person
		} else {
			s += fmt.Sprintf("✋%s", h.Version)
		}
	}
	return s
}

func appStatus(st deploy.State, envs []deploy.Env, app deploy.App, now time.Time) string {
	info := st.Apps[app]
	var b strings.Builder
	fmt.Fprintf(&b, "%s (team %s), newest release %s\n", app, orDash(string(info.Team)), info.Latest)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, env := range envs {
		d, ok := st.Deployed(env, app)
		if !ok {
			fmt.Fprintf(tw, "  %s\t-\t\t\n", env)
		} else {
			fmt.Fprintf(tw, "  %s\t%s\t%s by %s, %s\t%s\n", env, d.Version, d.How, d.Actor.Display(), ago(now, d.Time), commitText(d))
		}
	}
	_ = tw.Flush()
	for _, env := range envs {
		if ls := st.LocksFor(env, app); len(ls) > 0 {
			b.WriteString(lockLines(ls, now) + "\n")
		}
		if h, ok := st.HeldOn(env, app); ok {
			mark := "✋"
			if len(h.By) == 0 {
				mark = "⏸"
			}
			fmt.Fprintf(&b, "  %s %s held on %s, %s: %s\n", mark, h.Version, env, ago(now, h.Time), h.Reason)
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

func commitText(d deploy.Deployment) string {
	switch {
	case d.Pending:
		return "⏳ waiting for the env repo"
	case d.Failed:
		return "❌ the env-repo change failed"
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

func envsText(r commands.Result) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "environment\tupstream\tgroup\tapps\tlocks")
	for _, e := range r.Environments {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\n", e.Env, e.Upstream, e.Group, e.Apps, e.Locks)
	}
	_ = tw.Flush()
	return strings.TrimRight(b.String(), "\n")
}

func historyText(r commands.Result) string {
	where := ""
	if r.HistoryEnv != "" {
		where = " on " + string(r.HistoryEnv)
	}
	if len(r.History) == 0 {
		return fmt.Sprintf("%s has no deployments%s yet.", r.App, where)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Deployments of %s%s, newest first:\n", r.App, where)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, d := range r.History {
		version := d.Version.String()
		if d.Undeploy {
			version += " (undeploy)"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s", d.Time.Format("2006-01-02 15:04 MST"), d.Env, version, d.How, d.Actor.Display(), commitText(d))
		if d.Reason != "" {
			fmt.Fprintf(tw, "\t%q", d.Reason)
		}
		fmt.Fprintln(tw)
	}
	_ = tw.Flush()
	return strings.TrimRight(b.String(), "\n")
}

func auditText(r commands.Result) string {
	if len(r.AuditEntries) == 0 {
		return "No audit entries match."
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s, newest first (times in UTC):\n", plural(len(r.AuditEntries), "audit entry", "audit entries"))
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, e := range r.AuditEntries {
		commit := ""
		if e.Commit != "" {
			commit = "commit " + short(e.Commit)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", e.Time.Format("2006-01-02 15:04:05"), e.Via, auditActor(e.Actor), e.Outcome, oneLine(e.Command), commit)
	}
	_ = tw.Flush()
	return strings.TrimRight(b.String(), "\n")
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

// auditActor shows who acted; for an API client also the token it used, since its name
// comes from request headers.
func auditActor(a deploy.Actor) string {
	if a.Kind == deploy.ActorAPI && a.ID != "" && a.ID != a.Display() {
		return a.Display() + " (" + a.ID + ")"
	}
	return a.Display()
}

func helpText(verb string) string {
	var b strings.Builder
	if verb != "" {
		for _, u := range commands.Usage() {
			if u.Verb == verb {
				fmt.Fprintf(&b, "%s\n%s", u.Synopsis, u.About)
			}
		}
		return b.String()
	}
	b.WriteString("Commands:\n")
	for _, u := range commands.Usage() {
		for _, line := range strings.Split(u.Synopsis, "\n") {
			fmt.Fprintf(&b, "  %s\n", line)
		}
	}
	b.WriteString("Quote messages with spaces. `help <command>` explains one command.")
	return b.String()
}

// lockLines renders one line per lock.
// lockName says what a lock locks: "env lock on staging", "app lock of checkout on
// staging", "team lock of shop on staging".
func lockName(l deploy.Lock) string {
	switch l.Kind {
	case deploy.LockApp:
		return fmt.Sprintf("app lock of %s on %s", l.App, l.Env)
	case deploy.LockTeam:
		return fmt.Sprintf("team lock of %s on %s", l.Team, l.Env)
	}
	return fmt.Sprintf("env lock on %s", l.Env)
}

func lockLines(ls []deploy.Lock, now time.Time) string {
	var b strings.Builder
	for i, l := range ls {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "  • `%s` %s: %q — %s, %s", l.ID, lockName(l), l.Message, l.Author.Display(), ago(now, l.CreatedAt))
		if l.SuggestedLifetime != "" {
			fmt.Fprintf(&b, " (for %s)", l.SuggestedLifetime)
		}
	}
	return b.String()
}

// ago renders a duration in the past coarsely: "just now", "5m ago", "3h ago", "2d ago".
func ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
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

// releasesText renders `releases`: each release with where it runs.
func releasesText(r commands.Result) string {
	if len(r.ReleaseList) == 0 {
		return fmt.Sprintf("%s has no releases.", r.App)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Releases of %s, newest first:\n", r.App)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, rel := range r.ReleaseList {
		var on []string
		if r.State != nil {
			for _, env := range r.Targets {
				if d, ok := r.State.Deployed(env, rel.App); ok && d.Version == rel.Version {
					on = append(on, string(env))
				}
			}
		}
		where := "-"
		if len(on) > 0 {
			where = "runs on " + strings.Join(on, ", ")
		}
		label := rel.Label()
		if rel.Undeploy {
			label += " (undeploy)"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%q\t%s\n", label, rel.CreatedAt.UTC().Format("2006-01-02 15:04 MST"),
			short(rel.SourceCommitID), orDash(rel.SourceAuthor), clipText(rel.SourceMessage, 60), where)
	}
	_ = tw.Flush()
	return strings.TrimRight(b.String(), "\n")
}

func clipText(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// rolloutsText is the last known Argo CD rollout of each environment, with its age.
func rolloutsText(rs []deploy.Rollout, now time.Time) string {
	if len(rs) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\nArgo CD:")
	for _, r := range rs {
		mark := map[deploy.RolloutState]string{deploy.RolloutSuccessful: "✅", deploy.RolloutError: "❌", deploy.RolloutUnhealthy: "❌",
			deploy.RolloutTimeout: "❌", deploy.RolloutSuperseded: "↷"}[r.State]
		if mark == "" {
			mark = "⏳"
		}
		when := r.Checked
		if when.IsZero() {
			when = r.Changed
		}
		fmt.Fprintf(&b, "\n  %s %s %s: %s", mark, r.Env, r.Version, r.State)
		if r.Message != "" {
			fmt.Fprintf(&b, " (%s)", r.Message)
		}
		if !when.IsZero() {
			fmt.Fprintf(&b, ", checked %s", ago(now, when))
		}
	}
	return b.String()
}
