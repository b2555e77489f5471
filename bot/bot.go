package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"kuberpult/commands"
	"kuberpult/deploy"
	"kuberpult/policy"
)

// Executor runs commands; *commands.Handler implements it.
type Executor interface {
	Execute(ctx context.Context, r commands.Request) commands.Result
	Run(ctx context.Context, r commands.Request, cmd commands.Command) commands.Result
	Environments() deploy.Environments
	State(ctx context.Context) (deploy.State, error)
	// WindowsAt returns the windows open on env at t, the strictest first.
	WindowsAt(env deploy.Env, t time.Time) []policy.OpenWindow
	// Rollouts returns the last known Argo CD rollouts of an app ("" for all).
	Rollouts(ctx context.Context, app deploy.App) ([]deploy.Rollout, error)
	// Release returns one release (for its source commit).
	Release(ctx context.Context, app deploy.App, v deploy.Version) (deploy.Release, error)
}

// Store keeps the cards (so threads survive restarts) and the reminders sent; *store.DB
// implements it.
type Store interface {
	SaveCard(ctx context.Context, c deploy.Card) error
	Card(ctx context.Context, actionID int64) (deploy.Card, bool, error)
	ActionCommit(ctx context.Context, actionID int64) (string, error)
	Remind(ctx context.Context, name string, now time.Time) (bool, error)
}

// Options configure the bot.
type Options struct {
	AppToken string // xapp-…: Socket Mode
	BotToken string // xoxb-…: the Web API
	APIURL   string // the Web API base, "" for Slack's
	Command  string // the slash command, e.g. /kuberpult
	// DefaultChannel and TeamChannels get what happens without a person asking.
	DefaultChannel string
	TeamChannels   map[deploy.Team]string
	Exec           Executor
	Store          Store
	// ConfirmFor is how long a "Deploy anyway" question can be answered (default 1h).
	ConfirmFor time.Duration
	// CacheFor is how long users and user groups are cached (default 10m).
	CacheFor time.Duration
	// RemindEvery is how often lock lifetimes are checked (default 1m).
	RemindEvery time.Duration
	// RemindApart: Run sends no lock reminders; RunReminders does (serve runs it on the
	// leader of its replicas only).
	RemindApart bool
	// PingTimeout is how long the connection may go without a ping from Slack before the
	// bot reconnects (default 30s, as slack-go).
	PingTimeout time.Duration
	// Changelogs, when set, puts what a deployment changes in the source repository into
	// its card's thread (GitHub).
	Changelogs Changelogs
	Now        func() time.Time
	Logger     *slog.Logger
}

// Bot is the Slack adapter. Run connects it; Pushed and Observe feed it from the rest of the
// program and never block.
type Bot struct {
	o      Options
	api    *slack.Client
	log    *slog.Logger
	now    func() time.Time
	people *people
	post   *poster

	cardMu sync.Mutex
	mu     sync.Mutex
	jobs   chan func(ctx context.Context) // work handed out by Pushed and Observe
	// changelogs are posted on their own, as GitHub may be slow
	changelogs chan func(ctx context.Context)
	viewers    map[string]time.Time // who opened App Home, when
	// homeDirty: something changed since the boards were last refreshed.
	homeDirty bool
	// connected is closed once Slack took both tokens (the first connection).
	connected     chan struct{}
	connectedOnce sync.Once
}

// ErrToken is returned by Run when Slack refuses a token.
var ErrToken = errors.New("slack refused a token")

// New returns a bot.
func New(o Options) *Bot {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Command == "" {
		o.Command = "/kuberpult"
	}
	if o.ConfirmFor <= 0 {
		o.ConfirmFor = time.Hour
	}
	if o.CacheFor <= 0 {
		o.CacheFor = 10 * time.Minute
	}
	if o.RemindEvery <= 0 {
		o.RemindEvery = time.Minute
	}
	opts := []slack.Option{slack.OptionAppLevelToken(o.AppToken)}
	if o.APIURL != "" {
		u := o.APIURL
		if !strings.HasSuffix(u, "/") {
			u += "/"
		}
		opts = append(opts, slack.OptionAPIURL(u))
	}
	api := slack.New(o.BotToken, opts...)
	b := &Bot{o: o, api: api, log: o.Logger, now: o.Now,
		jobs: make(chan func(context.Context), 1024), changelogs: make(chan func(context.Context), 256), viewers: map[string]time.Time{},
		connected: make(chan struct{})}
	b.people = &people{api: api, now: o.Now, ttl: o.CacheFor, users: map[string]cached[person]{}}
	b.post = newPoster(api, o.Logger)
	return b
}

// Run connects to Slack and serves until ctx ends. A token Slack refuses is an error that
// names the token (ErrToken); lost connections are re-opened by the Socket Mode client.
func (b *Bot) Run(ctx context.Context) error {
	if _, err := b.api.AuthTestContext(ctx); err != nil {
		return fmt.Errorf("%w: slack.bot_token (xoxb-…): %v", ErrToken, err)
	}
	var opts []socketmode.Option
	if b.o.PingTimeout > 0 {
		opts = append(opts, socketmode.OptionPingInterval(b.o.PingTimeout))
	}
	client := socketmode.New(b.api, opts...)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	errc := make(chan error, 1)
	wg.Add(3)
	go func() { defer wg.Done(); errc <- client.RunContext(ctx) }()
	go func() { defer wg.Done(); b.runJobs(ctx) }()
	go func() { defer wg.Done(); b.runChangelogs(ctx) }()
	if !b.o.RemindApart {
		wg.Add(1)
		go func() { defer wg.Done(); b.RunReminders(ctx) }()
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			cancel()
			if ctx.Err() != nil && err == nil || errors.Is(err, context.Canceled) {
				return nil
			}
			if isAuthError(err) {
				return fmt.Errorf("%w: slack.app_token (xapp-…, Socket Mode): %v", ErrToken, err)
			}
			return fmt.Errorf("slack socket mode: %w", err)
		case ev, ok := <-client.Events:
			if !ok {
				return nil
			}
			if ev.Type == socketmode.EventTypeConnected {
				b.connectedOnce.Do(func() { close(b.connected) })
			}
			b.dispatch(ctx, client, ev, &wg)
		}
	}
}

func isAuthError(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	for _, code := range []string{"invalid_auth", "not_authed", "token_revoked", "account_inactive", "token_expired"} {
		if strings.Contains(s, code) {
			return true
		}
	}
	return false
}

// dispatch acknowledges an envelope at once and hands its work to a goroutine of its own,
// so that the next envelope is read (and acknowledged) without waiting.
func (b *Bot) dispatch(ctx context.Context, client *socketmode.Client, ev socketmode.Event, wg *sync.WaitGroup) {
	switch ev.Type {
	case socketmode.EventTypeConnected:
		b.log.Info("slack connected")
		return
	case socketmode.EventTypeConnectionError:
		b.log.Warn("slack connection error", "err", ev.Data)
		return
	case socketmode.EventTypeSlashCommand, socketmode.EventTypeEventsAPI, socketmode.EventTypeInteractive:
	default:
		return
	}
	if ev.Request == nil {
		return
	}
	req := *ev.Request
	var work func(ctx context.Context)
	var payload any
	switch ev.Type {
	case socketmode.EventTypeSlashCommand:
		cmd, ok := ev.Data.(slack.SlashCommand)
		if ok {
			work = func(ctx context.Context) { b.slash(ctx, req.EnvelopeID, cmd) }
		}
	case socketmode.EventTypeEventsAPI:
		work = b.event(ev)
	case socketmode.EventTypeInteractive:
		cb, ok := ev.Data.(slack.InteractionCallback)
		if ok {
			payload, work = b.interaction(ctx, cb)
		}
	}
	if payload != nil {
		client.Ack(req, payload)
	} else {
		client.Ack(req)
	}
	if work == nil {
		return
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		// Work that was acked is finished even when the bot stops meanwhile (Run waits for
		// it): a card posted but not stored could never be updated.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishWithin)
		defer cancel()
		work(wctx)
	}()
}

// finishWithin bounds how long acked work may go on after the bot was told to stop.
const finishWithin = 15 * time.Second

// Pushed is the push-event subscriber: the card of the action shows the commit.
func (b *Bot) Pushed(ev deploy.PushEvent) {
	if ev.Failed != "" {
		b.enqueue(func(ctx context.Context) { b.cardFailed(ctx, ev) })
		return
	}
	b.enqueue(func(ctx context.Context) { b.cardPushed(ctx, ev.ActionID, ev.Commit) })
	b.mu.Lock()
	b.homeDirty = true
	b.mu.Unlock()
}

// Observe hears of every committed action; what CI and the scheduler did is announced in
// the owning team's channel.
func (b *Bot) Observe(r commands.Request, res commands.Result) {
	if res.Departure != nil { // a train's card follows what anyone does to its departure
		b.enqueue(func(ctx context.Context) { b.scheduled(ctx, res) })
		return
	}
	if res.Approval != nil { // so does an approval request's
		b.enqueue(func(ctx context.Context) { b.approvalEvent(ctx, r, res) })
		return
	}
	if r.Via == deploy.ViaSlack || r.Via == deploy.ViaConsole {
		return // a person asked: the adapter that asked answers
	}
	b.enqueue(func(ctx context.Context) { b.announce(ctx, res) })
	b.mu.Lock()
	b.homeDirty = true
	b.mu.Unlock()
}

func (b *Bot) enqueue(job func(ctx context.Context)) {
	select {
	case b.jobs <- job:
	default:
		b.log.Warn("slack queue full: an update was dropped")
	}
}

// runChangelogs posts the changelogs handed out by postCard, one at a time.
func (b *Bot) runChangelogs(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case job := <-b.changelogs:
			jctx, cancel := context.WithTimeout(ctx, time.Minute)
			job(jctx)
			cancel()
		}
	}
}

// homeEvery is how often open App Home boards are refreshed at most.
const homeEvery = 5 * time.Second

func (b *Bot) runJobs(ctx context.Context) {
	t := time.NewTicker(homeEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case job := <-b.jobs:
			jctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishWithin)
			job(jctx)
			cancel()
		case <-t.C:
			b.mu.Lock()
			dirty := b.homeDirty
			b.homeDirty = false
			b.mu.Unlock()
			if dirty {
				b.refreshHomes(ctx)
			}
		}
	}
}
