package bot

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/slack-go/slack"
)

// poster makes the Web API calls that post to channels: one after another per channel (so a
// card is there before its thread reply and its update), waiting out HTTP 429 with the
// Retry-After Slack gives.
type poster struct {
	api *slack.Client
	log *slog.Logger

	mu    sync.Mutex
	chans map[string]*sync.Mutex
}

func newPoster(api *slack.Client, log *slog.Logger) *poster {
	return &poster{api: api, log: log, chans: map[string]*sync.Mutex{}}
}

// maxRetries bounds how often one call is retried after 429.
const maxRetries = 5

// do runs call for channel in order with the channel's other calls, retrying after 429.
func (p *poster) do(ctx context.Context, channel string, call func(ctx context.Context) error) error {
	p.mu.Lock()
	m, ok := p.chans[channel]
	if !ok {
		m = &sync.Mutex{}
		p.chans[channel] = m
	}
	p.mu.Unlock()
	m.Lock()
	defer m.Unlock()
	for attempt := 0; ; attempt++ {
		err := call(ctx)
		var rl *slack.RateLimitedError
		if !errors.As(err, &rl) || attempt == maxRetries {
			return err
		}
		wait := rl.RetryAfter
		if wait <= 0 {
			wait = time.Second
		}
		p.log.Warn("slack rate limit", "channel", channel, "retry_after", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// message posts a message (into a thread when thread is set) and returns its ts.
func (p *poster) message(ctx context.Context, channel, thread, text string, blocks []slack.Block) (string, error) {
	var ts string
	err := p.do(ctx, channel, func(ctx context.Context) error {
		opts := []slack.MsgOption{slack.MsgOptionText(text, false)}
		if len(blocks) > 0 {
			opts = append(opts, slack.MsgOptionBlocks(blocks...))
		}
		if thread != "" {
			opts = append(opts, slack.MsgOptionTS(thread))
		}
		var err error
		_, ts, err = p.api.PostMessageContext(ctx, channel, opts...)
		return err
	})
	return ts, err
}

// reply posts into the thread of ts, also to the channel when broadcast (Slack's "also
// send to channel").
func (p *poster) reply(ctx context.Context, channel, ts, text string, blocks []slack.Block, broadcast bool) error {
	return p.do(ctx, channel, func(ctx context.Context) error {
		opts := []slack.MsgOption{slack.MsgOptionText(text, false), slack.MsgOptionTS(ts)}
		if len(blocks) > 0 {
			opts = append(opts, slack.MsgOptionBlocks(blocks...))
		}
		if broadcast {
			opts = append(opts, slack.MsgOptionBroadcast())
		}
		_, _, err := p.api.PostMessageContext(ctx, channel, opts...)
		return err
	})
}

// update replaces a message.
func (p *poster) update(ctx context.Context, channel, ts, text string, blocks []slack.Block) error {
	return p.do(ctx, channel, func(ctx context.Context) error {
		_, _, _, err := p.api.UpdateMessageContext(ctx, channel, ts, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...))
		return err
	})
}

// ephemeral shows a message to one user in a channel (in a DM, a plain message).
func (p *poster) ephemeral(ctx context.Context, channel, user, text string, blocks []slack.Block) error {
	return p.do(ctx, channel, func(ctx context.Context) error {
		opts := []slack.MsgOption{slack.MsgOptionText(text, false)}
		if len(blocks) > 0 {
			opts = append(opts, slack.MsgOptionBlocks(blocks...))
		}
		if len(channel) > 0 && channel[0] == 'D' {
			_, _, err := p.api.PostMessageContext(ctx, channel, opts...)
			return err
		}
		_, err := p.api.PostEphemeralContext(ctx, channel, user, opts...)
		return err
	})
}
