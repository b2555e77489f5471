package commands

import (
	"fmt"
	"strings"

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
	verb := strings.ToLower(words[0].text)
	args := words[1:]
	p, ok := parsers[verb]
	if !ok || words[0].quoted {
		msg := fmt.Sprintf("unknown command `%s`", words[0].text)
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

var parsers map[string]func([]word) (Command, error)

func init() {
	parsers = map[string]func([]word) (Command, error){
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
		"train":    parseTrain,
		"trains":   parseTrains,
		"windows":  parseWindows,
		"releases": parseReleases,
		"hold":     parseHold,
		"unhold":   parseUnhold,
		"approve":  parseApprove,
		"reject":   parseReject,
		"undeploy": parseUndeploy,
		"remove":   parseRemove,
	}
}

func extra(words []word) error {
	return deploy.Invalidf("unexpected `%s`", strings.Join(texts(words), " "))
}

// versionOrDisplay reads a version number, or a release's display version (v1.2.0) that
// the handler resolves: anything that is not only digits and fits a display version.
func versionOrDisplay(s string) (deploy.Version, string, error) {
	v, err := deploy.ParseVersion(s)
	if err == nil {
		return v, "", nil
	}
	if strings.Trim(s, "0123456789") == "" || len([]rune(s)) > maxDisplayVersion || strings.ContainsAny(s, " \t\"'") {
		return 0, "", err
	}
	return 0, s, nil
}

// Names are lowercase; one typed with capitals (Checkout) means the lowercase one.
func appName(s string) (deploy.App, error) {
	if err := deploy.ValidateApp(s); err != nil {
		if deploy.ValidateApp(strings.ToLower(s)) == nil {
			return deploy.App(strings.ToLower(s)), nil
		}
		return "", err
	}
	return deploy.App(s), nil
}

func targetName(s string) (string, error) {
	if err := deploy.ValidateEnv(s); err != nil {
		if deploy.ValidateEnv(strings.ToLower(s)) == nil {
			return strings.ToLower(s), nil
		}
		return "", err
	}
	return s, nil
}

func parseDeploy(args []word) (Command, error) {
	pos, flags, err := splitFlags(args, flagSpec{"lock": true, "reason": true, "force": false, "from": true})
	if err != nil {
		return nil, err
	}
	// deploy <app> [<version>|latest] to <target>
	var c Deploy
	switch {
	case len(pos) == 0:
		return nil, deploy.Invalidf("deploy needs an app and a target")
	case pos[0].is("to") && len(pos) >= 3: // deploy to staging checkout [3]
		words := []string{"deploy", pos[2].text}
		words = append(words, texts(pos[3:])...)
		return nil, deploy.Invalidf("the app comes first: did you mean `%s to %s`?", strings.Join(words, " "), pos[1].text)
	case len(pos) < 3:
		what := strings.Join(texts(pos), " ")
		return nil, deploy.Invalidf("deploy needs a target: `deploy %s to <env|group>`", what)
	case len(pos) == 3 && !pos[1].is("to") && !pos[2].is("to"): // deploy staging checkout 3
		if _, err := deploy.ParseVersion(pos[2].text); err == nil {
			return nil, deploy.Invalidf("deploy needs `to <env|group>`: did you mean `deploy %s %s to %s`?", pos[1].text, pos[2].text, pos[0].text)
		}
	}
	if c.App, err = appName(pos[0].text); err != nil {
		return nil, err
	}
	rest := pos[1:]
	if !rest[0].is("to") {
		if !rest[0].is("latest") {
			if c.Version, c.Display, err = versionOrDisplay(rest[0].text); err != nil {
				return nil, err
			}
		}
		rest = rest[1:]
	}
	if len(rest) < 2 || !rest[0].is("to") {
		return nil, deploy.Invalidf("deploy needs `to <env|group>`")
	}
	if c.Target, err = targetName(rest[1].text); err != nil {
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
	if v, ok := flags["from"]; ok {
		if c.From, err = parseFrom(v); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func parseRollback(args []word) (Command, error) {
	pos, flags, err := splitFlags(args, flagSpec{"reason": true, "from": true, "force": false})
	if err != nil {
		return nil, err
	}
	var c Rollback
	if len(pos) < 3 || !pos[1].is("on") {
		return nil, deploy.Invalidf("rollback needs `<app> on <env>`")
	}
	if c.App, err = appName(pos[0].text); err != nil {
		return nil, err
	}
	env, err := targetName(pos[2].text)
	if err != nil {
		return nil, err
	}
	c.Env = deploy.Env(env)
	rest := pos[3:]
	if len(rest) > 0 {
		if !rest[0].is("to") || len(rest) < 2 {
			return nil, extra(rest)
		}
		if c.To, c.Display, err = versionOrDisplay(rest[1].text); err != nil {
			return nil, err
		}
		if len(rest) > 2 {
			return nil, extra(rest[2:])
		}
	}
	c.Reason = flags["reason"]
	c.Force = flags["force"] == "true"
	if v, ok := flags["from"]; ok {
		if c.From, err = deploy.ParseVersion(v); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func parseLock(args []word) (Command, error) {
	pos, flags, err := splitFlags(args, flagSpec{"for": true, "id": true})
	if err != nil {
		return nil, err
	}
	c := Lock{Kind: deploy.LockEnv, Lifetime: flags["for"], ID: flags["id"]}
	if err := deploy.ValidateLifetime(c.Lifetime); err != nil {
		return nil, err
	}
	c.Lifetime = deploy.NormalLifetime(c.Lifetime)
	if _, ok := flags["id"]; ok {
		if err := deploy.ValidateLockID(c.ID); err != nil {
			return nil, err
		}
	}
	if len(pos) >= 2 && pos[0].is("team") && pos[1].is("on") {
		return nil, deploy.Invalidf("a team lock names the team: `lock team <team> on <env|group> \"<message>\"`")
	}
	switch {
	case len(pos) >= 3 && pos[0].is("team") && pos[2].is("on"):
		c.Kind = deploy.LockTeam
		if err := deploy.ValidateTeam(pos[1].text); err != nil {
			return nil, err
		}
		c.Team = deploy.Team(pos[1].text)
		pos = pos[3:]
	case len(pos) >= 2 && pos[1].is("on"):
		c.Kind = deploy.LockApp
		if c.App, err = appName(pos[0].text); err != nil {
			return nil, err
		}
		pos = pos[2:]
	}
	if len(pos) == 0 {
		return nil, deploy.Invalidf("lock needs an environment or group")
	}
	if c.Target, err = targetName(pos[0].text); err != nil {
		return nil, err
	}
	if len(pos) < 2 || strings.TrimSpace(pos[1].text) == "" {
		return nil, deploy.Invalidf("a lock needs a message saying why, in quotes")
	}
	if len(pos) > 2 {
		return nil, deploy.Invalidf("put the lock message in quotes: %q", strings.Join(texts(pos[1:]), " "))
	}
	c.Message = pos[1].text
	return c, nil
}

func parseUnlock(args []word) (Command, error) {
	pos, flags, err := splitFlags(args, flagSpec{"id": true})
	if err != nil {
		return nil, err
	}
	id, exact := flags["id"]
	if exact {
		if err := deploy.ValidateLockID(id); err != nil {
			return nil, err
		}
	}
	var c Unlock
	switch {
	case len(pos) == 4 && pos[0].is("team") && pos[2].is("on"):
		if err := deploy.ValidateTeam(pos[1].text); err != nil {
			return nil, err
		}
		c = Unlock{Kind: deploy.LockTeam, Team: deploy.Team(pos[1].text)}
		c.Target, err = targetName(pos[3].text)
	case len(pos) == 3 && pos[1].is("on"):
		c.Kind = deploy.LockApp
		if c.App, err = appName(pos[0].text); err != nil {
			return nil, err
		}
		c.Target, err = targetName(pos[2].text)
	case len(pos) == 2 && pos[0].is("env"):
		c.Kind = deploy.LockEnv
		c.Target, err = targetName(pos[1].text)
	case len(pos) == 1 && exact:
		c.Kind = deploy.LockEnv
		c.Target, err = targetName(pos[0].text)
	case len(pos) == 1:
		// A lock id or an environment/group: the handler decides.
		if err := deploy.ValidateLockID(pos[0].text); err != nil {
			return nil, err
		}
		c.Target = pos[0].text
	case len(pos) == 0 && exact:
		return Unlock{ID: id}, nil
	case len(pos) == 0:
		return nil, deploy.Invalidf("unlock needs a lock id or a target")
	default:
		return nil, extra(pos[1:])
	}
	if err != nil {
		return nil, err
	}
	c.ID = id
	return c, nil
}

func parseLocks(args []word) (Command, error) {
	pos, _, err := splitFlags(args, flagSpec{})
	if err != nil {
		return nil, err
	}
	var c Locks
	switch len(pos) {
	case 0:
	case 1:
		c.Target, err = targetName(pos[0].text)
	default:
		err = extra(pos[1:])
	}
	return c, err
}

func parseStatus(args []word) (Command, error) {
	pos, _, err := splitFlags(args, flagSpec{})
	if err != nil {
		return nil, err
	}
	var c Status
	switch len(pos) {
	case 0:
	case 1:
		c.App, err = appName(pos[0].text)
	default:
		err = extra(pos[1:])
	}
	return c, err
}

func parseEnvs(args []word) (Command, error) {
	pos, _, err := splitFlags(args, flagSpec{})
	if err != nil {
		return nil, err
	}
	if len(pos) > 0 {
		return nil, extra(pos)
	}
	return Envs{}, nil
}

func parseHistory(args []word) (Command, error) {
	pos, _, err := splitFlags(args, flagSpec{})
	if err != nil {
		return nil, err
	}
	var c History
	if len(pos) == 0 {
		return nil, deploy.Invalidf("history needs an app")
	}
	if c.App, err = appName(pos[0].text); err != nil {
		return nil, err
	}
	switch {
	case len(pos) == 1:
	case len(pos) == 3 && pos[1].is("on"):
		env, err := targetName(pos[2].text)
		if err != nil {
			return nil, err
		}
		c.Env = deploy.Env(env)
	default:
		return nil, extra(pos[1:])
	}
	return c, nil
}

func parseHelp(args []word) (Command, error) {
	switch len(args) {
	case 0:
		return Help{}, nil
	case 1:
		v := strings.ToLower(args[0].text)
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

func parseAudit(args []word) (Command, error) {
	pos, flags, err := splitFlags(args, flagSpec{"since": true, "actor": true, "env": true})
	if err != nil {
		return nil, err
	}
	if len(pos) > 0 {
		return nil, extra(pos)
	}
	c := Audit{Since: flags["since"], Actor: flags["actor"]}
	if _, ok := flags["since"]; ok {
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
