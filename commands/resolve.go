package commands

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"kuberpult/deploy"
)

// targetEnvs resolves an environment or group name to its environments, sorted.
func (h *Handler) targetEnvs(target string) ([]deploy.Env, error) {
	if _, ok := h.envs[deploy.Env(target)]; ok {
		return []deploy.Env{deploy.Env(target)}, nil
	}
	if m := h.envs.Members(deploy.Group(target)); len(m) > 0 {
		return m, nil
	}
	return nil, h.unknownTarget(target)
}

// singleEnv resolves a name that must be one environment (not a group).
func (h *Handler) singleEnv(name deploy.Env) error {
	if _, ok := h.envs[name]; ok {
		return nil
	}
	if m := h.envs.Members(deploy.Group(name)); len(m) > 0 {
		return deploy.Invalidf("`%s` is a group; name one of its environments: %s", name, joinEnvs(m))
	}
	return h.unknownTarget(string(name))
}

func (h *Handler) unknownTarget(target string) error {
	names := h.targetNames()
	msg := fmt.Sprintf("no environment or group `%s`", target)
	if s := suggest(target, names); s != "" {
		msg += fmt.Sprintf("; did you mean `%s`?", s)
	} else {
		msg += "."
	}
	msg += " Environments: " + joinEnvs(h.envs.Names())
	var groups []string
	for _, g := range h.envs.Groups() {
		if _, isEnv := h.envs[deploy.Env(g)]; !isEnv {
			groups = append(groups, string(g))
		}
	}
	if len(groups) > 0 {
		msg += "; groups: " + strings.Join(groups, ", ")
	}
	return deploy.NotFoundf("%s", msg)
}

func (h *Handler) targetNames() []string {
	var names []string
	for _, e := range h.envs.Names() {
		names = append(names, string(e))
	}
	for _, g := range h.envs.Groups() {
		if _, isEnv := h.envs[deploy.Env(g)]; !isEnv {
			names = append(names, string(g))
		}
	}
	return names
}

// knownApp returns what is known of app, or a not-found error with suggestions.
func knownApp(ctx context.Context, v deploy.View, app deploy.App) (deploy.AppInfo, error) {
	info, ok, err := v.App(ctx, app)
	if err != nil || ok {
		return info, err
	}
	apps, err := v.Apps(ctx)
	if err != nil {
		return info, err
	}
	names := make([]string, 0, len(apps))
	for a := range apps {
		names = append(names, string(a))
	}
	return info, unknown("app", string(app), names, "Apps", "No app has a release yet.")
}

// knownTeam checks that some app belongs to team.
func knownTeam(ctx context.Context, v deploy.View, team deploy.Team) error {
	apps, err := v.Apps(ctx)
	if err != nil {
		return err
	}
	var names []string
	for _, info := range apps {
		if info.Team == team {
			return nil
		}
		if info.Team != "" {
			names = append(names, string(info.Team))
		}
	}
	return unknown("team", string(team), names, "Teams", "No app has a team yet.")
}

// unknown is the not-found error for a name: "no app `chekout`; did you mean `checkout`?
// Apps: catalog, checkout", or the none text when there is nothing to choose from.
func unknown(what, name string, choices []string, label, none string) error {
	choices = uniqueSorted(choices)
	msg := fmt.Sprintf("no %s `%s`", what, name)
	if s := suggest(name, choices); s != "" {
		msg += fmt.Sprintf("; did you mean `%s`?", s)
	} else {
		msg += "."
	}
	if len(choices) == 0 {
		msg += " " + none
	} else {
		msg += " " + label + ": " + strings.Join(choices, ", ")
	}
	return deploy.NotFoundf("%s", msg)
}

func uniqueSorted(ss []string) []string {
	sort.Strings(ss)
	out := ss[:0]
	for i, s := range ss {
		if i == 0 || s != ss[i-1] {
			out = append(out, s)
		}
	}
	return out
}

func joinEnvs(es []deploy.Env) string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = string(e)
	}
	return strings.Join(s, ", ")
}
