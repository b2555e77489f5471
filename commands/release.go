package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"kuberpult/deploy"
	"kuberpult/policy"
)

// ReleaseRequest is a release as CI sends it (Kuberpult's multipart form), not yet validated.
// All fields are the raw strings of the form; CreateRelease validates them.
type ReleaseRequest struct {
	Application      string
	Version          string
	Team             string
	SourceCommitID   string
	PreviousCommitID string
	SourceAuthor     string
	SourceMessage    string
	DisplayVersion   string
	CILink           string
	// Manifests maps an environment name to the manifest YAML for it.
	Manifests map[string]string
	// Author is the person the release is recorded for (Kuberpult's author-name/author-email
	// headers). Empty means the acting caller.
	Author deploy.Actor
}

// ReleaseOutcome says what CreateRelease did.
type ReleaseOutcome string

const (
	ReleaseCreated ReleaseOutcome = "created"        // HTTP 201
	ReleaseExists  ReleaseOutcome = "already_exists" // same content again, HTTP 200
)

// ReleaseResult is the answer to CreateRelease.
type ReleaseResult struct {
	Outcome  ReleaseOutcome
	Release  deploy.Release
	Deployed []deploy.Env  // environments the release went to at once (upstream latest)
	Held     []deploy.Held // auto-deploys a lock held
}

// CreateRelease validates and stores a release from CI and deploys it at once to every
// upstream-latest environment it has a manifest for, if it is the app's newest version;
// a lock turns such a deployment into a recorded held attempt. The same release sent again
// is ReleaseExists; different content is a conflict naming the first differing field.
func (h *Handler) CreateRelease(ctx context.Context, actor deploy.Actor, via deploy.Via, req ReleaseRequest) (ReleaseResult, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	a := action{h: h, req: Request{Actor: actor, Via: via,
		Text: strings.TrimSpace(fmt.Sprintf("release %s %s", req.Application, req.Version))}, now: h.now().UTC()}
	res, rep, err := a.createRelease(ctx, req)
	if err != nil {
		rep = h.errorReply(err)
	}
	if !a.audited {
		h.audit(ctx, a.req, rep, "", a.app)
	}
	return res, err
}

func (a *action) createRelease(ctx context.Context, req ReleaseRequest) (ReleaseResult, Reply, error) {
	rel, err := a.h.validateRelease(req, a.req.Actor, a.now)
	if err != nil {
		return ReleaseResult{}, Reply{}, err
	}
	a.app = rel.App
	var latest []deploy.Env // the environments an auto-deploy may touch
	for _, env := range a.h.envs.Names() {
		if _, ok := rel.Manifests[env]; ok && a.h.envs.IsLatest(env) {
			latest = append(latest, env)
		}
	}
	st, err := a.h.store.StateOf(ctx, latest)
	if err != nil {
		return ReleaseResult{}, Reply{}, err
	}
	team := rel.Team
	if team == "" {
		team = st.TeamOf(rel.App)
	}
	for _, env := range a.h.envs.Names() {
		if _, ok := rel.Manifests[env]; ok {
			if err := a.allow(policy.CreateRelease, env, rel.App, team); err != nil {
				return ReleaseResult{}, Reply{}, err
			}
		}
	}
	old, err := a.h.store.Release(ctx, rel.App, rel.Version)
	switch {
	case err == nil:
		if err := sameRelease(old, rel); err != nil {
			return ReleaseResult{}, Reply{}, err
		}
		rep := Reply{Outcome: deploy.OutcomeNoop, Text: fmt.Sprintf("release %s of %s already exists with the same content", rel.Version, rel.App)}
		return ReleaseResult{Outcome: ReleaseExists, Release: old}, rep, nil
	case !errors.Is(err, deploy.ErrNotFound):
		return ReleaseResult{}, Reply{}, err
	}
	change := deploy.Change{Releases: []deploy.Release{rel}}
	res := ReleaseResult{Outcome: ReleaseCreated, Release: rel}
	if info, ok := st.Apps[rel.App]; !ok || rel.Version > info.Latest {
		res.Deployed, res.Held = a.autoDeploy(st, rel, &change)
	}
	var text strings.Builder
	fmt.Fprintf(&text, "created release %s of %s", rel.Label(), rel.App)
	if len(res.Deployed) > 0 {
		fmt.Fprintf(&text, "; deployed to %s", joinEnvs(res.Deployed))
	}
	for _, held := range res.Held {
		fmt.Fprintf(&text, "; %s", held.Reason)
	}
	rep := Reply{Outcome: deploy.OutcomeDone, Text: text.String()}
	if err := a.commit(ctx, change, rep); err != nil {
		if errors.Is(err, deploy.ErrConflict) {
			// A release with this version was stored after our read: report it as such.
			return ReleaseResult{}, Reply{}, deploy.Conflictf("release %s of %s was created concurrently; send it again to compare", rel.Version, rel.App)
		}
		return ReleaseResult{}, Reply{}, err
	}
	return res, rep, nil
}

// autoDeploy adds to change the deployments of a new newest release to the upstream-latest
// environments it has manifests for, or held attempts where a lock stops it.
func (a *action) autoDeploy(st deploy.State, rel deploy.Release, change *deploy.Change) (deployed []deploy.Env, held []deploy.Held) {
	team := rel.Team
	if team == "" {
		team = st.TeamOf(rel.App)
	}
	for _, env := range a.h.envs.Names() {
		if _, ok := rel.Manifests[env]; !ok || !a.h.envs.IsLatest(env) {
			continue
		}
		var ls []deploy.Lock
		for _, l := range st.Locks {
			if l.Applies(env, rel.App, team) {
				ls = append(ls, l)
			}
		}
		if len(ls) == 0 {
			deployed = append(deployed, env)
			continue
		}
		deploy.SortLocks(ls)
		ids := make([]string, len(ls))
		for i, l := range ls {
			ids[i] = l.ID
		}
		held = append(held, deploy.Held{Env: env, App: rel.App, Version: rel.Version, How: deploy.HowAuto, LockIDs: ids, Time: a.now,
			Reason: fmt.Sprintf("auto-deploy of %s %s to %s held by %s lock `%s` (%q)", rel.App, rel.Version, env, ls[0].Kind, ls[0].ID, ls[0].Message)})
	}
	change.Held = held
	if len(deployed) > 0 {
		// Deployed for the person the release names (the author headers), as its commit.
		dc := a.deployChange(st, rel, deployed, deploy.HowAuto, rel.CreatedBy, "new release",
			fmt.Sprintf("deploy %s %s to %s", rel.App, rel.Version, joinEnvs(deployed)))
		change.Deployments, change.Repo = dc.Deployments, dc.Repo
	}
	return deployed, held
}
