package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"kuberpult/commands"
	"kuberpult/deploy"
	"kuberpult/reply"
	"kuberpult/train"
)

// trainAnswer is the answer to a train request: Kuberpult's {target, team}, and what was done.
type trainAnswer struct {
	Target   string         `json:"target"`
	Team     string         `json:"team"`
	Outcome  deploy.Outcome `json:"outcome"`
	Message  string         `json:"message"`
	ActionID int64          `json:"actionId"`
	Deployed int            `json:"deployed"`
}

// handleTrain serves PUT …/releasetrain?team= for an environment ({env}) or a group
// ({group}): one train, one transaction, one env-repo commit.
func (s *Server) handleTrain(w http.ResponseWriter, r *http.Request) {
	actor, ok := actorFrom(r.Context())
	if !ok {
		s.fail(w, r, errors.New("train request without an authenticated actor"))
		return
	}
	c, err := s.trainFromPath(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	text := r.Method + " " + r.URL.RequestURI()
	creq, err := request(r, actor, text)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res := s.handler.Run(r.Context(), creq, c)
	s.log.Info("train", "actor", actor.Display(), "cmd", text, "outcome", string(res.Outcome), "replayed", res.Replayed)
	switch status := resultStatus(res); {
	case status == http.StatusOK:
		replayed(w, res)
		n := 0
		if res.Train != nil {
			n = len(res.Train.Deploys())
		}
		writeJSON(w, status, trainAnswer{Target: c.Target, Team: string(c.Team), Outcome: res.Outcome, Message: reply.Text(res), ActionID: res.ActionID, Deployed: n})
	case res.Problem == nil:
		s.fail(w, r, fmt.Errorf("%s: outcome %q without a problem", text, res.Outcome))
	default:
		s.refuse(w, r, res)
	}
}

// trainFromPath reads the target (an environment on …/environments/{env}/…, a group on
// …/environment-groups/{group}/…) and the team filter.
func (s *Server) trainFromPath(r *http.Request) (commands.Train, error) {
	c := commands.Train{Target: r.PathValue("env")}
	kind := "environment"
	if g := r.PathValue("group"); g != "" {
		c.Target, kind = g, "environment group"
	}
	if err := deploy.ValidateEnv(c.Target); err != nil {
		return c, err
	}
	envs := s.handler.Environments()
	switch kind {
	case "environment group":
		if len(envs.Members(deploy.Group(c.Target))) == 0 {
			return c, deploy.NotFoundf("could not find target of type ENVIRONMENTGROUP and name '%s'", c.Target)
		}
	default:
		if r.Method == http.MethodPut {
			if _, ok := envs[deploy.Env(c.Target)]; !ok {
				return c, deploy.NotFoundf("could not find target of type ENVIRONMENT and name '%s'", c.Target)
			}
		} else if len(train.Targets(envs, c.Target)) == 0 {
			return c, deploy.NotFoundf("could not find environment group or environment configs for '%s'", c.Target)
		}
	}
	if t := r.URL.Query().Get("team"); t != "" {
		if err := deploy.ValidateTeam(t); err != nil {
			return c, err
		}
		c.Team = deploy.Team(t)
	}
	return c, nil
}

// Kuberpult's prognosis JSON.
type (
	prognosisJSON struct {
		EnvsPrognoses map[deploy.Env]envPrognosisJSON `json:"envsPrognoses"`
	}
	envPrognosisJSON struct {
		SkipCause     string                  `json:"skipCause,omitempty"`
		EnvLocks      map[string]lockProgJSON `json:"envLocks,omitempty"`
		AppsPrognoses *appsPrognosesJSON      `json:"appsPrognoses,omitempty"`
	}
	appsPrognosesJSON struct {
		Prognoses map[deploy.App]appPrognosisJSON `json:"prognoses"`
	}
	appPrognosisJSON struct {
		SkipCause       string                  `json:"skipCause,omitempty"`
		DeployedVersion *deployedVersionJSON    `json:"deployedVersion,omitempty"`
		AppLocks        map[string]lockProgJSON `json:"appLocks,omitempty"`
		TeamLocks       map[string]lockProgJSON `json:"teamLocks,omitempty"`
	}
	deployedVersionJSON struct {
		Version  uint64 `json:"version"`
		Revision uint64 `json:"revision"`
	}
	lockProgJSON struct {
		LockID    string     `json:"lockId"`
		Message   string     `json:"message"`
		CreatedAt time.Time  `json:"createdAt"`
		CreatedBy personJSON `json:"createdBy"`
	}
	personJSON struct {
		Name  string `json:"name"`
		Email string `json:"email"`
	}
)

func lockMap(ls []deploy.Lock) map[string]lockProgJSON {
	if len(ls) == 0 {
		return nil
	}
	m := make(map[string]lockProgJSON, len(ls))
	for _, l := range ls {
		m[l.ID] = lockProgJSON{LockID: l.ID, Message: l.Message, CreatedAt: l.CreatedAt, CreatedBy: personJSON{l.Author.Name, l.Author.Email}}
	}
	return m
}

// handlePrognosis serves GET /api/environments/{env}/releasetrain/prognosis?team=: the plan
// of the train (to a group or an environment of that name), nothing written.
func (s *Server) handlePrognosis(w http.ResponseWriter, r *http.Request) {
	actor, ok := actorFrom(r.Context())
	if !ok {
		s.fail(w, r, errors.New("prognosis request without an authenticated actor"))
		return
	}
	c, err := s.trainFromPath(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.handler.Prognosis(r.Context(), commands.Request{Actor: actor, Via: deploy.ViaAPI, Text: r.Method + " " + r.URL.RequestURI()}, c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := prognosisJSON{EnvsPrognoses: map[deploy.Env]envPrognosisJSON{}}
	for _, e := range p.Envs {
		ep := envPrognosisJSON{SkipCause: string(e.Skip), EnvLocks: lockMap(e.Locks)}
		if e.Skip == "" {
			ep.AppsPrognoses = &appsPrognosesJSON{Prognoses: map[deploy.App]appPrognosisJSON{}}
			for _, a := range e.Apps {
				ap := appPrognosisJSON{SkipCause: string(a.Skip)}
				switch a.Skip {
				case "":
					ap.DeployedVersion = &deployedVersionJSON{Version: uint64(a.To)}
				case train.AppIsLocked:
					ap.AppLocks = lockMap(a.Locks)
				case train.TeamIsLocked:
					ap.TeamLocks = lockMap(a.Locks)
				}
				ep.AppsPrognoses.Prognoses[a.App] = ap
			}
		}
		out.EnvsPrognoses[e.Env] = ep
	}
	writeJSON(w, http.StatusOK, out)
}
