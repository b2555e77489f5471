package bot_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"kuberpult/bot/slackfake"
	"kuberpult/deploy"
)

// TestRolloutEndsInTheThread: how Argo CD's rollout of a deployment ended is said in the
// thread of its card; a failure offers Rollback & lock.
func TestRolloutEndsInTheThread(t *testing.T) {
	hs := start(t)
	hs.release("checkout", 1, "development", "staging", "production")
	hs.release("checkout", 2, "development", "staging", "production")
	hs.slash("UALICE", "deploy checkout 1 to staging")
	hs.slash("UALICE", "deploy checkout 2 to staging")
	card := hs.card("*checkout* 2 → *staging*")
	m := regexp.MustCompile(`action (\d+)`).FindStringSubmatch(string(card.Blocks))
	if m == nil {
		t.Fatalf("card has no action id: %s", card.Blocks)
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)
	eventually(t, "the card stored", func() bool { // as after a push: the card is stored first
		_, ok, err := hs.db.Card(t.Context(), id)
		return err == nil && ok
	})
	pushed := time.Now()
	hs.bot.Rollout(deploy.Rollout{ActionID: id, Env: "staging", App: "checkout", Version: 2, State: deploy.RolloutProgressing, Pushed: pushed})
	hs.waitMessage(card.TS, "the card row following the rollout", func(m slackfake.Message) bool {
		return strings.Contains(string(m.Blocks), "· 🟡 Argo CD: progressing")
	})
	hs.bot.Rollout(deploy.Rollout{ActionID: id, Env: "staging", App: "checkout", Version: 2, State: deploy.RolloutUnhealthy,
		Message: "Degraded for 1m0s: container crashes", Pushed: pushed, Changed: pushed.Add(90 * time.Second)})
	reply := hs.thread(card.TS, "unhealthy in Argo CD after 1m30s")
	hs.waitMessage(card.TS, "the card row at the end", func(m slackfake.Message) bool {
		return strings.Contains(string(m.Blocks), "· 🔴 Argo CD: unhealthy")
	})
	if !strings.Contains(string(reply.Blocks), "container crashes") || len(buttons(t, reply, "Rollback & lock checkout on staging")) != 1 {
		t.Errorf("thread reply: %s", reply.Blocks)
	}
	hs.bot.Rollout(deploy.Rollout{ActionID: id, Env: "staging", App: "checkout", Version: 2, State: deploy.RolloutSuccessful, Pushed: pushed, Changed: pushed.Add(time.Minute)})
	hs.thread(card.TS, "healthy in Argo CD, 1m0s after the push")
}

// TestAppHomeShowsRollouts: App Home marks a deployment whose rollout is in flight or failed.
func TestAppHomeShowsRollouts(t *testing.T) {
	hs := start(t)
	hs.release("checkout", 1, "development", "staging", "production")
	hs.release("cart", 1, "development", "staging", "production")
	for _, r := range []deploy.Rollout{
		{Env: "development", App: "checkout", Version: 1, Commit: "c1", State: deploy.RolloutUnhealthy, Pushed: time.Now().Add(-time.Hour), Changed: time.Now().Add(-50 * time.Minute)},
		{Env: "development", App: "cart", Version: 1, Commit: "c1", State: deploy.RolloutProgressing, Pushed: time.Now()},
	} {
		if err := hs.db.SaveRollouts(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
	hs.slack.AppHomeOpened("UALICE")
	hs.slack.WaitCall(t, "views.publish", nil)
	views := hs.slack.Views("UALICE")
	if len(views) == 0 {
		t.Fatal("no App Home")
	}
	for _, want := range []string{"development 1 🔴 unhealthy 50m ago", "development 1 🟡 progressing just now"} {
		if !strings.Contains(string(views[0].Blocks), want) {
			t.Errorf("App Home lacks %q: %s", want, views[0].Blocks)
		}
	}
}
