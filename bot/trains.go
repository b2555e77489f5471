package bot

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/slack-go/slack"

	"kuberpult/commands"
	"kuberpult/deploy"
	"kuberpult/reply"
)

// Scheduled trains in Slack: the announcement is a card in the train's channel with the
// prognosis and buttons (Hold train, Hold my app, Approve departure); holds and approvals,
// from whatever entry point, update it; the departure answers in its thread and closes it.

// maxHoldOptions is how many apps the "Hold my app" menu lists (Slack allows 100).
const maxHoldOptions = 100

// trainChannel is where a train is announced: its own channel, else its team's, else the
// default channel.
func (b *Bot) trainChannel(d *commands.TrainDeparture) string {
	if d.Channel != "" {
		return d.Channel
	}
	if ch := b.o.TeamChannels[d.Team]; d.Team != "" && ch != "" {
		return ch
	}
	return b.o.DefaultChannel
}

// scheduled handles what the scheduler and people did to a scheduled departure.
func (b *Bot) scheduled(ctx context.Context, res commands.Result) {
	d := res.Departure
	switch res.Verb {
	case "announce":
		if res.Outcome != deploy.OutcomeDone {
			return
		}
		ch := b.trainChannel(d)
		if ch == "" {
			return
		}
		if _, err := b.postCard(ctx, ch, "", card{Result: res}); err != nil {
			b.log.Error("slack train announcement", "train", d.Train, "err", err)
		}
	case "depart":
		b.departed(ctx, res)
	case "hold", "unhold", "approve":
		if res.Outcome != deploy.OutcomeDone || d.Announced == 0 {
			return
		}
		b.editCard(ctx, d.Announced, func(c *card) bool {
			c.Result.Departure = d
			return true
		})
	}
}

// departed answers a departure in the announcement's thread (a card of its own, which shows
// the push) and closes the announcement; without one, the departure gets a card in the
// train's channel.
func (b *Bot) departed(ctx context.Context, res commands.Result) {
	d := res.Departure
	if d == nil || (res.Outcome == deploy.OutcomeNoop && !d.State.Final()) {
		return
	}
	ch, ts := b.editCard(ctx, d.Announced, func(c *card) bool {
		c.Result.Departure, c.Closed = d, true
		return true
	})
	if ch == "" {
		if ch = b.trainChannel(d); ch == "" {
			return
		}
	}
	if _, err := b.postCard(ctx, ch, ts, card{Result: res}); err != nil {
		b.log.Error("slack train departure", "train", d.Train, "err", err)
	}
}

// announcementBlocks renders an announcement card: when the train leaves, per environment
// what it would deploy (by team) and skip, what people did, and the buttons.
func (c card) announcementBlocks() []slack.Block {
	r := c.Result
	d := r.Departure
	team := ""
	if d.Team != "" {
		team = " (team " + string(d.Team) + ")"
	}
	title := fmt.Sprintf("📣 *Train %s* to *%s*%s departs *%s*", d.Train, d.Target, team, reply.DepartureTime(d.Slot, d.Zone))
	if d.State.Final() {
		title = fmt.Sprintf("🚂 *Train %s* to *%s*%s, %s: %s", d.Train, d.Target, team, reply.DepartureTime(d.Slot, d.Zone), d.State)
	}
	bs := []slack.Block{section(title)}
	if !d.Leaves.IsZero() && !d.State.Final() {
		bs = append(bs, section(fmt.Sprintf("⏰ A window is open on *%s* then: it leaves when it closes, *%s*", d.Target, reply.DepartureTime(d.Leaves, d.Zone))))
	}
	var rows []string
	if p := r.Train; p != nil {
		for _, e := range p.Envs {
			if e.Skip != "" {
				line := fmt.Sprintf("⏭ *%s*: skipped, %s", e.Env, e.Skip)
				for _, w := range e.Windows {
					line += fmt.Sprintf(" (window %s until %s)", w.Name, w.When())
				}
				rows = append(rows, line)
				continue
			}
			byTeam := map[deploy.Team][]string{}
			for _, a := range e.Apps {
				if a.Skip != "" {
					rows = append(rows, fmt.Sprintf("⏭ *%s* on *%s*: %s", a.App, e.Env, a.Skip))
					continue
				}
				byTeam[a.Team] = append(byTeam[a.Team], fmt.Sprintf("*%s* %s → %s", a.App, versionOrNone(a.From), a.To))
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
				rows = append(rows, fmt.Sprintf("🚃 *%s* (%s): %s", e.Env, name, strings.Join(byTeam[t], ", ")))
			}
		}
		if len(p.Deploys()) == 0 {
			rows = append(rows, "Nothing to deploy right now.")
		}
	}
	more := 0
	if len(rows) > maxRows {
		more, rows = len(rows)-maxRows, rows[:maxRows]
	}
	for _, chunk := range chunks(rows, maxSection) {
		bs = append(bs, section(chunk))
	}
	if more > 0 {
		bs = append(bs, note(fmt.Sprintf("… and %d more; `train %s --dry-run` lists them all", more, d.Target)))
	}
	if status := reply.DepartureStatus(d); len(status) > 0 {
		bs = append(bs, section(strings.Join(status, "\n")))
	}
	bs = append(bs, note(fmt.Sprintf("The plan is computed again when it leaves · action %d", r.ActionID)))
	for _, n := range c.Notes {
		bs = append(bs, note(n))
	}
	if !c.Closed && !d.State.Final() {
		if btns := c.trainButtons(); len(btns) > 0 {
			bs = append(bs, slack.NewActionBlock(fmt.Sprintf("card-%d", r.ActionID), btns...))
		}
	}
	if len(bs) > maxBlocks {
		bs = append(bs[:maxBlocks-1], note("(shortened)"))
	}
	return bs
}

func versionOrNone(v deploy.Version) string {
	if v == 0 {
		return "none"
	}
	return v.String()
}

// trainButtons: Hold train (or Unhold), Hold my app (a menu of the train's apps) and, when
// the train needs one, Approve departure. Each carries its command with the departure's
// slot, so that a click on yesterday's card cannot hold today's train.
func (c card) trainButtons() []slack.BlockElement {
	d := c.Result.Departure
	var bs []slack.BlockElement
	if d.HeldBy == nil {
		bs = append(bs, button(actRun, "Hold train", commands.Format(commands.Hold{Train: d.Train, Slot: d.Slot}), slack.StyleDanger))
	} else {
		bs = append(bs, button(actRun, "Unhold train", commands.Format(commands.Unhold{Train: d.Train, Slot: d.Slot}), slack.StyleDefault))
	}
	if apps := c.trainApps(); len(apps) > 0 {
		opts := make([]*slack.OptionBlockObject, 0, len(apps))
		for _, app := range apps {
			cmd := commands.Format(commands.Hold{Train: d.Train, App: app, Slot: d.Slot})
			opts = append(opts, slack.NewOptionBlockObject(cmd, slack.NewTextBlockObject(slack.PlainTextType, string(app), false, false), nil))
		}
		sel := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic,
			slack.NewTextBlockObject(slack.PlainTextType, "Hold my app…", false, false), actRun+"-holdapp", opts...)
		bs = append(bs, sel)
	}
	if d.Approval != "" && d.ApprovedBy == nil {
		bs = append(bs, button(actRun, "Approve departure", commands.Format(commands.Approve{Train: d.Train, Slot: d.Slot}), slack.StylePrimary))
	}
	return bs
}

// trainApps are the apps the train would deploy and that are not held out yet, by name.
func (c card) trainApps() []deploy.App {
	held := map[deploy.App]bool{}
	for _, h := range c.Result.Departure.HeldApps {
		held[h.App] = true
	}
	seen := map[deploy.App]bool{}
	var out []deploy.App
	if p := c.Result.Train; p != nil {
		for _, a := range p.Deploys() {
			if !seen[a.App] && !held[a.App] {
				seen[a.App] = true
				out = append(out, a.App)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	if len(out) > maxHoldOptions {
		out = out[:maxHoldOptions]
	}
	return out
}
