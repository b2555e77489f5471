// Package githubfake is a fake of the GitHub REST API (v3) for tests.
//
// The fake is an [httptest.Server] that answers in GitHub's own JSON wire
// format and lays its paths out the way GitHub Enterprise Server does, so a
// client configured with
//
//	github.NewClient(nil).WithAuthToken(fake.Token()).WithEnterpriseURLs(fake.URL(), fake.URL())
//
// sends every request to fake.URL() + "/api/v3/...". It knows a single
// repository with a linear commit history (see [Server.AddCommit]) and pull
// requests over those commits (see [Server.AddPull]), and it serves:
//
//   - GET  /repos/{owner}/{repo}/compare/{base}...{head} (or {base}..{head})
//   - GET  /repos/{owner}/{repo}/commits/{sha}/pulls
//   - POST /repos/{owner}/{repo}/deployments
//   - POST /repos/{owner}/{repo}/deployments/{id}/statuses
//   - GET  /repos/{owner}/{repo}/deployments/{id}/statuses
//
// Every other path answers 404. Faults can be injected with
// [Server.FailNext], [Server.RateLimit] and [Server.Block], and what arrived
// can be inspected with [Server.Deployments], [Server.Requests] and
// [Server.WaitFor].
//
// A request is processed in this order: it is counted (see
// [Server.Requests]), it waits while the server is blocked, its token is
// checked (401), the rate limit is applied (403), an injected failure is
// applied, and only then is it routed.
package githubfake

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	// apiPrefix is where GitHub Enterprise Server serves the REST API.
	apiPrefix = "/api/v3"
	// webBase is the base of all html_url fields.
	webBase = "https://github.com"
	// rateLimitTotal is the size of the primary rate limit window.
	rateLimitTotal = 5000
	// docsURL is the generic documentation_url of error bodies.
	docsURL = "https://docs.github.com/rest"
	// rateLimitDocsURL is the documentation_url of the rate limit error.
	rateLimitDocsURL = "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"
	// repoID is the numeric id of the fake repository (used in node ids).
	repoID = 4242
	// maxBody bounds the size of request bodies that are read.
	maxBody = 10 << 20
)

// Server is a running fake of the GitHub REST API for one repository.
// All methods are safe for concurrent use.
type Server struct {
	t     testing.TB
	srv   *httptest.Server
	base  string // srv.URL, set before the server starts
	owner string
	name  string
	token string

	mu sync.Mutex
	// changed is closed (and replaced) on every change of the state below.
	changed chan struct{}
	// closed is closed when the test ends, to free blocked requests.
	closed chan struct{}

	commits  []Commit
	bySHA    map[string]int // full sha -> index in commits
	pulls    []*pullRec
	userIDs  map[string]int64
	nextUser int64

	deployments  []*deploymentRec
	nextStatusID int64

	requests []requestRec
	seq      int64 // number of requests that arrived

	failStatus int
	failLeft   int

	rateLimited bool
	rateReset   time.Time // reset of the forced rate limit
	remaining   int
	windowReset time.Time // reset of the normal rate limit window

	blocks int           // number of Block calls not yet released
	gate   chan struct{} // non-nil while blocks > 0; closed on the last release
}

// requestRec is one request that arrived.
type requestRec struct {
	method string
	path   string // the path after /api/v3 (the full path when it lacks the prefix)
}

// pullRec is a pull request added with AddPull.
type pullRec struct {
	number  int
	title   string
	login   string
	shas    []string
	created time.Time
}

// New starts a fake for repository owner/name (e.g. "acme/shop"). The server
// is closed by t.Cleanup when the test ends; requests still blocked by
// [Server.Block] at that time are released first.
func New(t testing.TB, repo string) *Server {
	t.Helper()
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		t.Fatalf("githubfake.New: repo %q is not of the form owner/name", repo)
	}
	now := time.Now()
	s := &Server{
		t:           t,
		owner:       owner,
		name:        name,
		token:       newToken(t),
		changed:     make(chan struct{}),
		closed:      make(chan struct{}),
		bySHA:       map[string]int{},
		userIDs:     map[string]int64{},
		nextUser:    1001,
		remaining:   rateLimitTotal,
		windowReset: now.Add(time.Hour),
	}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	s.base = "http://" + s.srv.Listener.Addr().String()
	s.srv.Start()
	t.Cleanup(func() {
		s.mu.Lock()
		close(s.closed)
		s.mu.Unlock()
		s.srv.Close()
	})
	return s
}

// newToken returns a random token that looks like a GitHub App installation
// token.
func newToken(t testing.TB) string {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("githubfake.New: %v", err)
	}
	return "ghs_" + hex.EncodeToString(b)
}

// URL returns the base URL of the fake, to be given to go-github's
// WithEnterpriseURLs as both the base and the upload URL. The API itself is
// served under URL() + "/api/v3/".
func (s *Server) URL() string { return s.base }

// Token returns the only token the fake accepts, sent either as
// "Authorization: Bearer <token>" or as "Authorization: token <token>".
// A request with any other token answers 401
// {"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"};
// one without an Authorization header answers 401 "Requires authentication".
func (s *Server) Token() string { return s.token }

// notify wakes everybody waiting in WaitFor. s.mu must be held.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// FailNext makes the next n API requests that pass the token and rate limit
// checks answer status with a body {"message":..., "documentation_url":...}.
// A later call replaces an earlier one; n <= 0 cancels the injected failures.
func (s *Server) FailNext(status, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failStatus, s.failLeft = status, max(n, 0)
	s.notify()
}

// RateLimit makes every request with a valid token answer 403 with the
// headers X-RateLimit-Limit: 5000, X-RateLimit-Remaining: 0 and
// X-RateLimit-Reset: reset (in Unix seconds), and the body GitHub sends when
// the primary rate limit is exhausted, until [Server.ClearRateLimit] is called.
// (The fake does not lift the limit by itself when reset has passed.)
//
// Note that go-github remembers a rate limit it has seen and answers further
// calls itself, without a request, until reset; pass a reset in the past to
// have every call reach the fake.
func (s *Server) RateLimit(reset time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rateLimited, s.rateReset = true, reset
	s.notify()
}

// ClearRateLimit lifts the rate limit set by [Server.RateLimit] and starts a
// fresh rate limit window (5000 remaining requests, reset in an hour).
func (s *Server) ClearRateLimit() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rateLimited = false
	s.remaining = rateLimitTotal
	s.windowReset = time.Now().Add(time.Hour)
	s.notify()
}

// Block makes requests hang (after they have been counted by
// [Server.Requests]) until release is called, the client gives up, or the
// test ends. Requests already waiting and requests that arrive later are held
// alike. Calls nest: requests proceed once every Block has been released.
// Calling release more than once has no further effect.
func (s *Server) Block() (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blocks++
	if s.gate == nil {
		s.gate = make(chan struct{})
	}
	s.notify()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.blocks--
			if s.blocks == 0 {
				close(s.gate)
				s.gate = nil
			}
			s.notify()
		})
	}
}

// Requests returns how many requests with the given method arrived whose path
// (after the /api/v3 prefix, without the query) starts with pathPrefix, e.g.
// Requests("POST", "/repos/acme/shop/deployments"). Every request that
// reached the server counts, including the rejected, failed and still blocked
// ones. The method is compared case-insensitively; "" matches every method.
func (s *Server) Requests(method, pathPrefix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.requests {
		if (method == "" || strings.EqualFold(method, r.method)) && strings.HasPrefix(r.path, pathPrefix) {
			n++
		}
	}
	return n
}

// WaitFor waits until cond returns true or ctx ends, and returns ctx.Err() in
// the latter case. cond is evaluated once at the start and again after every
// change of the server's state (a request arriving or being answered, a
// deployment or status being recorded, a fault being set, ...); it is called
// without the server's lock held, so it may call [Server.Deployments],
// [Server.Requests] and the like.
func (s *Server) WaitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		changed := s.changed
		s.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// reply is an answer computed under the lock and written after it.
type reply struct {
	status int
	body   any
	header http.Header
}

// errorBody is the body of GitHub's error answers.
type errorBody struct {
	Message          string `json:"message"`
	DocumentationURL string `json:"documentation_url,omitempty"`
}

func errReply(status int, message, docs string) reply {
	return reply{status: status, body: errorBody{Message: message, DocumentationURL: docs}}
}

func notFound(docs string) reply {
	return errReply(http.StatusNotFound, "Not Found", docs)
}

// serveHTTP answers one request.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	path, isAPI := strings.CutPrefix(r.URL.Path, apiPrefix)
	if isAPI && path != "" && !strings.HasPrefix(path, "/") {
		path, isAPI = r.URL.Path, false // e.g. /api/v3foo
	}

	var body []byte
	var bodyErr error
	if r.Body != nil {
		body, bodyErr = io.ReadAll(io.LimitReader(r.Body, maxBody))
	}

	s.mu.Lock()
	s.requests = append(s.requests, requestRec{method: r.Method, path: path})
	s.seq++
	seq := s.seq
	gate := s.gate
	s.notify()
	s.mu.Unlock()

	if gate != nil {
		select {
		case <-gate:
		case <-s.closed:
		case <-r.Context().Done():
			return // the client gave up
		}
	}

	rep, hdr := s.handle(r, path, isAPI, body, bodyErr)
	h := w.Header()
	for k, v := range hdr {
		h[k] = v
	}
	for k, v := range rep.header {
		h[k] = v
	}
	h.Set("X-GitHub-Request-Id", requestID(seq))
	h.Set("X-GitHub-Media-Type", "github.v3; format=json")
	writeJSON(w, rep.status, rep.body)

	s.mu.Lock()
	s.notify()
	s.mu.Unlock()
}

// requestID makes an X-GitHub-Request-Id in GitHub's format.
func requestID(seq int64) string {
	return fmt.Sprintf("%04X:%04X:%06X:%06X:%08X", 0xC0DE, 0x2A00+seq%0x100, 0x100000+seq, 0x200000+seq, seq)
}

// handle computes the answer for one request.
func (s *Server) handle(r *http.Request, path string, isAPI bool, body []byte, bodyErr error) (reply, http.Header) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := http.Header{}

	if msg, ok := s.checkAuth(r.Header.Get("Authorization")); !ok {
		s.setRateHeaders(h)
		return errReply(http.StatusUnauthorized, msg, docsURL), h
	}
	if s.rateLimited {
		h.Set("X-RateLimit-Limit", strconv.Itoa(rateLimitTotal))
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("X-RateLimit-Reset", strconv.FormatInt(s.rateReset.Unix(), 10))
		h.Set("X-RateLimit-Used", strconv.Itoa(rateLimitTotal))
		h.Set("X-RateLimit-Resource", "core")
		return errReply(http.StatusForbidden, "API rate limit exceeded for user ID 1.", rateLimitDocsURL), h
	}
	if s.remaining > 1 {
		s.remaining--
	}
	s.setRateHeaders(h)
	if s.failLeft > 0 {
		s.failLeft--
		msg := http.StatusText(s.failStatus)
		if msg == "" {
			msg = "Injected failure"
		}
		return errReply(s.failStatus, msg, docsURL), h
	}
	if !isAPI {
		return notFound(docsURL), h
	}
	return s.route(r, path, body, bodyErr), h
}

// checkAuth checks the Authorization header; it returns the error message
// when the header does not carry the server's token.
func (s *Server) checkAuth(auth string) (string, bool) {
	if auth == "" {
		return "Requires authentication", false
	}
	scheme, tok, _ := strings.Cut(auth, " ")
	if (strings.EqualFold(scheme, "Bearer") || strings.EqualFold(scheme, "token")) && strings.TrimSpace(tok) == s.token {
		return "", true
	}
	return "Bad credentials", false
}

// setRateHeaders adds the headers of the normal rate limit window. s.mu must
// be held.
func (s *Server) setRateHeaders(h http.Header) {
	h.Set("X-RateLimit-Limit", strconv.Itoa(rateLimitTotal))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(s.remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(s.windowReset.Unix(), 10))
	h.Set("X-RateLimit-Used", strconv.Itoa(rateLimitTotal-s.remaining))
	h.Set("X-RateLimit-Resource", "core")
}

// route dispatches an authenticated API request. s.mu must be held.
func (s *Server) route(r *http.Request, path string, body []byte, bodyErr error) reply {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	if len(segs) < 4 || segs[0] != "repos" || !strings.EqualFold(segs[1], s.owner) || !strings.EqualFold(segs[2], s.name) {
		return notFound(docsURL)
	}
	rest := segs[3:]
	switch {
	case rest[0] == "compare" && len(rest) >= 2 && r.Method == http.MethodGet:
		return s.compare(r, strings.Join(rest[1:], "/"))
	case rest[0] == "commits" && len(rest) == 3 && rest[2] == "pulls" && r.Method == http.MethodGet:
		return s.pullsForCommit(r, rest[1])
	case rest[0] == "deployments" && len(rest) == 1 && r.Method == http.MethodPost:
		if rep, ok := checkBody(body, bodyErr); !ok {
			return rep
		}
		return s.createDeployment(body)
	case rest[0] == "deployments" && len(rest) == 1 && r.Method == http.MethodGet:
		return s.listDeployments(r)
	case rest[0] == "deployments" && len(rest) == 3 && rest[2] == "statuses":
		switch r.Method {
		case http.MethodPost:
			if rep, ok := checkBody(body, bodyErr); !ok {
				return rep
			}
			return s.createStatus(rest[1], body)
		case http.MethodGet:
			return s.listStatuses(r, rest[1])
		}
	}
	return notFound(docsURL)
}

// checkBody rejects POST bodies that could not be read or are empty.
func checkBody(body []byte, err error) (reply, bool) {
	if err != nil || len(strings.TrimSpace(string(body))) == 0 {
		return errReply(http.StatusBadRequest, "Problems parsing JSON", docsURL), false
	}
	return reply{}, true
}
