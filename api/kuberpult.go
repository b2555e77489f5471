package api

import (
	"net/http"
	"regexp"
	"time"

	"kuberpult/deploy"
)

// Kuberpult's read endpoints that its CLI uses: `release --dry-run` compares against
// the manifests of the newest release, `get-commit-deployments` asks where a commit is.

// manifestsJSON is Kuberpult's GetManifestsResponse as its frontend writes it (Go's
// encoding/json of the protobuf message: proto field names, timestamps as seconds and nanos).
type manifestsJSON struct {
	Release   releaseJSON             `json:"release"`
	Manifests map[string]manifestJSON `json:"manifests,omitempty"`
}

type releaseJSON struct {
	Version        uint64       `json:"version,omitempty"`
	SourceCommitID string       `json:"source_commit_id,omitempty"`
	SourceAuthor   string       `json:"source_author,omitempty"`
	SourceMessage  string       `json:"source_message,omitempty"`
	CreatedAt      *timestampPB `json:"created_at,omitempty"`
	DisplayVersion string       `json:"display_version,omitempty"`
	Environments   []string     `json:"environments,omitempty"`
	CILink         string       `json:"ci_link,omitempty"`
}

type timestampPB struct {
	Seconds int64 `json:"seconds,omitempty"`
	Nanos   int32 `json:"nanos,omitempty"`
}

type manifestJSON struct {
	Environment string `json:"environment,omitempty"`
	Content     string `json:"content,omitempty"`
}

// handleManifests serves /api/application/{app}/release/manifests/{version|latest}.
func (s *Server) handleManifests(w http.ResponseWriter, r *http.Request) {
	app := deploy.App(r.PathValue("app"))
	if err := deploy.ValidateApp(string(app)); err != nil {
		s.fail(w, r, err)
		return
	}
	var ver deploy.Version
	if v := r.PathValue("version"); v != "latest" {
		var err error
		if ver, err = deploy.ParseVersion(v); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	rel, envs, err := s.handler.ReleaseManifests(r.Context(), app, ver)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := manifestsJSON{Release: releaseJSON{Version: uint64(rel.Version), SourceCommitID: rel.SourceCommitID,
		SourceAuthor: rel.SourceAuthor, SourceMessage: rel.SourceMessage, DisplayVersion: rel.DisplayVersion, CILink: rel.CILink},
		Manifests: map[string]manifestJSON{}}
	if !rel.CreatedAt.IsZero() {
		out.Release.CreatedAt = &timestampPB{Seconds: rel.CreatedAt.Unix(), Nanos: int32(rel.CreatedAt.Nanosecond())}
	}
	for _, env := range envs {
		out.Release.Environments = append(out.Release.Environments, string(env))
		out.Manifests[string(env)] = manifestJSON{Environment: string(env), Content: rel.Manifests[env]}
	}
	writeJSON(w, http.StatusOK, out)
}

var commitPathRE = regexp.MustCompile(`^[0-9a-fA-F]{7,40}$`)

type commitDeploymentsJSON struct {
	DeploymentStatus map[string]appCommitJSON `json:"deploymentStatus"`
}

type appCommitJSON struct {
	DeploymentStatus map[string]string `json:"deploymentStatus"`
}

// handleCommitDeployments serves GET /api/commit-deployments/{commit} in Kuberpult's shape.
func (s *Server) handleCommitDeployments(w http.ResponseWriter, r *http.Request) {
	commit := r.PathValue("commit")
	if !commitPathRE.MatchString(commit) {
		s.fail(w, r, deploy.Invalidf("%q is not a commit id (7 to 40 hex digits)", commit))
		return
	}
	st, err := s.handler.CommitDeployments(r.Context(), commit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := commitDeploymentsJSON{DeploymentStatus: map[string]appCommitJSON{}}
	for app, envs := range st {
		row := map[string]string{}
		for env, status := range envs {
			row[string(env)] = status
		}
		out.DeploymentStatus[string(app)] = appCommitJSON{DeploymentStatus: row}
	}
	writeJSON(w, http.StatusOK, out)
}

// rolloutJSON is the last known rollout of an app on an environment.
type rolloutJSON struct {
	Env     string    `json:"env"`
	App     string    `json:"app"`
	Version uint64    `json:"version"`
	Commit  string    `json:"commit"`
	State   string    `json:"state"`
	Message string    `json:"message,omitempty"`
	Pushed  time.Time `json:"pushed"`
	Checked time.Time `json:"checked,omitzero"`
	Changed time.Time `json:"changed,omitzero"`
}

// handleRollout serves GET /api/environments/{env}/applications/{app}/rollout: Argo CD's
// rollout of the app's latest pushed deployment there, as last seen.
func (s *Server) handleRollout(w http.ResponseWriter, r *http.Request) {
	env, app := deploy.Env(r.PathValue("env")), deploy.App(r.PathValue("app"))
	if err := deploy.ValidateEnv(string(env)); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := deploy.ValidateApp(string(app)); err != nil {
		s.fail(w, r, err)
		return
	}
	rs, err := s.handler.Rollouts(r.Context(), app)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, ro := range rs {
		if ro.Env == env {
			writeJSON(w, http.StatusOK, rolloutJSON{Env: string(ro.Env), App: string(ro.App), Version: uint64(ro.Version), Commit: ro.Commit,
				State: string(ro.State), Message: ro.Message, Pushed: ro.Pushed, Checked: ro.Checked, Changed: ro.Changed})
			return
		}
	}
	s.fail(w, r, deploy.NotFoundf("no rollout of %s on %s is known (none was pushed since Argo CD is followed)", app, env))
}
