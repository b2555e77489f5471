package commands

import (
	"context"

	"kuberpult/deploy"
)

// Releases lists the releases of an app, newest first.
type Releases struct{ App deploy.App }

func (Releases) verb() string { return "releases" }

func parseReleases(args []word) (Command, error) {
	if len(args) == 0 {
		return nil, deploy.Invalidf("which app? `releases <app>`")
	}
	if len(args) > 1 {
		return nil, extra(args[1:])
	}
	app, err := appName(args[0].text)
	if err != nil {
		return nil, err
	}
	return Releases{App: app}, nil
}

// maxReleasesShown is how many releases `releases` lists.
const maxReleasesShown = 30

func (a *action) releases(ctx context.Context, v deploy.View, c Releases) (Result, error) {
	a.app = c.App
	info, err := knownApp(ctx, v, c.App)
	if err != nil {
		return Result{}, err
	}
	rels, err := v.Releases(ctx, c.App, maxReleasesShown)
	if err != nil {
		return Result{}, err
	}
	st, err := v.State(ctx, deploy.Query{Apps: []deploy.App{c.App}})
	if err != nil {
		return Result{}, err
	}
	return Result{Outcome: deploy.OutcomeDone, App: c.App, ReleaseList: rels, State: &st, Targets: a.h.envs.Pipeline(),
		Label: info.Latest.String()}, nil
}
