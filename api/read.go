package api

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"kuberpult/deploy"
)

// The read endpoints answer JSON with these stable field names. Lists are never null, and
// optional fields are left out when they have no value.

// lockJSON is one lock.
type lockJSON struct {
	Kind              deploy.LockKind `json:"kind"` // env, app or team; a group lock is one env lock per environment
	ID                string          `json:"id"`
	Env               deploy.Env      `json:"env"`
	App               deploy.App      `json:"app,omitempty"`  // app locks
	Team              deploy.Team     `json:"team,omitempty"` // team locks
	Message           string          `json:"message"`
	SuggestedLifeTime string          `json:"suggestedLifeTime,omitempty"`
	Author            actorJSON       `json:"author"`
	CreatedAt         time.Time       `json:"createdAt"`
}

// actorJSON is who did something.
type actorJSON struct {
	Kind  deploy.ActorKind `json:"kind"`         // user, api or system
	ID    string           `json:"id,omitempty"` // Slack user id, "token:<name>", ...
	Name  string           `json:"name"`
	Email string           `json:"email,omitempty"`
}

// environmentJSON is one environment of GET /api/environments.
type environmentJSON struct {
	Name     deploy.Env    `json:"name"`
	Group    deploy.Group  `json:"group"`              // its own name unless configured
	Upstream *upstreamJSON `json:"upstream,omitempty"` // absent: no upstream
	Locks    []lockJSON    `json:"locks"`              // every lock on the environment
}

type upstreamJSON struct {
	Latest      bool       `json:"latest,omitempty"`      // takes every new release
	Environment deploy.Env `json:"environment,omitempty"` // takes the versions running there
}

// applicationJSON is one app of GET /api/applications.
type applicationJSON struct {
	Name          deploy.App     `json:"name"`
	Team          deploy.Team    `json:"team,omitempty"`
	LatestVersion deploy.Version `json:"latestVersion"`
	// Environments has one entry per configured environment, sorted by name.
	Environments []appEnvJSON `json:"environments"`
}

// appEnvJSON is an app on one environment. Version and the fields after it up to Pending
// are absent when the app is not deployed there.
type appEnvJSON struct {
	Env     deploy.Env     `json:"env"`
	Version deploy.Version `json:"version,omitempty"`
	How     deploy.How     `json:"how,omitempty"`   // manual, auto, rollback or train
	Actor   string         `json:"actor,omitempty"` // the name of who deployed it
	Time    *time.Time     `json:"time,omitempty"`
	Commit  string         `json:"commit,omitempty"` // the env-repo commit, once pushed
	Pending bool           `json:"pending"`          // waiting to be pushed to the env repo
	Locks   []lockJSON     `json:"locks"`            // the locks that stop automated deployments here
	Held    *heldJSON      `json:"held,omitempty"`   // an automated deployment a lock held back
}

type heldJSON struct {
	Version deploy.Version `json:"version"`
	How     deploy.How     `json:"how"`
	Reason  string         `json:"reason"`
	LockIDs []string       `json:"lockIds"`
	Time    time.Time      `json:"time"`
}

// commitJSON is Kuberpult's answer to GET /api/environments/<env>/applications/<app>/commit:
// the source commit of the release deployed there.
type commitJSON struct {
	Author        string `json:"author"`
	CommitID      string `json:"commit_id"`
	CommitMessage string `json:"commit_message"`
}

func toLockJSON(ls []deploy.Lock) []lockJSON {
	ls = append([]deploy.Lock(nil), ls...)
	deploy.SortLocks(ls)
	out := make([]lockJSON, 0, len(ls))
	for _, l := range ls {
		out = append(out, lockJSON{
			Kind: l.Kind, ID: l.ID, Env: l.Env, App: l.App, Team: l.Team,
			Message: l.Message, SuggestedLifeTime: l.SuggestedLifetime, CreatedAt: l.CreatedAt.UTC(),
			Author: actorJSON{Kind: l.Author.Kind, ID: l.Author.ID, Name: l.Author.Name, Email: l.Author.Email},
		})
	}
	return out
}

// handleEnvironments serves GET /api/environments: {"environments": [environmentJSON...]}.
func (s *Server) handleEnvironments(w http.ResponseWriter, r *http.Request) {
	st, err := s.handler.State(r.Context())
	if err != nil {
		s.fail(w, r, fmt.Errorf("read state: %w", err))
		return
	}
	envs := s.handler.Environments()
	out := make([]environmentJSON, 0, len(envs))
	for _, name := range envs.Names() {
		e := environmentJSON{Name: name, Group: envs.GroupOf(name)}
		if up := envs[name].Upstream; up != nil && (up.Latest || up.Environment != "") {
			e.Upstream = &upstreamJSON{Latest: up.Latest, Environment: up.Environment}
		}
		var ls []deploy.Lock
		for _, l := range st.Locks {
			if l.Env == name {
				ls = append(ls, l)
			}
		}
		e.Locks = toLockJSON(ls)
		out = append(out, e)
	}
	writeJSON(w, http.StatusOK, struct {
		Environments []environmentJSON `json:"environments"`
	}{out})
}

// handleApplications serves GET /api/applications: {"applications": [applicationJSON...]},
// sorted by name.
func (s *Server) handleApplications(w http.ResponseWriter, r *http.Request) {
	st, err := s.handler.State(r.Context())
	if err != nil {
		s.fail(w, r, fmt.Errorf("read state: %w", err))
		return
	}
	envs := s.handler.Environments().Names()
	out := make([]applicationJSON, 0, len(st.Apps))
	for _, info := range st.Apps {
		a := applicationJSON{Name: info.App, Team: info.Team, LatestVersion: info.Latest, Environments: make([]appEnvJSON, 0, len(envs))}
		for _, env := range envs {
			e := appEnvJSON{Env: env, Locks: toLockJSON(st.LocksFor(env, info.App))}
			if d, ok := st.Deployed(env, info.App); ok {
				t := d.Time.UTC()
				e.Version, e.How, e.Actor, e.Time, e.Commit, e.Pending = d.Version, d.How, d.Actor.Display(), &t, d.Commit, d.Pending
			}
			if h, ok := st.HeldOn(env, info.App); ok {
				e.Held = &heldJSON{Version: h.Version, How: h.How, Reason: h.Reason,
					LockIDs: append([]string{}, h.LockIDs()...), Time: h.Time.UTC()}
			}
			a.Environments = append(a.Environments, e)
		}
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	writeJSON(w, http.StatusOK, struct {
		Applications []applicationJSON `json:"applications"`
	}{out})
}

// handleLocks serves GET /api/locks: {"locks": [lockJSON...]}, sorted by environment,
// kind (env, app, team), app, team and id.
func (s *Server) handleLocks(w http.ResponseWriter, r *http.Request) {
	st, err := s.handler.State(r.Context())
	if err != nil {
		s.fail(w, r, fmt.Errorf("read state: %w", err))
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Locks []lockJSON `json:"locks"`
	}{toLockJSON(st.Locks)})
}

// handleCommit serves GET /api/environments/<env>/applications/<app>/commit with the
// source commit (id, author, message) of the release deployed on env, like Kuberpult. An
// app that is not deployed there answers 200 with empty fields, as Kuberpult does.
func (s *Server) handleCommit(w http.ResponseWriter, r *http.Request) {
	env, app := deploy.Env(r.PathValue("env")), deploy.App(r.PathValue("app"))
	if err := deploy.ValidateEnv(string(env)); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := deploy.ValidateApp(string(app)); err != nil {
		s.fail(w, r, err)
		return
	}
	envs := s.handler.Environments()
	if _, ok := envs[env]; !ok {
		names := make([]string, 0, len(envs))
		for _, e := range envs.Names() {
			names = append(names, string(e))
		}
		s.fail(w, r, deploy.NotFoundf("no environment `%s`; environments: %s", env, strings.Join(names, ", ")))
		return
	}
	st, err := s.handler.State(r.Context())
	if err != nil {
		s.fail(w, r, fmt.Errorf("read state: %w", err))
		return
	}
	d, ok := st.Deployed(env, app)
	if !ok {
		writeJSON(w, http.StatusOK, commitJSON{}) // Kuberpult answers empty fields
		return
	}
	rel, err := s.handler.Release(r.Context(), app, d.Version)
	if err != nil {
		s.fail(w, r, fmt.Errorf("read release %s %s: %w", app, d.Version, err))
		return
	}
	writeJSON(w, http.StatusOK, commitJSON{Author: rel.SourceAuthor, CommitID: rel.SourceCommitID, CommitMessage: rel.SourceMessage})
}
