package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"kuberpult/commands"
	"kuberpult/deploy"
)

// DefaultMaxRequestBytes limits a request body when Options.MaxRequestBytes is not set.
const DefaultMaxRequestBytes int64 = 32 << 20 // 32 MiB

// shutdownTimeout is how long Run waits for requests in flight when its context ends.
const shutdownTimeout = 15 * time.Second

// readyTimeout bounds one readiness check.
const readyTimeout = 5 * time.Second

// Releaser creates releases; *commands.Handler implements it.
type Releaser interface {
	CreateRelease(ctx context.Context, actor deploy.Actor, via deploy.Via, req commands.ReleaseRequest) (commands.ReleaseResult, error)
}

// Options configure a Server.
type Options struct {
	Releases Releaser     // required
	Logger   *slog.Logger // nil discards logs
	// Ready reports whether the program can serve, e.g. a database ping; nil means always ready.
	Ready func(context.Context) error
	// Metrics are extra values other parts of the program show on /metrics.
	Metrics []MetricFunc
	// MaxRequestBytes limits a request body; 0 means DefaultMaxRequestBytes.
	MaxRequestBytes int64
}

// Server is the HTTP API. Its routes:
//
//	POST /api/release, POST /release   create a release (multipart/form-data, Kuberpult's fields)
//	GET  /healthz                      200 "ok" while the process runs
//	GET  /readyz                       200 "ok", or 503 with the reason Options.Ready gave
//	GET  /metrics                      Prometheus text format 0.0.4
//
// A release answers 201 (created) or 200 (already exists) with a body like
//
//	{"Success":{},"outcome":"created","application":"checkout","version":42,
//	 "deployed":["development"],"held":[{"env":"staging","reason":"held by lock ...","lockIds":["freeze"]}]}
//
// where the first key is the one the original Kuberpult answers with ("Success" or
// "AlreadyExistsSame"). A refusal answers {"error":"<what was wrong>"} with 400 (invalid),
// 403 (denied), 404 (not found), 409 (a different release has this version; the body also
// has "AlreadyExistsDifferent":{}), 413 (body too large) or 415 (not multipart). Anything
// else answers 500 {"error":"internal error (ref 1a2b3c4d)"} and is logged once with that ref.
// An unknown path answers 404 and a wrong method 405 with an Allow header, both as JSON.
type Server struct {
	releases     Releaser
	log          *slog.Logger
	ready        func(context.Context) error
	maxBytes     int64
	authenticate authenticator
	metrics      *metrics
	routes       map[string]route
}

// route is one path of the API.
type route struct {
	methods []string
	handler http.HandlerFunc
	// public routes skip the authenticate step: probes and metrics act on nothing.
	public bool
}

// New returns a Server. It panics if opts.Releases is nil.
func New(opts Options) *Server {
	if opts.Releases == nil {
		panic("api: Options.Releases is nil")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		releases:     opts.Releases,
		log:          log,
		ready:        opts.Ready,
		maxBytes:     opts.MaxRequestBytes,
		authenticate: anonymous,
	}
	if s.maxBytes <= 0 {
		s.maxBytes = DefaultMaxRequestBytes
	}
	s.metrics = newMetrics(opts.Metrics, log)
	s.routes = map[string]route{
		"/api/release": {methods: []string{http.MethodPost}, handler: s.handleRelease},
		"/release":     {methods: []string{http.MethodPost}, handler: s.handleRelease},
		"/healthz":     {methods: []string{http.MethodGet, http.MethodHead}, handler: s.handleHealth, public: true},
		"/readyz":      {methods: []string{http.MethodGet, http.MethodHead}, handler: s.handleReady, public: true},
		"/metrics":     {methods: []string{http.MethodGet, http.MethodHead}, handler: s.handleMetrics, public: true},
	}
	return s
}

// ServeHTTP routes a request, counts it and turns a panic into an internal error.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt, known := s.routes[r.URL.Path]
	label := r.URL.Path
	if !known {
		label = "unknown" // keeps the metric's label set small whatever clients send
	}
	rec := &recorder{ResponseWriter: w}
	defer func() {
		s.metrics.countRequest(label, rec.status())
		if known && isReleaseRoute(r.URL.Path) && allowed(rt.methods, r.Method) {
			s.metrics.countRelease(releaseOutcome(rec.status()))
		}
	}()
	defer s.recoverPanic(rec, r)

	switch {
	case !known:
		writeJSON(rec, http.StatusNotFound, errorBody{Error: fmt.Sprintf("no such endpoint: %s", r.URL.Path)})
	case !allowed(rt.methods, r.Method):
		rec.Header().Set("Allow", strings.Join(rt.methods, ", "))
		writeJSON(rec, http.StatusMethodNotAllowed, errorBody{
			Error: fmt.Sprintf("method %s is not allowed on %s; use %s", r.Method, r.URL.Path, strings.Join(rt.methods, " or ")),
		})
	case rt.public:
		rt.handler(rec, r)
	default:
		s.authenticated(rt.handler).ServeHTTP(rec, r)
	}
}

func allowed(methods []string, m string) bool {
	for _, x := range methods {
		if x == m {
			return true
		}
	}
	return false
}

// Run serves on listen until ctx ends, then shuts down gracefully.
func (s *Server) Run(ctx context.Context, listen string) error {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", listen, err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx ends, then stops accepting requests and waits (at most
// 15 seconds) for those in flight. It closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute, // large manifests over slow CI links
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	s.log.Info("http api listening", "addr", ln.Addr().String())

	select {
	case err := <-served:
		return fmt.Errorf("serve http api: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	<-served // http.ErrServerClosed once Shutdown has begun
	if err != nil {
		_ = srv.Close()
		return fmt.Errorf("shut down http api: %w", err)
	}
	s.log.Info("http api stopped")
	return nil
}

func (s *Server) handleHealth(w http.ResponseWriter, _ *http.Request) {
	writeText(w, http.StatusOK, "ok\n")
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	if s.ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		if err := s.ready(ctx); err != nil {
			s.log.Warn("not ready", "err", err)
			writeText(w, http.StatusServiceUnavailable, "not ready: "+err.Error()+"\n")
			return
		}
	}
	writeText(w, http.StatusOK, "ok\n")
}

// errorBody is the JSON of every refusal.
type errorBody struct {
	Error string `json:"error"`
	// AlreadyExistsDifferent is set on 409 answers to release requests: the key the
	// original Kuberpult answers with, for scripts that look for it.
	AlreadyExistsDifferent *struct{} `json:"AlreadyExistsDifferent,omitempty"`
}

// statusError is a refusal that has its own HTTP status and is not a domain error:
// a body that is too large or is not a multipart form.
type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string { return e.msg }

// classify maps an error to its HTTP status and the text shown to the caller. Only
// user errors show their own text; the status is 500 for anything else.
func classify(err error) (int, string) {
	var se *statusError
	if errors.As(err, &se) {
		return se.status, se.msg
	}
	for _, k := range []struct {
		kind   error
		status int
	}{
		{deploy.ErrInvalid, http.StatusBadRequest},
		{deploy.ErrConflict, http.StatusConflict},
		{deploy.ErrDenied, http.StatusForbidden},
		{deploy.ErrNotFound, http.StatusNotFound},
	} {
		if errors.Is(err, k.kind) {
			if msg, ok := deploy.UserMessage(err); ok {
				return k.status, msg
			}
			return k.status, k.kind.Error()
		}
	}
	return http.StatusInternalServerError, ""
}

// fail answers a request that did not succeed. Internal errors are logged once, with
// a ref the caller sees; the request body and its headers are never logged.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := classify(err)
	body := errorBody{Error: msg}
	if status == http.StatusInternalServerError {
		ref := newRef()
		s.log.Error("internal error", "ref", ref, "method", r.Method, "route", r.URL.Path, "err", err)
		body.Error = fmt.Sprintf("internal error (ref %s)", ref)
	}
	if status == http.StatusConflict && isReleaseRoute(r.URL.Path) {
		body.AlreadyExistsDifferent = &struct{}{}
	}
	writeJSON(w, status, body)
}

func (s *Server) recoverPanic(w *recorder, r *http.Request) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler {
		panic(v)
	}
	ref := newRef()
	s.log.Error("panic", "ref", ref, "method", r.Method, "route", r.URL.Path,
		"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	if w.code == 0 {
		writeJSON(w, http.StatusInternalServerError, errorBody{Error: fmt.Sprintf("internal error (ref %s)", ref)})
	}
}

// newRef returns 8 random hex digits that tie an answer to its log line.
func newRef() string {
	var b [4]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client may be gone; nothing to do then
}

func writeText(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(text))
}

// recorder remembers the status code written, for the request counter.
type recorder struct {
	http.ResponseWriter
	code int
}

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *recorder) status() int {
	if r.code == 0 {
		return http.StatusOK
	}
	return r.code
}
