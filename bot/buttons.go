package bot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"kuberpult/commands"
	"kuberpult/deploy"
	"kuberpult/reply"
)

// Button action ids. "run" buttons carry a command in the command language as their value:
// a click runs it as the person who clicks, through the same handler and checks as typing it.
// "confirm" and "cancel" carry the id of the action whose card asks the question: the
// question itself (with its precondition) is read from the stored card.
const (
	actRun       = "run"
	actConfirm   = "confirm"
	actCancel    = "cancel"
	actLockModal = "lock_modal"
)

func button(actionID, text, value string, style slack.Style) *slack.ButtonBlockElement {
	btn := slack.NewButtonBlockElement(actionID+"-"+shortHash(value), value, slack.NewTextBlockObject(slack.PlainTextType, text, false, false))
	btn.Style = style
	return btn
}

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:4])
}

// kind is the action id's kind: the part before the hash that keeps ids unique in a block.
func kind(actionID string) string {
	k, _, _ := strings.Cut(actionID, "-")
	return k
}

// buttons are what can be done next from a card.
func (c card) buttons() []slack.BlockElement {
	r := c.Result
	var bs []slack.BlockElement
	if r.Approval != nil && r.Outcome == deploy.OutcomePending {
		return approvalButtons(r.Approval)
	}
	if r.Confirm != nil {
		id := strconv.FormatInt(r.ActionID, 10)
		return []slack.BlockElement{
			button(actConfirm, confirmLabel(r), id, slack.StyleDanger),
			button(actCancel, "Cancel", id, slack.StyleDefault),
		}
	}
	for _, d := range r.Deployed {
		if d.From == 0 || d.How == deploy.HowTrain || len(bs) == maxButtons {
			continue // a train's card lists many apps: roll one back with a command
		}
		cmd := commands.Format(commands.Rollback{App: d.App, Env: d.Env, To: d.From, From: d.To})
		bs = append(bs, button(actRun, fmt.Sprintf("Rollback & lock %s on %s", d.App, d.Env), cmd, slack.StyleDanger))
	}
	for _, w := range r.Waiting {
		if len(w.Apps) == 0 || w.EnvLocks > 0 || len(bs) == maxButtons {
			continue
		}
		cmd := commands.Format(commands.Train{Target: string(w.Env)})
		bs = append(bs, button(actRun, "Run catch-up train to "+string(w.Env), cmd, slack.StylePrimary))
	}
	if r.Locked != nil {
		seen := map[string]bool{}
		for _, l := range r.Locked.Locks {
			if seen[l.ID] || len(bs) == maxButtons {
				continue
			}
			seen[l.ID] = true
			bs = append(bs, button(actRun, "Unlock "+l.ID, unlockCommand(l), slack.StyleDefault))
		}
	}
	return bs
}

// unlockCommand removes exactly one lock (for a group lock: its lock id everywhere).
func unlockCommand(l deploy.Lock) string {
	return commands.Format(commands.Unlock{Kind: l.Kind, Target: string(l.Env), App: l.App, Team: l.Team, ID: l.ID})
}

// click handles a button. Every click re-checks the permission of the person who clicks, in
// the handler; the click's key makes a double click one effect.
func (b *Bot) click(ctx context.Context, cb slack.InteractionCallback, a *slack.BlockAction) {
	who, err := b.people.get(ctx, cb.User.ID)
	if err != nil {
		b.log.Warn("slack user lookup", "err", err)
	}
	channel, msgTS := cb.Channel.ID, cb.Container.MessageTs
	if msgTS == "" {
		msgTS = cb.Message.Timestamp
	}
	switch kind(a.ActionID) {
	case actRun:
		if a.Value == "" { // a menu ("Hold my app…"): the chosen option carries the command
			a.Value = a.SelectedOption.Value
		}
		cmd, err := commands.Parse(a.Value)
		if err != nil {
			b.answer(ctx, channel, cb.User.ID, "This button no longer works: "+err.Error())
			return
		}
		req := b.request(who, a.Value, "click:"+channel+":"+msgTS+":"+shortHash(a.Value)+":"+cb.User.ID)
		res := b.o.Exec.Run(ctx, req, cmd)
		if cb.Container.IsEphemeral {
			msgTS = "" // an answer only the clicker saw: what was done gets a card of its own
		}
		b.clicked(ctx, channel, msgTS, cardOf(a.BlockID), res)
	case actConfirm, actCancel:
		b.answerQuestion(ctx, who, channel, a)
	case actLockModal:
		b.openLockModal(ctx, cb.TriggerID, a.Value, channel)
	}
}

// clicked shows the result of a button: refusals and replays to the clicker alone; what was
// done as a card in the thread of the clicked message, and a note on that message.
func (b *Bot) clicked(ctx context.Context, channel, msgTS string, on int64, res commands.Result) {
	if !wantsCard(res) || channel == "" {
		b.answer(ctx, channel, res.Actor.ID, answerText(res))
		return
	}
	if _, err := b.postCard(ctx, channel, msgTS, card{Result: res}); err != nil {
		b.log.Error("slack card", "err", err)
	}
	b.addNote(ctx, on, fmt.Sprintf("%s by %s (see thread)", strings.ReplaceAll(firstLine(reply.Text(res)), "*", ""), res.Actor.Display()))
}

// answerText is the ephemeral answer to a request: a replay says who did it and when.
func answerText(res commands.Result) string {
	if res.Replayed {
		first := res
		first.Replayed = false // the stored answer as it was given, under our own line
		return fmt.Sprintf("Already done by %s at %s (action %d):\n%s", res.Actor.Display(),
			res.At.UTC().Format("2006-01-02 15:04 MST"), res.ActionID, reply.Text(first))
	}
	return reply.Text(res)
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// cardOf is the action id a card's actions block names ("card-<id>"); 0 for none.
func cardOf(blockID string) int64 {
	id, err := strconv.ParseInt(strings.TrimPrefix(blockID, "card-"), 10, 64)
	if err != nil {
		return 0
	}
	return id
}

// addNote adds a line to the stored card of an action and shows it.
func (b *Bot) addNote(ctx context.Context, actionID int64, line string) {
	b.editCard(ctx, actionID, func(c *card) bool {
		c.Notes = append(c.Notes, line)
		return true
	})
}

// answerQuestion answers "Deploy anyway" or "Cancel" on a card that asks. The question is
// the stored card's: it expires after ConfirmFor; once answered, later clicks are told who
// answered. The click is one effect however often it comes (its key).
func (b *Bot) answerQuestion(ctx context.Context, who person, channel string, a *slack.BlockAction) {
	user := who.Actor.ID
	id, err := strconv.ParseInt(a.Value, 10, 64)
	if err != nil {
		b.answer(ctx, channel, user, "This button no longer works.")
		return
	}
	var (
		say    string
		run    commands.Command
		asked  string
		cancel = kind(a.ActionID) == actCancel
	)
	// The card is stored right after it is posted: a click that comes quicker than that
	// waits for it a little.
	for wait := 0; wait < 20; wait++ {
		if _, ok, err := b.o.Store.Card(ctx, id); ok || err != nil || !sleep(ctx, 100*time.Millisecond) {
			break
		}
	}
	ch, ts := b.editCard(ctx, id, func(c *card) bool {
		switch {
		case c.Result.Confirm == nil:
			say = "This question is no longer known; run the command again."
		case c.Closed:
			say = "Already answered: " + strings.Join(c.Notes, "; ")
		case b.now().Sub(c.Result.At) > b.o.ConfirmFor:
			say = fmt.Sprintf("This question expired (asked %s ago); run the command again.", b.now().Sub(c.Result.At).Round(time.Second))
		case cancel:
			c.Closed = true
			c.Notes = append(c.Notes, fmt.Sprintf("✖ Cancelled by %s at %s", who.Actor.Display(), b.now().UTC().Format("15:04 MST")))
			return true
		default:
			cmd, err := commands.Parse(c.Result.Confirm.CommandText)
			if err != nil {
				say = "This question can no longer be answered: " + err.Error()
				return false
			}
			run, asked = cmd, commands.ConfirmedText(cmd)
		}
		return false
	})
	switch {
	case ch == "":
		b.answer(ctx, channel, user, "This question is no longer known; run the command again.")
		return
	case say != "":
		b.answer(ctx, channel, user, say)
		return
	case run == nil:
		return
	}
	res := b.o.Exec.Run(ctx, b.request(who, asked, fmt.Sprintf("confirm:%d:%s", id, user)), run)
	if !wantsCard(res) {
		b.answer(ctx, channel, user, answerText(res))
		return
	}
	b.editCard(ctx, id, func(c *card) bool {
		c.Closed = true
		c.Notes = append(c.Notes, fmt.Sprintf("✔ %s: %s at %s (see thread)", confirmLabel(c.Result), who.Actor.Display(), b.now().UTC().Format("15:04 MST")))
		return true
	})
	if _, err := b.postCard(ctx, ch, ts, card{Result: res}); err != nil {
		b.log.Error("slack card", "err", err)
	}
}

// answerBlocks renders an ephemeral answer: the text, and for a lock listing an Unlock
// button per lock (up to maxLockButtons).
func answerBlocks(res commands.Result) []slack.Block {
	bs := textBlocks(answerText(res))
	if res.Verb != "locks" || res.Problem != nil || len(res.Locks) == 0 {
		return bs
	}
	var btns []slack.BlockElement
	for _, l := range res.Locks {
		if len(btns) == maxLockButtons {
			break
		}
		label := fmt.Sprintf("Unlock %s on %s", l.ID, l.Env)
		if l.App != "" {
			label = fmt.Sprintf("Unlock %s (%s on %s)", l.ID, l.App, l.Env)
		}
		btns = append(btns, button(actRun, clip(label, 70), unlockCommand(l), slack.StyleDefault))
	}
	for len(btns) > 0 && len(bs) < maxBlocks {
		n := min(len(btns), 25) // elements per actions block
		bs = append(bs, slack.NewActionBlock(fmt.Sprintf("locks-%d", len(bs)), btns[:n]...))
		btns = btns[n:]
	}
	return bs
}

// maxLockButtons bounds the Unlock buttons of one lock listing.
const maxLockButtons = 50

// answer shows text to one user.
func (b *Bot) answer(ctx context.Context, channel, user, text string) {
	b.answerBlocks(ctx, channel, user, text, textBlocks(text))
}

// answerBlocks shows text and blocks to one user.
func (b *Bot) answerBlocks(ctx context.Context, channel, user, text string, blocks []slack.Block) {
	if channel == "" {
		dm, _, _, err := b.api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{user}})
		if err != nil {
			b.log.Error("slack dm", "err", err)
			return
		}
		channel = dm.ID
	}
	if err := b.post.ephemeral(ctx, channel, user, clip(text, previewText), blocks); err != nil {
		b.log.Error("slack answer", "err", err)
	}
}

// sleep waits for d or until ctx ends; false when ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// confirmLabel is the button that answers yes to a card's question.
func confirmLabel(r commands.Result) string {
	if r.Confirm != nil {
		switch confirmCommand(r.Confirm).(type) {
		case commands.Undeploy:
			return "Delete " + string(r.App)
		case commands.Remove:
			return "Remove " + string(r.App)
		}
	}
	return "Deploy anyway"
}

// confirmCommand is the command a question runs on a yes; a stored card has only its text.
func confirmCommand(c *commands.Confirmation) commands.Command {
	if c.Command != nil {
		return c.Command
	}
	cmd, err := commands.Parse(c.CommandText)
	if err != nil {
		return nil
	}
	return cmd
}
