package commands

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"kuberpult/deploy"
)

// Parse reads one command line. It does no I/O and knows nothing of the configured
// environments: names are checked for syntax only; the Handler resolves them.
func Parse(line string) (Command, error) {
	words, err := tokenize(line)
	if err != nil {
		return nil, err
	}
	if len(words) == 0 {
		return nil, deploy.Invalidf("empty command; try `help`")
	}
	verb := strings.ToLower(words[0])
	args := words[1:]
	p, ok := parsers[verb]
	if !ok {
		msg := fmt.Sprintf("unknown command `%s`", words[0])
		if s := suggest(verb, verbs()); s != "" {
			msg += fmt.Sprintf("; did you mean `%s`?\nUsage: %s", s, synopsis(s))
		} else {
			msg += "; commands: " + strings.Join(verbs(), ", ")
		}
		return nil, deploy.Invalidf("%s", msg)
	}
	cmd, err := p(args)
	if err != nil {
		if msg, ok := deploy.UserMessage(err); ok {
			return nil, deploy.Invalidf("%s\nUsage: %s", msg, synopsis(verb))
		}
		return nil, err
	}
	return cmd, nil
}

var parsers map[string]func([]string) (Command, error)

func init() {
	parsers = map[string]func([]string) (Command, error){
		"deploy":   parseDeploy,
		"rollback": parseRollback,
		"lock":     parseLock,
		"unlock":   parseUnlock,
		"locks":    parseLocks,
		"status":   parseStatus,
		"envs":     parseEnvs,
		"history":  parseHistory,
		"help":     parseHelp,
		"audit":    parseAudit,
	}
}

// flagSpec maps a flag name to whether it takes a value.
type flagSpec map[string]bool

// splitFlags separates positional words from --flags.
func splitFlags(args []string, spec flagSpec) (pos []string, flags map[string]string, err error) {
	flags = map[string]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "--") || a == "--" {
			pos = append(pos, a)
			continue
		}
		name, val, hasVal := strings.Cut(a[2:], "=")
		takes, known := spec[name]
		if !known {
			names := make([]string, 0, len(spec))
			for n := range spec {
				names = append(names, n)
			}
			if s := suggest(name, names); s != "" {
				return nil, nil, deploy.Invalidf("unknown option `--%s`; did you mean `--%s`?", name, s)
			}
			if len(names) == 0 {
				return nil, nil, deploy.Invalidf("unknown option `--%s`: this command takes no options", name)
			}
			return nil, nil, deploy.Invalidf("unknown option `--%s`", name)
		}
		if _, dup := flags[name]; dup {
			return nil, nil, deploy.Invalidf("option `--%s` is given twice", name)
		}
		switch {
		case takes && hasVal:
			flags[name] = val
		case takes:
			if i+1 >= len(args) {
				return nil, nil, deploy.Invalidf("option `--%s` needs a value", name)
			}
			i++
			flags[name] = args[i]
		case hasVal:
			return nil, nil, deploy.Invalidf("option `--%s` takes no value", name)
		default:
			flags[name] = "true"
		}
	}
	return pos, flags, nil
}

func extra(words []string) error {
	return deploy.Invalidf("unexpected `%s`", strings.Join(words, " "))
}

func appName(s string) (deploy.App, error) {
	if err := deploy.ValidateApp(s); err != nil {
		return "", err
	}
	return deploy.App(s), nil
}

func targetName(s string) (string, error) {
	if err := deploy.ValidateEnv(s); err != nil {
		return "", err
	}
	return s, nil
}

func parseDeploy(args []string) (Command, error) {
	pos, flags, err := splitFlags(args, flagSpec{"lock": true, "reason": true, "force": false})
	if err != nil {
		return nil, err
	}
	// deploy <app> [<version>|latest] to <target>
	var c Deploy
	if len(pos) < 3 {
		return nil, deploy.Invalidf("deploy needs an app and a target")
	}
	if c.App, err = appName(pos[0]); err != nil {
		return nil, err
	}
	rest := pos[1:]
	if rest[0] != "to" {
		if rest[0] != "latest" {
			if c.Version, err = deploy.ParseVersion(rest[0]); err != nil {
				return nil, err
			}
		}
		rest = rest[1:]
	}
	if len(rest) < 2 || rest[0] != "to" {
		return nil, deploy.Invalidf("deploy needs `to <env|group>`")
	}
	if c.Target, err = targetName(rest[1]); err != nil {
		return nil, err
	}
	if len(rest) > 2 {
		return nil, extra(rest[2:])
	}
	if v, ok := flags["lock"]; ok {
		if strings.TrimSpace(v) == "" {
			return nil, deploy.Invalidf("--lock needs a message")
		}
		c.Lock = v
	}
	c.Reason = flags["reason"]
	c.Force = flags["force"] == "true"
	return c, nil
}

func parseRollback(args []string) (Command, error) {
	pos, flags, err := splitFlags(args, flagSpec{"reason": true})
	if err != nil {
		return nil, err
	}
	var c Rollback
	if len(pos) < 3 || pos[1] != "on" {
		return nil, deploy.Invalidf("rollback needs `<app> on <env>`")
	}
	if c.App, err = appName(pos[0]); err != nil {
		return nil, err
	}
	env, err := targetName(pos[2])
	if err != nil {
		return nil, err
	}
	c.Env = deploy.Env(env)
	rest := pos[3:]
	if len(rest) > 0 {
		if rest[0] != "to" || len(rest) < 2 {
			return nil, extra(rest)
		}
		if c.To, err = deploy.ParseVersion(rest[1]); err != nil {
			return nil, err
		}
		if len(rest) > 2 {
			return nil, extra(rest[2:])
		}
	}
	c.Reason = flags["reason"]
	return c, nil
}

func parseLock(args []string) (Command, error) {
	pos, flags, err := splitFlags(args, flagSpec{"for": true, "id": true})
	if err != nil {
		return nil, err
	}
	c := Lock{Kind: deploy.LockEnv, Lifetime: flags["for"], ID: flags["id"]}
	if err := deploy.ValidateLifetime(c.Lifetime); err != nil {
		return nil, err
	}
	if _, ok := flags["id"]; ok {
		if err := deploy.ValidateLockID(c.ID); err != nil {
			return nil, err
		}
	}
	switch {
	case len(pos) >= 3 && pos[0] == "team" && pos[2] == "on":
		c.Kind = deploy.LockTeam
		if err := deploy.ValidateTeam(pos[1]); err != nil {
			return nil, err
		}
		c.Team = deploy.Team(pos[1])
		pos = pos[3:]
	case len(pos) >= 2 && pos[1] == "on":
		c.Kind = deploy.LockApp
		if c.App, err = appName(pos[0]); err != nil {
			return nil, err
		}
		pos = pos[2:]
	}
	if len(pos) == 0 {
		return nil, deploy.Invalidf("lock needs an environment or group")
	}
	if c.Target, err = targetName(pos[0]); err != nil {
		return nil, err
	}
	if len(pos) < 2 || strings.TrimSpace(pos[1]) == "" {
		return nil, deploy.Invalidf("a lock needs a message saying why, in quotes")
	}
	if len(pos) > 2 {
		return nil, deploy.Invalidf("put the lock message in quotes: %q", strings.Join(pos[1:], " "))
	}
	c.Message = pos[1]
	return c, nil
}

func parseUnlock(args []string) (Command, error) {
	pos, _, err := splitFlags(args, flagSpec{})
	if err != nil {
		return nil, err
	}
	var c Unlock
	switch {
	case len(pos) == 4 && pos[0] == "team" && pos[2] == "on":
		if err := deploy.ValidateTeam(pos[1]); err != nil {
			return nil, err
		}
		c = Unlock{Kind: deploy.LockTeam, Team: deploy.Team(pos[1])}
		c.Target, err = targetName(pos[3])
	case len(pos) == 3 && pos[1] == "on":
		c.Kind = deploy.LockApp
		if c.App, err = appName(pos[0]); err != nil {
			return nil, err
		}
		c.Target, err = targetName(pos[2])
	case len(pos) == 1:
		// A lock id or an environment/group: the handler decides.
		if err := deploy.ValidateLockID(pos[0]); err != nil {
			return nil, err
		}
		c.Target = pos[0]
	case len(pos) == 0:
		return nil, deploy.Invalidf("unlock needs a lock id or a target")
	default:
		return nil, extra(pos[1:])
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

func parseLocks(args []string) (Command, error) {
	pos, _, err := splitFlags(args, flagSpec{})
	if err != nil {
		return nil, err
	}
	var c Locks
	switch len(pos) {
	case 0:
	case 1:
		c.Target, err = targetName(pos[0])
	default:
		err = extra(pos[1:])
	}
	return c, err
}

func parseStatus(args []string) (Command, error) {
	pos, _, err := splitFlags(args, flagSpec{})
	if err != nil {
		return nil, err
	}
	var c Status
	switch len(pos) {
	case 0:
	case 1:
		c.App, err = appName(pos[0])
	default:
		err = extra(pos[1:])
	}
	return c, err
}

func parseEnvs(args []string) (Command, error) {
	pos, _, err := splitFlags(args, flagSpec{})
	if err != nil {
		return nil, err
	}
	if len(pos) > 0 {
		return nil, extra(pos)
	}
	return Envs{}, nil
}

func parseHistory(args []string) (Command, error) {
	pos, _, err := splitFlags(args, flagSpec{})
	if err != nil {
		return nil, err
	}
	var c History
	if len(pos) == 0 {
		return nil, deploy.Invalidf("history needs an app")
	}
	if c.App, err = appName(pos[0]); err != nil {
		return nil, err
	}
	switch {
	case len(pos) == 1:
	case len(pos) == 3 && pos[1] == "on":
		env, err := targetName(pos[2])
		if err != nil {
			return nil, err
		}
		c.Env = deploy.Env(env)
	default:
		return nil, extra(pos[1:])
	}
	return c, nil
}

func parseHelp(args []string) (Command, error) {
	switch len(args) {
	case 0:
		return Help{}, nil
	case 1:
		v := strings.ToLower(args[0])
		if synopsis(v) == "" {
			if s := suggest(v, verbs()); s != "" {
				return nil, deploy.Invalidf("no command `%s`; did you mean `%s`?", v, s)
			}
			return nil, deploy.Invalidf("no command `%s`; commands: %s", v, strings.Join(verbs(), ", "))
		}
		return Help{Verb: v}, nil
	}
	return nil, extra(args[1:])
}

func parseAudit(args []string) (Command, error) {
	pos, flags, err := splitFlags(args, flagSpec{"since": true, "actor": true, "env": true})
	if err != nil {
		return nil, err
	}
	if len(pos) > 0 {
		return nil, extra(pos)
	}
	c := Audit{Since: flags["since"], Actor: flags["actor"]}
	if c.Since != "" {
		if _, err := parseAge(c.Since); err != nil {
			return nil, err
		}
	}
	if e, ok := flags["env"]; ok {
		env, err := targetName(e)
		if err != nil {
			return nil, err
		}
		c.Env = deploy.Env(env)
	}
	return c, nil
}

// parseAge reads a duration like 30m, 4h, 1d or 2w.
func parseAge(s string) (time.Duration, error) {
	units := map[byte]time.Duration{'m': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}
	if len(s) >= 2 {
		if u, ok := units[s[len(s)-1]]; ok {
			if n, err := strconv.Atoi(s[:len(s)-1]); err == nil && n > 0 && n < 100000 {
				return time.Duration(n) * u, nil
			}
		}
	}
	return 0, deploy.Invalidf("%q is not a duration: use a number followed by m, h, d or w, e.g. 1d", s)
}
