package bot

import (
	"context"
	"fmt"
	"time"

	"github.com/slack-go/slack"

	"kuberpult/commands"
	"kuberpult/deploy"
)

// Rollout hears how Argo CD's rollout of a pushed deployment goes: the deployment's row on
// the card of the action that deployed it shows the state; the end of a rollout is said in
// the card's thread, a failure broadcast to the channel too, with Rollback & lock. It never
// blocks.
func (b *Bot) Rollout(r deploy.Rollout) {
	b.enqueue(func(ctx context.Context) {
		b.editCard(ctx, r.ActionID, func(c *card) bool { // the card's row follows the state
			if c.Rollouts == nil {
				c.Rollouts = map[string]deploy.RolloutState{}
			}
			key := string(r.Env) + "/" + string(r.App)
			if c.Rollouts[key] == r.State {
				return false
			}
			c.Rollouts[key] = r.State
			return true
		})
		if r.State.Final() && r.State != deploy.RolloutSuperseded {
			b.rolloutDone(ctx, r)
		}
	})
}

func (b *Bot) rolloutDone(ctx context.Context, r deploy.Rollout) {
	stored, ok, err := b.o.Store.Card(ctx, r.ActionID)
	if err != nil || !ok {
		return // an action without a card (a console command, CI without a channel)
	}
	took := r.Changed.Sub(r.Pushed).Round(time.Second)
	text := fmt.Sprintf("✅ *%s* %s runs on *%s*: healthy in Argo CD, %s after the push.", r.App, r.Version, r.Env, took)
	var blocks []slack.Block
	broadcast := false
	if r.State != deploy.RolloutSuccessful {
		broadcast = true
		text = fmt.Sprintf("❌ *%s* %s on *%s*: %s in Argo CD after %s — %s", r.App, r.Version, r.Env, r.State, took, r.Message)
		blocks = []slack.Block{section(text)}
		rb := commands.Format(commands.Rollback{App: r.App, Env: r.Env, From: r.Version})
		blocks = append(blocks, slack.NewActionBlock(fmt.Sprintf("card-%d", r.ActionID),
			button(actRun, fmt.Sprintf("Rollback & lock %s on %s", r.App, r.Env), rb, slack.StyleDanger)))
	}
	if err := b.post.reply(ctx, stored.Channel, stored.TS, text, blocks, broadcast); err != nil {
		b.log.Error("slack rollout", "action", r.ActionID, "app", r.App, "env", r.Env, "err", err)
	}
}
