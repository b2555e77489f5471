package bot_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"kuberpult/bot/slackfake"
	"kuberpult/commands"
	"kuberpult/deploy"
	"kuberpult/schedule"
	"kuberpult/train"
)

// menu returns the action id, block id and option values of the static select menus of m.
func menu(t *testing.T, m slackfake.Message) (actionID, blockID string, values []string) {
	t.Helper()
	var blocks []struct {
		BlockID  string `json:"block_id"`
		Elements []struct {
			Type     string `json:"type"`
			ActionID string `json:"action_id"`
			Options  []struct {
				Value string `json:"value"`
			} `json:"options"`
		} `json:"elements"`
	}
	if err := json.Unmarshal(m.Blocks, &blocks); err != nil {
		t.Fatal(err)
	}
	for _, b := range blocks {
		for _, e := range b.Elements {
			if e.Type == "static_select" {
				for _, o := range e.Options {
					values = append(values, o.Value)
				}
				return e.ActionID, b.BlockID, values
			}
		}
	}
	return "", "", nil
}

func nightly(t *testing.T) train.Scheduled {
	t.Helper()
	s, err := schedule.Parse("0 3 * * *", "Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return train.Scheduled{Name: "nightly", Target: "production", Schedule: s, AnnounceBefore: 30 * time.Minute,
		Channel: channel, Approval: "role:release-manager"}
}

// clock is a settable clock for the harness (the handler's and the bot's).
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

func (hs *harness) fire(kind train.EventKind, name string, slot time.Time) commands.Result {
	hs.t.Helper()
	res := hs.h.Fire(context.Background(), train.Event{Kind: kind, Train: name, Slot: slot}, nil)
	if res.Problem != nil {
		hs.t.Fatalf("%s %s: %s", kind, name, res.Problem.Message)
	}
	return res
}

// TestScheduledTrainInSlack: the announcement is a card with the prognosis and Hold train,
// Hold my app and Approve departure; a click by someone without the role is refused and
// changes nothing; approvals and holds update the card for everyone, naming who; the
// departure answers in the thread (pushed, authored by the train) and closes the card.
func TestScheduledTrainInSlack(t *testing.T) {
	hs := prepare(t)
	hs.trains = []train.Scheduled{nightly(t)}
	clk := &clock{t: time.Now()}
	hs.now = clk.now
	hs.run()
	hs.release("checkout", 1, "development", "staging", "production")
	hs.release("cart", 1, "development", "staging", "production")
	for _, app := range []string{"checkout", "cart"} {
		if res := hs.h.Execute(context.Background(), commands.Request{Actor: deploy.System, Via: deploy.ViaScheduler,
			Text: "deploy " + app + " 1 to staging"}); !res.OK() {
			t.Fatalf("deploy %s to staging: %s", app, res.Outcome)
		}
	}
	slot := hs.trains[0].Schedule.Next(clk.now())
	clk.set(slot.Add(-30 * time.Minute))
	hs.fire(train.Announce, "nightly", slot)

	ann := hs.card("📣 *Train nightly* to *production* departs")
	for _, want := range []string{"*checkout* none → 1", "*cart* none → 1", "Needs an approval by someone with role role:release-manager"} {
		if !strings.Contains(string(ann.Blocks), want) {
			t.Errorf("announcement lacks %q: %s", want, ann.Blocks)
		}
	}
	approve := buttons(t, ann, "Approve departure")
	hold := buttons(t, ann, "Hold train")
	if len(approve) != 1 || len(hold) != 1 {
		t.Fatalf("announcement buttons: approve %v, hold %v", approve, hold)
	}
	selID, selBlock, options := menu(t, ann)
	if len(options) != 2 || !strings.HasPrefix(options[0], "hold cart for train nightly --slot ") {
		t.Fatalf("Hold my app options: %v", options)
	}

	hs.click("UMALLORY", ann, approve[0])
	hs.ephemeral("UMALLORY", "approving a departure of train nightly needs role role:release-manager")
	hs.click("UBOB", ann, approve[0])
	ann = hs.waitMessage(ann.TS, "the approval on the card", func(m slackfake.Message) bool {
		return strings.Contains(string(m.Blocks), "Approved by bob")
	})
	if len(buttons(t, ann, "Approve departure")) != 0 {
		t.Error("the card still offers Approve departure after the approval")
	}

	id := hs.slack.BlockAction(slackfake.BlockAction{UserID: "UALICE", ChannelID: channel, MessageTS: ann.TS,
		ActionID: selID, BlockID: selBlock, SelectedOption: options[0]})
	hs.slack.WaitAck(t, id)
	hs.ephemeral("UALICE", "cart stays out of train nightly")
	ann = hs.waitMessage(ann.TS, "cart held out on the card", func(m slackfake.Message) bool {
		return strings.Contains(string(m.Blocks), "cart held out by alice")
	})

	hs.click("UALICE", ann, buttons(t, ann, "Hold train")[0])
	ann = hs.waitMessage(ann.TS, "the hold on the card", func(m slackfake.Message) bool {
		return strings.Contains(string(m.Blocks), "Held by alice")
	})
	hs.click("UALICE", ann, buttons(t, ann, "Unhold train")[0])
	ann = hs.waitMessage(ann.TS, "the hold gone from the card", func(m slackfake.Message) bool {
		return !strings.Contains(string(m.Blocks), "Held by alice") && len(buttons(t, m, "Hold train")) == 1
	})

	clk.set(slot)
	hs.fire(train.Depart, "nightly", slot)
	done := hs.thread(ann.TS, "departed")
	hs.waitMessage(done.TS, "the departure pushed", func(m slackfake.Message) bool {
		return strings.Contains(string(m.Blocks), "pushed to the env repo as")
	})
	if !strings.Contains(string(done.Blocks), "*checkout* 1 → *production*") || strings.Contains(string(done.Blocks), "*cart* 1 → *production*") {
		t.Errorf("departure card: %s", done.Blocks)
	}
	ann = hs.waitMessage(ann.TS, "the announcement closed", func(m slackfake.Message) bool {
		return strings.Contains(string(m.Blocks), "departed") && len(buttons(t, m, "Hold train")) == 0
	})
	if got := hs.git("log", "-1", "--format=%an <%ae>", "main"); got != "train:nightly <kuberpult@localhost>" {
		t.Errorf("commit author %q, want the train", got)
	}
	// `trains` shows times in the viewer's time zone (their Slack profile's).
	hs.slack.AddUser(slackfake.User{ID: "UNYC", Name: "nyc", DisplayName: "nyc", Email: "nyc@example.com", TZ: "America/New_York"})
	hs.slash("UNYC", "trains")
	list := hs.ephemeral("UNYC", "nightly")
	if !strings.Contains(list.Text+string(list.Blocks), " EST") || !strings.Contains(list.Text+string(list.Blocks), "departed") {
		t.Errorf("trains for a viewer in New York: %s", list.Text)
	}
	if hs.running("production", "checkout") != 1 || hs.running("production", "cart") != 0 {
		t.Errorf("production runs checkout %d and cart %d, want 1 and nothing", hs.running("production", "checkout"), hs.running("production", "cart"))
	}
}

// TestTrainHeldAcrossARestart: a hold clicked before a restart stops the departure after it,
// which the thread says.
func TestTrainHeldAcrossARestart(t *testing.T) {
	hs := prepare(t)
	hs.trains = []train.Scheduled{nightly(t)}
	clk := &clock{t: time.Now()}
	hs.now = clk.now
	hs.run()
	hs.release("checkout", 1, "development", "staging", "production")
	slot := hs.trains[0].Schedule.Next(clk.now())
	hs.fire(train.Announce, "nightly", slot)
	ann := hs.card("📣 *Train nightly*")
	hs.click("UALICE", ann, buttons(t, ann, "Hold train")[0])
	hs.waitMessage(ann.TS, "the hold on the card", func(m slackfake.Message) bool {
		return strings.Contains(string(m.Blocks), "Held by alice")
	})
	hs.restart()
	clk.set(slot)
	hs.fire(train.Depart, "nightly", slot)
	hs.thread(ann.TS, "did not depart: held by alice")
	hs.waitMessage(ann.TS, "the announcement closed", func(m slackfake.Message) bool {
		return strings.Contains(string(m.Blocks), "not-run") && len(buttons(t, m, "Unhold train")) == 0
	})
}
