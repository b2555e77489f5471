package main

import (
	"fmt"
	"hash/crc32"
	"slices"

	"kuberpult/deploy"
)

// world is the product the benchmark pretends to release: its apps and environments.
// Most environments take every release (upstream latest); the last few form the group
// production, whose upstream is one of the others: release trains bring versions there.
type world struct {
	envs     []deploy.Env // all of them, in the order of envNames
	auto     []deploy.Env // upstream latest: a release is deployed there at once
	group    []deploy.Env // group trainGroup, upstream upstream
	upstream deploy.Env
	apps     []deploy.App
}

// envNames are realistic environment names.
var envNames = []deploy.Env{"development", "integration", "staging", "canary", "production-br",
	"production-de", "production-fr", "production-jp", "production-uk", "production-us"}

// trainGroup is the group of the environments trains go to.
const trainGroup deploy.Group = "production"

// newWorld makes a world of apps apps and envs environments, of which the last grouped
// form the group production with upstream staging (with fewer than three upstream-latest
// environments, the last of them); grouped must be less than envs.
func newWorld(apps, envs, grouped int) world {
	var w world
	for i := range envs {
		e := deploy.Env(fmt.Sprintf("env-%d", i))
		if i < len(envNames) {
			e = envNames[i]
		}
		w.envs = append(w.envs, e)
		if i < envs-grouped {
			w.auto = append(w.auto, e)
		} else {
			w.group = append(w.group, e)
		}
	}
	if len(w.group) > 0 {
		w.upstream = w.auto[min(2, len(w.auto)-1)]
	}
	for i := range apps {
		w.apps = append(w.apps, appName(i))
	}
	return w
}

// config is env's configuration, as serve's config file and config.json say it.
func (w world) config(env deploy.Env) deploy.EnvConfig {
	if slices.Contains(w.group, env) {
		return deploy.EnvConfig{Upstream: &deploy.Upstream{Environment: w.upstream}, Group: trainGroup}
	}
	return deploy.EnvConfig{Upstream: &deploy.Upstream{Latest: true}}
}

// newest is the newest release of every app in the setup of a database with history
// releases per app: history, and in a world with a group one more, which the
// upstream-latest environments run and the group does not yet (a train's worth of work).
func (w world) newest(history deploy.Version) deploy.Version {
	if len(w.group) > 0 {
		return history + 1
	}
	return history
}

// runs is the version every app runs on env after the setup.
func (w world) runs(env deploy.Env, history deploy.Version) deploy.Version {
	if slices.Contains(w.group, env) {
		return history
	}
	return w.newest(history)
}

func appName(i int) deploy.App    { return deploy.App(fmt.Sprintf("app-%04d", i)) }
func newAppName(i int) deploy.App { return deploy.App(fmt.Sprintf("new-app-%04d", i)) }

// teamOf spreads the apps over 20 teams.
func teamOf(app deploy.App) deploy.Team {
	return deploy.Team(fmt.Sprintf("team-%02d", crc32.ChecksumIEEE([]byte(app))%20))
}
