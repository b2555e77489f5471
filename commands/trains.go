package commands

import (
	"context"
	"fmt"
	"strings"

	"kuberpult/deploy"
	"kuberpult/train"
)

// Train is `train <env|group> [--team <team>] [--dry-run]`: take what runs upstream to the
// target (Kuberpult's release train). With DryRun it is the prognosis: the same plan, and
// nothing is written.
type Train struct {
	Target string
	Team   deploy.Team
	DryRun bool
}

func (Train) verb() string { return "train" }

func parseTrain(args []word) (Command, error) {
	pos, flags, err := splitFlags(args, flagSpec{"team": true, "dry-run": false})
	if err != nil {
		return nil, err
	}
	if len(pos) == 0 {
		return nil, deploy.Invalidf("which environment or group should the train go to?")
	}
	if len(pos) > 1 {
		return nil, extra(pos[1:])
	}
	c := Train{}
	if c.Target, err = targetName(pos[0].text); err != nil {
		return nil, err
	}
	if t, ok := flags["team"]; ok {
		if err := deploy.ValidateTeam(t); err != nil {
			return nil, err
		}
		c.Team = deploy.Team(t)
	}
	_, c.DryRun = flags["dry-run"]
	return c, nil
}

type appVersion struct {
	app deploy.App
	ver deploy.Version
}

// plan computes a train's plan inside the view it is decided in. The releases it deploys
// are loaded once (the plan asks whether they have a manifest for the target).
func (a *action) plan(ctx context.Context, v deploy.View, c Train) (train.Plan, map[appVersion]deploy.Release, error) {
	a.env = deploy.Env(c.Target)
	targets := train.Targets(a.h.envs, c.Target)
	if len(targets) == 0 {
		return train.Plan{}, nil, a.h.unknownTarget(c.Target)
	}
	envs := append([]deploy.Env(nil), targets...)
	for _, env := range targets {
		if up := a.h.envs[env].Upstream; up != nil && up.Environment != "" {
			envs = append(envs, up.Environment)
		}
	}
	st, err := v.State(ctx, deploy.Query{Envs: envs})
	if err != nil {
		return train.Plan{}, nil, err
	}
	// Environments of a group may have different upstreams, so one app may go to two
	// versions in one train: releases are kept by app and version.
	rels := map[appVersion]deploy.Release{}
	var loadErr error
	has := func(app deploy.App, ver deploy.Version, env deploy.Env) bool {
		rel, ok := rels[appVersion{app, ver}]
		if !ok {
			if rel, err = v.Release(ctx, app, ver); err != nil {
				loadErr = err
				return false
			}
			rels[appVersion{app, ver}] = rel
		}
		_, ok = rel.Manifests[env]
		return ok
	}
	p, err := train.Compute(train.Input{Target: c.Target, Team: c.Team, Envs: a.h.envs, State: st, HasManifest: has,
		Gate: a.h.gate, Actor: a.req.Actor, Groups: a.req.Groups, Now: a.now})
	if err != nil {
		return train.Plan{}, nil, err
	}
	if loadErr != nil {
		return train.Plan{}, nil, fmt.Errorf("train to %s: %w", c.Target, loadErr)
	}
	return p, rels, nil
}

// train runs a release train: every environment of the target in one transaction and one
// env-repo commit, whose message lists what was deployed and what was skipped and why.
func (a *action) train(ctx context.Context, v deploy.View, c Train) (Result, deploy.Change, error) {
	p, rels, err := a.plan(ctx, v, c)
	if err != nil {
		return Result{}, deploy.Change{}, err
	}
	res := Result{Outcome: deploy.OutcomeNoop, Train: &p, Targets: train.Targets(a.h.envs, c.Target)}
	var change deploy.Change
	reason := "release train to " + c.Target
	if c.Team != "" {
		reason += " for team " + string(c.Team)
	}
	var manifests []deploy.ManifestChange
	for _, e := range p.Envs {
		for _, ap := range e.Apps {
			if ap.Skip != "" {
				continue
			}
			rel := rels[appVersion{ap.App, ap.To}]
			change.Deployments = append(change.Deployments, deploy.Deployment{Env: e.Env, App: ap.App, Version: ap.To,
				How: deploy.HowTrain, Actor: a.req.Actor, Time: a.now, Reason: reason + " from " + e.Upstream})
			manifests = append(manifests, manifestChange(rel, e.Env))
			res.Deployed = append(res.Deployed, Deployed{Env: e.Env, App: ap.App, From: ap.From, To: ap.To, How: deploy.HowTrain})
		}
	}
	if len(manifests) == 0 {
		return res, deploy.Change{}, nil // nothing changes: no commit
	}
	res.Outcome = deploy.OutcomeDone
	change.Repo = &deploy.RepoChange{Message: trainMessage(p, reason, a.req), Author: a.req.Actor, Time: a.now, Manifests: manifests}
	return res, change, nil
}

// trainMessage is the commit message of a train: what it deployed and skipped, per env.
func trainMessage(p train.Plan, reason string, r Request) string {
	n := len(p.Deploys())
	var b strings.Builder
	fmt.Fprintf(&b, "Release train to %s: %d deployment(s)", p.Target, n)
	if p.Team != "" {
		fmt.Fprintf(&b, " for team %s", p.Team)
	}
	b.WriteString("\n\n")
	for _, e := range p.Envs {
		if e.Skip != "" {
			fmt.Fprintf(&b, "%s: skipped, %s\n", e.Env, e.Skip)
			continue
		}
		fmt.Fprintf(&b, "%s (from %s):\n", e.Env, e.Upstream)
		for _, ap := range e.Apps {
			if ap.Skip == "" {
				fmt.Fprintf(&b, "  %s %s -> %s\n", ap.App, versionOrNone(ap.From), ap.To)
			} else {
				fmt.Fprintf(&b, "  %s skipped: %s\n", ap.App, ap.Skip)
			}
		}
	}
	fmt.Fprintf(&b, "\nReason: %s\nRequested-by: %s via %s\n", reason, r.Actor.Display(), r.Via)
	return b.String()
}

// prognosis answers `train … --dry-run`: the plan, nothing written.
func (a *action) prognosis(ctx context.Context, v deploy.View, c Train) (Result, error) {
	p, _, err := a.plan(ctx, v, c)
	if err != nil {
		return Result{}, err
	}
	return Result{Outcome: deploy.OutcomeNoop, Train: &p, DryRun: true, Targets: train.Targets(a.h.envs, c.Target)}, nil
}

// Prognosis computes a train's plan for entry points that need it as data (the API).
func (h *Handler) Prognosis(ctx context.Context, r Request, c Train) (train.Plan, error) {
	c.DryRun = true
	res := h.Run(ctx, r, c)
	if res.Err != nil {
		return train.Plan{}, res.Err
	}
	if res.Train == nil {
		return train.Plan{}, fmt.Errorf("prognosis of %s: no plan", c.Target)
	}
	return *res.Train, nil
}
