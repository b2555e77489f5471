package commands

import (
	"strconv"
	"strings"
	"time"

	"kuberpult/deploy"
)

// Options and their values: --flags, deploy's --from precondition, and --since's ages.

// flagSpec maps a flag name to whether it takes a value.
type flagSpec map[string]bool

// splitFlags separates positional words from --flags. A quoted word is always positional,
// and an option's value is the next word, whatever it looks like.
func splitFlags(args []word, spec flagSpec) (pos []word, flags map[string]string, err error) {
	flags = map[string]string{}
	for i := 0; i < len(args); i++ {
		a := args[i].text
		if args[i].quoted || !strings.HasPrefix(a, "--") || a == "--" {
			pos = append(pos, args[i])
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
			flags[name] = args[i].text
		case hasVal:
			return nil, nil, deploy.Invalidf("option `--%s` takes no value", name)
		default:
			flags[name] = "true"
		}
	}
	return pos, flags, nil
}

// parseFrom reads a deploy precondition: env=version pairs, comma-separated; "none" for an
// environment the app does not run on.
func parseFrom(s string) ([]EnvVersion, error) {
	var out []EnvVersion
	seen := map[deploy.Env]bool{}
	for _, part := range strings.Split(s, ",") {
		name, ver, ok := strings.Cut(part, "=")
		if !ok {
			return nil, deploy.Invalidf("--from %q: use <env>=<version>, comma-separated (none for an environment the app does not run on)", s)
		}
		env, err := targetName(name)
		if err != nil {
			return nil, err
		}
		if seen[deploy.Env(env)] {
			return nil, deploy.Invalidf("--from names %s twice", env)
		}
		seen[deploy.Env(env)] = true
		ev := EnvVersion{Env: deploy.Env(env)}
		if ver != "none" {
			if ev.Version, err = deploy.ParseVersion(ver); err != nil {
				return nil, err
			}
		}
		out = append(out, ev)
	}
	return out, nil
}

// ageUnits are the units of --since, each with the largest number it takes (about ten
// years), so that "now minus the age" can never overflow.
var ageUnits = map[byte]struct {
	d   time.Duration
	max int
}{
	'm': {time.Minute, 10 * 365 * 24 * 60},
	'h': {time.Hour, 10 * 365 * 24},
	'd': {24 * time.Hour, 10 * 365},
	'w': {7 * 24 * time.Hour, 521},
}

// parseAge reads a duration like 30m, 4h, 1d or 2w.
func parseAge(s string) (time.Duration, error) {
	if len(s) >= 2 {
		if u, ok := ageUnits[s[len(s)-1]]; ok && isNumber(s[:len(s)-1]) {
			n, err := strconv.Atoi(s[:len(s)-1])
			if err != nil || n > u.max {
				return 0, deploy.Invalidf("%q is too far back: at most %d%c (about ten years)", s, u.max, s[len(s)-1])
			}
			if n > 0 {
				return time.Duration(n) * u.d, nil
			}
		}
	}
	return 0, deploy.Invalidf("%q is not a duration: use a number followed by m, h, d or w, e.g. 1d", s)
}

func isNumber(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
