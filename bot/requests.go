package bot

import (
	"context"
	"net/mail"
	"regexp"
	"strings"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"kuberpult/commands"
	"kuberpult/deploy"
	"kuberpult/reply"
)

// request is a command of a Slack user, with the key that makes it one effect.
func (b *Bot) request(who person, text, key string) commands.Request {
	return commands.Request{Actor: who.Actor, Groups: who.Groups, Via: deploy.ViaSlack, Text: text, Key: key, Zone: who.Zone}
}

// slash runs a slash command; its envelope id is its key, so a redelivered envelope acts once.
func (b *Bot) slash(ctx context.Context, envelope string, c slack.SlashCommand) {
	if strings.TrimSpace(c.Text) == "lock" {
		b.openLockModal(ctx, c.TriggerID, "", c.ChannelID)
		return
	}
	b.command(ctx, envelope, c.UserID, c.ChannelID, "", c.Text)
}

var mentionRE = regexp.MustCompile(`^\s*<@[A-Z0-9]+(\|[^>]*)?>\s*`)

// event handles an Events API envelope: mentions and DMs carry commands (keyed by the event
// id, which a retried event keeps); opening App Home shows the board.
func (b *Bot) event(ev socketmode.Event) func(ctx context.Context) {
	e, ok := ev.Data.(slackevents.EventsAPIEvent)
	if !ok || e.Type != slackevents.CallbackEvent {
		return nil
	}
	id := ""
	if cb, ok := e.Data.(*slackevents.EventsAPICallbackEvent); ok {
		id = cb.EventID
	}
	switch in := e.InnerEvent.Data.(type) {
	case *slackevents.AppMentionEvent:
		if in.BotID != "" {
			return nil
		}
		text := mentionRE.ReplaceAllString(in.Text, "")
		thread := in.ThreadTimeStamp
		return func(ctx context.Context) { b.command(ctx, id, in.User, in.Channel, thread, text) }
	case *slackevents.MessageEvent:
		if in.ChannelType != "im" || in.BotID != "" || in.SubType != "" || in.User == "" {
			return nil
		}
		text := mentionRE.ReplaceAllString(in.Text, "")
		return func(ctx context.Context) { b.command(ctx, id, in.User, in.Channel, "", text) }
	case *slackevents.AppHomeOpenedEvent:
		if in.Tab != "home" {
			return nil
		}
		return func(ctx context.Context) { b.home(ctx, in.User) }
	}
	return nil
}

// command runs one command line of a user: queries and refusals are answered to them alone;
// actions get a card in the channel, with details in its thread.
func (b *Bot) command(ctx context.Context, key, user, channel, thread, text string) {
	who, err := b.people.get(ctx, user)
	if err != nil {
		b.log.Warn("slack user lookup", "err", err)
	}
	text = strings.TrimSpace(unescape(text))
	if text == "" {
		text = "help"
	}
	res := b.o.Exec.Execute(ctx, b.request(who, text, key))
	if !wantsCard(res) {
		b.answerBlocks(ctx, channel, user, answerText(res), answerBlocks(res))
		return
	}
	ts, err := b.postCard(ctx, channel, thread, card{Result: res})
	if err != nil {
		b.log.Error("slack card", "err", err)
		b.answer(ctx, channel, user, reply.Text(res))
		return
	}
	if details := reply.Text(res); strings.Contains(details, "\n") || res.Confirm != nil {
		if thread == "" {
			thread = ts
		}
		if _, err := b.post.message(ctx, channel, thread, firstLine(details), textBlocks(details)); err != nil {
			b.log.Error("slack thread", "err", err)
		}
	}
}

// unescape turns Slack's text escapes back into what the user typed (typographic quotes
// are the tokenizer's business, as in the console).
func unescape(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}

// interaction handles clicks and modal submissions. A view_submission is validated at once
// and answered in the ack (errors next to the fields); everything else works after the ack.
func (b *Bot) interaction(ctx context.Context, cb slack.InteractionCallback) (any, func(ctx context.Context)) {
	switch cb.Type {
	case slack.InteractionTypeBlockActions:
		if len(cb.ActionCallback.BlockActions) == 0 {
			return nil, nil
		}
		a := cb.ActionCallback.BlockActions[0]
		return nil, func(ctx context.Context) { b.click(ctx, cb, a) }
	case slack.InteractionTypeViewSubmission:
		if cb.View.CallbackID != lockModalID {
			return nil, nil
		}
		cmd, channel, errs := b.lockFromModal(cb.View)
		if len(errs) > 0 {
			return slack.NewErrorsViewSubmissionResponse(errs), nil
		}
		return nil, func(ctx context.Context) { b.lockSubmitted(ctx, cb, cmd, channel) }
	}
	return nil, nil
}

// announce posts what CI or the scheduler did to the owning team's channel (else the
// default channel): the same card, naming the release's author.
func (b *Bot) announce(ctx context.Context, res commands.Result) {
	if res.Departure != nil {
		b.scheduled(ctx, res)
		return
	}
	if !wantsCard(res) || !hasRepoChange(res) && len(res.Held) == 0 {
		return
	}
	team := deploy.Team("")
	if res.Release != nil {
		team = res.Release.Release.Team
	}
	channel := b.o.TeamChannels[team]
	if channel == "" {
		channel = b.o.DefaultChannel
	}
	if channel == "" {
		return
	}
	c := card{Result: res}
	if ri := res.Release; ri != nil && ri.Release.SourceAuthor != "" {
		author := ri.Release.SourceAuthor
		line := "Released by " + author
		if addr, err := mail.ParseAddress(author); err == nil {
			if m := b.people.mention(ctx, addr.Address); m != "" {
				line = "Released by " + m
			}
		}
		c.Notes = append(c.Notes, line)
	}
	if _, err := b.postCard(ctx, channel, "", c); err != nil {
		b.log.Error("slack announce", "err", err)
	}
}
