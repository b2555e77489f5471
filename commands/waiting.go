package commands

import (
	"fmt"
	"sort"
	"strings"

	"kuberpult/deploy"
)

// pending is an app whose upstream has a newer version than what runs on an env.
type pending struct {
	App      deploy.App
	From, To deploy.Version // From is 0 when the app is not deployed on the env yet
}

// waitingOn lists the apps that automation or a release train would change on env: held
// auto-deploys, newer releases for an upstream-latest env, or the upstream env's versions.
func waitingOn(envs deploy.Environments, st deploy.State, env deploy.Env) []pending {
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
	var out []pending
	for app, v := range want {
		cur := st.Deployments[env][app].Version
		if v > cur {
			out = append(out, pending{App: app, From: cur, To: v})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].App < out[j].App })
	return out
}

// waitingText says, after an unlock, what is waiting — unlocking never deploys.
func waitingText(h *Handler, st deploy.State, envs []deploy.Env) string {
	var b strings.Builder
	b.WriteString("Nothing was deployed.")
	for _, env := range envs {
		ws := waitingOn(h.envs, st, env)
		if len(ws) == 0 {
			fmt.Fprintf(&b, "\n%s: no newer versions waiting.", env)
			continue
		}
		items := make([]string, len(ws))
		for i, w := range ws {
			from := w.From.String()
			if w.From == 0 {
				from = "none"
			}
			items[i] = fmt.Sprintf("%s %s → %s", w.App, from, w.To)
		}
		fmt.Fprintf(&b, "\n%s: %d app(s) have a newer version waiting: %s. Deploy by hand, e.g. `deploy %s %s to %s`.",
			env, len(ws), strings.Join(items, ", "), ws[0].App, ws[0].To, env)
		if ls := st.EnvLocks(env); len(ls) > 0 {
			fmt.Fprintf(&b, " (%s is still locked by %d environment lock(s).)", env, len(ls))
		}
	}
	return b.String()
}
