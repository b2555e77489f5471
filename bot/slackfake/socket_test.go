package slackfake_test

import (
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"kuberpult/bot/slackfake"
)

func TestSlashCommandQueuedUntilConnectedAndAcked(t *testing.T) {
	t.Parallel()
	s := slackfake.New(t)
	s.AddUser(slackfake.User{ID: "U1", Name: "alice"})
	// Sent before any connection exists: must wait, not get lost.
	id := s.SlashCommand(slackfake.SlashCommand{Text: "deploy app", UserID: "U1", ChannelID: "C1"})

	b := startBot(t, s, slackfake.AppToken)
	s.WaitConnected(t, 1)
	ev := b.next(socketmode.EventTypeSlashCommand)
	cmd, ok := ev.Data.(slack.SlashCommand)
	if !ok {
		t.Fatalf("data is %T", ev.Data)
	}
	if ev.Request.EnvelopeID != id || !ev.Request.AcceptsResponsePayload {
		t.Errorf("request = %+v", ev.Request)
	}
	if cmd.Command != "/kuberpult" || cmd.Text != "deploy app" || cmd.UserID != "U1" || cmd.UserName != "alice" ||
		cmd.ChannelID != "C1" || cmd.TeamID != slackfake.TeamID || cmd.APIAppID != slackfake.AppID ||
		cmd.TriggerID == "" || cmd.ResponseURL == "" {
		t.Errorf("command = %+v", cmd)
	}
	b.ack(ev, map[string]any{"text": "on it"})
	ack := s.WaitAck(t, id)
	jsonEqual(t, ack.Payload, `{"text":"on it"}`)
	if ack.EnvelopeID != id || ack.After <= 0 {
		t.Errorf("ack = %+v", ack)
	}

	// The response_url works with slack-go and is recorded.
	if _, _, err := b.api.PostMessage("", slack.MsgOptionResponseURL(cmd.ResponseURL, slack.ResponseTypeEphemeral),
		slack.MsgOptionText("done", false)); err != nil {
		t.Fatalf("posting to response_url: %v", err)
	}
	call := s.WaitCall(t, "response_url", nil)
	if call.Params["text"] != "done" || call.Params["response_type"] != "ephemeral" {
		t.Errorf("response_url call = %+v", call)
	}
}

func TestEventsAndRedeliver(t *testing.T) {
	t.Parallel()
	s := slackfake.New(t)
	b := startBot(t, s, slackfake.AppToken)
	s.WaitConnected(t, 1)

	id := s.AppMention("U1", "C1", "<@UBOT> status")
	ev := b.next(socketmode.EventTypeEventsAPI)
	outer := ev.Data.(slackevents.EventsAPIEvent)
	mention, ok := outer.InnerEvent.Data.(*slackevents.AppMentionEvent)
	if !ok {
		t.Fatalf("inner event is %T", outer.InnerEvent.Data)
	}
	if mention.User != "U1" || mention.Channel != "C1" || mention.Text != "<@UBOT> status" || mention.TimeStamp == "" {
		t.Errorf("mention = %+v", mention)
	}
	eventID := outer.Data.(*slackevents.EventsAPICallbackEvent).EventID
	if !strings.HasPrefix(eventID, "Ev") || ev.Request.RetryAttempt != 0 {
		t.Errorf("event id %q, retry %d", eventID, ev.Request.RetryAttempt)
	}
	b.ack(ev)
	if ack := s.WaitAck(t, id); ack.Payload != nil {
		t.Errorf("payload = %s, want none", ack.Payload)
	}

	if got := s.Redeliver(id); got != id {
		t.Errorf("Redeliver = %q", got)
	}
	ev = b.next(socketmode.EventTypeEventsAPI)
	if ev.Request.EnvelopeID != id || ev.Request.RetryAttempt != 1 || ev.Request.RetryReason != "timeout" {
		t.Errorf("redelivered request = %+v", ev.Request)
	}
	again := ev.Data.(slackevents.EventsAPIEvent).Data.(*slackevents.EventsAPICallbackEvent).EventID
	if again != eventID {
		t.Errorf("event id after redelivery = %q, want %q", again, eventID)
	}
	b.ack(ev)
	s.WaitAck(t, id)
	if n := len(s.Acks(id)); n != 2 {
		t.Errorf("%d acks, want 2", n)
	}

	s.DirectMessage("U2", "hi bot")
	ev = b.next(socketmode.EventTypeEventsAPI)
	msg, ok := ev.Data.(slackevents.EventsAPIEvent).InnerEvent.Data.(*slackevents.MessageEvent)
	if !ok || msg.ChannelType != "im" || msg.Channel != "DU2" || msg.User != "U2" || msg.Text != "hi bot" {
		t.Errorf("message event = %+v", msg)
	}
	b.ack(ev)

	s.AppHomeOpened("U2")
	ev = b.next(socketmode.EventTypeEventsAPI)
	home, ok := ev.Data.(slackevents.EventsAPIEvent).InnerEvent.Data.(*slackevents.AppHomeOpenedEvent)
	if !ok || home.User != "U2" || home.Tab != "home" {
		t.Errorf("app_home_opened = %+v", home)
	}
	b.ack(ev)
}

func TestDisconnectReconnects(t *testing.T) {
	t.Parallel()
	for _, reason := range []string{"refresh_requested", "link_disabled"} {
		t.Run(reason, func(t *testing.T) {
			t.Parallel()
			s := slackfake.New(t)
			b := startBot(t, s, slackfake.AppToken)
			s.WaitConnected(t, 1)
			s.Disconnect(reason)
			// Sent while the client is reconnecting: delivered on the new connection.
			id := s.AppMention("U1", "C1", "still there?")
			s.WaitConnected(t, 2)
			if n := s.Connections(); n != 2 {
				t.Errorf("Connections() = %d, want 2", n)
			}
			b.ack(b.next(socketmode.EventTypeEventsAPI))
			s.WaitAck(t, id)
			if n := len(s.Calls("apps.connections.open")); n != 2 {
				t.Errorf("%d apps.connections.open calls, want 2", n)
			}
		})
	}
}

func TestDropConnectionReconnects(t *testing.T) {
	t.Parallel()
	s := slackfake.New(t)
	b := startBot(t, s, slackfake.AppToken)
	s.WaitConnected(t, 1)
	s.DropConnection()
	s.WaitConnected(t, 2)
	id := s.SlashCommand(slackfake.SlashCommand{UserID: "U1"})
	b.ack(b.next(socketmode.EventTypeSlashCommand))
	s.WaitAck(t, id)
}

func TestPings(t *testing.T) {
	t.Parallel()
	s := slackfake.New(t)
	s.SetPingInterval(20 * time.Millisecond)
	b := startBot(t, s, slackfake.AppToken, socketmode.OptionPingInterval(200*time.Millisecond))
	s.WaitConnected(t, 1)

	// Five client ping intervals without a reconnect.
	quiet := time.NewTimer(time.Second)
	for waiting := true; waiting; {
		select {
		case ev := <-b.events:
			if c, ok := ev.Data.(*socketmode.ConnectedEvent); ok && c.ConnectionCount > 0 {
				t.Fatalf("client reconnected although pings were sent")
			}
		case <-quiet.C:
			waiting = false
		}
	}
	if n := s.Connections(); n != 1 {
		t.Fatalf("Connections() = %d, want 1", n)
	}

	// Without pings the client's ping timeout fires and it reconnects.
	s.SetPingInterval(0)
	s.WaitConnected(t, 2)
	s.SetPingInterval(20 * time.Millisecond)
	id := s.DirectMessage("U1", "after reconnect")
	b.ack(b.next(socketmode.EventTypeEventsAPI))
	s.WaitAck(t, id)
}

func TestRevokeTokensStopsClient(t *testing.T) {
	t.Parallel()
	s := slackfake.New(t)
	b := startBot(t, s, slackfake.AppToken)
	s.WaitConnected(t, 1)
	s.RevokeTokens()
	if _, err := b.api.AuthTest(); err == nil || err.Error() != "invalid_auth" {
		t.Errorf("AuthTest after revoke: %v", err)
	}
	s.DropConnection()
	err := b.wait()
	if err == nil || !strings.Contains(err.Error(), "token_revoked") {
		t.Fatalf("RunContext returned %v, want token_revoked", err)
	}
}

func TestWrongAppToken(t *testing.T) {
	t.Parallel()
	s := slackfake.New(t)
	b := startBot(t, s, "xapp-1-wrong")
	err := b.wait()
	if err == nil || !strings.Contains(err.Error(), "invalid_auth") {
		t.Fatalf("RunContext returned %v, want invalid_auth", err)
	}
	if s.Connections() != 0 {
		t.Errorf("Connections() = %d", s.Connections())
	}
}

// TestRedeliverEverywhere: with two clients of one app connected, an envelope goes to one
// of them, and RedeliverEverywhere sends it to both, as one redelivery.
func TestRedeliverEverywhere(t *testing.T) {
	t.Parallel()
	s := slackfake.New(t)
	b1 := startBot(t, s, slackfake.AppToken)
	s.WaitConnected(t, 1)
	b2 := startBot(t, s, slackfake.AppToken)
	s.WaitConnected(t, 2)

	id := s.SlashCommand(slackfake.SlashCommand{Text: "status", UserID: "U1", ChannelID: "C1"})
	first := b2.next(socketmode.EventTypeSlashCommand) // the newest connection gets it
	b2.ack(first)
	s.WaitAck(t, id)
	if n := s.RedeliverEverywhere(id); n != 2 {
		t.Fatalf("RedeliverEverywhere sent on %d connections, want 2", n)
	}
	for i, b := range []*bot{b1, b2} {
		ev := b.next(socketmode.EventTypeSlashCommand)
		if ev.Request.EnvelopeID != id || ev.Request.RetryAttempt != 1 || ev.Request.RetryReason != "timeout" {
			t.Errorf("client %d got %+v", i+1, ev.Request)
		}
		b.ack(ev)
	}
	waitAcks := time.Now().Add(10 * time.Second)
	for len(s.Acks(id)) < 3 && time.Now().Before(waitAcks) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := len(s.Acks(id)); n != 3 {
		t.Errorf("%d acks, want 3", n)
	}
}
