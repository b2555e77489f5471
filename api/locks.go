package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"kuberpult/commands"
	"kuberpult/deploy"
	"kuberpult/reply"
)

// maxLockBody bounds the JSON body of a lock request.
const maxLockBody = 64 << 10

// lockRoute says which of Kuberpult's four lock endpoints a route is.
type lockRoute int

const (
	envLock   lockRoute = iota // /environments/{env}/locks/{lock}
	appLock                    // /environments/{env}/applications/{app}/locks/{lock}
	teamLock                   // /environments/{env}/lock/team/{team}/{lock}
	groupLock                  // /environment-groups/{group}/locks/{lock}
)

// lockBody is the JSON body of a PUT, as Kuberpult's CLI and UI send it. Fields Kuberpult
// knows and we do not use (signature) are ignored, like unknown ones: Kuberpult decodes
// the body with encoding/json, which ignores them too.
type lockBody struct {
	Message           string `json:"message"`
	SuggestedLifeTime string `json:"suggestedLifeTime"`
	// CILink is accepted for Kuberpult's clients; it is not recorded.
	CILink string `json:"ciLink"`
}

// lockAnswer is the JSON of a lock request that was done, or had nothing to do.
type lockAnswer struct {
	Outcome  deploy.Outcome `json:"outcome"`  // done or noop
	Message  string         `json:"message"`  // what happened, for people
	ActionID int64          `json:"actionId"` // the action (audit entry, env-repo commit events)
	Created  []lockJSON     `json:"created,omitempty"`
	Removed  []lockJSON     `json:"removed,omitempty"`
}

// handleLock serves PUT (create or replace the lock) and DELETE (remove exactly that lock)
// on one of the lock routes. It validates the path and body, runs the command as the
// authenticated caller and maps the reply: done or noop → 200 lockAnswer; a refusal → 400,
// 403, 404 or 409 {"error": ...}; a failure → 500 with the handler's "internal error (ref …)".
// A group lock is the same environment lock on every environment of the group.
func (s *Server) handleLock(which lockRoute) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		actor, ok := actorFrom(r.Context())
		if !ok {
			s.fail(w, r, errors.New("lock request without an authenticated actor"))
			return
		}
		lk, err := s.lockFromPath(r, which)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		var cmd commands.Command = commands.Unlock{Kind: lk.Kind, Target: lk.Target, App: lk.App, Team: lk.Team, ID: lk.ID}
		if r.Method == http.MethodPut {
			body, err := decodeLockBody(w, r)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			lk.Message, lk.Lifetime = body.Message, body.SuggestedLifeTime
			cmd = lk
		}
		text := r.Method + " " + r.URL.Path
		creq, err := request(r, actor, text)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		res := s.handler.Run(r.Context(), creq, cmd)
		s.log.Info("lock", "actor", actor.Display(), "cmd", text, "outcome", string(res.Outcome), "replayed", res.Replayed)
		switch status := resultStatus(res); {
		case status == http.StatusOK:
			replayed(w, res)
			ans := lockAnswer{Outcome: res.Outcome, Message: reply.Text(res), ActionID: res.ActionID, Removed: toLockJSON(res.Unlocked)}
			if res.Locked != nil {
				ans.Created = toLockJSON(res.Locked.Locks)
			}
			writeJSON(w, status, ans)
		case res.Problem == nil:
			s.fail(w, r, fmt.Errorf("%s: outcome %q without a problem", text, res.Outcome))
		default:
			s.refuse(w, r, res)
		}
	}
}

// lockFromPath reads and validates the path segments of a lock route. Every problem is a
// user error naming the segment.
func (s *Server) lockFromPath(r *http.Request, which lockRoute) (commands.Lock, error) {
	lk := commands.Lock{Kind: deploy.LockEnv, ID: r.PathValue("lock")}
	if which == groupLock {
		lk.Target = r.PathValue("group")
		if err := deploy.ValidateGroup(lk.Target); err != nil {
			return lk, err
		}
	} else {
		lk.Target = r.PathValue("env")
		if err := deploy.ValidateEnv(lk.Target); err != nil {
			return lk, err
		}
	}
	switch which {
	case appLock:
		lk.Kind, lk.App = deploy.LockApp, deploy.App(r.PathValue("app"))
		if err := deploy.ValidateApp(string(lk.App)); err != nil {
			return lk, err
		}
	case teamLock:
		lk.Kind, lk.Team = deploy.LockTeam, deploy.Team(r.PathValue("team"))
		if err := deploy.ValidateTeam(string(lk.Team)); err != nil {
			return lk, err
		}
	}
	if err := deploy.ValidateLockID(lk.ID); err != nil {
		return lk, err
	}
	if which != groupLock {
		envs := s.handler.Environments()
		if _, isEnv := envs[deploy.Env(lk.Target)]; !isEnv && len(envs.Members(deploy.Group(lk.Target))) > 0 {
			return lk, deploy.Invalidf("`%s` is an environment group, not an environment; lock it with /environment-groups/%s/locks/%s", lk.Target, lk.Target, lk.ID)
		}
	}
	return lk, nil
}

// decodeLockBody reads the JSON body of a PUT: Content-Type application/json, a message,
// and an optional suggested lifetime such as 4h, 2d or 1w.
func decodeLockBody(w http.ResponseWriter, r *http.Request) (lockBody, error) {
	var body lockBody
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return body, &statusError{status: http.StatusUnsupportedMediaType,
			msg: fmt.Sprintf("the body must be application/json, not %q", r.Header.Get("Content-Type"))}
	}
	r.Body = http.MaxBytesReader(innermost(w), r.Body, maxLockBody)
	err := json.NewDecoder(r.Body).Decode(&body)
	var tooLarge *http.MaxBytesError
	switch {
	case errors.Is(err, io.EOF):
		return body, deploy.Invalidf(`the body is empty; send the lock message as {"message": "..."}`)
	case errors.As(err, &tooLarge):
		return body, tooLargeError(tooLarge.Limit)
	case err != nil:
		return body, deploy.Invalidf("the body is not a valid JSON object: %v", err)
	}
	if strings.TrimSpace(body.Message) == "" {
		return body, deploy.Invalidf(`the lock message is missing; send it as {"message": "..."}`)
	}
	if err := deploy.ValidateLifetime(body.SuggestedLifeTime); err != nil {
		msg, _ := deploy.UserMessage(err)
		return body, deploy.Invalidf("suggestedLifeTime: %s", msg)
	}
	return body, nil
}

// resultStatus maps a command's result to an HTTP status: 200 for done and noop, the kind
// of its error for a refusal, 500 for a failure.
func resultStatus(res commands.Result) int {
	switch res.Outcome {
	case deploy.OutcomeDone, deploy.OutcomeNoop:
		return http.StatusOK
	case deploy.OutcomeFailed:
		return http.StatusInternalServerError
	}
	if status, ok := kindOf(res.Err); ok {
		return status
	}
	switch res.Outcome {
	case deploy.OutcomeDenied:
		return http.StatusForbidden
	case deploy.OutcomeInvalid:
		return http.StatusBadRequest
	case deploy.OutcomeConfirm, deploy.OutcomeStale:
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}
