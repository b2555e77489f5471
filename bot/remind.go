package bot

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"kuberpult/commands"
	"kuberpult/deploy"
)

// Lock reminders: when a lock's suggested lifetime has passed, its author gets a DM with
// Unlock and Extend buttons — once per lifetime (the store remembers, across restarts and
// processes); extending re-creates the lock, which starts a new lifetime.

// RunReminders sends lock reminders until ctx ends, from the moment Run first connected to
// Slack (so that a refused token sends nothing). The store remembers what was sent, across
// restarts and processes.
func (b *Bot) RunReminders(ctx context.Context) {
	select {
	case <-ctx.Done():
		return
	case <-b.connected:
	}
	t := time.NewTicker(b.o.RemindEvery)
	defer t.Stop()
	for {
		b.remind(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// reminderName names one lifetime of one lock.
func reminderName(l deploy.Lock) string {
	return strings.Join([]string{"lock", string(l.Kind), string(l.Env), string(l.App), string(l.Team), l.ID,
		l.CreatedAt.UTC().Format(time.RFC3339Nano), l.SuggestedLifetime}, "/")
}

// remind sends the reminders that are due.
func (b *Bot) remind(ctx context.Context) {
	st, err := b.o.Exec.State(ctx)
	if err != nil {
		b.log.Error("lock reminders", "err", err)
		return
	}
	now := b.now()
	for _, l := range st.Locks {
		life, err := deploy.LifetimeDuration(l.SuggestedLifetime)
		if err != nil || life == 0 || now.Before(l.CreatedAt.Add(life)) {
			continue
		}
		if l.Author.Kind != deploy.ActorUser || !strings.HasPrefix(l.Author.ID, "U") && !strings.HasPrefix(l.Author.ID, "W") {
			continue // only Slack users can be reminded in Slack
		}
		first, err := b.o.Store.Remind(ctx, reminderName(l), now)
		if err != nil {
			b.log.Error("lock reminders", "lock", l.ID, "err", err)
			return
		}
		if first {
			b.sendReminder(ctx, l, now)
		}
	}
}

func (b *Bot) sendReminder(ctx context.Context, l deploy.Lock, now time.Time) {
	dm, _, _, err := b.api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{l.Author.ID}})
	if err != nil {
		b.log.Error("lock reminder", "lock", l.ID, "err", err)
		return
	}
	what := fmt.Sprintf("%s lock `%s` on *%s*", l.Kind, l.ID, l.Env)
	if l.App != "" {
		what = fmt.Sprintf("app lock `%s` of *%s* on *%s*", l.ID, l.App, l.Env)
	}
	text := fmt.Sprintf("⏰ Your %s (“%s”) is older than its suggested lifetime of %s (set %s ago). Still needed?",
		what, l.Message, l.SuggestedLifetime, now.Sub(l.CreatedAt).Round(time.Minute))
	extend := commands.Format(commands.Lock{Kind: l.Kind, Target: string(l.Env), App: l.App, Team: l.Team,
		Message: l.Message, Lifetime: l.SuggestedLifetime, ID: l.ID})
	blocks := []slack.Block{section(text), slack.NewActionBlock("reminder",
		button(actRun, "Unlock", unlockCommand(l), slack.StylePrimary),
		button(actRun, "Extend by "+l.SuggestedLifetime, extend, slack.StyleDefault))}
	if _, err := b.post.message(ctx, dm.ID, "", text, blocks); err != nil {
		b.log.Error("lock reminder", "lock", l.ID, "err", err)
	}
}
