package deploy

import (
	"regexp"
	"strconv"
)

// Env is the name of an environment, 1:1 with a cluster.
type Env string

// Group is the name of an environment group.
type Group string

// App is the name of an application (a microservice).
type App string

// Team is the name of the team that owns an app.
type Team string

// Version orders the releases of an app; it is a positive integer.
type Version uint64

func (v Version) String() string { return strconv.FormatUint(uint64(v), 10) }

// Length limits of names, as in Kuberpult.
const (
	MaxEnvLen  = 20
	MaxAppLen  = 39
	MaxTeamLen = 63
)

var nameRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// NamePattern is the pattern every env, group, app and team name follows.
const NamePattern = `^[a-z0-9]+(-[a-z0-9]+)*$`

func checkName(kind, name string, max int) error {
	if name == "" {
		return Invalidf("%s name is empty", kind)
	}
	if len(name) > max {
		return Invalidf("%s name %q is %d characters long; at most %d are allowed", kind, name, len(name), max)
	}
	if !nameRE.MatchString(name) {
		return Invalidf("%s name %q is not valid: use lowercase letters, digits and single dashes (%s)", kind, name, NamePattern)
	}
	return nil
}

// ValidateEnv checks an environment or group name.
func ValidateEnv(name string) error { return checkName("environment", name, MaxEnvLen) }

// ValidateGroup checks an environment group name.
func ValidateGroup(name string) error { return checkName("environment group", name, MaxEnvLen) }

// ValidateApp checks an application name.
func ValidateApp(name string) error { return checkName("application", name, MaxAppLen) }

// ValidateTeam checks a team name.
func ValidateTeam(name string) error { return checkName("team", name, MaxTeamLen) }

// ParseVersion reads a positive integer version.
func ParseVersion(s string) (Version, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n == 0 {
		return 0, Invalidf("version %q is not a positive integer", s)
	}
	return Version(n), nil
}

var lockIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// ValidateLockID checks a lock id: 2..99 characters, letters, digits, '.', '_' and '-',
// starting with a letter or digit (so it can never name a path).
func ValidateLockID(id string) error {
	if len(id) < 2 || len(id) > 99 {
		return Invalidf("lock id %q must be 2 to 99 characters long", id)
	}
	if !lockIDRE.MatchString(id) {
		return Invalidf("lock id %q may only contain letters, digits, '.', '_' and '-', starting with a letter or digit", id)
	}
	return nil
}

var lifetimeRE = regexp.MustCompile(`^[1-9][0-9]*(h|d|w)$`)

// ValidateLifetime checks a suggested lock lifetime such as 4h, 2d or 1w. Empty is allowed.
func ValidateLifetime(s string) error {
	if s == "" || lifetimeRE.MatchString(s) {
		return nil
	}
	return Invalidf("lock lifetime %q is not valid: use a number followed by h, d or w, e.g. 4h, 2d, 1w", s)
}

// String helpers so the typed names print nicely in messages.
func (e Env) String() string   { return string(e) }
func (g Group) String() string { return string(g) }
func (a App) String() string   { return string(a) }
func (t Team) String() string  { return string(t) }
