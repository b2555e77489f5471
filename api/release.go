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
	if err != nil {
		s.fail(w, r, err)
		return
	}

	res, err := s.handler.CreateRelease(r.Context(), actor, deploy.ViaAPI, req)
	if err != nil {
		s.fail(w, r, fmt.Errorf("create release: %w", err))
		return
	}
	body := releaseBody{
		Outcome:        res.Outcome,
		Application:    res.Release.App,
		Version:        res.Release.Version,
		DisplayVersion: res.Release.DisplayVersion,
		Deployed:       append([]deploy.Env{}, res.Deployed...),
		Held:           make([]heldBody, 0, len(res.Held)),
	}
	for _, h := range res.Held {
		body.Held = append(body.Held, heldBody{Env: h.Env, Reason: h.Reason, LockIDs: h.LockIDs})
	}
	var status int
	switch res.Outcome {
	case commands.ReleaseCreated:
		status, body.Success = http.StatusCreated, &struct{}{}
	case commands.ReleaseExists:
		status, body.AlreadyExistsSame = http.StatusOK, &struct{}{}
	default:
		s.fail(w, r, fmt.Errorf("create release: unknown outcome %q", res.Outcome))
		return
	}
	s.log.Info("release", "actor", actor.Display(), "app", res.Release.App,
		"version", res.Release.Version.String(), "outcome", string(res.Outcome))
	writeJSON(w, status, body)
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
	}
	return "error"
}

// releaseOutcomes are all values of releaseOutcome, shown from the start at 0.
var releaseOutcomes = []string{"created", "already_exists", "invalid", "conflict", "denied", "not_found", "error"}
