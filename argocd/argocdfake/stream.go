package argocdfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"kuberpult/argocd"
)

// stream is an open watch stream. Its fields but sel and name are guarded by Server.mu.
type stream struct {
	sel     selector
	name    string   // ?name=: only this application
	pending [][]byte // lines not yet sent
	wake    chan struct{}
	drop    bool
	end     bool
	fail    *streamError
}

func (st *stream) matches(app argocd.Application) bool {
	return (st.name == "" || st.name == app.Metadata.Name) && st.sel.matches(app.Metadata.Labels)
}

func (st *stream) wakeUp() {
	select {
	case st.wake <- struct{}{}:
	default:
	}
}

// streamError is the gRPC gateway's error object on a stream.
type streamError struct {
	GRPCCode   int    `json:"grpc_code"`
	HTTPCode   int    `json:"http_code"`
	Message    string `json:"message"`
	HTTPStatus string `json:"http_status"`
}

// broadcastLocked queues ev for the open streams it matches, as Argo CD checks the
// selector against the application of each event.
func (s *Server) broadcastLocked(ev argocd.Event) {
	var line []byte
	for st := range s.streams {
		if !st.matches(ev.Application) {
			continue
		}
		if line == nil {
			line = s.resultLine(ev)
		}
		st.pending = append(st.pending, line)
		st.wakeUp()
	}
}

// resultLine is one event on the stream: {"result":{"type":..,"application":..}} and a
// newline, as the gateway delimits the messages of a stream.
func (s *Server) resultLine(ev argocd.Event) []byte {
	b, err := json.Marshal(struct {
		Result argocd.Event `json:"result"`
	}{ev})
	if err != nil {
		s.t.Errorf("argocdfake: encode event: %v", err)
	}
	return append(b, '\n')
}

func (s *Server) watch(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sel, err := parseSelector(q.Get("selector"))
	if err != nil {
		writeError(w, http.StatusInternalServerError, "error parsing labels with selectors: "+err.Error())
		return
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, "unexpected type of web server")
		return
	}
	st := &stream{sel: sel, name: q.Get("name"), wake: make(chan struct{}, 1)}
	s.mu.Lock()
	for _, name := range s.sortedNamesLocked() {
		if app := s.apps[name]; st.matches(app) {
			st.pending = append(st.pending, s.resultLine(argocd.Event{Type: argocd.Added, Application: app}))
		}
	}
	s.streams[st] = struct{}{}
	s.changedLocked()
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.streams, st)
		s.changedLocked()
		s.mu.Unlock()
	}()

	// The gateway sends the headers with the first event: until then the client waits
	// for the response.
	w.Header().Set("Content-Type", "application/json")
	wrote := false
	for {
		s.mu.Lock()
		lines, drop, end, fail := st.pending, st.drop, st.end, st.fail
		st.pending = nil
		s.mu.Unlock()
		for _, line := range lines {
			if _, err := w.Write(line); err != nil {
				return
			}
			wrote = true
		}
		switch {
		case fail != nil:
			if !wrote {
				w.WriteHeader(fail.HTTPCode)
			}
			b, _ := json.Marshal(struct {
				Error *streamError `json:"error"`
			}{fail})
			_, _ = w.Write(append(b, '\n'))
			return
		case drop:
			if wrote {
				_, _ = w.Write([]byte(`{"result":{"type":"MODIFIED","applicat`))
				flusher.Flush()
			}
			panic(http.ErrAbortHandler) // closes the connection, the response unended
		case end:
			return
		}
		if len(lines) > 0 {
			flusher.Flush()
		}
		select {
		case <-st.wake:
		case <-r.Context().Done():
			return
		}
	}
}

// selector is a label selector of the forms key=value, key==value, key!=value, key and
// !key, joined by commas (all must hold): what Kuberpult needs of Kubernetes' syntax.
type selector []requirement

type requirement struct {
	key, value string
	op         string // "=", "!=", "exists", "!exists"
}

func parseSelector(s string) (selector, error) {
	var sel selector
	if strings.TrimSpace(s) == "" {
		return sel, nil
	}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		var req requirement
		switch {
		case strings.Contains(part, "!="):
			k, v, _ := strings.Cut(part, "!=")
			req = requirement{key: k, value: v, op: "!="}
		case strings.Contains(part, "=="):
			k, v, _ := strings.Cut(part, "==")
			req = requirement{key: k, value: v, op: "="}
		case strings.Contains(part, "="):
			k, v, _ := strings.Cut(part, "=")
			req = requirement{key: k, value: v, op: "="}
		case strings.HasPrefix(part, "!"):
			req = requirement{key: part[1:], op: "!exists"}
		default:
			req = requirement{key: part, op: "exists"}
		}
		req.key, req.value = strings.TrimSpace(req.key), strings.TrimSpace(req.value)
		if req.key == "" || strings.ContainsAny(req.key, " ()!=") || strings.ContainsAny(req.value, " ()!=,") {
			return nil, fmt.Errorf("unable to parse requirement %q", part)
		}
		sel = append(sel, req)
	}
	return sel, nil
}

func (sel selector) matches(labels map[string]string) bool {
	for _, req := range sel {
		v, ok := labels[req.key]
		switch req.op {
		case "=":
			if !ok || v != req.value {
				return false
			}
		case "!=":
			if ok && v == req.value {
				return false
			}
		case "exists":
			if !ok {
				return false
			}
		case "!exists":
			if ok {
				return false
			}
		}
	}
	return true
}

// writeError answers as the gRPC gateway does: {"error":..,"code":..,"message":..}.
func writeError(w http.ResponseWriter, status int, message string) {
	code := grpcCode(status)
	if code == argocd.CodeUnauthenticated {
		w.Header().Set("WWW-Authenticate", message)
	}
	writeJSON(w, status, map[string]any{"error": message, "code": code, "message": message})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// grpcCode is the gRPC code the gateway answers with status for.
func grpcCode(status int) int {
	switch status {
	case http.StatusBadRequest:
		return 3 // InvalidArgument
	case http.StatusUnauthorized:
		return argocd.CodeUnauthenticated
	case http.StatusForbidden:
		return argocd.CodePermissionDenied
	case http.StatusNotFound:
		return argocd.CodeNotFound
	case http.StatusConflict:
		return 6 // AlreadyExists
	case http.StatusTooManyRequests:
		return 8 // ResourceExhausted
	case http.StatusNotImplemented:
		return 12 // Unimplemented
	case http.StatusServiceUnavailable:
		return 14 // Unavailable
	case http.StatusGatewayTimeout:
		return 4 // DeadlineExceeded
	}
	return 2 // Unknown: Argo CD's plain errors, answered with 500
}

func failureMessage(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "invalid session: token has invalid claims: token is expired"
	case http.StatusForbidden:
		return "permission denied"
	}
	return "argocdfake: injected failure (" + strings.ToLower(http.StatusText(status)) + ")"
}
