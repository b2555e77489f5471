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
	"sync"
	"time"

	"kuberpult/commands"
	"kuberpult/deploy"
	"kuberpult/train"
)

// DefaultMaxRequestBytes limits a request body when Options.MaxRequestBytes is not set.
const DefaultMaxRequestBytes int64 = 32 << 20 // 32 MiB

// shutdownTimeout is how long Run waits for requests in flight when its context ends.
const shutdownTimeout = 15 * time.Second

// readyTimeout bounds one readiness check.
const readyTimeout = 5 * time.Second

// Handler is everything the API asks of the command handler; *commands.Handler implements
// it. The handler checks permissions itself: the API authenticates, decodes and maps.
type Handler interface {
	// CreateRelease stores a release from CI and auto-deploys it.
	CreateRelease(ctx context.Context, r commands.Request, req commands.ReleaseRequest) commands.Result
	// Run executes a command (a lock or unlock) for the request's actor.
	Run(ctx context.Context, r commands.Request, cmd commands.Command) commands.Result
	// State is a snapshot of apps, deployments, locks and held deployments.
	State(ctx context.Context) (deploy.State, error)
	// Release returns one release.
	Release(ctx context.Context, app deploy.App, v deploy.Version) (deploy.Release, error)
	// Prognosis plans a train, writing nothing.
	Prognosis(ctx context.Context, r commands.Request, c commands.Train) (train.Plan, error)
	// Environments returns the configured environments.
	Environments() deploy.Environments
	// ReleaseManifests returns a release (0: the newest) with its manifests and their
	// environments.
	ReleaseManifests(ctx context.Context, app deploy.App, v deploy.Version) (deploy.Release, []deploy.Env, error)
	// CommitDeployments says where a source commit runs, per app and environment.
	CommitDeployments(ctx context.Context, commit string) (commands.CommitStatus, error)
	// Rollouts returns the last known Argo CD rollouts of an app.
	Rollouts(ctx context.Context, app deploy.App) ([]deploy.Rollout, error)
}

// Options configure a Server.
type Options struct {
	// Handler serves every endpoint; required.
	Handler Handler
	// Tokens are the API tokens. Without any, every caller acts as an anonymous API client;
	// with some, every endpoint but the probes and metrics needs one of them.
	Tokens []Token
	Logger *slog.Logger // nil discards logs
	// Ready reports whether the program can serve (e.g. a database ping; nil means always
	// ready) and lines about its parts that /readyz shows either way, e.g. the env repo's state.
	Ready func(context.Context) (details []string, err error)
	// Metrics are extra values other parts of the program show on /metrics.
	Metrics []MetricFunc
	// MaxRequestBytes limits a release request body; 0 means DefaultMaxRequestBytes.
	MaxRequestBytes int64
	// FollowsRollouts says that Argo CD's rollouts are followed (an argocd section): the
	// group rollout-status endpoint answers only then.
	FollowsRollouts bool
}

// Server is the HTTP API. Its routes (the four lock routes also answer with an /api prefix,
// as Kuberpult's CLI sends them with --use_dex_auth):
//
//	POST       /api/release, /release                           create a release (multipart, Kuberpult's fields)
//	PUT|DELETE /environments/<env>/locks/<id>                    environment lock
//	PUT|DELETE /environments/<env>/applications/<app>/locks/<id> app lock
//	PUT|DELETE /environments/<env>/lock/team/<team>/<id>         team lock
//	PUT|DELETE /environment-groups/<group>/locks/<id>            the same environment lock on every env of the group
//	GET|POST   /environment-groups/<group>/rollout-status        Kuberpult's rollout status of a group (rollout_status.go)
//	GET        /api/environments/<env>/applications/<app>/rollout the last known rollout there
//	GET        /api/environments/<env>/applications/<app>/commit the source commit deployed there
//	GET        /api/environments, /api/applications, /api/locks read-only JSON for boards (see read.go)
//	GET        /healthz                                          200 "ok" while the process runs
//	GET        /readyz                                           200 "ok", or 503 with the reason Options.Ready gave
//	GET        /metrics                                          Prometheus text format 0.0.4
//
// A release answers 201 (created) or 200 (already exists) with a body like
//
//	{"Success":{},"outcome":"created","application":"checkout","version":42,
//	 "deployed":["development"],"held":[{"env":"staging","reason":"held by lock ...","lockIds":["freeze"]}]}
//
// where the first key is the one the original Kuberpult answers with ("Success" or
// "AlreadyExistsSame"). A lock request answers 200 {"outcome":"done"|"noop","message":"..."}
// (see handleLock). A refusal answers {"error":"<what was wrong>"} with 400 (invalid), 401
// (no valid token), 403 (denied), 404 (not found), 409 (conflict; for a release the body
// also has "AlreadyExistsDifferent":{}), 413 (body too large) or 415 (wrong content type).
// Anything else answers 500 {"error":"internal error (ref 1a2b3c4d)"} and is logged once
// with that ref. An unknown path answers 404 and a wrong method 405 with an Allow header,
// both as JSON.
type Server struct {
	handler      Handler
	log          *slog.Logger
	ready        func(context.Context) ([]string, error)
	maxBytes     int64
	authenticate authenticator
	metrics      *metrics
	routes       []route

	followsRollouts bool
	stopping        chan struct{} // closed when Serve begins to shut down
	stopOnce        sync.Once
}

// New returns a Server. It panics if opts.Handler is nil, or if
// a token has no name or secret, or two tokens share a name or a secret: the configuration
// is validated before it gets here.
func New(opts Options) *Server {
	s := &Server{handler: opts.Handler}
	if s.handler == nil {
		panic("api: Options.Handler is nil")
	}
	s.log = opts.Logger
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.ready = opts.Ready
	s.followsRollouts = opts.FollowsRollouts
	s.stopping = make(chan struct{})
	s.maxBytes = opts.MaxRequestBytes
	if s.maxBytes <= 0 {
		s.maxBytes = DefaultMaxRequestBytes
	}
	s.authenticate = anonymous
	if len(opts.Tokens) > 0 {
		s.authenticate = newTokenSet(opts.Tokens).authenticate
	}
	s.metrics = newMetrics(opts.Metrics, s.log)
	s.routes = s.buildRoutes()
	return s
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
	s.stopOnce.Do(func() { close(s.stopping) }) // requests that wait answer now
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

// handleReady answers 200 when the program can accept requests (the database answers), and
// 503 otherwise. Either way the body lists the state of its parts, one per line: the env repo
// being unreachable does not make it unready (accepted changes wait in the outbox), but it
// is said here.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	var details []string
	var err error
	if s.ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		details, err = s.ready(ctx)
	}
	body := "ok\n"
	status := http.StatusOK
	if err != nil {
		s.log.Warn("not ready", "err", err)
		body, status = "not ready: "+err.Error()+"\n", http.StatusServiceUnavailable
	}
	for _, d := range details {
		body += d + "\n"
	}
	writeText(w, status, body)
}

// errorBody is the JSON of every refusal.
type errorBody struct {
	Error string `json:"error"`
	// AlreadyExistsDifferent is set on 409 answers to release requests: the key the
	// original Kuberpult answers with, for scripts that look for it.
	AlreadyExistsDifferent *struct{} `json:"AlreadyExistsDifferent,omitempty"`
}

// statusError is a refusal that has its own HTTP status and is not a domain error:
// a missing token, a body that is too large or of the wrong content type.
type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string { return e.msg }

// kindStatus maps the kinds of user errors to HTTP statuses.
var kindStatus = []struct {
	kind   error
	status int
}{
	{deploy.ErrInvalid, http.StatusBadRequest},
	{deploy.ErrConflict, http.StatusConflict},
	{deploy.ErrDenied, http.StatusForbidden},
	{deploy.ErrNotFound, http.StatusNotFound},
}

// kindOf returns the HTTP status of a user error's kind.
func kindOf(err error) (int, bool) {
	for _, k := range kindStatus {
		if errors.Is(err, k.kind) {
			return k.status, true
		}
	}
	return 0, false
}

// classify maps an error to its HTTP status and the text shown to the caller. Only
// user errors show their own text; the status is 500 for anything else.
func classify(err error) (int, string) {
	var se *statusError
	if errors.As(err, &se) {
		return se.status, se.msg
	}
	status, ok := kindOf(err)
	if !ok {
		return http.StatusInternalServerError, ""
	}
	if msg, ok := deploy.UserMessage(err); ok {
		return status, msg
	}
	for _, k := range kindStatus {
		if k.status == status {
			return status, k.kind.Error()
		}
	}
	return status, ""
}

// fail answers a request that did not succeed. Internal errors are logged once, with
// a ref the caller sees; the request body and its headers are never logged.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := classify(err)
	body := errorBody{Error: msg}
	switch status {
	case http.StatusInternalServerError:
		ref := newRef()
		s.log.Error("internal error", "ref", ref, "method", r.Method, "route", r.URL.Path, "err", err)
		body.Error = fmt.Sprintf("internal error (ref %s)", ref)
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", "Bearer")
	case http.StatusConflict:
		if isReleaseRoute(r.URL.Path) {
			body.AlreadyExistsDifferent = &struct{}{}
		}
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
