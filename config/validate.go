package config

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"kuberpult/deploy"
)

// validate records every problem of c in s. A new section adds its check here.
func (c *Config) validate(s *source) {
	switch pg := c.State.Postgres.DSN != "" || s.unread("state.postgres.dsn"); {
	case c.State.SQLite == "" && !pg:
		s.problem("state.sqlite", "required: the path of the SQLite database file, e.g. ./data/kuberpult.db (or state.postgres.dsn for PostgreSQL)")
	case c.State.SQLite != "" && pg:
		s.problem("state", "set sqlite or postgres.dsn, not both")
	}
	c.Git.validate(s)
	validateEnvironments(c.Environments, s)
	c.RBAC.validate(s)
	c.API.validate(s)
	c.Console.User.validate(s, "console.user")
	c.Slack.validate(s)
	c.ArgoCD.validate(s)
	c.GitHub.validate(s)
	c.validateWindows(s)
	c.Approvals.validate(s)
	c.validateTrains(s)
}

func (a API) validate(s *source) {
	if a.Listen != "" { // "" turns the API off
		_, port, err := net.SplitHostPort(a.Listen)
		n, perr := strconv.Atoi(port)
		_, inFile := s.lines["api.listen"]
		switch {
		case err == nil && perr == nil && n >= 0 && n <= 65535:
		case !inFile: // the default came from the environment
			s.problem("api.listen", "$%s is not host:port, e.g. 0.0.0.0:8080; set api.listen, or fix the variable", ListenEnv)
		default:
			s.problem("api.listen", `%s is not host:port, e.g. 127.0.0.1:8080 or :8080; "" turns the API off`, s.quote("api.listen", a.Listen))
		}
	}
	validateTokens(a.Tokens, s)
}

func (p Person) validate(s *source, path string) {
	if strings.TrimSpace(p.Name) == "" {
		s.problem(path+".name", "required: a name, e.g. Kuberpult")
	}
	if !validEmail(p.Email) {
		s.problem(path+".email", "%s is not an email address, e.g. kuberpult@example.com", s.quote(path+".email", p.Email))
	}
}

// validEmail is a basic check: one @ with something on both sides and no spaces or brackets.
func validEmail(e string) bool {
	local, domain, ok := strings.Cut(e, "@")
	return ok && local != "" && domain != "" && !strings.Contains(domain, "@") &&
		!strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".") &&
		!strings.ContainsAny(e, " \t\r\n<>()[],;:\"\\")
}

func validateEnvironments(envs deploy.Environments, s *source) {
	if len(envs) == 0 {
		s.problem("environments", "required: at least one environment, e.g. development: {upstream: {latest: true}}")
		return
	}
	for _, env := range envs.Names() {
		cfg := envs[env]
		p := join("environments", string(env))
		if err := deploy.ValidateEnv(string(env)); err != nil {
			s.problem(p, "%v", err)
		}
		if cfg.Group != "" {
			validateGroup(envs, env, cfg.Group, p+".group", s)
		}
		if cfg.Upstream != nil {
			validateUpstream(envs, env, *cfg.Upstream, p+".upstream", s)
		}
		if cfg.ArgoCD != nil {
			validateArgoCD(*cfg.ArgoCD, p+".argocd", s)
		}
	}
	for _, cycle := range upstreamCycles(envs) {
		first := 0 // start the cycle at its first name, alphabetically
		for i, e := range cycle {
			if e < cycle[first] {
				first = i
			}
		}
		cycle = append(cycle[first:len(cycle):len(cycle)], cycle[:first]...)
		names := make([]string, 0, len(cycle)+1)
		for _, e := range cycle {
			names = append(names, string(e))
		}
		names = append(names, string(cycle[0]))
		s.problem(join("environments", string(cycle[0]))+".upstream.environment",
			"upstream cycle %s: a release train could never start; one environment of the cycle needs upstream latest: true or another upstream",
			strings.Join(names, " → "))
	}
}

func validateGroup(envs deploy.Environments, env deploy.Env, g deploy.Group, path string, s *source) {
	if err := deploy.ValidateGroup(string(g)); err != nil {
		if _, expanded := s.raw[path]; expanded { // the message would show the value
			s.problem(path, "%s is not a valid group name: use lowercase letters, digits and single dashes, at most %d characters",
				s.quote(path, string(g)), deploy.MaxEnvLen)
			return
		}
		s.problem(path, "%v", err)
		return
	}
	// A group may share its name with an environment only if that environment is in it,
	// so that "train production" means one thing.
	if other := deploy.Env(g); other != env {
		if _, ok := envs[other]; ok && envs.GroupOf(other) != g {
			otherGroup := s.quote(join("environments", string(other))+".group", string(envs.GroupOf(other)))
			s.problem(path, "group %q has the name of environment %q, which is in group %s; rename one of them",
				g, other, otherGroup)
		}
	}
}

func validateUpstream(envs deploy.Environments, env deploy.Env, u deploy.Upstream, path string, s *source) {
	// An upstream with both or neither of latest and environment, or one that names no
	// environment, is allowed (Kuberpult allows it too): release trains into env are
	// skipped with the cause, and Warnings says so.
	if u.Environment == env {
		s.problem(path+".environment", "%q cannot be its own upstream", env)
	}
}

// upstreamWarnings says which environments' trains are skipped because of their upstream.
func upstreamWarnings(envs deploy.Environments) []string {
	var out []string
	for _, env := range envs.Names() {
		u := envs[env].Upstream
		if u == nil {
			continue
		}
		path := join("environments", string(env)) + ".upstream"
		switch {
		case u.Latest && u.Environment != "":
			out = append(out, fmt.Sprintf("%s sets both latest: true and environment: every release is deployed to %s, and release trains into it are skipped (ENV_HAS_BOTH_UPSTREAM_LATEST_AND_UPSTREAM_ENV)", path, env))
		case !u.Latest && u.Environment == "":
			out = append(out, fmt.Sprintf("%s sets neither latest: true nor environment: release trains into %s are skipped (ENV_HAS_NO_UPSTREAM_LATEST_OR_UPSTREAM_ENV); leave upstream out if nothing should reach it", path, env))
		case u.Environment != env:
			if _, ok := envs[u.Environment]; ok || u.Latest {
				continue
			}
			msg := fmt.Sprintf("%s.environment: no environment %q", path, u.Environment)
			if members := envs.Members(deploy.Group(u.Environment)); len(members) > 0 {
				msg += " (it is a group; the upstream is one environment)"
			}
			out = append(out, fmt.Sprintf("%s; release trains into %s are skipped (UPSTREAM_ENV_CONFIG_NOT_FOUND); environments: %s", msg, env, envList(envs)))
		}
	}
	return out
}

func envList(envs deploy.Environments) string {
	names := envs.Names()
	out := make([]string, len(names))
	for i, e := range names {
		out[i] = string(e)
	}
	return strings.Join(out, ", ")
}

// upstreamCycles returns every cycle of upstream environments longer than one (an
// environment that is its own upstream is reported on its own), each once.
func upstreamCycles(envs deploy.Environments) [][]deploy.Env {
	done := map[deploy.Env]bool{}
	var cycles [][]deploy.Env
	for _, start := range envs.Names() {
		var chain []deploy.Env
		pos := map[deploy.Env]int{}
		for e := start; !done[e]; {
			if i, ok := pos[e]; ok {
				if len(chain)-i > 1 {
					cycles = append(cycles, chain[i:])
				}
				break
			}
			pos[e] = len(chain)
			chain = append(chain, e)
			u := envs[e].Upstream
			if u == nil || u.Latest || u.Environment == "" {
				break
			}
			if _, ok := envs[u.Environment]; !ok {
				break
			}
			e = u.Environment
		}
		for _, e := range chain {
			done[e] = true
		}
	}
	return cycles
}
