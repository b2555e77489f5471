package commands

import (
	"sort"

	"kuberpult/deploy"
)

// waitingOn lists the apps that automation or a release train would change on env: held
// auto-deploys, newer releases for an upstream-latest env, or the upstream env's versions.
// st must hold env and its upstream.
func waitingOn(envs deploy.Environments, st deploy.State, env deploy.Env) []Waiting {
	want := map[deploy.App]deploy.Version{}
	cfg := envs[env]
	switch {
	case cfg.Upstream != nil && cfg.Upstream.Latest:
		for app := range st.Deployments[env] {
			want[app] = st.Apps[app].Latest
		}
	case cfg.Upstream != nil && cfg.Upstream.Environment != "":
		for app, d := range st.Deployments[cfg.Upstream.Environment] {
			want[app] = d.Version
		}
	}
	for _, h := range st.Held {
		if h.Env == env && h.Version > want[h.App] {
			want[h.App] = h.Version
		}
	}
	var out []Waiting
	for app, v := range want {
		cur := st.Deployments[env][app].Version
		if v > cur {
			out = append(out, Waiting{App: app, From: cur, To: v})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].App < out[j].App })
	return out
}
