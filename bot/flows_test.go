package bot_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"kuberpult/bot"
	"kuberpult/bot/slackfake"
)

// TestRedeliveredEnvelope: Slack delivers a slash command again (retry_attempt 1): one
// deployment, one card, and the second answer says it was done already.
func TestRedeliveredEnvelope(t *testing.T) {
	hs := start(t)
	t.Cleanup(func() { dump(t, hs) })
	hs.slack.WaitConnected(t, 1)
	hs.release("checkout", 1, "development")
	hs.card("created release 1")
	id := hs.slash("UALICE", "lock staging \"db migration\"")
	hs.card("db migration")
	hs.slack.Redeliver(id)
	hs.slack.WaitAck(t, id)
	hs.ephemeral("UALICE", "Already done by alice")
	st, err := hs.h.State(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Locks) != 1 {
		t.Errorf("%d locks after a redelivered lock command, want 1", len(st.Locks))
	}
	n := 0
	for _, m := range hs.slack.Messages(channel) {
		if strings.Contains(string(m.Blocks), "db migration") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d cards for one command, want 1", n)
	}
}

// TestDeployAnywayAfterRestart: a lock stands in the way; the card asks; the program
// restarts; the click on "Deploy anyway" still works, once, and the card says who answered.
// A second click is told who answered; Cancel on an answered card changes nothing.
func TestDeployAnywayAfterRestart(t *testing.T) {
	hs := start(t)
	t.Cleanup(func() { dump(t, hs) })
	hs.slack.WaitConnected(t, 1)
	hs.release("checkout", 1, "development", "staging")
	hs.slash("UALICE", `lock staging "freeze"`)
	hs.card("freeze")
	hs.slash("UALICE", "deploy checkout to staging")
	q := hs.card("Locks stand in the way")
	yes := buttons(t, q, "Deploy anyway")
	if len(yes) != 1 {
		t.Fatalf("buttons: %+v", buttons(t, q, ""))
	}
	if v := hs.running("staging", "checkout"); v != 0 {
		t.Fatalf("staging runs %d before the answer", v)
	}

	hs.restart()
	hs.click("UALICE", q, yes[0])
	hs.waitMessage(q.TS, "the card says who answered", func(m slackfake.Message) bool {
		return strings.Contains(string(m.Blocks), "Deploy anyway: alice")
	})
	hs.thread(q.TS, "Deployed checkout 1 to staging")
	if v := hs.running("staging", "checkout"); v != 1 {
		t.Errorf("staging runs %d after Deploy anyway, want 1", v)
	}
	hs.click("UBOB", q, yes[0])
	hs.ephemeral("UBOB", "Already answered")
	no := buttons(t, q, "Cancel")
	hs.click("UBOB", q, no[0])
	eventually(t, "the answer to Cancel", func() bool { return len(hs.slack.Ephemerals("UBOB")) == 2 })
	if e := hs.slack.Ephemerals("UBOB")[1]; !strings.Contains(e.Text, "Already answered") {
		t.Errorf("answer to Cancel after Deploy anyway: %q", e.Text)
	}
	if v := hs.running("staging", "checkout"); v != 1 {
		t.Errorf("staging runs %d after the late Cancel, want 1", v)
	}
}

// TestLockModal: "/kuberpult lock" opens the modal; an invalid lifetime is shown next to
// its field and creates nothing; a valid submission creates the lock with the same checks.
func TestLockModal(t *testing.T) {
	hs := start(t)
	t.Cleanup(func() { dump(t, hs) })
	hs.slack.WaitConnected(t, 1)
	hs.slash("UALICE", "lock")
	open := hs.slack.WaitCall(t, "views.open", nil)
	if !strings.Contains(string(open.Body), `"callback_id":"lock"`) {
		t.Fatalf("views.open: %s", open.Body)
	}
	views := hs.slack.Views("UALICE")
	if len(views) != 1 {
		t.Fatalf("views: %+v", views)
	}
	values := func(lifetime string) map[string]map[string]slackfake.Value {
		return map[string]map[string]slackfake.Value{
			"kind":     {"kind": {Type: "static_select", SelectedOption: "env"}},
			"target":   {"target": {Type: "plain_text_input", Value: "staging"}},
			"message":  {"message": {Type: "plain_text_input", Value: "release freeze"}},
			"lifetime": {"lifetime": {Type: "plain_text_input", Value: lifetime}},
		}
	}
	id := hs.slack.ViewSubmission(slackfake.ViewSubmission{UserID: "UALICE", ViewID: views[0].ID, CallbackID: "lock",
		PrivateMetadata: views[0].PrivateMetadata, Values: values("soon")})
	ack := hs.slack.WaitAck(t, id)
	if !strings.Contains(string(ack.Payload), `"response_action":"errors"`) || !strings.Contains(string(ack.Payload), `"lifetime"`) {
		t.Errorf("ack of an invalid lifetime: %s", ack.Payload)
	}
	id = hs.slack.ViewSubmission(slackfake.ViewSubmission{UserID: "UALICE", ViewID: views[0].ID, CallbackID: "lock",
		PrivateMetadata: views[0].PrivateMetadata, Values: values("4h")})
	if ack := hs.slack.WaitAck(t, id); len(ack.Payload) != 0 && string(ack.Payload) != "null" {
		t.Errorf("ack of a valid submission: %s", ack.Payload)
	}
	hs.card("release freeze")
	st, err := hs.h.State(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Locks) != 1 || st.Locks[0].SuggestedLifetime != "4h" || st.Locks[0].Author.Email != "alice@example.com" {
		t.Errorf("locks: %+v", st.Locks)
	}
}

// TestReconnectAndRateLimit: Slack asks the bot to reconnect in the middle of a
// conversation, and answers the next card with HTTP 429: nothing is lost, the card comes
// after Retry-After, and its thread reply after it.
func TestReconnectAndRateLimit(t *testing.T) {
	hs := start(t)
	t.Cleanup(func() { dump(t, hs) })
	hs.slack.WaitConnected(t, 1)
	hs.release("checkout", 1, "development", "staging")
	hs.card("created release 1")
	hs.slack.Disconnect("refresh_requested")
	hs.slack.RateLimit("chat.postMessage", 1, time.Second)
	hs.slash("UALICE", "deploy checkout to staging")
	hs.slack.WaitConnected(t, 2)
	c := hs.card("Deployed checkout 1 to staging")
	hs.waitMessage(c.TS, "the push", func(m slackfake.Message) bool { return strings.Contains(string(m.Blocks), "pushed") })
	var limited, after int
	for i, call := range hs.slack.Calls("chat.postMessage") {
		if call.Status == 429 {
			limited = i
		}
		if strings.Contains(call.Params["text"], "Deployed checkout 1 to staging") && call.Status == 200 {
			after = i
		}
	}
	if limited == 0 || after <= limited {
		t.Errorf("429 at call %d, card at call %d", limited, after)
	}
}

// TestLockReminder: once a lock is older than its suggested lifetime, its author gets one DM
// with Unlock and Extend — not again later, not after a restart; Extend starts a new
// lifetime.
func TestLockReminder(t *testing.T) {
	var offset atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	fast := func(o *bot.Options) { o.RemindEvery = 20 * time.Millisecond; o.Now = clock }
	hs := start(t, fast)
	t.Cleanup(func() { dump(t, hs) })
	hs.slack.WaitConnected(t, 1)
	hs.slash("UALICE", `lock staging "pen test" --for 1h --id pentest`)
	hs.card("pen test")
	offset.Store(int64(2 * time.Hour))
	dm := func() []slackfake.Message { return hs.slack.Messages("DUALICE") }
	eventually(t, "the reminder", func() bool { return len(dm()) == 1 })
	hs.restart(fast)
	// Ten rounds of checks later (a negative result has to wait), still one.
	<-time.After(10 * 20 * time.Millisecond)
	if got := len(dm()); got != 1 {
		t.Fatalf("%d reminders, want 1", got)
	}
	ext := buttons(t, dm()[0], "Extend")
	if len(ext) != 1 {
		t.Fatalf("reminder buttons: %s", dm()[0].Blocks)
	}
	hs.slack.BlockAction(slackfake.BlockAction{UserID: "UALICE", ChannelID: "DUALICE", MessageTS: dm()[0].TS, ActionID: ext[0].ActionID, BlockID: ext[0].BlockID, Value: ext[0].Value})
	eventually(t, "the lock extended", func() bool {
		st, _ := hs.h.State(context.Background())
		return len(st.Locks) == 1 && st.Locks[0].CreatedAt.After(time.Now().Add(-time.Minute))
	})
	offset.Store(int64(4 * time.Hour))
	eventually(t, "the reminder of the new lifetime", func() bool { return len(dm()) >= 2 })
}

// TestRevokedToken: a token Slack refuses is a start-up error that names the token.
func TestRevokedToken(t *testing.T) {
	fake := slackfake.New(t)
	fake.RevokeTokens()
	b := bot.New(bot.Options{AppToken: slackfake.AppToken, BotToken: slackfake.BotToken, APIURL: fake.URL()})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := b.Run(ctx)
	if !errors.Is(err, bot.ErrToken) || !strings.Contains(err.Error(), "slack.bot_token") {
		t.Errorf("Run = %v, want ErrToken naming slack.bot_token", err)
	}
}

// TestReconnectReasons: whatever Slack closes the connection for, the bot reconnects and the
// next command is answered.
func TestReconnectReasons(t *testing.T) {
	hs := start(t)
	t.Cleanup(func() { dump(t, hs) })
	hs.slack.WaitConnected(t, 1)
	for i, drop := range []func(){
		func() { hs.slack.Disconnect("link_disabled") },
		func() { hs.slack.DropConnection() },
	} {
		drop()
		hs.slack.WaitConnected(t, i+2)
		hs.slash("UALICE", "envs")
		eventually(t, "the answer after reconnect", func() bool { return len(hs.slack.Ephemerals("UALICE")) == i+1 })
	}
}

// TestWrongAppToken: an app-level token Slack refuses stops Run with an error naming it.
func TestWrongAppToken(t *testing.T) {
	fake := slackfake.New(t)
	b := bot.New(bot.Options{AppToken: "xapp-1-revoked", BotToken: slackfake.BotToken, APIURL: fake.URL()})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := b.Run(ctx)
	if !errors.Is(err, bot.ErrToken) || !strings.Contains(err.Error(), "slack.app_token") {
		t.Errorf("Run = %v, want ErrToken naming slack.app_token", err)
	}
}

// TestMissedPings: Slack stops pinging; the bot notices, reconnects and answers.
func TestMissedPings(t *testing.T) {
	hs := start(t, func(o *bot.Options) { o.PingTimeout = 200 * time.Millisecond })
	t.Cleanup(func() { dump(t, hs) })
	hs.slack.SetPingInterval(20 * time.Millisecond)
	hs.slack.WaitConnected(t, 1)
	hs.slack.SetPingInterval(0)
	hs.slack.WaitConnected(t, 2)
	hs.slack.SetPingInterval(20 * time.Millisecond)
	hs.slash("UALICE", "envs")
	hs.ephemeral("UALICE", "development")
}

// TestStaleAndExpired: a Rollback & lock click after someone else deployed says who did
// what and changes nothing; a Deploy anyway click after the question expired does nothing.
func TestStaleAndExpired(t *testing.T) {
	var offset atomic.Int64
	hs := start(t, func(o *bot.Options) {
		o.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	})
	t.Cleanup(func() { dump(t, hs) })
	hs.slack.WaitConnected(t, 1)
	hs.release("checkout", 1, "development", "staging")
	hs.release("checkout", 2, "development", "staging")
	hs.slash("UALICE", "deploy checkout 1 to staging")
	hs.card("Deployed checkout 1 to staging")
	hs.slash("UALICE", "deploy checkout 2 to staging")
	c := hs.card("Deployed checkout 2 to staging")
	rb := buttons(t, c, "Rollback")
	hs.slash("UBOB", "deploy checkout 1 to staging") // bob rolls back by hand meanwhile
	hs.card("bob")
	hs.release("checkout", 3, "development", "staging")
	hs.slash("UBOB", "deploy checkout 3 to staging")
	hs.card("Deployed checkout 3 to staging")
	hs.click("UALICE", c, rb[0])
	hs.ephemeral("UALICE", "bob")
	if v := hs.running("staging", "checkout"); v != 3 {
		t.Errorf("staging runs %d after a stale rollback click, want 3", v)
	}

	hs.slash("UALICE", `lock staging "freeze"`)
	hs.card("freeze")
	hs.slash("UALICE", "deploy checkout 2 to staging")
	q := hs.card("Locks stand in the way")
	offset.Store(int64(2 * time.Hour))
	hs.click("UALICE", q, buttons(t, q, "Deploy anyway")[0])
	hs.ephemeral("UALICE", "expired")
	if v := hs.running("staging", "checkout"); v != 3 {
		t.Errorf("staging runs %d after an expired question, want 3", v)
	}
}

// TestHeldAnnounced: an auto-deploy a lock holds back is announced in the team's channel.
func TestHeldAnnounced(t *testing.T) {
	hs := start(t)
	t.Cleanup(func() { dump(t, hs) })
	hs.slack.WaitConnected(t, 1)
	hs.slash("UALICE", `lock development "broken tests"`)
	hs.card("broken tests")
	hs.release("checkout", 1, "development")
	hs.card("⏸ *checkout* 1 on *development*")
}
