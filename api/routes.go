package api

import (
	"fmt"
	"net/http"
	"strings"
)

// route is one endpoint of the API. Its pattern is a path whose segments are literals or
// {name} placeholders; a placeholder matches exactly one segment, which the handler reads
// with r.PathValue(name).
type route struct {
	pattern  string
	segments []string
	methods  []string
	handler  http.HandlerFunc
	// public routes skip the authenticate step: probes and metrics act on nothing.
	public bool
}

func newRoute(pattern string, methods []string, h http.HandlerFunc) route {
	return route{pattern: pattern, segments: strings.Split(strings.TrimPrefix(pattern, "/"), "/"), methods: methods, handler: h}
}

func publicRoute(pattern string, h http.HandlerFunc) route {
	rt := newRoute(pattern, []string{http.MethodGet, http.MethodHead}, h)
	rt.public = true
	return rt
}

// match reports whether path fits the route, and returns the placeholder values.
func (rt route) match(path string) (map[string]string, bool) {
	rest, ok := strings.CutPrefix(path, "/")
	if !ok {
		return nil, false
	}
	rest = strings.TrimSuffix(rest, "/") // /api/release/ is /api/release, as in Kuberpult
	parts := strings.Split(rest, "/")
	if len(parts) != len(rt.segments) {
		return nil, false
	}
	var values map[string]string
	for i, seg := range rt.segments {
		if name, isVar := placeholder(seg); isVar {
			if values == nil {
				values = map[string]string{}
			}
			values[name] = parts[i]
			continue
		}
		if parts[i] != seg {
			return nil, false
		}
	}
	return values, true
}

func placeholder(seg string) (string, bool) {
	if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
		return seg[1 : len(seg)-1], true
	}
	return "", false
}

// Method sets of the routes.
var (
	postOnly  = []string{http.MethodPost}
	getOnly   = []string{http.MethodGet}
	putDelete = []string{http.MethodPut, http.MethodDelete}
	putOnly   = []string{http.MethodPut}
	getPost   = []string{http.MethodGet, http.MethodPost} // Kuberpult's CLI posts an empty form
)

// buildRoutes lists every endpoint. The lock endpoints answer with and without the /api
// prefix: Kuberpult's CLI adds it when called with --use_dex_auth.
func (s *Server) buildRoutes() []route {
	rs := []route{
		newRoute("/api/release", postOnly, s.handleRelease),
		newRoute("/release", postOnly, s.handleRelease),
		publicRoute("/healthz", s.handleHealth),
		publicRoute("/readyz", s.handleReady),
		publicRoute("/metrics", s.handleMetrics),
	}
	for _, prefix := range []string{"", "/api"} {
		rs = append(rs,
			newRoute(prefix+"/environments/{env}/locks/{lock}", putDelete, s.handleLock(envLock)),
			newRoute(prefix+"/environments/{env}/applications/{app}/locks/{lock}", putDelete, s.handleLock(appLock)),
			newRoute(prefix+"/environments/{env}/lock/team/{team}/{lock}", putDelete, s.handleLock(teamLock)),
			newRoute(prefix+"/environment-groups/{group}/locks/{lock}", putDelete, s.handleLock(groupLock)),
			newRoute(prefix+"/environments/{env}/releasetrain", putOnly, s.handleTrain),
			newRoute(prefix+"/environment-groups/{group}/releasetrain", putOnly, s.handleTrain),
			newRoute(prefix+"/environment-groups/{group}/rollout-status", getPost, s.handleGroupRolloutStatus),
		)
	}
	return append(rs,
		newRoute("/api/environments/{env}/applications/{app}/commit", getOnly, s.handleCommit),
		newRoute("/api/environments", getOnly, s.handleEnvironments),
		newRoute("/api/applications", getOnly, s.handleApplications),
		newRoute("/api/locks", getOnly, s.handleLocks),
		newRoute("/api/environments/{env}/releasetrain/prognosis", getOnly, s.handlePrognosis),
		newRoute("/api/application/{app}/release/manifests/{version}", getPost, s.handleManifests),
		newRoute("/api/commit-deployments/{commit}", getOnly, s.handleCommitDeployments),
		newRoute("/api/environments/{env}/applications/{app}/rollout", getOnly, s.handleRollout),
	)
}

// find returns the route of path and its placeholder values.
func (s *Server) find(path string) (route, map[string]string, bool) {
	for _, rt := range s.routes {
		if values, ok := rt.match(path); ok {
			return rt, values, true
		}
	}
	return route{}, nil, false
}

// ServeHTTP routes a request, counts it and turns a panic into an internal error.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt, values, known := s.find(r.URL.Path)
	label := rt.pattern
	if !known {
		label = "unknown" // keeps the metric's label set small whatever clients send
	}
	rec := &recorder{ResponseWriter: w}
	defer func() {
		s.metrics.countRequest(label, r.Method, rec.status())
		if known && isReleaseRoute(r.URL.Path) && allowed(rt.methods, r.Method) {
			s.metrics.countRelease(releaseOutcome(rec.status()))
		}
	}()
	defer s.recoverPanic(rec, r)

	for name, v := range values {
		r.SetPathValue(name, v)
	}
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
