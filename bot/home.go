package bot

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"kuberpult/commands"
	"kuberpult/deploy"
	"kuberpult/policy"
)

// App Home: the board for the viewer — apps × environments in pipeline order with their
// versions (the viewer's teams first), locks with age and author, held deployments, and a
// Lock button per environment. Slack allows 100 blocks per view; the board keeps within
// maxHomeBlocks and says how many apps it left out.
const (
	maxHomeBlocks = 95
	homeFor       = time.Hour // a viewer's board is refreshed on changes for this long after opening it
)

// homeView renders the board for a viewer in the given teams.
func homeView(st deploy.State, envs deploy.Environments, windows func(deploy.Env, time.Time) []policy.OpenWindow, rollouts []deploy.Rollout, teams map[deploy.Team]bool, now time.Time) slack.HomeTabViewRequest {
	rolling := map[string]deploy.Rollout{} // env/app → the rollout of the version running there
	for _, r := range rollouts {
		rolling[string(r.Env)+"/"+string(r.App)] = r
	}
	order := envs.Pipeline()
	bs := []slack.Block{slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, "Kuberpult", false, false))}
	// Environments with their locks and a Lock button each.
	for _, env := range order {
		var locks []string
		for _, l := range st.Locks {
			if l.Env == env {
				what := string(l.Kind)
				if l.App != "" {
					what += " " + string(l.App)
				}
				if l.Team != "" {
					what += " " + string(l.Team)
				}
				locks = append(locks, fmt.Sprintf("🔒 %s `%s` by %s, %s ago: %s", what, l.ID, l.Author.Display(), now.Sub(l.CreatedAt).Round(time.Minute), l.Message))
			}
		}
		text := fmt.Sprintf("*%s*", env)
		if windows != nil {
			for _, w := range windows(env, now) {
				text += fmt.Sprintf("\n⏰ window *%s* (%s) open until %s", w.Name, w.Override, w.When())
			}
		}
		if len(locks) > 0 {
			text += "\n" + strings.Join(locks, "\n")
		}
		btn := slack.NewButtonBlockElement(actLockModal+"-"+shortHash(string(env)), string(env), slack.NewTextBlockObject(slack.PlainTextType, "Lock", false, false))
		bs = append(bs, slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, clip(text, maxSection), false, false), nil, slack.NewAccessory(btn)))
	}
	if len(st.Held) > 0 {
		var held []string
		for _, h := range st.Held {
			held = append(held, fmt.Sprintf("✋ %s %s on %s: %s", h.App, h.Version, h.Env, h.Reason))
		}
		bs = append(bs, textBlocks(strings.Join(held, "\n"))...)
	}
	bs = append(bs, slack.NewDividerBlock())
	// The apps, the viewer's teams first, as lines "app: env version · env version".
	apps := commands.SortedApps(st)
	sort.SliceStable(apps, func(i, j int) bool { return teams[st.TeamOf(apps[i])] && !teams[st.TeamOf(apps[j])] })
	var lines []string
	for _, app := range apps {
		var cells []string
		for _, env := range order {
			if d, ok := st.Deployed(env, app); ok {
				cell := fmt.Sprintf("%s %s", env, d.Version)
				if d.Undeploy {
					cell += " (undeploy)"
				}
				if r, ok := rolling[string(env)+"/"+string(app)]; ok && r.Version == d.Version {
					switch {
					case r.State == deploy.RolloutSuccessful, r.State == deploy.RolloutSuperseded:
					case r.State.Final():
						cell += fmt.Sprintf(" 🔴 %s %s", r.State, ago(now, r.Changed))
					default:
						cell += fmt.Sprintf(" 🟡 %s %s", r.State, ago(now, r.Pushed))
					}
				}
				cells = append(cells, cell)
			}
		}
		team := ""
		if t := st.TeamOf(app); t != "" {
			team = " (" + string(t) + ")"
		}
		lines = append(lines, fmt.Sprintf("*%s*%s: %s", app, team, strings.Join(cells, " · ")))
	}
	shown := 0
	for _, c := range chunks(lines, maxSection) {
		if len(bs) >= maxHomeBlocks-1 {
			break
		}
		bs = append(bs, section(c))
		shown += strings.Count(c, "\n") + 1
	}
	if shown < len(lines) {
		bs = append(bs, note(fmt.Sprintf("… and %d more apps; `/kuberpult status <app>` shows one", len(lines)-shown)))
	}
	if len(apps) == 0 {
		bs = append(bs, section("No apps yet: CI registers releases with `POST /api/release`."))
	}
	return slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: bs}}
}

// home publishes the board for a user and remembers them, so that changes refresh it.
func (b *Bot) home(ctx context.Context, user string) {
	b.mu.Lock()
	b.viewers[user] = b.now()
	b.mu.Unlock()
	b.publishHome(ctx, user)
}

func (b *Bot) publishHome(ctx context.Context, user string) {
	st, err := b.o.Exec.State(ctx)
	if err != nil {
		b.log.Error("slack home", "err", err)
		return
	}
	rollouts, err := b.o.Exec.Rollouts(ctx, "")
	if err != nil {
		b.log.Warn("slack home: rollouts", "err", err)
	}
	who, _ := b.people.get(ctx, user)
	teams := map[deploy.Team]bool{}
	for _, l := range teamsOf(b.o.TeamChannels, who) {
		teams[l] = true
	}
	if _, err := b.api.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: user, View: homeView(st, b.o.Exec.Environments(), b.o.Exec.WindowsAt, rollouts, teams, b.now())}); err != nil {
		b.log.Error("slack home", "err", err)
	}
}

// teamsOf is a viewer's teams as far as the bot knows them: teams named like one of their
// user groups.
func teamsOf(channels map[deploy.Team]string, who person) []deploy.Team {
	var out []deploy.Team
	for _, g := range who.Groups {
		t := deploy.Team(strings.TrimPrefix(g, "@"))
		if _, ok := channels[t]; ok {
			out = append(out, t)
		}
	}
	return out
}

// refreshHomes republishes the boards of recent viewers after something changed.
func (b *Bot) refreshHomes(ctx context.Context) {
	b.mu.Lock()
	var users []string
	for u, at := range b.viewers {
		if b.now().Sub(at) > homeFor {
			delete(b.viewers, u)
			continue
		}
		users = append(users, u)
	}
	b.mu.Unlock()
	sort.Strings(users)
	for _, u := range users {
		b.publishHome(ctx, u)
	}
}

// ago is a coarse age: "just now", "5m ago", "3h ago".
func ago(now, t time.Time) string {
	switch d := now.Sub(t); {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	default:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
}
