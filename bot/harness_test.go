package bot_test

import (
	"context"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"kuberpult/bot"
	"kuberpult/bot/slackfake"
	"kuberpult/commands"
	"kuberpult/deploy"
	"kuberpult/gitrepo"
	"kuberpult/policy"
	"kuberpult/store"
	"kuberpult/train"
)

// The harness runs the bot as serve does: a real SQLite file, the commands Handler, the git
// writer pushing to a bare repository, and the bot connected to a fake Slack over Socket
// Mode. Only Slack is fake.

const channel = "C0SHOP"

var envs = deploy.Environments{
	"development": {Upstream: &deploy.Upstream{Latest: true}},
	"staging":     {Upstream: &deploy.Upstream{Environment: "development"}},
	"production":  {Upstream: &deploy.Upstream{Environment: "staging"}},
}

// thePolicy: developers deploy to development and staging and lock anything; releasers (the
// @releasers user group) also deploy to production.
const thePolicy = `
p, role:developer, DeployRelease, development:*, *, allow
p, role:developer, DeployRelease, staging:*, *, allow
p, role:developer, CreateLock, *:*, *, allow
p, role:developer, DeleteLock, *:*, *, allow
p, role:developer, DeployReleaseTrain, staging:*, *, allow
p, role:releaser, DeployRelease, *:*, *, allow
p, role:releaser, DeployReleaseTrain, *:*, *, allow
p, role:releaser, CreateUndeploy, *:*, *, allow
p, role:releaser, DeployUndeploy, *:*, *, allow
p, role:releaser, DeleteEnvironmentApplication, *:*, *, allow
p, role:ci, CreateRelease, *:*, *, allow
g, alice@example.com, role:developer
g, @releasers, role:releaser
g, token:ci, role:ci
g, @releasers, role:release-manager
g, alice@example.com, role:release-manager
`

type harness struct {
	t       *testing.T
	slack   *slackfake.Server
	db      *store.DB
	h       *commands.Handler
	bare    string
	dbPath  string
	stop    func()
	now     func() time.Time
	trains  []train.Scheduled // scheduled trains of the handler
	windows policy.Windows    // windows of the handler
	bot     *bot.Bot          // the running bot
}

type option func(*bot.Options)

func start(t *testing.T, opts ...option) *harness {
	t.Helper()
	hs := prepare(t)
	hs.run(opts...)
	return hs
}

// prepare makes the fake Slack and the bare remote; run starts the program.
func prepare(t *testing.T) *harness {
	t.Helper()
	dir := t.TempDir()
	hs := &harness{t: t, slack: slackfake.New(t), bare: filepath.Join(dir, "env.git"), dbPath: filepath.Join(dir, "k.db")}
	hs.slack.AddUser(slackfake.User{ID: "UALICE", Name: "alice", RealName: "Alice Doe", DisplayName: "alice", Email: "alice@example.com"})
	hs.slack.AddUser(slackfake.User{ID: "UBOB", Name: "bob", RealName: "Bob Roe", DisplayName: "bob", Email: "bob@example.com"})
	hs.slack.AddUser(slackfake.User{ID: "UMALLORY", Name: "mallory", DisplayName: "mallory", Email: "mallory@example.com"})
	hs.slack.AddGroup(slackfake.Group{ID: "S1", Handle: "releasers", Name: "Releasers", Users: []string{"UBOB"}})
	if out, err := exec.Command("git", "init", "--bare", "-q", "-b", "main", hs.bare).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v %s", err, out)
	}
	return hs
}

// run starts the program on the harness's database and remote; stop ends it.
func (hs *harness) run(opts ...option) {
	t := hs.t
	ctx, cancel := context.WithCancel(context.Background())
	db, err := store.Open(ctx, hs.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	pol, err := policy.New(policy.Config{Policy: thePolicy})
	if err != nil {
		t.Fatal(err)
	}
	var b *bot.Bot
	w, err := gitrepo.Open(ctx, gitrepo.Options{URL: hs.bare, Holder: "test", PollInterval: 50 * time.Millisecond,
		OnPush: func(ev deploy.PushEvent) { b.Pushed(ev) }})
	if err != nil {
		t.Fatal(err)
	}
	h := commands.New(commands.Options{Store: db, Environments: envs, Policy: pol, Notify: w.Notify, Trains: hs.trains, Windows: hs.windows, Now: hs.now,
		Observe: func(r commands.Request, res commands.Result) { b.Observe(r, res) }})
	o := bot.Options{AppToken: slackfake.AppToken, BotToken: slackfake.BotToken, APIURL: hs.slack.URL(),
		TeamChannels: map[deploy.Team]string{"shop": channel}, Exec: h, Store: db, RemindEvery: time.Hour,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if hs.now != nil {
		o.Now = hs.now
	}
	for _, f := range opts {
		f(&o)
	}
	b = bot.New(o)
	if err := h.SyncEnvironments(ctx, deploy.ViaScheduler); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{}, 2)
	go func() { _ = w.Run(ctx, db); done <- struct{}{} }()
	go func() {
		if err := b.Run(ctx); err != nil {
			t.Errorf("bot.Run: %v", err)
		}
		done <- struct{}{}
	}()
	hs.db, hs.h, hs.bot = db, h, b
	stopped := false
	hs.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		<-done
		<-done
		db.Close()
	}
	t.Cleanup(hs.stop)
}

// restart stops the program and starts it again on the same database and remote.
func (hs *harness) restart(opts ...option) {
	hs.stop()
	n := hs.slack.Connections()
	hs.run(opts...)
	hs.slack.WaitConnected(hs.t, n+1)
}

// release registers a release like CI does, through the same handler as the API.
func (hs *harness) release(app string, v int, envs ...string) commands.Result {
	hs.t.Helper()
	m := map[string]string{}
	for _, e := range envs {
		m[e] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + app + "\ndata:\n  v: \"" + itoa(v) + "\"\n"
	}
	res := hs.h.CreateRelease(context.Background(),
		commands.Request{Actor: deploy.Actor{Kind: deploy.ActorAPI, ID: "ci", Name: "ci"}, Via: deploy.ViaAPI},
		commands.ReleaseRequest{Application: app, Version: itoa(v), Team: "shop", Manifests: m,
			SourceAuthor: "Alice Doe <alice@example.com>"})
	if res.Problem != nil {
		hs.t.Fatalf("release %s %d: %s", app, v, res.Problem.Message)
	}
	return res
}

func itoa(v int) string { return strconv.Itoa(v) }

// slash sends a slash command from user in the shop channel and waits for its ack.
func (hs *harness) slash(user, text string) string {
	hs.t.Helper()
	id := hs.slack.SlashCommand(slackfake.SlashCommand{Command: "/kuberpult", Text: text, UserID: user, ChannelID: channel})
	ack := hs.slack.WaitAck(hs.t, id)
	if ack.After > 3*time.Second {
		hs.t.Errorf("ack after %s: Slack wants it within 3 s", ack.After)
	}
	return id
}

// git runs git on the bare remote.
func (hs *harness) git(args ...string) string {
	hs.t.Helper()
	out, err := exec.Command("git", append([]string{"--git-dir", hs.bare}, args...)...).CombinedOutput()
	if err != nil {
		hs.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// card waits for a top-level message in the channel whose text or blocks contain want.
func (hs *harness) card(want string) slackfake.Message {
	hs.t.Helper()
	var found slackfake.Message
	eventually(hs.t, "a card with "+want, func() bool {
		for _, m := range hs.slack.Messages(channel) {
			if strings.Contains(m.Text+string(m.Blocks), want) {
				found = m
				return true
			}
		}
		return false
	})
	return found
}

// thread waits for a reply in the thread of ts that contains want.
func (hs *harness) thread(ts, want string) slackfake.Message {
	hs.t.Helper()
	var found slackfake.Message
	eventually(hs.t, "a thread reply with "+want, func() bool {
		for _, m := range hs.slack.Thread(channel, ts) {
			if strings.Contains(m.Text+string(m.Blocks), want) {
				found = m
				return true
			}
		}
		return false
	})
	return found
}

// ephemeral waits for an ephemeral answer to user that contains want.
func (hs *harness) ephemeral(user, want string) slackfake.Message {
	hs.t.Helper()
	var found slackfake.Message
	eventually(hs.t, "an answer to "+user+" with "+want, func() bool {
		for _, m := range hs.slack.Ephemerals(user) {
			if strings.Contains(m.Text+string(m.Blocks), want) {
				found = m
				return true
			}
		}
		return false
	})
	return found
}

// eventually polls ok until it holds (10 s at most).
func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	for !ok() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// waitMessage waits until the message at ts satisfies ok and returns it.
func (hs *harness) waitMessage(ts, what string, ok func(m slackfake.Message) bool) slackfake.Message {
	hs.t.Helper()
	var m slackfake.Message
	eventually(hs.t, what, func() bool {
		var found bool
		m, found = hs.slack.Message(channel, ts)
		return found && ok(m)
	})
	return m
}

// testWriter sends log lines to the test's log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
