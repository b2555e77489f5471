package slackfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Call is one recorded Web API call.
type Call struct {
	// Method is the API method, e.g. "chat.postMessage"; posts to a
	// response_url of the fake are recorded as "response_url".
	Method string
	// Params are the form fields (first value each), or for JSON bodies the
	// top-level fields: strings as they are, other values as JSON text.
	Params map[string]string
	// Body is the JSON body, nil for form posts.
	Body json.RawMessage
	// Time is when the call arrived.
	Time time.Time
	// Status is the HTTP status the fake answered with.
	Status int
}

// rateLimit is a pending RateLimit.
type rateLimit struct {
	remaining  int
	retryAfter int // seconds
}

// apiRequest is a parsed Web API request.
type apiRequest struct {
	method string
	params map[string]string
	body   json.RawMessage
	token  string // from the Authorization header, else the form field
	bearer bool   // token came from the Authorization header
}

// reply is the answer to a Web API request.
type reply struct {
	status int
	header http.Header
	body   map[string]any
}

// ok builds a successful reply from the given fields.
func ok(fields map[string]any) reply {
	if fields == nil {
		fields = map[string]any{}
	}
	fields["ok"] = true
	return reply{status: http.StatusOK, body: fields}
}

// fail builds an error reply with the Slack error code.
func fail(code string) reply {
	return reply{status: http.StatusOK, body: map[string]any{"ok": false, "error": code}}
}

// parseRequest reads form fields or a JSON body, and the token.
func parseRequest(r *http.Request) (apiRequest, error) {
	req := apiRequest{params: map[string]string{}}
	if auth := r.Header.Get("Authorization"); strings.HasPrefix(auth, "Bearer ") {
		req.token, req.bearer = strings.TrimPrefix(auth, "Bearer "), true
	}
	ctype, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ctype {
	case "application/json":
		data, err := io.ReadAll(r.Body)
		if err != nil {
			return req, err
		}
		data = bytes.TrimSpace(data)
		if len(data) == 0 {
			break
		}
		req.body = data
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(data, &fields); err != nil {
			return req, err
		}
		for k, v := range fields {
			var str string
			if json.Unmarshal(v, &str) == nil {
				req.params[k] = str
			} else {
				req.params[k] = string(v)
			}
		}
	case "multipart/form-data":
		if err := r.ParseMultipartForm(10 << 20); err != nil {
			return req, err
		}
	default:
		if err := r.ParseForm(); err != nil {
			return req, err
		}
	}
	if req.body == nil {
		for k, v := range r.Form {
			if len(v) > 0 {
				req.params[k] = v[0]
			}
		}
	}
	if req.token == "" {
		req.token = req.params["token"]
	}
	return req, nil
}

// handleAPI serves /api/<method>.
func (s *Server) handleAPI(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	req, err := parseRequest(r)
	req.method = method
	s.mu.Lock()
	var rep reply
	if err != nil {
		rep = fail("invalid_form_data")
		if req.body != nil {
			rep = fail("invalid_json")
		}
	} else {
		rep = s.answerLocked(req)
	}
	s.calls = append(s.calls, Call{Method: method, Params: req.params, Body: req.body, Time: now, Status: rep.status})
	s.notifyLocked()
	s.mu.Unlock()
	writeReply(w, rep)
}

// writeReply writes a JSON reply.
func writeReply(w http.ResponseWriter, rep reply) {
	for k, v := range rep.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(rep.status)
	_ = json.NewEncoder(w).Encode(rep.body)
}

// answerLocked checks method, rate limits and token, then runs the method.
func (s *Server) answerLocked(req apiRequest) reply {
	handler, known := methods[req.method]
	if !known {
		return fail("unknown_method")
	}
	if rl := s.rateLimits[req.method]; rl != nil && rl.remaining > 0 {
		rl.remaining--
		rep := fail("ratelimited")
		rep.status = http.StatusTooManyRequests
		rep.header = http.Header{"Retry-After": {strconv.Itoa(rl.retryAfter)}}
		return rep
	}
	if code := s.checkTokenLocked(req); code != "" {
		return fail(code)
	}
	return handler(s, req)
}

// checkTokenLocked returns the error code for a bad token, "" if fine.
// apps.connections.open needs the app token in the Authorization header;
// the other methods need the bot token, in the header or the form field.
func (s *Server) checkTokenLocked(req apiRequest) string {
	want, other := BotToken, AppToken
	if req.method == "apps.connections.open" {
		want, other = AppToken, BotToken
	}
	switch {
	case s.revoked && req.method == "apps.connections.open":
		return "token_revoked"
	case s.revoked:
		return "invalid_auth"
	case req.token == "" || (req.method == "apps.connections.open" && !req.bearer):
		return "not_authed"
	case req.token == other:
		return "not_allowed_token_type"
	case req.token != want:
		return "invalid_auth"
	}
	return ""
}

// handleResponseURL records posts to response_urls handed out in payloads.
func (s *Server) handleResponseURL(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	req, err := parseRequest(r)
	rep := ok(nil)
	if err != nil {
		rep = fail("invalid_payload")
	}
	s.mu.Lock()
	s.calls = append(s.calls, Call{Method: "response_url", Params: req.params, Body: req.body, Time: now, Status: rep.status})
	s.notifyLocked()
	s.mu.Unlock()
	writeReply(w, rep)
}

// Calls returns the recorded calls to method, in order; "" returns all.
func (s *Server) Calls(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return filterCalls(s.calls, method)
}

// filterCalls returns the calls of a method ("" = all).
func filterCalls(calls []Call, method string) []Call {
	var out []Call
	for _, c := range calls {
		if method == "" || c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// WaitCall blocks until a call of method (any method for "") matching match
// (nil matches everything) has been made, counting calls made before
// WaitCall, and returns the first such call. It fails the test after 10s,
// listing the calls seen. match is called without locks held.
func (s *Server) WaitCall(t testing.TB, method string, match func(Call) bool) Call {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	checked := 0
	for {
		s.mu.Lock()
		calls := filterCalls(s.calls[checked:], method)
		checked = len(s.calls)
		ch, closed := s.changed, s.closed
		s.mu.Unlock()
		for _, c := range calls {
			if match == nil || match(c) {
				return c
			}
		}
		if closed {
			t.Fatalf("slackfake: server closed while waiting for a %s call", method)
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("slackfake: timed out after %s waiting for a matching %q call; calls seen:\n%s",
				waitTimeout, method, describeCalls(s.Calls("")))
		}
	}
}

// describeCalls lists calls for failure messages.
func describeCalls(calls []Call) string {
	if len(calls) == 0 {
		return "  (none)"
	}
	var b strings.Builder
	for _, c := range calls {
		params := make(map[string]string, len(c.Params))
		for k, v := range c.Params {
			if k != "token" {
				params[k] = v
			}
		}
		fmt.Fprintf(&b, "  %s %s [%d] %v\n", c.Time.Format("15:04:05.000"), c.Method, c.Status, params)
	}
	return b.String()
}

// RateLimit makes the next n calls of method fail with HTTP 429, header
// Retry-After (retryAfter in whole seconds, rounded up, at least 1) and
// {"ok":false,"error":"ratelimited"}. slack-go turns that into a
// *slack.RateLimitedError. It replaces a pending RateLimit of the method.
// Rate limiting apps.connections.open makes socketmode retry after
// Retry-After, so the reconnect takes at least a second.
func (s *Server) RateLimit(method string, n int, retryAfter time.Duration) {
	secs := max(1, int(math.Ceil(retryAfter.Seconds())))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rateLimits[method] = &rateLimit{remaining: n, retryAfter: secs}
}
