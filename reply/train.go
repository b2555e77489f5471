package reply

import (
	"fmt"
	"sort"
	"strings"

	"kuberpult/commands"
	"kuberpult/deploy"
	"kuberpult/policy"
	"kuberpult/train"
)

// trainText renders a train or its prognosis: per environment, what is deployed (grouped by
// team, old → new version) and what is skipped and why.
func trainText(r commands.Result) string {
	p := r.Train
	if p == nil {
		return string(r.Outcome)
	}
	var b strings.Builder
	n := len(p.Deploys())
	team := ""
	if p.Team != "" {
		team = " for team " + string(p.Team)
	}
	switch {
	case r.DryRun && r.Verb == "announce":
		fmt.Fprintf(&b, "🔮 It would deploy %d now:", n)
	case r.DryRun:
		fmt.Fprintf(&b, "🔮 Release train to %s%s would deploy %d (nothing was done).", p.Target, team, n)
	case r.Outcome == deploy.OutcomeDone:
		fmt.Fprintf(&b, "🚂 Release train to %s%s: deployed %d.", p.Target, team, n)
	default:
		fmt.Fprintf(&b, "🚂 Release train to %s%s: nothing to deploy.", p.Target, team)
	}
	for _, e := range p.Envs {
		if e.Skip != "" {
			fmt.Fprintf(&b, "\n%s: skipped, %s%s", e.Env, causeText(e.Skip, e.Locks), windowsText(e.Windows, r.Zone))
			continue
		}
		fmt.Fprintf(&b, "\n%s (from %s):", e.Env, e.Upstream)
		byTeam := map[deploy.Team][]train.AppPlan{}
		var skipped []train.AppPlan
		for _, a := range e.Apps {
			if a.Skip == "" {
				byTeam[a.Team] = append(byTeam[a.Team], a)
			} else {
				skipped = append(skipped, a)
			}
		}
		teams := make([]deploy.Team, 0, len(byTeam))
		for t := range byTeam {
			teams = append(teams, t)
		}
		sort.Slice(teams, func(i, j int) bool { return teams[i] < teams[j] })
		for _, t := range teams {
			name := string(t)
			if name == "" {
				name = "no team"
			}
			fmt.Fprintf(&b, "\n  %s:", name)
			for _, a := range byTeam[t] {
				fmt.Fprintf(&b, " %s %s → %s;", a.App, versionOrNone(a.From), a.To)
			}
		}
		if len(byTeam) == 0 {
			b.WriteString("\n  nothing to deploy")
		}
		for _, a := range skipped {
			fmt.Fprintf(&b, "\n  ⏭ %s: %s", a.App, causeText(a.Skip, a.Locks))
		}
	}
	return b.String()
}

func versionOrNone(v deploy.Version) string {
	if v == 0 {
		return "none"
	}
	return v.String()
}

// causeText is a skip cause with the messages of the locks behind it.
func causeText(c train.SkipCause, locks []deploy.Lock) string {
	if len(locks) == 0 {
		return string(c)
	}
	msgs := make([]string, len(locks))
	for i, l := range locks {
		msgs[i] = fmt.Sprintf("%s %q by %s", l.ID, l.Message, l.Author.Display())
	}
	return fmt.Sprintf("%s (%s)", c, strings.Join(msgs, "; "))
}

// windowsText names open windows and when they close: " (window peak until Tue 1 Dec 11:00 CET)".
func windowsText(ws []policy.OpenWindow, zone string) string {
	if len(ws) == 0 {
		return ""
	}
	parts := make([]string, len(ws))
	for i, w := range ws {
		parts[i] = fmt.Sprintf("window %s until %s", w.Name, w.WhenIn(zone))
	}
	return " (" + strings.Join(parts, "; ") + ")"
}
