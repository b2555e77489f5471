package api

import (
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"kuberpult/deploy"
)

// Kuberpult's rollout status of an environment group:
// /environment-groups/<group>/rollout-status with the JSON body {team?, waitDuration?}
// answers {"status": <the most severe>, "applications": [{application, environment, status}]}
// where the applications are those not successful, and the statuses are Kuberpult's names.

// MaxRolloutWait is the longest waitDuration a rollout-status request may ask for (Kuberpult's
// default frontend.maxWaitDuration).
const MaxRolloutWait = 10 * time.Minute

// rolloutWaitPoll is how often a waiting rollout-status request reads the rollouts again.
const rolloutWaitPoll = 500 * time.Millisecond

type rolloutStatusRequest struct {
	Team         string `json:"team"`
	WaitDuration string `json:"waitDuration"`
	Signature    string `json:"signature"`
}

type rolloutStatusAnswer struct {
	Status       string             `json:"status"`
	Applications []rolloutAppStatus `json:"applications"`
}

type rolloutAppStatus struct {
	Application string `json:"application"`
	Environment string `json:"environment"`
	Status      string `json:"status"`
}

// Kuberpult's statuses, the most severe first: an error needs a person, the others may
// resolve by waiting.
var statusSeverity = []string{"error", "progressing", "unhealthy", "pending", "unknown", "successful"}

func severity(status string) int {
	for i, s := range statusSeverity {
		if s == status {
			return i
		}
	}
	return len(statusSeverity)
}

// kuberpultStatus names a rollout state as Kuberpult does; a timeout is an error (it ended
// without Argo CD running the version healthily).
func kuberpultStatus(s deploy.RolloutState) string {
	switch s {
	case deploy.RolloutTimeout:
		return "error"
	case deploy.RolloutSuperseded:
		return "unknown"
	}
	return string(s)
}

// handleGroupRolloutStatus serves /environment-groups/{group}/rollout-status: how Argo CD's
// rollouts of what runs on the group's environments stand (an environment outside any group
// is a group of its own), for one team's apps with "team". With "waitDuration" (1s up to
// MaxRolloutWait) it answers once all are successful, one is an error, every other one has
// ended, or the time is up.
func (s *Server) handleGroupRolloutStatus(w http.ResponseWriter, r *http.Request) {
	if !s.followsRollouts {
		writeJSON(w, http.StatusNotImplemented, errorBody{Error: "Argo CD rollouts are not followed: the configuration has no argocd section"})
		return
	}
	group := r.PathValue("group")
	if err := deploy.ValidateGroup(group); err != nil {
		s.fail(w, r, err)
		return
	}
	envs := s.handler.Environments()
	members := envs.Members(deploy.Group(group))
	if len(members) == 0 {
		var names []string
		for _, g := range envs.Groups() {
			names = append(names, string(g))
		}
		s.fail(w, r, deploy.NotFoundf("no environment group `%s`; groups: %s", group, strings.Join(names, ", ")))
		return
	}
	req, err := decodeRolloutStatus(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var wait time.Duration
	if req.WaitDuration != "" {
		if wait, err = time.ParseDuration(req.WaitDuration); err != nil {
			s.fail(w, r, deploy.Invalidf("waitDuration %q is not a duration such as 90s or 5m", req.WaitDuration))
			return
		}
		switch {
		case wait > MaxRolloutWait:
			s.fail(w, r, deploy.Invalidf("waitDuration %s is too long: at most %s", req.WaitDuration, MaxRolloutWait))
			return
		case wait < time.Second:
			s.fail(w, r, deploy.Invalidf("waitDuration %s is shorter than one second", req.WaitDuration))
			return
		}
		// The wait may outlast the server's write timeout.
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(wait + time.Minute))
	}
	deadline := time.Now().Add(wait)
	for {
		answer, done, err := s.rolloutStatus(r, members, deploy.Team(req.Team))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if done || wait == 0 || !time.Now().Before(deadline) {
			writeJSON(w, http.StatusOK, answer)
			return
		}
		t := time.NewTimer(min(rolloutWaitPoll, time.Until(deadline)))
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return // the client is gone
		case <-s.stopping:
			t.Stop()
			writeJSON(w, http.StatusOK, answer) // shutting down: what is known now
			return
		}
	}
}

// decodeRolloutStatus reads the optional JSON body.
func decodeRolloutStatus(r *http.Request) (rolloutStatusRequest, error) {
	var req rolloutStatusRequest
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		return req, deploy.Invalidf("read the body: %v", err)
	}
	if strings.TrimSpace(string(body)) == "" {
		return req, nil
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, deploy.Invalidf("the body is not a JSON object {\"team\", \"waitDuration\"}: %v", err)
	}
	if req.Signature != "" {
		return req, deploy.Invalidf("signatures are not supported: authenticate with an API token")
	}
	if req.Team != "" {
		if err := deploy.ValidateTeam(req.Team); err != nil {
			return req, err
		}
	}
	return req, nil
}

// rolloutStatus is the answer for the environments now, and whether waiting is over.
func (s *Server) rolloutStatus(r *http.Request, members []deploy.Env, team deploy.Team) (rolloutStatusAnswer, bool, error) {
	st, err := s.handler.State(r.Context())
	if err != nil {
		return rolloutStatusAnswer{}, false, err
	}
	rs, err := s.handler.Rollouts(r.Context(), "")
	if err != nil {
		return rolloutStatusAnswer{}, false, err
	}
	byKey := map[[2]string]deploy.Rollout{}
	for _, ro := range rs {
		byKey[[2]string{string(ro.Env), string(ro.App)}] = ro
	}
	answer := rolloutStatusAnswer{Status: "successful", Applications: []rolloutAppStatus{}}
	ended := true
	for _, env := range members {
		for _, d := range st.Deployments[env] {
			if team != "" && st.TeamOf(d.App) != team {
				continue
			}
			status, final := "unknown", false // nothing known of the running version
			if ro, ok := byKey[[2]string{string(env), string(d.App)}]; ok && ro.Version == d.Version {
				status, final = kuberpultStatus(ro.State), ro.State.Final()
			}
			if severity(status) < severity(answer.Status) {
				answer.Status = status
			}
			if status != "successful" {
				answer.Applications = append(answer.Applications, rolloutAppStatus{Application: string(d.App), Environment: string(env), Status: status})
				ended = ended && final
			}
		}
	}
	sort.Slice(answer.Applications, func(i, j int) bool {
		a, b := answer.Applications[i], answer.Applications[j]
		if a.Environment != b.Environment {
			return a.Environment < b.Environment
		}
		return a.Application < b.Application
	})
	return answer, answer.Status == "error" || ended, nil
}
