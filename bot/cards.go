package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"kuberpult/commands"
	"kuberpult/deploy"
	"kuberpult/reply"
)

// card is what a status card shows, stored with it (deploy.Card.Body) so that it can be
// rendered again after a restart.
type card struct {
	Result commands.Result `json:"result"`
	Commit string          `json:"commit,omitempty"` // the env-repo commit that carried it
	// Notes are lines added by later clicks ("cancelled by …", "unlocked by …").
	Notes []string `json:"notes,omitempty"`
	// Closed: the card's question was answered; its buttons are gone.
	Closed bool `json:"closed,omitempty"`
	// Failed is why the change was set aside and never reaches the env repo.
	Failed string `json:"failed,omitempty"`
	// Rollouts are Argo CD's rollout states of the card's deployments, by "env/app".
	Rollouts map[string]deploy.RolloutState `json:"rollouts,omitempty"`
}

// Slack's limits, with room to spare.
const (
	maxBlocks   = 45   // of 50 per message
	maxSection  = 2900 // of 3,000 characters per section text
	maxRows     = 40   // rows shown on a card before the rest is summarised
	maxButtons  = 5    // buttons of one kind on a card
	previewText = 300  // the notification text of a card
)

// wantsCard reports whether a result is shown as a card in the channel (an action that did
// or asks something) rather than answered ephemerally (queries, refusals, replays).
func wantsCard(r commands.Result) bool {
	switch {
	case r.Problem != nil, r.Replayed, r.Choice != nil, r.Stale != nil:
		return false // refusals, repeats and questions of which: to the asker alone
	case r.Outcome == deploy.OutcomeNoop && r.Confirm == nil:
		return false // nothing to do: nothing for the channel
	}
	switch r.Verb {
	case "deploy", "rollback", "lock", "unlock", "release", "train", "catch-up", "undeploy", "remove":
		return true
	}
	return false
}

// rows are the card's lines, one per (app, env): ⏳ until pushed, then ✅.
func (c card) rows() []string {
	r := c.Result
	mark := "⏳"
	if c.Commit != "" {
		mark = "✅"
	}
	if r.Outcome == deploy.OutcomeFailed || c.Failed != "" {
		mark = "❌"
	}
	var rows []string
	for _, d := range r.Deployed {
		was := ""
		if d.From != 0 {
			was = fmt.Sprintf(" (was %s)", d.From)
		}
		rows = append(rows, fmt.Sprintf("%s *%s* %s → *%s*%s%s", mark, d.App, d.To, d.Env, was, c.rolloutText(d.Env, d.App)))
	}
	if ri := r.Release; ri != nil && len(r.Deployed) == 0 {
		for _, env := range ri.Deployed {
			rows = append(rows, fmt.Sprintf("%s *%s* %s → *%s*%s", mark, ri.Release.App, ri.Release.Version, env, c.rolloutText(env, ri.Release.App)))
		}
	}
	if rb := r.RolledBack; rb != nil && len(r.Deployed) == 0 {
		rows = append(rows, fmt.Sprintf("%s *%s* %s → *%s* (was %s) 🔒 %s", mark, r.App, rb.To, rb.Env, rb.From, rb.Lock.ID))
	}
	for _, h := range r.Held {
		rows = append(rows, fmt.Sprintf("⏸ *%s* %s on *%s*: %s", h.App, h.Version, h.Env, h.Reason))
	}
	if l := r.Locked; l != nil {
		for _, lk := range l.Locks {
			rows = append(rows, fmt.Sprintf("🔒 %s `%s` on *%s*: %s", lk.Kind, lk.ID, lk.Env, lk.Message))
		}
	}
	for _, lk := range r.Unlocked {
		rows = append(rows, fmt.Sprintf("🔓 %s `%s` on *%s*", lk.Kind, lk.ID, lk.Env))
	}
	return rows
}

// rolloutText is " · Argo CD: <state>" for a deployment Argo CD's rollout is known of.
func (c card) rolloutText(env deploy.Env, app deploy.App) string {
	st, ok := c.Rollouts[string(env)+"/"+string(app)]
	if !ok {
		return ""
	}
	mark := map[deploy.RolloutState]string{deploy.RolloutSuccessful: "🟢", deploy.RolloutError: "🔴", deploy.RolloutUnhealthy: "🔴", deploy.RolloutTimeout: "🔴"}[st]
	if mark == "" {
		mark = "🟡"
	}
	return fmt.Sprintf(" · %s Argo CD: %s", mark, st)
}

// title is the card's first line: who did what.
func (c card) title() string {
	if d := c.Result.Departure; d != nil && c.Result.Verb == "announce" {
		return fmt.Sprintf("📣 Train %s to %s departs %s", d.Train, d.Target, reply.DepartureTime(d.Slot, d.Zone))
	}
	text := reply.Text(c.Result)
	first, _, _ := strings.Cut(text, "\n")
	who := c.Result.Actor.Display()
	if c.Result.Confirm != nil {
		switch confirmCommand(c.Result.Confirm).(type) {
		case commands.Undeploy:
			return fmt.Sprintf("*%s* asks: delete *%s* from %s?", who, c.Result.App, envList(c.Result.Confirm.Envs))
		case commands.Remove:
			return fmt.Sprintf("*%s* asks: remove *%s* from %s?", who, c.Result.App, envList(c.Result.Confirm.Envs))
		}
		return fmt.Sprintf("*%s* asks: deploy *%s* %s to %s? Locks stand in the way.", who, c.Result.App, c.Result.Label, envList(c.Result.Confirm.Envs))
	}
	return fmt.Sprintf("*%s*: %s", who, first)
}

func envList(envs []deploy.Env) string {
	s := make([]string, len(envs))
	for i, e := range envs {
		s[i] = string(e)
	}
	return strings.Join(s, ", ")
}

// blocks renders the card within Slack's limits.
func (c card) blocks() []slack.Block {
	if c.Result.Verb == "announce" && c.Result.Departure != nil {
		return c.announcementBlocks()
	}
	bs := []slack.Block{section(c.title())}
	rows := c.rows()
	more := 0
	if len(rows) > maxRows {
		more, rows = len(rows)-maxRows, rows[:maxRows]
	}
	for _, chunk := range chunks(rows, maxSection) {
		bs = append(bs, section(chunk))
	}
	if more > 0 {
		bs = append(bs, note(fmt.Sprintf("… and %d more; `%s` lists them all", more, "status")))
	}
	var ctx []string
	switch {
	case c.Failed != "":
		ctx = append(ctx, "❌ not applied to the env repo: "+c.Failed)
	case c.Commit != "":
		ctx = append(ctx, fmt.Sprintf("pushed to the env repo as `%s`", short(c.Commit)))
	case len(c.rows()) > 0 && c.Result.Confirm == nil && hasRepoChange(c.Result):
		ctx = append(ctx, "committed; waiting for the env repo")
	}
	if c.Result.ActionID != 0 {
		ctx = append(ctx, fmt.Sprintf("action %d", c.Result.ActionID))
	}
	for _, w := range c.Result.Windows {
		bs = append(bs, note(fmt.Sprintf("⏰ Inside window %s (until %s); reason: %s", w.Name, w.WhenIn(c.Result.Zone), c.Result.Reason)))
	}
	if len(ctx) > 0 {
		bs = append(bs, note(strings.Join(ctx, " · ")))
	}
	for _, n := range c.Notes {
		bs = append(bs, note(n))
	}
	if !c.Closed {
		if btns := c.buttons(); len(btns) > 0 {
			bs = append(bs, slack.NewActionBlock(fmt.Sprintf("card-%d", c.Result.ActionID), btns...))
		}
	}
	if len(bs) > maxBlocks {
		bs = append(bs[:maxBlocks-1], note("(shortened)"))
	}
	return bs
}

// hasRepoChange: the result changed what runs or what is locked.
func hasRepoChange(r commands.Result) bool {
	return len(r.Deployed) > 0 || r.RolledBack != nil || r.Locked != nil || len(r.Unlocked) > 0 ||
		(r.Release != nil && len(r.Release.Deployed) > 0)
}

// preview is the notification text of the card.
func (c card) preview() string {
	t := strings.ReplaceAll(c.title(), "*", "")
	if len(t) > previewText {
		t = t[:previewText] + "…"
	}
	return t
}

func (c card) encode() []byte {
	b, _ := json.Marshal(c) // a card is plain data
	return b
}

func decodeCard(b []byte) (card, error) {
	var c card
	if err := json.Unmarshal(b, &c); err != nil {
		return card{}, fmt.Errorf("decode card: %w", err)
	}
	return c, nil
}

func section(text string) slack.Block {
	return slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, clip(text, maxSection), false, false), nil, nil)
}

func note(text string) slack.Block {
	return slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType, clip(text, maxSection), false, false))
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// chunks joins lines into texts of at most n bytes each.
func chunks(lines []string, n int) []string {
	var out []string
	var cur strings.Builder
	for _, l := range lines {
		if cur.Len() > 0 && cur.Len()+len(l)+1 > n {
			out = append(out, cur.String())
			cur.Reset()
		}
		if cur.Len() > 0 {
			cur.WriteByte('\n')
		}
		cur.WriteString(l)
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

func short(commit string) string {
	if len(commit) > 8 {
		return commit[:8]
	}
	return commit
}

// textBlocks renders a plain reply (ephemeral answers, thread details) within the limits;
// long answers are cut with a pointer to a narrower query.
func textBlocks(text string) []slack.Block {
	lines := strings.Split(text, "\n")
	var bs []slack.Block
	for _, c := range chunks(lines, maxSection) {
		if len(bs) == maxBlocks-1 {
			bs = append(bs, note("… shortened: narrow the query, e.g. `status <app>` or `locks <env>`"))
			break
		}
		bs = append(bs, section(c))
	}
	return bs
}

// postCard posts a card for res into channel (in thread when set), stores it, and shows the
// commit at once when the change was pushed before the card was stored.
func (b *Bot) postCard(ctx context.Context, channel, thread string, c card) (string, error) {
	ts, err := b.post.message(ctx, channel, thread, c.preview(), c.blocks())
	if err != nil {
		return "", fmt.Errorf("post card: %w", err)
	}
	if c.Result.ActionID == 0 {
		return ts, nil
	}
	if err := b.o.Store.SaveCard(ctx, deploy.Card{ActionID: c.Result.ActionID, Channel: channel, TS: ts, Body: c.encode(), At: b.now()}); err != nil {
		return ts, err
	}
	b.cardPushed(ctx, c.Result.ActionID, "")
	if b.o.Changelogs != nil && wantsChangelog(c.Result) {
		in := ts
		if thread != "" {
			in = thread
		}
		res := c.Result
		select {
		case b.changelogs <- func(ctx context.Context) { b.postChangelog(ctx, channel, in, res) }:
		default:
			b.log.Warn("slack changelog queue full: a changelog was dropped")
		}
	}
	return ts, nil
}

// cardPushed shows on the card of an action that it was pushed (commit "" looks it up),
// and says so in its thread.
func (b *Bot) cardPushed(ctx context.Context, actionID int64, commit string) {
	var thread string
	ch, ts := b.editCard(ctx, actionID, func(c *card) bool {
		if c.Commit != "" {
			return false
		}
		if commit == "" {
			var err error
			if commit, err = b.o.Store.ActionCommit(ctx, actionID); err != nil || commit == "" {
				return false
			}
		}
		c.Commit, thread = commit, fmt.Sprintf("✅ Pushed to the env repo as `%s`.", commit)
		return true
	})
	if thread != "" {
		if _, err := b.post.message(ctx, ch, ts, thread, nil); err != nil {
			b.log.Error("thread reply", "action", actionID, "err", err)
		}
	}
}

// cardFailed shows on the card of an action that its change was set aside, and says so in
// its thread; without a card (an action from the console or CI without a channel) the
// owning team's channel, else the default channel, is told.
func (b *Bot) cardFailed(ctx context.Context, ev deploy.PushEvent) {
	text := fmt.Sprintf("❌ Action %d could not be applied to the env repo and was set aside: %s. Fix the cause and deploy again.", ev.ActionID, ev.Failed)
	ch, ts := b.editCard(ctx, ev.ActionID, func(c *card) bool {
		c.Failed = ev.Failed
		return true
	})
	if ch == "" {
		ch = b.o.DefaultChannel
		if st, err := b.o.Exec.State(ctx); err == nil && len(ev.Carried) > 0 {
			if tc := b.o.TeamChannels[st.TeamOf(ev.Carried[0].App)]; tc != "" {
				ch = tc
			}
		}
		if ch == "" {
			return
		}
	}
	if _, err := b.post.message(ctx, ch, ts, text, nil); err != nil {
		b.log.Error("slack failure", "action", ev.ActionID, "err", err)
	}
}

// editCard changes the stored card of an action and shows the change, one edit at a time
// (push events and clicks may race); edit returns false to leave the card alone. It returns
// where the card is ("" when there is none).
func (b *Bot) editCard(ctx context.Context, actionID int64, edit func(c *card) bool) (channel, ts string) {
	if actionID == 0 {
		return "", ""
	}
	b.cardMu.Lock()
	defer b.cardMu.Unlock()
	stored, ok, err := b.o.Store.Card(ctx, actionID)
	if err != nil || !ok {
		if err != nil {
			b.log.Error("read card", "action", actionID, "err", err)
		}
		return "", ""
	}
	c, err := decodeCard(stored.Body)
	if err != nil {
		b.log.Error("read card", "action", actionID, "err", err)
		return "", ""
	}
	if !edit(&c) {
		return stored.Channel, stored.TS
	}
	stored.Body, stored.At = c.encode(), b.now()
	if err := b.o.Store.SaveCard(ctx, stored); err != nil {
		b.log.Error("save card", "action", actionID, "err", err)
		return "", ""
	}
	if err := b.post.update(ctx, stored.Channel, stored.TS, c.preview(), c.blocks()); err != nil {
		b.log.Error("update card", "action", actionID, "err", err)
	}
	return stored.Channel, stored.TS
}
