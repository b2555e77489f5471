package slackfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// writeTimeout bounds every websocket write.
const writeTimeout = 5 * time.Second

// conn is one Socket Mode websocket connection.
type conn struct {
	ws   *websocket.Conn
	id   int
	done chan struct{} // closed by markDead
	dead bool
}

// delivery is one queued sending of an envelope.
type delivery struct {
	env   *envelope
	frame []byte
}

// Ack is one acknowledgement the client sent for an envelope.
type Ack struct {
	// EnvelopeID is the envelope_id the client acked.
	EnvelopeID string
	// Payload is the ack's payload, nil when it had none (or null).
	Payload json.RawMessage
	// After is the time from the (latest) sending of the envelope to the ack.
	After time.Duration
}

// ackRecord is an Ack and when it arrived.
type ackRecord struct {
	Ack
	at time.Time
}

// handleLink serves the websocket URL handed out by apps.connections.open.
func (s *Server) handleLink(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	s.mu.Lock()
	ok := s.tickets[ticket]
	delete(s.tickets, ticket)
	closed := s.closed
	s.mu.Unlock()
	if !ok || closed {
		http.Error(w, "invalid or used ticket", http.StatusUnauthorized)
		return
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade already answered the request.
	}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ws.Close()
		return
	}
	s.opened++
	c := &conn{ws: ws, id: s.opened, done: make(chan struct{})}
	s.conns = append(s.conns, c)
	live := 0
	for _, other := range s.conns {
		if !other.dead {
			live++
		}
	}
	s.wg.Add(2)
	s.notifyLocked()
	s.mu.Unlock()

	go s.readLoop(c)
	go s.pingLoop(c)
	s.sendHello(c, live)
}

// sendHello greets a new connection, makes it the current one and flushes
// the envelopes that waited for a connection.
func (s *Server) sendHello(c *conn, live int) {
	hello, _ := json.Marshal(map[string]any{
		"type":            "hello",
		"num_connections": live,
		"debug_info": map[string]any{
			"host":                        "fake",
			"started":                     s.started.UTC().Format("2006-01-02 15:04:05.000"),
			"build_number":                1,
			"approximate_connection_time": 18060,
		},
		"connection_info": map[string]any{"app_id": AppID},
	})
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if err := s.write(c, hello); err != nil {
		s.markDead(c)
		return
	}
	s.mu.Lock()
	if c.dead {
		s.mu.Unlock()
		return
	}
	s.current = c
	s.hellos++
	queued := s.queue
	s.queue = nil
	s.notifyLocked()
	s.mu.Unlock()
	s.deliver(c, queued)
}

// write writes one text frame. s.sendMu must be held.
func (s *Server) write(c *conn, frame []byte) error {
	if err := c.ws.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return err
	}
	return c.ws.WriteMessage(websocket.TextMessage, frame)
}

// deliver sends envelopes on c; if c fails, the unsent ones go back to the
// front of the queue. s.sendMu must be held.
func (s *Server) deliver(c *conn, ds []delivery) {
	for i, d := range ds {
		s.mu.Lock()
		d.env.lastSent = time.Now()
		s.mu.Unlock()
		if err := s.write(c, d.frame); err != nil {
			s.markDead(c)
			s.mu.Lock()
			s.queue = append(append([]delivery(nil), ds[i:]...), s.queue...)
			s.mu.Unlock()
			return
		}
	}
}

// dispatch sends an envelope on the current connection, or queues it until
// a connection has been greeted.
func (s *Server) dispatch(d delivery) {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	s.mu.Lock()
	c := s.current
	if c == nil {
		s.queue = append(s.queue, d)
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	s.deliver(c, []delivery{d})
}

// markDead closes a connection and forgets it as the current one.
func (s *Server) markDead(c *conn) {
	s.mu.Lock()
	if !c.dead {
		c.dead = true
		close(c.done)
		if s.current == c {
			s.current = nil
		}
		s.notifyLocked()
	}
	s.mu.Unlock()
	_ = c.ws.Close()
}

// readLoop reads the client's acks until the connection fails.
func (s *Server) readLoop(c *conn) {
	defer s.wg.Done()
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			s.markDead(c)
			return
		}
		var msg struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if err := json.Unmarshal(data, &msg); err != nil || msg.EnvelopeID == "" {
			s.t.Errorf("slackfake: unexpected websocket message from client: %s", data)
			continue
		}
		now := time.Now()
		rec := ackRecord{Ack: Ack{EnvelopeID: msg.EnvelopeID}, at: now}
		if len(msg.Payload) > 0 && string(msg.Payload) != "null" {
			rec.Payload = msg.Payload
		}
		s.mu.Lock()
		if env, ok := s.envelopes[msg.EnvelopeID]; ok && !env.lastSent.IsZero() {
			rec.After = now.Sub(env.lastSent)
		}
		s.acks[msg.EnvelopeID] = append(s.acks[msg.EnvelopeID], rec)
		s.notifyLocked()
		s.mu.Unlock()
	}
}

// pingLoop sends ping frames per SetPingInterval until the connection dies.
func (s *Server) pingLoop(c *conn) {
	defer s.wg.Done()
	for n := 1; ; {
		s.mu.Lock()
		d, changed := s.pingInterval, s.pingChanged
		s.mu.Unlock()
		if d <= 0 {
			select {
			case <-c.done:
				return
			case <-changed:
				continue
			}
		}
		timer := time.NewTimer(d)
		select {
		case <-c.done:
			timer.Stop()
			return
		case <-changed:
			timer.Stop()
			continue
		case <-timer.C:
		}
		// WriteControl may be called concurrently with the other writers.
		data := []byte(fmt.Sprintf("ping-%d", n))
		n++
		if err := c.ws.WriteControl(websocket.PingMessage, data, time.Now().Add(writeTimeout)); err != nil {
			s.markDead(c)
			return
		}
	}
}

// WaitConnected blocks until the n-th websocket connection (counting
// reconnects) has been sent "hello"; it fails the test after 10s.
func (s *Server) WaitConnected(t testing.TB, n int) {
	t.Helper()
	s.waitFor(t, func() bool { return s.hellos >= n }, func() string {
		return fmt.Sprintf("waiting for connection #%d; %d connections opened, %d greeted", n, s.opened, s.hellos)
	})
}

// Connections returns the number of websocket connections opened so far.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opened
}

// Disconnect sends {"type":"disconnect","reason":reason,…} on the current
// connection, as Slack does before it closes a connection (reason e.g.
// "refresh_requested", "warning", "link_disabled"). No further envelopes are
// sent on that connection; they wait for the next one. slack-go v0.35.0
// answers every disconnect, link_disabled included, by closing the
// connection and reconnecting through apps.connections.open. Without a
// current connection Disconnect does nothing.
func (s *Server) Disconnect(reason string) {
	msg, _ := json.Marshal(map[string]any{
		"type":   "disconnect",
		"reason": reason,
		"debug_info": map[string]any{
			"host": "fake",
		},
	})
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	s.mu.Lock()
	c := s.current
	s.current = nil
	s.mu.Unlock()
	if c == nil {
		return
	}
	if err := s.write(c, msg); err != nil {
		s.markDead(c)
	}
}

// DropConnection closes the current websocket abruptly, without a disconnect
// message or close frame. Without a current connection it does nothing.
func (s *Server) DropConnection() {
	s.mu.Lock()
	c := s.current
	s.mu.Unlock()
	if c != nil {
		s.markDead(c)
	}
}

// openConnectionLocked issues a websocket URL for apps.connections.open.
func (s *Server) openConnectionLocked() string {
	ticket := fmt.Sprintf("ticket-%d", s.nextLocked("ticket"))
	s.tickets[ticket] = true
	return "ws" + s.http.URL[len("http"):] + "/link/?ticket=" + ticket + "&app_id=" + AppID
}
