package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"kuberpult/deploy"
)

// checkResult compares the remote's branch with what the database says (GET
// /api/applications on SQLite; on PostgreSQL the store itself, and every replica's GET
// /api/applications must agree with it): every deployed version's manifest on every
// environment, no other manifests, one Argo CD Application per deployed app, and git fsck.
type checkResult struct {
	After       string `json:"after"`
	Apps        int    `json:"apps"`
	Deployments int    `json:"deployments"`
	Pending     int    `json:"pending"`    // deployments the API still shows as not pushed
	Failed      int    `json:"failed"`     // outbox entries set aside (kuberpult_outbox_failed)
	Mismatches  int    `json:"mismatches"` // manifests that differ, are missing or are extra
	ArgoCD      int    `json:"argoCdMismatches"`
	// Source is where the database's side was read: "api" or "store" (PostgreSQL).
	Source string `json:"source"`
	// ReplicasDiffer counts the replicas whose GET /api/applications differs from the store
	// (PostgreSQL).
	ReplicasDiffer int      `json:"replicasDiffer,omitempty"`
	Examples       []string `json:"examples,omitempty"`
	Fsck           string   `json:"fsck"`
	Seconds        float64  `json:"seconds"`
}

func (c checkResult) ok() bool {
	return c.Mismatches == 0 && c.ArgoCD == 0 && c.Pending == 0 && c.Failed == 0 && c.ReplicasDiffer == 0 && strings.HasPrefix(c.Fsck, "ok")
}

// checkEndState compares git with the database; full runs a full git fsck instead of a
// connectivity check (-fsck).
func (b *bench) checkEndState(ctx context.Context, after string, full bool) (checkResult, error) {
	start := time.Now()
	res := checkResult{After: after, Fsck: "ok (skipped)", Source: "api"}
	note := func(format string, args ...any) {
		if len(res.Examples) < 5 {
			res.Examples = append(res.Examples, fmt.Sprintf(format, args...))
		}
	}
	var st deployedState
	if b.db != nil {
		res.Source = "store"
		var failed []deploy.FailedEntry
		var err error
		if st, failed, err = dbDeployed(ctx, b.db); err != nil {
			return res, err
		}
		res.Failed = len(failed)
		for i, srv := range b.srvs {
			got, err := srv.deployed(ctx)
			if err != nil {
				return res, fmt.Errorf("replica %d: %w", i+1, err)
			}
			if d := sameState(got, st); d != "" {
				res.ReplicasDiffer++
				note("replica %d's GET /api/applications differs from the store: %s", i+1, d)
			}
		}
	} else {
		var err error
		if st, err = b.srv.deployed(ctx); err != nil {
			return res, err
		}
		m, err := b.srv.metrics(ctx)
		if err != nil {
			return res, err
		}
		res.Failed = int(m["kuberpult_outbox_failed"]) // absent in versions without failed entries
	}
	res.Pending = st.pending
	tip, err := readRef(b.remote, "main")
	if err != nil {
		return res, err
	}
	inGit, err := b.manifestsAt(ctx, tip)
	if err != nil {
		return res, err
	}
	onEnv := map[deploy.Env][]deploy.App{}
	for app, envs := range st.versions {
		res.Apps++
		for env, v := range envs {
			res.Deployments++
			onEnv[env] = append(onEnv[env], app)
			got, ok := inGit[env][app]
			switch {
			case !ok:
				res.Mismatches++
				note("%s on %s: version %s deployed, no manifest in git", app, env, v)
			case got != v:
				res.Mismatches++
				note("%s on %s: version %s deployed, git has %s", app, env, v, got)
			}
		}
	}
	for env, apps := range inGit {
		for app := range apps {
			if _, ok := st.versions[app][env]; !ok {
				res.Mismatches++
				note("%s on %s: manifest in git, nothing deployed", app, env)
			}
		}
	}
	argo, err := b.argoApps(ctx, tip)
	if err != nil {
		return res, err
	}
	for _, env := range b.w.envs {
		want := onEnv[env]
		slices.Sort(want)
		got := argo[env]
		if !slices.Equal(want, got) {
			res.ArgoCD++
			note("argocd/v1alpha1/%s.yaml: %d Applications, %d apps deployed", env, len(got), len(want))
		}
	}
	if b.o.fsck != "off" {
		args := []string{"fsck", "--no-progress", "--no-dangling"}
		res.Fsck = "ok"
		if !full && b.o.fsck != "full" {
			args = append(args, "--connectivity-only")
			res.Fsck = "ok (connectivity)"
		}
		if _, err := git(ctx, b.remote, args...); err != nil {
			res.Fsck = err.Error()
		}
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// manifestsAt reads the version of every manifest in commit under the directories dirs
// (all environments when none are given).
func (b *bench) manifestsAt(ctx context.Context, commit string, dirs ...string) (map[deploy.Env]map[deploy.App]deploy.Version, error) {
	if len(dirs) == 0 {
		dirs = []string{"environments"}
	}
	out, err := git(ctx, b.remote, append([]string{"ls-tree", "-r", "--full-tree", commit}, dirs...)...)
	if err != nil {
		return nil, err
	}
	type where struct {
		env deploy.Env
		app deploy.App
	}
	blobs := map[string][]where{}
	var shas []string
	for _, line := range strings.Split(out, "\n") {
		meta, path, ok := strings.Cut(line, "\t")
		fields := strings.Fields(meta)
		parts := strings.Split(path, "/")
		// environments/<env>/applications/<app>/manifests/manifests.yaml
		if !ok || len(fields) != 3 || len(parts) != 6 || parts[2] != "applications" || parts[5] != "manifests.yaml" {
			continue
		}
		sha := fields[2]
		if _, seen := blobs[sha]; !seen {
			shas = append(shas, sha)
		}
		blobs[sha] = append(blobs[sha], where{deploy.Env(parts[1]), deploy.App(parts[3])})
	}
	contents, err := catFile(ctx, b.remote, shas)
	if err != nil {
		return nil, err
	}
	res := map[deploy.Env]map[deploy.App]deploy.Version{}
	for sha, ws := range blobs {
		v, _ := versionOf(contents[sha]) // 0: unreadable, reported as a mismatch
		for _, w := range ws {
			if res[w.env] == nil {
				res[w.env] = map[deploy.App]deploy.Version{}
			}
			res[w.env][w.app] = v
		}
	}
	return res, nil
}

// argoApps lists, per environment, the apps that have an Application in the environment's
// Argo CD file in commit, sorted.
func (b *bench) argoApps(ctx context.Context, commit string) (map[deploy.Env][]deploy.App, error) {
	names := make([]string, len(b.w.envs))
	for i, e := range b.w.envs {
		names[i] = commit + ":argocd/v1alpha1/" + string(e) + ".yaml"
	}
	files, err := catFile(ctx, b.remote, names)
	if err != nil {
		return nil, err
	}
	res := map[deploy.Env][]deploy.App{}
	for i, e := range b.w.envs {
		for _, line := range strings.Split(files[names[i]], "\n") {
			if app, ok := strings.CutPrefix(strings.TrimSpace(line), "com.freiheit.kuberpult/application: "); ok {
				res[e] = append(res[e], deploy.App(strings.Trim(app, `"'`)))
			}
		}
		slices.Sort(res[e])
	}
	return res, nil
}
