package bot

import (
	"context"
	"fmt"

	"github.com/slack-go/slack"

	"kuberpult/commands"
	"kuberpult/deploy"
)

// Approval requests in Slack: the request is a card with Approve and Reject (each click is
// checked for the person who clicks, in the handler); when someone decides, from whatever
// entry point, the card closes naming them, and what the approval ran gets a card of its
// own in the thread.

// approvalButtons are the buttons of a pending request's card.
func approvalButtons(ap *deploy.Approval) []slack.BlockElement {
	return []slack.BlockElement{
		button(actRun, "Approve", commands.Format(commands.Approve{ID: ap.ID}), slack.StylePrimary),
		button(actRun, "Reject", commands.Format(commands.Reject{ID: ap.ID}), slack.StyleDanger),
	}
}

// approvalEvent follows an approval request: a request made outside Slack is posted to the
// channel (approvers must hear of it); a decision closes the request's card.
func (b *Bot) approvalEvent(ctx context.Context, r commands.Request, res commands.Result) {
	ap := res.Approval
	if res.Outcome == deploy.OutcomePending {
		if r.Via == deploy.ViaSlack {
			return // the command's own card asks
		}
		ch := b.o.TeamChannels[b.teamOf(ctx, res.App)]
		if ch == "" {
			ch = b.o.DefaultChannel
		}
		if ch != "" {
			if _, err := b.postCard(ctx, ch, "", card{Result: res}); err != nil {
				b.log.Error("slack approval request", "approval", ap.ID, "err", err)
			}
		}
		return
	}
	if ap.State == deploy.ApprovalPending {
		return // not decided (the state had moved on): the card stays
	}
	line := ""
	switch ap.State {
	case deploy.ApprovalApproved:
		line = fmt.Sprintf("✅ Approved by %s", ap.DecidedBy.Display())
	case deploy.ApprovalRejected:
		line = fmt.Sprintf("🚫 Rejected by %s", ap.DecidedBy.Display())
		if ap.Note != "" {
			line = "↩ " + ap.Note
		}
	case deploy.ApprovalExpired:
		line = "⌛ Expired before anyone approved it"
	}
	ch, ts := b.editCard(ctx, ap.Requested, func(c *card) bool {
		c.Closed = true
		c.Notes = append(c.Notes, line)
		return true
	})
	if ch != "" && ap.State == deploy.ApprovalApproved {
		if _, err := b.postCard(ctx, ch, ts, card{Result: res}); err != nil {
			b.log.Error("slack approval", "approval", ap.ID, "err", err)
		}
	}
}

func (b *Bot) teamOf(ctx context.Context, app deploy.App) deploy.Team {
	if app == "" {
		return ""
	}
	st, err := b.o.Exec.State(ctx)
	if err != nil {
		return ""
	}
	return st.TeamOf(app)
}
