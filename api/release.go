package api

import (
	"fmt"
	"net/http"

	"kuberpult/commands"
	"kuberpult/deploy"
)

// releaseBody is the JSON answer to a release that was accepted (201 or 200).
type releaseBody struct {
	// Success or AlreadyExistsSame: the key the original Kuberpult answers with. Its CLI
	// only looks at the status code, but scripts may look for the key.
	Success           *struct{} `json:"Success,omitempty"`
	AlreadyExistsSame *struct{} `json:"AlreadyExistsSame,omitempty"`

	Outcome        commands.ReleaseOutcome `json:"outcome"` // created or already_exists
	Application    deploy.App              `json:"application"`
	Version        deploy.Version          `json:"version"`
	DisplayVersion string                  `json:"displayVersion,omitempty"`
	ActionID       int64                   `json:"actionId"`
	Deployed       []deploy.Env            `json:"deployed"` // environments it went to at once
	Held           []heldBody              `json:"held"`     // auto-deploys a lock held back
}

// heldBody is an auto-deploy a lock held back.
type heldBody struct {
	Env     deploy.Env `json:"env"`
	Reason  string     `json:"reason"`
	LockIDs []string   `json:"lockIds,omitempty"`
}

// innermost unwraps w to the server's own writer, which MaxBytesReader tells to close
// the connection once a body is too large.
func innermost(w http.ResponseWriter) http.ResponseWriter {
	for {
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return w
		}
		w = u.Unwrap()
	}
}

func isReleaseRoute(path string) bool { return path == "/api/release" || path == "/release" }

// headerIdempotencyKey makes a request idempotent: a repeat with the same key (from the same
// API client) gets the first answer and changes nothing.
const headerIdempotencyKey = "Idempotency-Key"

// maxIdempotencyKey bounds the header's length.
const maxIdempotencyKey = 255

// request is the command request of an API call: the authenticated caller, and the
// idempotency key scoped to it.
func request(r *http.Request, actor deploy.Actor, text string) (commands.Request, error) {
	key := r.Header.Get(headerIdempotencyKey)
	if len(key) > maxIdempotencyKey {
		return commands.Request{}, deploy.Invalidf("header %s is %d characters long; at most %d are allowed", headerIdempotencyKey, len(key), maxIdempotencyKey)
	}
	if key != "" {
		key = actor.ID + ":" + key
	}
	return commands.Request{Actor: actor, Via: deploy.ViaAPI, Text: text, Key: key}, nil
}

// handleRelease serves POST /api/release and the legacy POST /release alike.
func (s *Server) handleRelease(w http.ResponseWriter, r *http.Request) {
	actor, ok := actorFrom(r.Context())
	if !ok {
		s.fail(w, r, fmt.Errorf("release request without an authenticated actor"))
		return
	}
	if r.ContentLength > s.maxBytes {
		s.fail(w, r, tooLargeError(s.maxBytes))
		return
	}
	r.Body = http.MaxBytesReader(innermost(w), r.Body, s.maxBytes)
	req, err := decodeRelease(r)
	if err == nil {
		req.Author, err = authorFromHeaders(r.Header)
	}
	var creq commands.Request
	if err == nil {
		creq, err = request(r, actor, "")
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res := s.handler.CreateRelease(r.Context(), creq, req)
	if res.Problem != nil {
		s.refuse(w, r, res)
		return
	}
	info := res.Release
	if info == nil {
		s.fail(w, r, fmt.Errorf("create release: outcome %q without a release", res.Outcome))
		return
	}
	body := releaseBody{
		Outcome:        info.Outcome,
		Application:    info.Release.App,
		Version:        info.Release.Version,
		DisplayVersion: info.Release.DisplayVersion,
		ActionID:       res.ActionID,
		Deployed:       append([]deploy.Env{}, info.Deployed...),
		Held:           make([]heldBody, 0, len(res.Held)),
	}
	for _, h := range res.Held {
		body.Held = append(body.Held, heldBody{Env: h.Env, Reason: h.Reason, LockIDs: h.LockIDs()})
	}
	var status int
	switch info.Outcome {
	case commands.ReleaseCreated:
		status, body.Success = http.StatusCreated, &struct{}{}
	case commands.ReleaseExists:
		status, body.AlreadyExistsSame = http.StatusOK, &struct{}{}
	default:
		s.fail(w, r, fmt.Errorf("create release: unknown outcome %q", info.Outcome))
		return
	}
	replayed(w, res)
	s.log.Info("release", "actor", actor.Display(), "app", info.Release.App,
		"version", info.Release.Version.String(), "outcome", string(info.Outcome), "replayed", res.Replayed)
	writeJSON(w, status, body)
}

// refuse answers a command the handler refused or failed: its problem's text (for an internal
// error the handler's reference, which it logged) with the status of its kind.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, res commands.Result) {
	replayed(w, res)
	body := errorBody{Error: res.Problem.Message}
	status := resultStatus(res)
	if status == http.StatusConflict && isReleaseRoute(r.URL.Path) {
		body.AlreadyExistsDifferent = &struct{}{}
	}
	writeJSON(w, status, body)
}

// replayed marks the answer to a request whose idempotency key was seen before.
func replayed(w http.ResponseWriter, res commands.Result) {
	if res.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
}

// releaseOutcome names the outcome of a release request, from its status code, for
// kuberpult_releases_total.
func releaseOutcome(status int) string {
	switch status {
	case http.StatusCreated:
		return "created"
	case http.StatusOK:
		return "already_exists"
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		return "invalid"
	case http.StatusConflict:
		return "conflict"
	case http.StatusForbidden:
		return "denied"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusUnauthorized:
		return "unauthorized"
	}
	return "error"
}

// releaseOutcomes are all values of releaseOutcome, shown from the start at 0.
var releaseOutcomes = []string{"created", "already_exists", "invalid", "conflict", "denied", "not_found", "unauthorized", "error"}
