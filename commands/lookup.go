package commands

import (
	"context"
	"sort"

	"kuberpult/deploy"
)

// Read-only lookups for Kuberpult's API clients (its CLI's `release --dry-run` and
// `get-commit-deployments`).

// CommitStatus is where a source commit has arrived, per app and environment, as
// Kuberpult reports it: "DEPLOYED" where the environment runs the commit's release number
// or a newer one, "PENDING" elsewhere.
type CommitStatus map[deploy.App]map[deploy.Env]string

// CommitDeployments answers for a source commit (full id or a prefix of 7 or more): the
// release number it got (the newest of its releases) compared, for every app and
// environment, with what runs there, as Kuberpult does in a monorepo whose releases share
// their numbers. A commit with no release is not found.
func (h *Handler) CommitDeployments(ctx context.Context, commit string) (CommitStatus, error) {
	var out CommitStatus
	err := h.store.View(ctx, func(ctx context.Context, v deploy.View) error {
		rels, err := v.ReleasesOfCommit(ctx, commit)
		if err != nil {
			return err
		}
		if len(rels) == 0 {
			return deploy.NotFoundf("no release was built from commit %s", commit)
		}
		var number deploy.Version
		for _, r := range rels {
			number = max(number, r.Version)
		}
		st, err := v.State(ctx, deploy.Everything)
		if err != nil {
			return err
		}
		out = CommitStatus{}
		for app := range st.Apps {
			row := map[deploy.Env]string{}
			for _, env := range h.envs.Names() {
				row[env] = "PENDING"
				if d, ok := st.Deployed(env, app); ok && d.Version >= number {
					row[env] = "DEPLOYED"
				}
			}
			out[app] = row
		}
		return nil
	})
	return out, err
}

// ReleaseManifests returns a release with its manifests: version 0 is the newest.
func (h *Handler) ReleaseManifests(ctx context.Context, app deploy.App, ver deploy.Version) (deploy.Release, []deploy.Env, error) {
	var rel deploy.Release
	err := h.store.View(ctx, func(ctx context.Context, v deploy.View) error {
		info, err := knownApp(ctx, v, app)
		if err != nil {
			return err
		}
		if ver == 0 {
			ver = info.Latest
		}
		rel, err = v.Release(ctx, app, ver)
		return err
	})
	envs := make([]deploy.Env, 0, len(rel.Manifests))
	for env := range rel.Manifests {
		envs = append(envs, env)
	}
	sort.Slice(envs, func(i, j int) bool { return envs[i] < envs[j] })
	return rel, envs, err
}

// Rollouts returns the last known Argo CD rollouts of app ("" for every app).
func (h *Handler) Rollouts(ctx context.Context, app deploy.App) ([]deploy.Rollout, error) {
	var out []deploy.Rollout
	err := h.store.View(ctx, func(ctx context.Context, v deploy.View) error {
		var err error
		out, err = v.Rollouts(ctx, app)
		return err
	})
	return out, err
}
