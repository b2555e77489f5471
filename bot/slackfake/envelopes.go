package slackfake

import (
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"
)

// envelope is one Socket Mode request, kept for redelivery and acks.
type envelope struct {
	id           string
	typ          string
	payload      json.RawMessage
	accepts      bool
	retryAttempt int
	retryReason  string
	requested    time.Time // when the latest (re)delivery was asked for
	lastSent     time.Time // when it was last written to a websocket
}

// frameLocked renders the envelope as Slack sends it.
func (e *envelope) frameLocked() []byte {
	frame, _ := json.Marshal(map[string]any{
		"envelope_id":              e.id,
		"type":                     e.typ,
		"payload":                  e.payload,
		"accepts_response_payload": e.accepts,
		"retry_attempt":            e.retryAttempt,
		"retry_reason":             e.retryReason,
	})
	return frame
}

// SlashCommand is a slash command invocation.
type SlashCommand struct {
	// Command defaults to "/kuberpult".
	Command string
	Text    string
	UserID  string
	// UserName defaults to the name of the known user, else UserID.
	UserName  string
	ChannelID string
	// TeamID defaults to TeamID.
	TeamID string
	// TriggerID is generated when empty.
	TriggerID string
	// ResponseURL defaults to a URL of the fake that records posts as calls
	// of method "response_url".
	ResponseURL string
}

// send creates an envelope and dispatches it.
func (s *Server) send(typ string, accepts bool, build func() any) string {
	s.mu.Lock()
	payload, err := json.Marshal(build())
	if err != nil {
		s.mu.Unlock()
		s.t.Errorf("slackfake: marshalling %s payload: %v", typ, err)
		return ""
	}
	env := &envelope{
		id:        fmt.Sprintf("env-%d", s.nextLocked("envelope")),
		typ:       typ,
		payload:   payload,
		accepts:   accepts,
		requested: time.Now(),
	}
	s.envelopes[env.id] = env
	d := delivery{env: env, frame: env.frameLocked()}
	s.mu.Unlock()
	s.dispatch(d)
	return env.id
}

// responseURLLocked returns a new response_url served by the fake.
func (s *Server) responseURLLocked() string {
	return fmt.Sprintf("%s/response/%d", s.http.URL, s.nextLocked("response"))
}

// SlashCommand sends a "slash_commands" envelope (accepts_response_payload
// true) whose payload is the command's form fields as JSON, and returns the
// envelope id.
func (s *Server) SlashCommand(c SlashCommand) string {
	return s.send("slash_commands", true, func() any {
		if c.Command == "" {
			c.Command = "/kuberpult"
		}
		if c.TeamID == "" {
			c.TeamID = TeamID
		}
		if c.UserName == "" {
			c.UserName = s.userNameLocked(c.UserID)
		}
		if c.TriggerID == "" {
			c.TriggerID = s.newTriggerLocked(c.UserID)
		} else {
			s.rememberTriggerLocked(c.TriggerID, c.UserID)
		}
		if c.ResponseURL == "" {
			c.ResponseURL = s.responseURLLocked()
		}
		return map[string]string{
			"token":                 VerificationToken,
			"team_id":               c.TeamID,
			"team_domain":           "fake",
			"channel_id":            c.ChannelID,
			"channel_name":          channelName(c.ChannelID),
			"user_id":               c.UserID,
			"user_name":             c.UserName,
			"command":               c.Command,
			"text":                  c.Text,
			"api_app_id":            AppID,
			"is_enterprise_install": "false",
			"response_url":          c.ResponseURL,
			"trigger_id":            c.TriggerID,
		}
	})
}

// channelName is the name Slack would report for a channel id.
func channelName(id string) string {
	if strings.HasPrefix(id, "D") {
		return "directmessage"
	}
	return strings.ToLower(id)
}

// Event sends an "events_api" envelope whose payload is the event_callback
// wrapper around inner, and returns the envelope id. inner is copied; its
// "event_ts" is filled in when missing. Every event gets a unique event_id.
func (s *Server) Event(inner map[string]any) string {
	return s.send("events_api", false, func() any {
		ev := maps.Clone(inner)
		if ev == nil {
			ev = map[string]any{}
		}
		if _, ok := ev["event_ts"]; !ok {
			if ts, ok := ev["ts"]; ok {
				ev["event_ts"] = ts
			} else {
				ev["event_ts"] = s.newTSLocked()
			}
		}
		return map[string]any{
			"token":                 VerificationToken,
			"team_id":               TeamID,
			"api_app_id":            AppID,
			"event":                 ev,
			"type":                  "event_callback",
			"event_id":              fmt.Sprintf("Ev%08d", s.nextLocked("event")),
			"event_time":            time.Now().Unix(),
			"event_context":         "fake-context",
			"is_ext_shared_channel": false,
			"authorizations": []map[string]any{{
				"team_id":               TeamID,
				"user_id":               BotUserID,
				"is_bot":                true,
				"is_enterprise_install": false,
			}},
		}
	})
}

// newTS returns a fresh message timestamp.
func (s *Server) newTS() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newTSLocked()
}

// AppMention sends an "app_mention" event: user mentioned the bot in
// channel. The mention gets a fresh ts (the event's "ts").
func (s *Server) AppMention(user, channel, text string) string {
	ts := s.newTS()
	return s.Event(map[string]any{
		"type":          "app_mention",
		"user":          user,
		"text":          text,
		"ts":            ts,
		"channel":       channel,
		"event_ts":      ts,
		"client_msg_id": "msg-" + ts,
	})
}

// DirectMessage sends a "message" event in the bot's DM with user (channel
// "D"+user, channel_type "im").
func (s *Server) DirectMessage(user, text string) string {
	ts := s.newTS()
	return s.Event(map[string]any{
		"type":          "message",
		"channel_type":  "im",
		"channel":       "D" + user,
		"user":          user,
		"text":          text,
		"ts":            ts,
		"event_ts":      ts,
		"client_msg_id": "msg-" + ts,
	})
}

// AppHomeOpened sends an "app_home_opened" event for the Home tab of user,
// including the user's published home view if there is one.
func (s *Server) AppHomeOpened(user string) string {
	ev := map[string]any{
		"type":    "app_home_opened",
		"user":    user,
		"channel": "D" + user,
		"tab":     "home",
	}
	s.mu.Lock()
	if v := s.store.homeView(user); v != nil {
		ev["view"] = v.Raw
	}
	s.mu.Unlock()
	return s.Event(ev)
}

// Redeliver sends the envelope again, as Slack does when an ack is late:
// same envelope_id and payload (so the same event_id for events), with
// retry_attempt one higher and retry_reason "timeout". It returns the
// envelope id, or "" (and an error on the test) for an unknown id.
func (s *Server) Redeliver(envelopeID string) string {
	s.mu.Lock()
	env, ok := s.envelopes[envelopeID]
	if !ok {
		s.mu.Unlock()
		s.t.Errorf("slackfake: Redeliver of unknown envelope %q", envelopeID)
		return ""
	}
	env.retryAttempt++
	env.retryReason = "timeout"
	env.requested = time.Now()
	d := delivery{env: env, frame: env.frameLocked()}
	s.mu.Unlock()
	s.dispatch(d)
	return envelopeID
}

// RedeliverEverywhere sends the envelope again on every live connection at once, as Slack
// may when an app has several connections (each replica of a bot opens its own) and an ack
// is late: same envelope_id and payload, retry_attempt one higher, retry_reason "timeout".
// It returns on how many connections it was sent.
func (s *Server) RedeliverEverywhere(envelopeID string) int {
	s.mu.Lock()
	env, ok := s.envelopes[envelopeID]
	if !ok {
		s.mu.Unlock()
		s.t.Errorf("slackfake: RedeliverEverywhere of unknown envelope %q", envelopeID)
		return 0
	}
	env.retryAttempt++
	env.retryReason = "timeout"
	env.requested = time.Now()
	d := delivery{env: env, frame: env.frameLocked()}
	var live []*conn
	for _, c := range s.conns {
		if !c.dead {
			live = append(live, c)
		}
	}
	s.mu.Unlock()
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	for _, c := range live {
		s.deliver(c, []delivery{d})
	}
	return len(live)
}

// WaitAck blocks until the client acked the envelope and returns that ack;
// it fails the test after 10s. After a Redeliver it waits for an ack that
// arrives after the redelivery (use Acks for all of them).
func (s *Server) WaitAck(t testing.TB, envelopeID string) Ack {
	t.Helper()
	var found Ack
	s.waitFor(t, func() bool {
		env, ok := s.envelopes[envelopeID]
		if !ok {
			return false
		}
		for _, rec := range s.acks[envelopeID] {
			if !rec.at.Before(env.requested) {
				found = rec.Ack
				return true
			}
		}
		return false
	}, func() string {
		if _, ok := s.envelopes[envelopeID]; !ok {
			return fmt.Sprintf("waiting for ack of unknown envelope %q", envelopeID)
		}
		return fmt.Sprintf("waiting for ack of envelope %q (%d earlier acks)", envelopeID, len(s.acks[envelopeID]))
	})
	return found
}

// Acks returns all acks seen for the envelope id, in order (a redelivered
// envelope may be acked more than once).
func (s *Server) Acks(envelopeID string) []Ack {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Ack
	for _, rec := range s.acks[envelopeID] {
		out = append(out, rec.Ack)
	}
	return out
}
