package commands

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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

// CreateRelease validates and stores a release from CI and deploys it at once to every
// upstream-latest environment it has a manifest for, if it is the app's newest version;
// a lock turns such a deployment into a recorded held attempt. The same release sent again
// is ReleaseExists; different content is a conflict naming the first differing field.
// A release may not move an app to another team unless the sender may act for both.
func (h *Handler) CreateRelease(ctx context.Context, r Request, req ReleaseRequest) Result {
	if r.Text == "" {
		r.Text = strings.TrimSpace(fmt.Sprintf("release %s %s", req.Application, req.Version))
	}
	// Validation needs no state: it runs before the transaction, so that parsing the
	// manifests does not hold up other actions. Its verdict is recorded like any other.
	rel, invalid := h.validateRelease(req, r.Actor)
	return h.act(ctx, r, "release", releaseFingerprint(req), func(ctx context.Context, a *action, v deploy.View) (Result, deploy.Change, error) {
		if invalid != nil {
			a.app = deploy.App(req.Application)
			if deploy.ValidateApp(req.Application) != nil {
				a.app = ""
			}
			return Result{}, deploy.Change{}, invalid
		}
		rel.CreatedAt = a.now
		return a.createRelease(ctx, v, rel)
	})
}

// releaseFingerprint identifies a release request for its idempotency key.
func releaseFingerprint(req ReleaseRequest) string {
	s := sha256.New()
	for _, f := range []string{req.Application, req.Version, req.Team, req.SourceCommitID, req.PreviousCommitID,
		req.SourceAuthor, req.SourceMessage, req.DisplayVersion, req.CILink, req.Author.Name, req.Author.Email} {
		fmt.Fprintf(s, "%d:%s;", len(f), f)
	}
	for _, env := range sortedKeys(req.Manifests) {
		fmt.Fprintf(s, "%d:%s=%d:%s;", len(env), env, len(req.Manifests[env]), req.Manifests[env])
	}
	return req.Application + " " + req.Version + " " + hex.EncodeToString(s.Sum(nil))[:16]
}

func (a *action) createRelease(ctx context.Context, v deploy.View, rel deploy.Release) (Result, deploy.Change, error) {
	a.app = rel.App
	info, known, err := v.App(ctx, rel.App)
	if err != nil {
		return Result{}, deploy.Change{}, err
	}
	owner := info.Team // who owns the app now; the permission checks are for the owner
	team := owner
	if !known || owner == "" {
		team = rel.Team
	}
	for _, env := range a.h.envs.Names() {
		if _, ok := rel.Manifests[env]; ok {
			if err := a.allow(policy.CreateRelease, env, rel.App, team); err != nil {
				return Result{}, deploy.Change{}, err
			}
		}
	}
	res := Result{App: rel.App, Label: rel.Label()}
	old, err := v.Release(ctx, rel.App, rel.Version)
	switch {
	case err == nil:
		if err := sameRelease(old, rel); err != nil {
			return Result{}, deploy.Change{}, err
		}
		old.Manifests = nil
		res.Outcome, res.Release = deploy.OutcomeNoop, &ReleaseInfo{Outcome: ReleaseExists, Release: old}
		return res, deploy.Change{}, nil
	case !errors.Is(err, deploy.ErrNotFound):
		return Result{}, deploy.Change{}, err
	}
	change := deploy.Change{Releases: []deploy.Release{rel}}
	if known && rel.Team != "" && rel.Team != owner {
		if err := a.takeOver(rel, owner); err != nil {
			return Result{}, deploy.Change{}, err
		}
		change.Owners = []deploy.AppTeam{{App: rel.App, Team: rel.Team}}
		team = rel.Team
	}
	if !known || rel.Version > info.Latest {
		if err := a.autoDeploy(ctx, v, rel, team, &change, &res); err != nil {
			return Result{}, deploy.Change{}, err
		}
	}
	if len(change.Owners) > 0 {
		if change.Repo == nil {
			change.Repo = &deploy.RepoChange{Message: commitMessage(fmt.Sprintf("move %s to team %s", rel.App, rel.Team), a.req, ""),
				Author: rel.CreatedBy, Time: a.now}
		}
		change.Repo.Teams = change.Owners
	}
	stored := rel
	stored.Manifests = nil
	res.Outcome = deploy.OutcomeDone
	res.Release = &ReleaseInfo{Outcome: ReleaseCreated, Release: stored, Deployed: envsOf(res.Deployed)}
	return res, change, nil
}

// takeOver checks that a release may move its app from owner to the team it names: with
// team permissions, the sender must be a member of both teams; without them it may not.
func (a *action) takeOver(rel deploy.Release, owner deploy.Team) error {
	if owner == "" {
		return nil // an app without a team may be given one
	}
	if a.h.policy == nil || !a.h.policy.TeamPermissions() {
		return deploy.Conflictf("%s belongs to team %s; this release names team %s. A release cannot move an app to another team (with rbac.team_permissions on, a member of both teams can)",
			rel.App, owner, rel.Team)
	}
	for _, env := range a.h.envs.Names() {
		if _, ok := rel.Manifests[env]; ok {
			if err := a.allow(policy.CreateRelease, env, rel.App, rel.Team); err != nil {
				return err
			}
		}
	}
	return nil
}

// autoDeploy adds to change the deployments of a new newest release to the upstream-latest
// environments it has manifests for, or held attempts where a lock stops it. The gate
// decides, with the system as the actor: the release itself was checked.
func (a *action) autoDeploy(ctx context.Context, v deploy.View, rel deploy.Release, team deploy.Team, change *deploy.Change, res *Result) error {
	var latest []deploy.Env
	for _, env := range a.h.envs.Names() {
		if _, ok := rel.Manifests[env]; ok && a.h.envs.IsLatest(env) {
			latest = append(latest, env)
		}
	}
	if len(latest) == 0 {
		return nil
	}
	st, err := v.State(ctx, deploy.Query{Envs: latest, Apps: []deploy.App{rel.App}})
	if err != nil {
		return err
	}
	var deployed []deploy.Env
	for _, env := range latest {
		at := policy.Attempt{Env: env, App: rel.App, Team: team, How: deploy.HowAuto, Actor: deploy.System, Now: a.now}
		d := a.h.gate.Decide(st, at)
		switch d.Verdict {
		case policy.Held:
			res.Held = append(res.Held, d.Held(at, rel.Version))
		case policy.Allow:
			deployed = append(deployed, env)
		default:
			return fmt.Errorf("auto-deploy of %s %s to %s: gate said %s", rel.App, rel.Version, env, d.Verdict)
		}
	}
	change.Held = res.Held
	if len(deployed) > 0 {
		// Deployed for the person the release names (the author headers), as its commit.
		dc := a.deployChange(rel, deployed, deploy.HowAuto, rel.CreatedBy, "new release",
			fmt.Sprintf("deploy %s %s to %s", rel.App, rel.Version, joinEnvs(deployed)))
		change.Deployments, change.Repo = dc.Deployments, dc.Repo
		res.Deployed = deployedFrom(st, rel, deployed, deploy.HowAuto)
	}
	return nil
}

func envsOf(ds []Deployed) []deploy.Env {
	out := make([]deploy.Env, len(ds))
	for i, d := range ds {
		out[i] = d.Env
	}
	return out
}
