package bot_test

import (
	"encoding/json"
	"strings"
	"testing"

	"kuberpult/bot/slackfake"
	"kuberpult/deploy"
)

// button is a button of a posted message.
type button struct{ ActionID, BlockID, Value, Text string }

// buttons returns the buttons of a message whose text contains label.
func buttons(t *testing.T, m slackfake.Message, label string) []button {
	t.Helper()
	var blocks []struct {
		Type     string `json:"type"`
		BlockID  string `json:"block_id"`
		Elements []struct {
			Type     string          `json:"type"`
			ActionID string          `json:"action_id"`
			Value    string          `json:"value"`
			Text     json.RawMessage `json:"text"`
		} `json:"elements"`
	}
	if err := json.Unmarshal(m.Blocks, &blocks); err != nil {
		t.Fatalf("blocks of %s: %v", m.TS, err)
	}
	var out []button
	for _, b := range blocks {
		for _, e := range b.Elements {
			var text struct{ Text string }
			if e.Type != "button" || json.Unmarshal(e.Text, &text) != nil {
				continue
			}
			if strings.Contains(text.Text, label) {
				out = append(out, button{e.ActionID, b.BlockID, e.Value, text.Text})
			}
		}
	}
	return out
}

func (hs *harness) click(user string, m slackfake.Message, b button) string {
	hs.t.Helper()
	id := hs.slack.BlockAction(slackfake.BlockAction{UserID: user, ChannelID: m.Channel, MessageTS: m.TS,
		ActionID: b.ActionID, BlockID: b.BlockID, Value: b.Value})
	hs.slack.WaitAck(hs.t, id)
	return id
}

// running is the version of app on env in the database.
func (hs *harness) running(env deploy.Env, app deploy.App) deploy.Version {
	hs.t.Helper()
	st, err := hs.h.State(hs.t.Context())
	if err != nil {
		hs.t.Fatal(err)
	}
	d, _ := st.Deployed(env, app)
	return d.Version
}

// TestConversation: CI's release is announced in the team's channel; a slash command posts a
// card that becomes a thread, is updated with the pushed commit, and offers Rollback & lock;
// the click rolls back once however often it comes; a click without permission changes
// nothing and says what is missing.
func TestConversation(t *testing.T) {
	hs := start(t)
	t.Cleanup(func() { dump(t, hs) })
	hs.slack.WaitConnected(t, 1)
	hs.release("checkout", 1, "development", "staging")

	// The auto-deploy from CI, announced in the team's channel, naming the author.
	auto := hs.card("checkout")
	if !strings.Contains(string(auto.Blocks), `\u003c@UALICE\u003e`) {
		t.Errorf("the announcement does not mention the author: %s", auto.Blocks)
	}
	hs.waitMessage(auto.TS, "the announcement shows the push", func(m slackfake.Message) bool { return strings.Contains(string(m.Blocks), "✅") })

	hs.slash("UALICE", "deploy checkout to staging")
	c := hs.card("alice")
	if !strings.Contains(string(c.Blocks), "⏳") && !strings.Contains(string(c.Blocks), "✅") {
		t.Errorf("card without a row: %s", c.Blocks)
	}
	c = hs.waitMessage(c.TS, "the card shows the commit", func(m slackfake.Message) bool {
		return strings.Contains(string(m.Blocks), "pushed to the env repo")
	})
	tip := hs.git("rev-parse", "main")
	if !strings.Contains(string(c.Blocks), tip[:8]) {
		t.Errorf("card %s does not name the branch tip %s", c.Blocks, tip)
	}
	hs.thread(c.TS, tip)

	hs.release("checkout", 2, "development", "staging")
	hs.slash("UALICE", "deploy checkout 2 to staging")
	c2 := hs.card("checkout 2")
	rb := buttons(t, c2, "Rollback")
	if len(rb) != 1 || !strings.Contains(rb[0].Value, "rollback checkout on staging") {
		t.Fatalf("Rollback buttons: %+v", rb)
	}

	// Mallory may not deploy: her click is refused to her alone and changes nothing.
	hs.click("UMALLORY", c2, rb[0])
	hs.ephemeral("UMALLORY", "you have no role")
	// Bob may deploy anywhere (the @releasers user group) but not lock: a rollback locks.
	hs.click("UBOB", c2, rb[0])
	hs.ephemeral("UBOB", "you need CreateLock")
	if v := hs.running("staging", "checkout"); v != 2 {
		t.Fatalf("staging runs %d after a denied click, want 2", v)
	}

	// Alice double-clicks: one rollback, the second click is told it was done.
	hs.click("UALICE", c2, rb[0])
	hs.click("UALICE", c2, rb[0])
	hs.ephemeral("UALICE", "Already done by alice")
	if v := hs.running("staging", "checkout"); v != 1 {
		t.Errorf("staging runs %d after the rollback, want 1", v)
	}
	rolled := hs.thread(c2.TS, "Rolled checkout")
	eventually(t, "the rollback pushed", func() bool {
		m, _ := hs.slack.Message(channel, rolled.TS)
		return strings.Contains(string(m.Blocks), "pushed to the env repo")
	})
	if n := strings.Count(hs.git("log", "--format=%s", "main"), "ollback"); n != 1 {
		t.Errorf("%d rollback commits, want 1:\n%s", n, hs.git("log", "--format=%s", "main"))
	}
}

func dump(t *testing.T, hs *harness) {
	if !t.Failed() {
		return
	}
	for _, c := range hs.slack.Calls("") {
		t.Logf("%s %v %s", c.Method, c.Params, c.Body)
	}
}
