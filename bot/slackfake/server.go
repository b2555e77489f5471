// Package slackfake is a fake Slack for tests.
//
// It speaks the real Slack wire protocol, so that the unmodified clients of
// github.com/slack-go/slack and github.com/slack-go/slack/socketmode work
// against it:
//
//	s := slackfake.New(t)
//	api := slack.New(slackfake.BotToken,
//		slack.OptionAppLevelToken(slackfake.AppToken),
//		slack.OptionAPIURL(s.URL()))
//	client := socketmode.New(api)
//	go client.RunContext(ctx)
//	s.WaitConnected(t, 1)
//	id := s.SlashCommand(slackfake.SlashCommand{Text: "help", UserID: "U1"})
//	ack := s.WaitAck(t, id)
//
// The fake serves the Web API under URL() (every call is recorded, see
// [Server.Calls]) and a Socket Mode websocket endpoint handed out by
// apps.connections.open. Tests push envelopes (slash commands, Events API
// events, block actions, view submissions) to the bot with the methods of
// [Server] and observe what the bot does through the recorded acks, calls,
// messages and views.
//
// Fixed identities: the workspace is TeamID ("T1"), the app is AppID ("A1"),
// the bot user is BotUserID ("UBOT", name BotName "kuberpult") with bot id
// BotID ("BBOT").
//
// Behaviour of slack-go v0.35.0 worth knowing when writing tests:
//   - socketmode treats every "disconnect" message alike, whatever its reason:
//     it closes the websocket and reconnects through apps.connections.open.
//     That includes "link_disabled", which on the real Slack means Socket
//     Mode was switched off; slack-go still reconnects (and the fake lets it).
//   - socketmode's ping timeout (socketmode.OptionPingInterval, default 30s)
//     is checked on a ticker of that period, and a connection that has not
//     seen any ping yet fails the first tick. So the fake's ping interval
//     (SetPingInterval, default 5s) must be well below the client's, and with
//     pings off the client reconnects after one to two of its intervals.
//   - apps.connections.open answering invalid_auth, account_inactive,
//     not_authed or token_revoked makes RunContext return that error; any
//     other failure (including HTTP 429) is retried with backoff forever.
//   - form-encoded methods (chat.*, users.*, usergroups.*, conversations.*,
//     auth.test) carry the bot token in the form field "token"; JSON methods
//     (views.*) and apps.connections.open carry it in "Authorization: Bearer".
//   - an events_api envelope whose inner event type slack-go does not know is
//     turned into an EventTypeErrorBadMessage event and can not be acked
//     through the normal Request path.
package slackfake

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Tokens and identities of the fake workspace.
const (
	// AppToken is the app-level token accepted by apps.connections.open.
	AppToken = "xapp-1-test"
	// BotToken is the bot token accepted by every other Web API method.
	BotToken = "xoxb-test"
	// TeamID is the id of the fake workspace (auth.test reports it as team too).
	TeamID = "T1"
	// AppID is the id of the app, sent as api_app_id in payloads.
	AppID = "A1"
	// BotUserID is the user id of the bot (auth.test user_id).
	BotUserID = "UBOT"
	// BotID is the bot id of the bot (auth.test bot_id).
	BotID = "BBOT"
	// BotName is the user name of the bot (auth.test user).
	BotName = "kuberpult"
	// VerificationToken is the legacy verification token put into payloads.
	VerificationToken = "verification-token"
)

// waitTimeout bounds every WaitX method.
const waitTimeout = 10 * time.Second

// User is a workspace member known to users.info and users.lookupByEmail.
type User struct {
	ID          string
	Name        string
	RealName    string
	DisplayName string
	Email       string
	Deleted     bool
	TZ          string // the user's time zone (IANA); default Europe/Berlin
}

// Group is a user group known to usergroups.list and usergroups.users.list.
type Group struct {
	ID     string
	Handle string
	Name   string
	Users  []string
}

// Server is a running fake Slack. Create it with New; all methods are safe
// for concurrent use.
type Server struct {
	t        testing.TB
	http     *httptest.Server
	upgrader websocket.Upgrader
	started  time.Time
	wg       sync.WaitGroup

	// sendMu serialises all text frames written to websockets, so that
	// envelopes keep their order across queueing and reconnects.
	sendMu sync.Mutex

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every state change
	closed  bool
	seq     map[string]int
	revoked bool

	// socket mode
	pingInterval time.Duration
	pingChanged  chan struct{}
	tickets      map[string]bool
	conns        []*conn
	current      *conn
	opened       int
	hellos       int
	queue        []delivery
	envelopes    map[string]*envelope
	acks         map[string][]ackRecord

	// web api
	calls      []Call
	rateLimits map[string]*rateLimit

	// workspace state
	users    []User
	groups   []Group
	triggers map[string]string // trigger id -> user id
	store    store
}

// New starts a fake Slack on a local httptest server. Everything is shut down
// by t.Cleanup. Misuse of the fake (such as redelivering an unknown envelope)
// is reported with t.Errorf.
func New(t testing.TB) *Server {
	s := &Server{
		t:            t,
		started:      time.Now(),
		changed:      make(chan struct{}),
		seq:          map[string]int{},
		pingInterval: 5 * time.Second,
		pingChanged:  make(chan struct{}),
		tickets:      map[string]bool{},
		envelopes:    map[string]*envelope{},
		acks:         map[string][]ackRecord{},
		rateLimits:   map[string]*rateLimit{},
		triggers:     map[string]string{},
		store:        newStore(),
	}
	s.upgrader = websocket.Upgrader{
		// slack-go sends "Origin: https://api.slack.com".
		CheckOrigin: func(*http.Request) bool { return true },
	}
	s.users = append(s.users, User{ID: BotUserID, Name: BotName, RealName: BotName, DisplayName: BotName})
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", s.handleAPI)
	mux.HandleFunc("/link/", s.handleLink)
	mux.HandleFunc("/response/", s.handleResponseURL)
	s.http = httptest.NewServer(mux)
	t.Cleanup(s.close)
	return s
}

// URL returns the Web API base URL, the value for slack.OptionAPIURL. It ends
// with "/api/".
func (s *Server) URL() string {
	return s.http.URL + "/api/"
}

// SetPingInterval sets how often websocket ping frames are sent on every open
// connection (default 5s). 0 turns pings off, so that the client's ping
// timeout fires and it reconnects. It takes effect immediately.
func (s *Server) SetPingInterval(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pingInterval = d
	close(s.pingChanged)
	s.pingChanged = make(chan struct{})
}

// RevokeTokens revokes both tokens: from now on every Web API method answers
// {"ok":false,"error":"invalid_auth"}, and apps.connections.open answers
// token_revoked. Open websocket connections stay open; slack-go only notices
// on its next reconnect, where RunContext then returns the error.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revoked = true
}

// AddUser adds a user (or replaces the one with the same ID).
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.users {
		if s.users[i].ID == u.ID {
			s.users[i] = u
			return
		}
	}
	s.users = append(s.users, u)
}

// AddGroup adds a user group (or replaces the one with the same ID).
func (s *Server) AddGroup(g Group) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g.Users = append([]string(nil), g.Users...)
	for i := range s.groups {
		if s.groups[i].ID == g.ID {
			s.groups[i] = g
			return
		}
	}
	s.groups = append(s.groups, g)
}

// close shuts the fake down: websockets first, then the HTTP server.
func (s *Server) close() {
	s.mu.Lock()
	s.closed = true
	conns := append([]*conn(nil), s.conns...)
	s.notifyLocked()
	s.mu.Unlock()
	for _, c := range conns {
		s.markDead(c)
	}
	s.wg.Wait()
	s.http.Close()
}

// notifyLocked wakes every waiter. s.mu must be held.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// waitFor blocks until cond (called with s.mu held) returns true, and fails
// the test after waitTimeout. describe (also called with s.mu held) explains
// the failure.
func (s *Server) waitFor(t testing.TB, cond func() bool, describe func() string) {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		if cond() {
			s.mu.Unlock()
			return
		}
		if s.closed {
			msg := describe()
			s.mu.Unlock()
			t.Fatalf("slackfake: server closed while waiting: %s", msg)
			return
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			s.mu.Lock()
			msg := describe()
			s.mu.Unlock()
			t.Fatalf("slackfake: timed out after %s: %s", waitTimeout, msg)
			return
		}
	}
}

// nextLocked returns the next number of the named sequence (1, 2, …).
func (s *Server) nextLocked(kind string) int {
	s.seq[kind]++
	return s.seq[kind]
}

// newTSLocked returns a unique, increasing Slack timestamp.
func (s *Server) newTSLocked() string {
	n := s.nextLocked("ts")
	return fmt.Sprintf("%d.%06d", 1700000000+n/1000000, n%1000000)
}

// newTriggerLocked returns a new trigger id and remembers its user, so that
// views.open knows whom a modal belongs to.
func (s *Server) newTriggerLocked(user string) string {
	id := fmt.Sprintf("1700000000.%d.faketrigger", s.nextLocked("trigger"))
	s.triggers[id] = user
	return id
}

// rememberTriggerLocked records the user of a trigger id given by a test.
func (s *Server) rememberTriggerLocked(trigger, user string) {
	if _, ok := s.triggers[trigger]; !ok {
		s.triggers[trigger] = user
	}
}

// userLocked finds a user by id.
func (s *Server) userLocked(id string) (User, bool) {
	for _, u := range s.users {
		if u.ID == id {
			return u, true
		}
	}
	return User{}, false
}

// userByEmailLocked finds a user by email, case-insensitively.
func (s *Server) userByEmailLocked(email string) (User, bool) {
	for _, u := range s.users {
		if u.Email != "" && strings.EqualFold(u.Email, email) {
			return u, true
		}
	}
	return User{}, false
}

// userNameLocked is the user name of a known user, or the id itself.
func (s *Server) userNameLocked(id string) string {
	if u, ok := s.userLocked(id); ok && u.Name != "" {
		return u.Name
	}
	return id
}
