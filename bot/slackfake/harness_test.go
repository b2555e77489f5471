package slackfake_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"kuberpult/bot/slackfake"
)

// bot is slack-go's real Socket Mode client running against the fake.
type bot struct {
	t      *testing.T
	api    *slack.Client
	client *socketmode.Client
	events chan socketmode.Event
	runErr error
	done   chan struct{} // closed when RunContext returned
}

// newAPI returns a slack-go Web API client for the fake.
func newAPI(s *slackfake.Server, botToken, appToken string) *slack.Client {
	return slack.New(botToken, slack.OptionAppLevelToken(appToken), slack.OptionAPIURL(s.URL()))
}

// startBot runs socketmode.Client.RunContext until the test ends and
// forwards the client's events to b.events.
func startBot(t *testing.T, s *slackfake.Server, appToken string, opts ...socketmode.Option) *bot {
	t.Helper()
	api := newAPI(s, slackfake.BotToken, appToken)
	b := &bot{
		t:      t,
		api:    api,
		client: socketmode.New(api, opts...),
		events: make(chan socketmode.Event, 1000),
		done:   make(chan struct{}),
	}
	ctx, cancel := context.WithCancel(context.Background())
	stop := make(chan struct{})
	go func() {
		defer close(b.done)
		b.runErr = b.client.RunContext(ctx)
	}()
	go func() {
		for {
			select {
			case ev := <-b.client.Events:
				select {
				case b.events <- ev:
				default: // the test is not interested any more
				}
			case <-stop:
				return
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-b.done:
		case <-time.After(10 * time.Second):
			t.Error("RunContext did not return after cancel")
		}
		close(stop)
	})
	return b
}

// next returns the next client event of the type, skipping others.
func (b *bot) next(typ socketmode.EventType) socketmode.Event {
	b.t.Helper()
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case ev := <-b.events:
			if ev.Type == typ {
				return ev
			}
		case <-timeout.C:
			b.t.Fatalf("no %s event within 10s", typ)
		}
	}
}

// wait returns RunContext's error once it returned.
func (b *bot) wait() error {
	b.t.Helper()
	select {
	case <-b.done:
		return b.runErr
	case <-time.After(10 * time.Second):
		b.t.Fatal("RunContext did not return within 10s")
		return nil
	}
}

// ack acks the request of an event, failing the test on error.
func (b *bot) ack(ev socketmode.Event, payload ...any) {
	b.t.Helper()
	if ev.Request == nil {
		b.t.Fatalf("event %s has no request", ev.Type)
	}
	if err := b.client.Ack(*ev.Request, payload...); err != nil {
		b.t.Fatalf("ack: %v", err)
	}
}

// jsonEqual fails unless got is the same JSON as want.
func jsonEqual(t *testing.T, got json.RawMessage, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("invalid JSON %q: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("invalid wanted JSON %q: %v", want, err)
	}
	gs, _ := json.Marshal(g)
	ws, _ := json.Marshal(w)
	if string(gs) != string(ws) {
		t.Fatalf("JSON differs:\n got %s\nwant %s", gs, ws)
	}
}
