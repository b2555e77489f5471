package bot_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"kuberpult/bot"
	"kuberpult/commands"
	"kuberpult/deploy"
	"kuberpult/github"
	"kuberpult/github/githubfake"
	"kuberpult/train"
)

func ghSHA(n int) string { return fmt.Sprintf("%07d%s", n, strings.Repeat("c", 33)) }

// changelogWorld is a fake GitHub with commits 1..4 (3 by someone unknown to Slack, in PR
// #7) and the bot using it.
func changelogWorld(t *testing.T) (*githubfake.Server, *harness) {
	t.Helper()
	fake, gh := changelogGitHub(t)
	return fake, start(t, func(o *bot.Options) { o.Changelogs = gh })
}

func changelogGitHub(t *testing.T) (*githubfake.Server, *github.Client) {
	t.Helper()
	fake := githubfake.New(t, "acme/shop")
	for i := 1; i <= 4; i++ {
		c := githubfake.Commit{SHA: ghSHA(i), Message: fmt.Sprintf("change %d", i), AuthorName: "Alice Doe", AuthorEmail: "alice@example.com", AuthorLogin: "alice",
			Date: time.Date(2026, 12, 1, 9, i, 0, 0, time.UTC)}
		if i == 3 {
			c.AuthorName, c.AuthorEmail, c.AuthorLogin = "Stranger", "stranger@example.org", ""
		}
		fake.AddCommit(c)
	}
	fake.AddPull(7, "Round <half> up", "alice", ghSHA(3))
	gh, err := github.New(github.Options{Repo: "acme/shop", Token: fake.Token(), APIURL: fake.URL()})
	if err != nil {
		t.Fatal(err)
	}
	return fake, gh
}

// sourced releases app v built from commit with manifests for envs.
func (hs *harness) sourced(app string, v int, commit string, envs ...string) {
	hs.t.Helper()
	m := map[string]string{}
	for _, e := range envs {
		m[e] = fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  v: \"%d\"\n", app, v)
	}
	res := hs.h.CreateRelease(context.Background(), commands.Request{Actor: deploy.Actor{Kind: deploy.ActorAPI, ID: "ci", Name: "ci"}, Via: deploy.ViaAPI},
		commands.ReleaseRequest{Application: app, Version: fmt.Sprint(v), Team: "shop", Manifests: m, SourceCommitID: commit})
	if res.Problem != nil {
		hs.t.Fatalf("release %s %d: %s", app, v, res.Problem.Message)
	}
}

// TestChangelogInTheThread: a deploy's thread says what it brings (grouped by pull request,
// authors mentioned when their email is a Slack user's), a rollback what it takes out, a
// first deployment that there is nothing to compare, and GitHub down that the changelog is
// unavailable — the deployment itself is not affected.
func TestChangelogInTheThread(t *testing.T) {
	fake, hs := changelogWorld(t)
	for v, commit := range map[int]string{1: ghSHA(1), 2: ghSHA(4), 3: ""} {
		hs.sourced("checkout", v, commit, "staging")
	}

	hs.slash("UALICE", "deploy checkout 1 to staging")
	first := hs.card("*checkout* 1 → *staging*")
	hs.thread(first.TS, "*checkout* 0 → 1: its first deployment there")

	hs.slash("UALICE", "deploy checkout 2 to staging")
	second := hs.card("*checkout* 2 → *staging*")
	log := hs.thread(second.TS, "*checkout* 1 → 2 brings 3 commits")
	for _, want := range []string{"change 4 — <@UALICE>", "#7> Round &lt;half&gt; up by alice", "change 3 — Stranger", "change 2 — <@UALICE>"} {
		if !strings.Contains(log.Text, want) {
			t.Errorf("the changelog lacks %q:\n%s", want, log.Text)
		}
	}
	if i, j := strings.Index(log.Text, "change 4"), strings.Index(log.Text, "change 2"); i < 0 || j < i {
		t.Errorf("not newest first:\n%s", log.Text)
	}

	hs.slash("UALICE", "rollback checkout on staging --force")
	back := hs.card("back from 2 to 1")
	hs.thread(back.TS, "*checkout* 2 → 1 takes out 3 commits")

	fake.FailNext(502, 10)
	hs.slash("UALICE", "deploy checkout 2 to staging --force")
	found := false
	for deadline := time.Now().Add(10 * time.Second); !found && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, m := range hs.slack.Messages(channel) {
			for _, r := range hs.slack.Thread(channel, m.TS) {
				found = found || strings.Contains(r.Text, "*checkout* 1 → 2: changelog unavailable — GitHub did not answer")
			}
		}
	}
	if !found {
		t.Error("no thread says the changelog is unavailable")
		for _, m := range hs.slack.Messages(channel) {
			t.Logf("card: %s", m.Text)
			for _, r := range hs.slack.Thread(channel, m.TS) {
				t.Logf("   reply: %s", r.Text)
			}
		}
	}
	eventually(t, "the deployment pushed during GitHub's outage", func() bool {
		return strings.Contains(hs.git("log", "-1", "--format=%s", "main"), "checkout 2")
	})

	hs.slash("UALICE", "deploy checkout 3 to staging --force")
	third := hs.card("Deployed checkout 3 to staging")
	hs.thread(third.TS, "*checkout* 2 → 3: no changelog — the release has no source commit.")
}

// TestChangelogOfATrain: a train's thread has a changelog per app it moves; GitHub failing
// for one of them says so for that app alone, and the train is not affected.
func TestChangelogOfATrain(t *testing.T) {
	fake, hs := changelogWorld(t)
	for _, app := range []string{"cart", "checkout"} {
		hs.sourced(app, 1, ghSHA(1), "development", "staging")
		hs.slash("UALICE", "deploy "+app+" 1 to staging")
		hs.card("Deployed " + app + " 1 to staging")
		hs.sourced(app, 2, ghSHA(4), "development", "staging") // on development at once
	}
	fake.FailNext(502, 1) // the first question: cart's comparison
	hs.slash("UALICE", "train staging")
	c := hs.card("Release train to staging")
	hs.thread(c.TS, "*cart* 1 → 2: changelog unavailable — GitHub did not answer")
	log := hs.thread(c.TS, "*checkout* 1 → 2 brings 3 commits")
	if !strings.Contains(log.Text, "change 4 — <@UALICE>") {
		t.Errorf("train changelog:\n%s", log.Text)
	}
	eventually(t, "the train pushed", func() bool { return hs.running("staging", "cart") == 2 && hs.running("staging", "checkout") == 2 })
	// CI's release cards (the auto-deploys to development) have no changelog.
	for _, m := range hs.slack.Messages(channel) {
		for _, r := range hs.slack.Thread(channel, m.TS) {
			if strings.Contains(r.Text, "brings") && m.TS != c.TS {
				t.Errorf("a changelog outside the train's thread, under %q: %s", m.Text, r.Text)
			}
		}
	}
}

// TestChangelogOfAnAnnouncement: a scheduled train's announcement says, before it leaves,
// what each app it would move brings.
func TestChangelogOfAnAnnouncement(t *testing.T) {
	_, gh := changelogGitHub(t)
	hs := prepare(t)
	hs.trains = []train.Scheduled{nightly(t)}
	clk := &clock{t: time.Now()}
	hs.now = clk.now
	hs.run(func(o *bot.Options) { o.Changelogs = gh })
	hs.sourced("checkout", 1, ghSHA(1), "development", "staging", "production")
	hs.sourced("checkout", 2, ghSHA(4), "development", "staging", "production")
	for _, text := range []string{"deploy checkout 1 to production", "deploy checkout 2 to staging"} {
		if res := hs.h.Execute(context.Background(), commands.Request{Actor: deploy.System, Via: deploy.ViaScheduler, Text: text}); !res.OK() {
			t.Fatalf("%s: %s", text, res.Outcome)
		}
	}
	slot := hs.trains[0].Schedule.Next(clk.now())
	clk.set(slot.Add(-30 * time.Minute))
	hs.fire(train.Announce, "nightly", slot)
	ann := hs.card("📣 *Train nightly* to *production* departs")
	hs.thread(ann.TS, "*checkout* 1 → 2 brings 3 commits")
}
