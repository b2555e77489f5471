// Package argocdfake is a fake Argo CD API server for tests: an httptest server that
// answers GET /api/v1/applications/{name}, GET /api/v1/applications?selector= and the
// watch stream GET /api/v1/stream/applications with the JSON of Argo CD's gRPC gateway,
// checks the bearer token, and injects faults (failing, hanging and cut requests).
//
// It behaves as Argo CD where that matters to a client: a missing application is answered
// with 403 "permission denied" unless the request names a project (then 404); a stream
// sends its response headers only with its first event, an ADDED event per matching
// application first, then ADDED, MODIFIED and DELETED events as applications change.
package argocdfake

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"kuberpult/argocd"
)

// DefaultToken is the token a new Server accepts.
const DefaultToken = "argocdfake-token"

// Server is a fake Argo CD, also an http.Handler (to serve it under a path). Its methods
// are safe for concurrent use.
type Server struct {
	t   testing.TB
	srv *httptest.Server

	mu        sync.Mutex
	token     string
	apps      map[string]argocd.Application
	failures  []int         // the statuses the next requests fail with
	block     chan struct{} // non-nil while requests hang; closed to release them
	requests  map[string]int
	refreshes map[string][]string
	onRefresh func(argocd.Application) argocd.Application
	streams   map[*stream]struct{}
	changed   chan struct{} // closed (and replaced) when a request arrives or a stream opens or closes
}

// New starts a fake Argo CD over HTTP; it stops when the test ends.
func New(t testing.TB) *Server { return start(t, (*httptest.Server).Start) }

// NewTLS starts a fake Argo CD over HTTPS with a self-signed certificate (Certificate).
func NewTLS(t testing.TB) *Server { return start(t, (*httptest.Server).StartTLS) }

func start(t testing.TB, listen func(*httptest.Server)) *Server {
	t.Helper()
	s := &Server{
		t:         t,
		token:     DefaultToken,
		apps:      map[string]argocd.Application{},
		requests:  map[string]int{},
		refreshes: map[string][]string{},
		streams:   map[*stream]struct{}{},
		changed:   make(chan struct{}),
	}
	s.srv = httptest.NewUnstartedServer(s)
	// Refused handshakes and cut connections are what tests make; they need no log.
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	listen(s.srv)
	t.Cleanup(func() {
		s.Release()
		s.srv.Close()
	})
	return s
}

// URL is the server's base URL, for argocd.Options.Server.
func (s *Server) URL() string { return s.srv.URL }

// Certificate is the server's certificate (of NewTLS; nil for New).
func (s *Server) Certificate() *x509.Certificate { return s.srv.Certificate() }

// Token is the bearer token the server accepts.
func (s *Server) Token() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.token
}

// SetToken makes the server accept token only (as after a rotation).
func (s *Server) SetToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = token
}

// Set puts app, or replaces the application of its name, and sends open streams whose
// selector matches it an ADDED event (new) or a MODIFIED event (replaced). The server
// keeps a copy: changing app afterwards changes nothing.
func (s *Server) Set(app argocd.Application) {
	if app.Metadata.Name == "" {
		s.t.Errorf("argocdfake: Set of an application without a name")
		return
	}
	app = clone(s.t, app)
	s.mu.Lock()
	defer s.mu.Unlock()
	typ := argocd.Added
	if _, ok := s.apps[app.Metadata.Name]; ok {
		typ = argocd.Modified
	}
	s.apps[app.Metadata.Name] = app
	s.broadcastLocked(argocd.Event{Type: typ, Application: app})
}

// Delete removes the application name, if there is one, and sends open streams whose
// selector matched it a DELETED event with its last state.
func (s *Server) Delete(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	app, ok := s.apps[name]
	if !ok {
		return
	}
	delete(s.apps, name)
	s.broadcastLocked(argocd.Event{Type: argocd.Deleted, Application: app})
}

// OnRefresh sets what a refresh does: a GET with ?refresh= answers fn(app) and stores it
// as Set does (Argo CD has read git again). Without it a refresh changes nothing.
func (s *Server) OnRefresh(fn func(app argocd.Application) argocd.Application) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onRefresh = fn
}

// FailNext makes the next n requests (any path) fail with status and the error body
// Argo CD sends with it: 401 as an expired session, 403 as permission denied, 500 as an
// unknown error.
func (s *Server) FailNext(status, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures = append(s.failures, status)
	}
}

// Block makes requests hang from now on, until Release (or until their client gives up).
// It returns Release, for a defer.
func (s *Server) Block() (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.block == nil {
		s.block = make(chan struct{})
	}
	return s.Release
}

// Release lets the requests hanging since Block go on, and new ones pass.
func (s *Server) Release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.block != nil {
		close(s.block)
		s.block = nil
	}
}

// DropStreams cuts the open streams: each sends its pending events, then half an event,
// and the connection is closed without ending the response.
func (s *Server) DropStreams() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for st := range s.streams {
		st.drop = true
		st.wakeUp()
	}
}

// EndStreams ends the open streams normally, after their pending events (as Argo CD
// does when it shuts down).
func (s *Server) EndStreams() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for st := range s.streams {
		st.end = true
		st.wakeUp()
	}
}

// FailStreams ends the open streams with the gateway's error object
// {"error":{"grpc_code":..,"http_code":status,"message":message,"http_status":..}}.
func (s *Server) FailStreams(status int, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for st := range s.streams {
		st.fail = &streamError{GRPCCode: grpcCode(status), HTTPCode: status, Message: message, HTTPStatus: http.StatusText(status)}
		st.wakeUp()
	}
}

// Requests is the number of requests that arrived for path (such as
// "/api/v1/applications/staging-shop"), failed and hanging ones included.
func (s *Server) Requests(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[path]
}

// Refreshes are the refresh values ("normal", "hard") asked by the GETs of the
// application name, in order.
func (s *Server) Refreshes(name string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.refreshes[name])
}

// Streams is the number of open streams.
func (s *Server) Streams() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.streams)
}

// WaitForStreams waits until exactly n streams are open, or ctx ends.
func (s *Server) WaitForStreams(ctx context.Context, n int) error {
	return s.waitFor(ctx, func() bool { return len(s.streams) == n })
}

// WaitForRequests waits until at least n requests for path have arrived (Requests), or
// ctx ends.
func (s *Server) WaitForRequests(ctx context.Context, path string, n int) error {
	return s.waitFor(ctx, func() bool { return s.requests[path] >= n })
}

// waitFor waits until cond, called with s.mu held, holds.
func (s *Server) waitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ok, changed := cond(), s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (s *Server) changedLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// clone deep-copies app through its JSON, as the server would store it.
func clone(t testing.TB, app argocd.Application) argocd.Application {
	b, err := json.Marshal(app)
	if err != nil {
		t.Errorf("argocdfake: encode application: %v", err)
		return app
	}
	var out argocd.Application
	if err := json.Unmarshal(b, &out); err != nil {
		t.Errorf("argocdfake: decode application: %v", err)
		return app
	}
	return out
}

// ServeHTTP answers as Argo CD's API server.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests[r.URL.Path]++
	s.changedLocked()
	block, token := s.block, s.token
	fail := 0
	if len(s.failures) > 0 {
		fail, s.failures = s.failures[0], s.failures[1:]
	}
	s.mu.Unlock()

	if block != nil {
		select {
		case <-block:
		case <-r.Context().Done():
			return
		}
	}
	if fail != 0 {
		writeError(w, fail, failureMessage(fail))
		return
	}
	switch auth := r.Header.Get("Authorization"); {
	case auth == "":
		writeError(w, http.StatusUnauthorized, "no session information")
		return
	case auth != "Bearer "+token:
		writeError(w, http.StatusUnauthorized, "invalid session: token signature is invalid")
		return
	}
	const apps = "/api/v1/applications"
	path := r.URL.Path
	switch {
	case r.Method != http.MethodGet:
		writeError(w, http.StatusNotImplemented, "Method Not Allowed")
	case path == apps:
		s.list(w, r)
	case path == "/api/v1/stream/applications":
		s.watch(w, r)
	case strings.HasPrefix(path, apps+"/") && !strings.Contains(path[len(apps)+1:], "/") && len(path) > len(apps)+1:
		s.get(w, r, path[len(apps)+1:])
	default:
		writeError(w, http.StatusNotFound, "Not Found")
	}
}

func (s *Server) get(w http.ResponseWriter, r *http.Request, name string) {
	q := r.URL.Query()
	project := q.Get("project")
	s.mu.Lock()
	app, ok := s.apps[name]
	refresh := q.Has("refresh")
	if refresh {
		s.refreshes[name] = append(s.refreshes[name], q.Get("refresh"))
	}
	onRefresh := s.onRefresh
	s.mu.Unlock()

	notFound := `applications.argoproj.io "` + name + `" not found`
	switch {
	case !ok && project == "":
		writeError(w, http.StatusForbidden, "permission denied")
		return
	case !ok, project != "" && project != effectiveProject(app):
		writeError(w, http.StatusNotFound, notFound)
		return
	}
	if refresh && onRefresh != nil {
		app = onRefresh(clone(s.t, app))
		s.Set(app)
	}
	writeJSON(w, http.StatusOK, app)
}

func effectiveProject(app argocd.Application) string {
	if app.Spec.Project == "" {
		return "default"
	}
	return app.Spec.Project
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	sel, err := parseSelector(r.URL.Query().Get("selector"))
	if err != nil {
		writeError(w, http.StatusInternalServerError, "error parsing the selector: "+err.Error())
		return
	}
	var list struct {
		Metadata struct{}             `json:"metadata"`
		Items    []argocd.Application `json:"items"` // null when there are none, as Argo CD's
	}
	s.mu.Lock()
	for _, name := range s.sortedNamesLocked() {
		if app := s.apps[name]; sel.matches(app.Metadata.Labels) {
			list.Items = append(list.Items, app)
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) sortedNamesLocked() []string {
	names := make([]string, 0, len(s.apps))
	for name := range s.apps {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}
