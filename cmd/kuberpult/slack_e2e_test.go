package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"kuberpult/bot/slackfake"
)

// These tests run the real binary with a slack section pointing at a fake Slack: people
// talk to the bot over Socket Mode while CI talks to the HTTP API, and the env repo is
// checked with the git CLI.

const slackChannel = "C0SHOP"

// writeSlackConfig is writeConfig with a slack section for fake: the shop team's channel.
func writeSlackConfig(t *testing.T, listen string, fake *slackfake.Server) (path, bare string) {
	t.Helper()
	path, bare = writeConfig(t, listen)
	section := fmt.Sprintf("slack:\n  app_token: %s\n  bot_token: %s\n  api_url: %q\n  command: /kuberpult\n  teams: {shop: {channel: %s}}\n",
		slackfake.AppToken, slackfake.BotToken, fake.URL(), slackChannel)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(section); err != nil {
		t.Fatal(err)
	}
	return path, bare
}

// releaseBy is kuberpultCLIRelease with author as the release's source_author (the API
// caller, from the headers, stays Jane Doe).
func releaseBy(t *testing.T, base, author, app string, version int, envs ...string) *http.Request {
	t.Helper()
	req := kuberpultCLIRelease(t, base, app, version, envs...)
	body, err := io.ReadAll(req.Body)
	if err != nil {
		t.Fatal(err)
	}
	const jane = "Jane Doe <jane@example.com>"
	if bytes.Count(body, []byte(jane)) != 1 {
		t.Fatalf("the release form does not have source_author %q once:\n%s", jane, body)
	}
	out, err := http.NewRequest(req.Method, req.URL.String(), bytes.NewReader(bytes.Replace(body, []byte(jane), []byte(author), 1)))
	if err != nil {
		t.Fatal(err)
	}
	out.Header = req.Header
	return out
}

// slackCard waits for a top-level message in the channel whose text or blocks contain all
// of want.
func slackCard(t *testing.T, fake *slackfake.Server, want ...string) slackfake.Message {
	t.Helper()
	var found slackfake.Message
	waitFor(t, fmt.Sprintf("a card in %s with %q", slackChannel, want), func() bool {
		for _, m := range fake.Messages(slackChannel) {
			if containsAll(m.Text+string(m.Blocks), want...) {
				found = m
				return true
			}
		}
		return false
	})
	return found
}

// slackMessage waits until the message at ts contains all of want and returns it.
func slackMessage(t *testing.T, fake *slackfake.Server, ts string, want ...string) slackfake.Message {
	t.Helper()
	var m slackfake.Message
	waitFor(t, fmt.Sprintf("the message %s to show %q", ts, want), func() bool {
		var ok bool
		m, ok = fake.Message(slackChannel, ts)
		return ok && containsAll(m.Text+string(m.Blocks), want...)
	})
	return m
}

func containsAll(s string, want ...string) bool {
	for _, w := range want {
		if !strings.Contains(s, w) {
			return false
		}
	}
	return true
}

// dumpOnFailure stops p (unless it has exited) and logs its output and the Slack calls
// when the test failed. exited tells whether the test already waited for p.
func dumpOnFailure(t *testing.T, p *proc, fake *slackfake.Server, exited *bool) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		if !*exited {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		t.Logf("kuberpult's output:\n%s", p.logs)
		for _, c := range fake.Calls("") {
			t.Logf("slack call %s %d %v %s", c.Method, c.Status, c.Params, c.Body)
		}
	})
}

// TestSlackEndToEnd: serve with a slack section. CI's release over HTTP is announced in the
// team's channel naming its author; alice's slash command deploys, the card and its thread
// name the pushed commit, the commit is alice's; SIGTERM stops everything cleanly.
func TestSlackEndToEnd(t *testing.T) {
	fake := slackfake.New(t)
	fake.AddUser(slackfake.User{ID: "UALICE", Name: "alice", RealName: "Alice Doe", DisplayName: "alice", Email: "alice@example.com"})
	addr := freeAddr(t)
	cfgPath, bare := writeSlackConfig(t, addr, fake)
	base := "http://" + addr

	p := start(t, "", "serve", "--config", cfgPath)
	exited := false
	dumpOnFailure(t, p, fake, &exited)
	waitReady(t, base, p)
	fake.WaitConnected(t, 1)

	// CI releases; the auto-deploy to development is announced in the shop channel.
	if st := post(t, releaseBy(t, base, "Alice Doe <alice@example.com>", "checkout", 1, "development", "staging")); st != http.StatusCreated {
		t.Fatalf("release: status %d, want 201", st)
	}
	announce := slackCard(t, fake, "Released by")
	if !strings.Contains(string(announce.Blocks), `Released by \u003c@UALICE\u003e`) {
		t.Errorf("the announcement does not mention the release's author: %s", announce.Blocks)
	}
	slackMessage(t, fake, announce.TS, "pushed to the env repo as `")

	// alice deploys to staging from the channel.
	id := fake.SlashCommand(slackfake.SlashCommand{Command: "/kuberpult", Text: "deploy checkout to staging", UserID: "UALICE", ChannelID: slackChannel})
	if ack := fake.WaitAck(t, id); ack.After > 3*time.Second {
		t.Errorf("slash command acked after %s: Slack wants it within 3 s", ack.After)
	}
	c := slackCard(t, fake, "*alice*", "Deployed checkout 1 (v1.1) to staging")
	c = slackMessage(t, fake, c.TS, "pushed to the env repo as `")
	tip := git(t, bare, "rev-parse", "main")
	if want := "pushed to the env repo as `" + tip[:8] + "`"; !strings.Contains(string(c.Blocks), want) {
		t.Errorf("the card does not name the branch tip %s (%q): %s", tip, want, c.Blocks)
	}
	waitFor(t, "a thread reply naming "+tip, func() bool {
		for _, m := range fake.Thread(slackChannel, c.TS) {
			if strings.Contains(m.Text+string(m.Blocks), "Pushed to the env repo as `"+tip+"`") {
				return true
			}
		}
		return false
	})

	// The deploy's commit is alice's, made by Kuberpult.
	if got := git(t, bare, "log", "-1", "--format=%H", "main", "--", "environments/staging/applications/checkout"); got != tip {
		t.Errorf("the last commit to staging's checkout is %s, want the tip %s", got, tip)
	}
	if got := git(t, bare, "log", "-1", "--format=%an <%ae>|%cn <%ce>|%s", "main"); got != "alice <alice@example.com>|Kuberpult <kuberpult@example.com>|deploy checkout 1 to staging" {
		t.Errorf("the deploy's commit = %q, want author alice <alice@example.com>", got)
	}
	if got := git(t, bare, "show", "main:environments/staging/applications/checkout/manifests/manifests.yaml"); !strings.Contains(got, `version: "1"`) {
		t.Errorf("staging manifest:\n%s", got)
	}

	p.cmd.Process.Signal(syscall.SIGTERM)
	err := p.wait(t)
	exited = true
	if err != nil {
		t.Fatalf("serve exited with %v\n%s", err, p.logs)
	}
}

// TestSlackBadToken: a bot token Slack refuses stops serve at start-up, at once, with an
// error that names slack.bot_token.
func TestSlackBadToken(t *testing.T) {
	fake := slackfake.New(t)
	fake.RevokeTokens()
	cfgPath, _ := writeSlackConfig(t, "", fake)

	p := start(t, "", "serve", "--config", cfgPath)
	exited := false
	dumpOnFailure(t, p, fake, &exited)
	var err error
	select {
	case err = <-p.done:
		exited = true
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop within 15 s of Slack refusing its token")
	}
	if code := p.cmd.ProcessState.ExitCode(); err == nil || code != 1 {
		t.Errorf("serve exited with %v (status %d), want status 1", err, code)
	}
	if out := p.logs.String(); !strings.Contains(out, "kuberpult: ") || !strings.Contains(out, "slack.bot_token") {
		t.Errorf("serve's output does not name slack.bot_token:\n%s", out)
	}
	if n := len(fake.Calls("auth.test")); n != 1 {
		t.Errorf("%d auth.test calls, want 1 (no retries of a refused token)", n)
	}
	if n := len(fake.Calls("apps.connections.open")); n != 0 {
		t.Errorf("%d apps.connections.open calls after the bot token was refused, want 0", n)
	}
}
