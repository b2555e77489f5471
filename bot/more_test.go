package bot_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"kuberpult/bot/slackfake"
)

// TestMentionsDMsAndHome: "@kuberpult …" in a channel and a DM carry the same commands (a
// query is answered to the asker alone); opening App Home publishes the board; a user
// group grants what policy.csv gives @releasers.
func TestMentionsDMsAndHome(t *testing.T) {
	hs := start(t)
	t.Cleanup(func() { dump(t, hs) })
	hs.slack.WaitConnected(t, 1)
	hs.release("checkout", 1, "development", "staging", "production")
	hs.card("created release 1")

	hs.slack.AppMention("UALICE", channel, "<@UBOT> deploy checkout to production")
	hs.ephemeral("UALICE", "you need DeployRelease on production")
	hs.slack.AppMention("UBOB", channel, "<@UBOT> deploy checkout to production")
	hs.card("bob")
	if v := hs.running("production", "checkout"); v != 1 {
		t.Errorf("production runs %d after bob's deploy (a @releasers member), want 1", v)
	}

	hs.slack.DirectMessage("UALICE", "status checkout")
	eventually(t, "the DM answer", func() bool {
		for _, m := range hs.slack.Messages("DUALICE") {
			if strings.Contains(m.Text, "checkout") {
				return true
			}
		}
		return false
	})

	hs.slack.AppHomeOpened("UALICE")
	hs.slack.WaitCall(t, "views.publish", nil)
	views := hs.slack.Views("UALICE")
	if len(views) == 0 || views[0].Type != "home" || !strings.Contains(string(views[0].Blocks), "checkout") {
		t.Fatalf("App Home: %+v", views)
	}
}

// TestCardAcrossRestart: the remote refuses pushes while a card waits; the program stops;
// once it is started again and the remote accepts, the card of the action before the restart shows the commit and
// its thread says so. The commit is authored by the Slack user.
func TestCardAcrossRestart(t *testing.T) {
	hs := start(t)
	t.Cleanup(func() { dump(t, hs) })
	hs.slack.WaitConnected(t, 1)
	hs.release("checkout", 1, "development", "staging")
	rel := hs.card("created release 1")
	hs.waitMessage(rel.TS, "the release pushed", func(m slackfake.Message) bool { return strings.Contains(string(m.Blocks), "pushed") })

	hook := filepath.Join(hs.bare, "hooks", "pre-receive")
	if err := os.WriteFile(hook, []byte("#!/bin/sh\necho 'maintenance' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	hs.slash("UALICE", "deploy checkout to staging")
	c := hs.card("Deployed checkout 1 to staging")
	hs.stop()
	if m, _ := hs.slack.Message(channel, c.TS); strings.Contains(string(m.Blocks), "pushed to the env repo") {
		t.Fatal("the card shows a push the remote refused")
	}
	if err := os.Remove(hook); err != nil {
		t.Fatal(err)
	}
	n := hs.slack.Connections()
	hs.run()
	hs.slack.WaitConnected(t, n+1)
	hs.waitMessage(c.TS, "the card of the action before the restart shows the push", func(m slackfake.Message) bool {
		return strings.Contains(string(m.Blocks), "pushed to the env repo")
	})
	// The commit that deployed checkout to staging (a later one may re-render the
	// environments' config after the restart).
	commit := hs.git("log", "-1", "--format=%H", "main", "--", "environments/staging/applications/checkout")
	hs.thread(c.TS, commit)
	if got := hs.git("log", "-1", "--format=%an <%ae>", commit); got != "alice <alice@example.com>" {
		t.Errorf("the deploy commit is authored by %q, want the Slack user", got)
	}
}

// TestUnlockFromListing: `locks` answers the asker alone, with an Unlock button per lock; the
// click removes that lock and posts a card in the channel.
func TestUnlockFromListing(t *testing.T) {
	hs := start(t)
	t.Cleanup(func() { dump(t, hs) })
	hs.slack.WaitConnected(t, 1)
	hs.slash("UALICE", `lock staging "db move" --id dbmove`)
	hs.card("db move")
	hs.slash("UALICE", "locks")
	e := hs.ephemeral("UALICE", "dbmove")
	un := buttons(t, e, "Unlock dbmove")
	if len(un) != 1 {
		t.Fatalf("buttons of the listing: %s", e.Blocks)
	}
	id := hs.slack.BlockAction(slackfake.BlockAction{UserID: "UALICE", ChannelID: channel, MessageTS: e.TS,
		ActionID: un[0].ActionID, BlockID: un[0].BlockID, Value: un[0].Value})
	hs.slack.WaitAck(t, id)
	hs.card("🔓")
	st, err := hs.h.State(t.Context())
	if err != nil || len(st.Locks) != 0 {
		t.Errorf("locks after Unlock: %+v, %v", st.Locks, err)
	}
}

// TestFailureOnTheCard: someone put a file where the deployment's directory belongs; the
// writer sets the change aside, and the card turns ❌ with the reason, in its thread too.
func TestFailureOnTheCard(t *testing.T) {
	hs := start(t)
	t.Cleanup(func() { dump(t, hs) })
	hs.slack.WaitConnected(t, 1)
	hs.release("checkout", 1, "development", "staging")
	rel := hs.card("created release 1")
	hs.waitMessage(rel.TS, "the release pushed", func(m slackfake.Message) bool { return strings.Contains(string(m.Blocks), "pushed") })
	clone := filepath.Join(t.TempDir(), "clone")
	gitCLI(t, "", "clone", "-q", hs.bare, clone)
	if err := os.MkdirAll(filepath.Join(clone, "environments/staging/applications"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(clone, "environments/staging/applications/checkout"), []byte("a file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitCLI(t, clone, "add", "-A")
	gitCLI(t, clone, "-c", "user.name=x", "-c", "user.email=x@example.com", "commit", "-qm", "a file in the way")
	gitCLI(t, clone, "push", "-q", "origin", "HEAD:main")

	hs.slash("UALICE", "deploy checkout to staging")
	c := hs.card("Deployed checkout 1 to staging")
	hs.waitMessage(c.TS, "the card shows the failure", func(m slackfake.Message) bool {
		return strings.Contains(string(m.Blocks), "❌ *checkout*") && strings.Contains(string(m.Blocks), "not applied to the env repo")
	})
	hs.thread(c.TS, "could not be applied")
}

func gitCLI(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// TestTrainFromSlack: a prognosis is answered to the asker; the train posts a card with a row
// per deployment that follows its push, the skipped apps in its thread.
func TestTrainFromSlack(t *testing.T) {
	hs := start(t)
	t.Cleanup(func() { dump(t, hs) })
	hs.slack.WaitConnected(t, 1)
	hs.release("checkout", 1, "development", "staging")
	hs.release("cart", 1, "development")
	hs.slash("UALICE", "train staging --dry-run")
	hs.ephemeral("UALICE", "would deploy 1")
	hs.slash("UALICE", "train staging")
	c := hs.card("Release train to staging")
	if !strings.Contains(string(c.Blocks), "*checkout* 1 → *staging*") {
		t.Errorf("train card rows: %s", c.Blocks)
	}
	hs.thread(c.TS, "APP_DOES_NOT_EXIST_IN_ENV")
	hs.waitMessage(c.TS, "the train pushed", func(m slackfake.Message) bool { return strings.Contains(string(m.Blocks), "pushed to the env repo") })
	if v := hs.running("staging", "checkout"); v != 1 {
		t.Errorf("staging runs %d after the train", v)
	}
}

// TestCatchUpTrain: the card of an unlock offers a catch-up train into the environment; the
// click runs exactly that train for the clicker, with their permissions.
func TestCatchUpTrain(t *testing.T) {
	hs := start(t)
	t.Cleanup(func() { dump(t, hs) })
	hs.slack.WaitConnected(t, 1)
	hs.slash("UALICE", `lock staging "tests red" --id red`)
	hs.card("tests red")
	hs.release("checkout", 1, "development", "staging")
	hs.slash("UALICE", "unlock red")
	c := hs.card("Removed 1 lock")
	btn := buttons(t, c, "Run catch-up train to staging")
	if len(btn) != 1 {
		t.Fatalf("unlock card buttons: %s", c.Blocks)
	}
	hs.click("UMALLORY", c, btn[0])
	hs.ephemeral("UMALLORY", "you have no role")
	hs.click("UALICE", c, btn[0])
	hs.thread(c.TS, "Release train to staging")
	eventually(t, "staging caught up", func() bool { return hs.running("staging", "checkout") == 1 })
}

// TestChatQuotes: Slack turns quotes typographic and escapes <, > and &; the command reads
// as typed.
func TestChatQuotes(t *testing.T) {
	hs := start(t)
	t.Cleanup(func() { dump(t, hs) })
	hs.slack.WaitConnected(t, 1)
	hs.slash("UALICE", "lock staging “don’t ship &amp; wait for &lt;QA&gt;” --id q1")
	hs.card("q1")
	st, err := hs.h.State(t.Context())
	if err != nil || len(st.Locks) != 1 || st.Locks[0].Message != "don’t ship & wait for <QA>" {
		t.Errorf("locks: %+v, %v", st.Locks, err)
	}
}
