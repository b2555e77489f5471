package slackfake

import (
	"encoding/json"
	"slices"
)

// Message is the current state of a message the bot posted.
type Message struct {
	Channel string
	TS      string
	// ThreadTS is the parent's ts for thread replies, "" for top-level
	// messages.
	ThreadTS string
	Text     string
	// Blocks is the JSON array of blocks, nil when the message has none.
	Blocks json.RawMessage
	// User is the author (BotUserID) for posted messages, and the recipient
	// for ephemeral ones.
	User string
	// Ephemeral marks messages posted with chat.postEphemeral.
	Ephemeral bool
}

// View is a view the bot opened, pushed, published or updated.
type View struct {
	ID string
	// Type is "modal" or "home".
	Type string
	// User is the user the view belongs to: the user_id of views.publish, or
	// the user of the trigger_id given to views.open ("" for trigger ids the
	// fake did not issue or was not told about).
	User            string
	CallbackID      string
	PrivateMetadata string
	// Blocks is the JSON array of the view's blocks.
	Blocks json.RawMessage
	// Raw is the complete view object as the fake returned it.
	Raw json.RawMessage
}

// msgKey identifies a message.
type msgKey struct{ channel, ts string }

// store holds the messages and views; it is guarded by Server.mu.
type store struct {
	messages   map[msgKey]*Message
	top        map[string][]string // channel → ts of top-level messages
	threads    map[msgKey][]string // (channel, parent ts) → ts of replies
	ephemerals map[string][]msgKey // recipient → ephemeral messages
	views      []*View
}

func newStore() store {
	return store{
		messages:   map[msgKey]*Message{},
		top:        map[string][]string{},
		threads:    map[msgKey][]string{},
		ephemerals: map[string][]msgKey{},
	}
}

// add stores a new message.
func (st *store) add(m Message) {
	k := msgKey{m.Channel, m.TS}
	st.messages[k] = &m
	switch {
	case m.Ephemeral:
		st.ephemerals[m.User] = append(st.ephemerals[m.User], k)
	case m.ThreadTS != "" && m.ThreadTS != m.TS:
		parent := msgKey{m.Channel, m.ThreadTS}
		st.threads[parent] = append(st.threads[parent], m.TS)
	default:
		st.top[m.Channel] = append(st.top[m.Channel], m.TS)
	}
}

// message returns the stored message or nil.
func (st *store) message(channel, ts string) *Message {
	return st.messages[msgKey{channel, ts}]
}

// remove deletes a message (chat.delete); lists skip it from then on.
func (st *store) remove(channel, ts string) {
	delete(st.messages, msgKey{channel, ts})
}

// list returns copies of the still existing messages of a channel by ts.
func (st *store) list(channel string, tss []string) []Message {
	var out []Message
	for _, ts := range tss {
		if m := st.message(channel, ts); m != nil {
			out = append(out, *m)
		}
	}
	return out
}

// view returns the view with the id or nil.
func (st *store) view(id string) *View {
	for _, v := range st.views {
		if v.ID == id {
			return v
		}
	}
	return nil
}

// homeView returns the published home view of a user or nil.
func (st *store) homeView(user string) *View {
	for _, v := range st.views {
		if v.Type == "home" && v.User == user {
			return v
		}
	}
	return nil
}

// Message returns the current state of a message (after any chat.update),
// including ephemeral ones.
func (s *Server) Message(channel, ts string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.store.message(channel, ts)
	if m == nil {
		return Message{}, false
	}
	return *m, true
}

// Messages returns the top-level (non-thread, non-ephemeral) messages of a
// channel, in posting order. Messages posted to a user id ("U…") are stored
// under the DM channel "D"+user id, as Slack does.
func (s *Server) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.store.list(channel, s.store.top[channel])
}

// Thread returns the replies in the thread of the message ts, in order (the
// parent itself is not included).
func (s *Server) Thread(channel, ts string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.store.list(channel, s.store.threads[msgKey{channel, ts}])
}

// Ephemerals returns the chat.postEphemeral messages to user, in order.
func (s *Server) Ephemerals(user string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, k := range s.store.ephemerals[user] {
		if m := s.store.messages[k]; m != nil {
			out = append(out, *m)
		}
	}
	return out
}

// Views returns the views of user in the order they were first opened or
// published; views.update replaces a view in place.
func (s *Server) Views(user string) []View {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []View
	for _, v := range s.store.views {
		if v.User == user {
			c := *v
			c.Blocks = slices.Clone(v.Blocks)
			c.Raw = slices.Clone(v.Raw)
			out = append(out, c)
		}
	}
	return out
}
