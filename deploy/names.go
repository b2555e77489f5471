package deploy

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Env is the name of an environment, 1:1 with a cluster.
type Env string

// Group is the name of an environment group.
type Group string

// App is the name of an application (a microservice).
type App string

// Team is the name of the team that owns an app.
type Team string

// Version orders the releases of an app: a positive integer of at most MaxVersion, as
// Kuberpult's (int64) versions.
type Version uint64

// MaxVersion is the largest version: 2^63-1.
const MaxVersion Version = 1<<63 - 1

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

// ValidateTrain checks the name of a scheduled train.
func ValidateTrain(name string) error { return checkName("train", name, MaxEnvLen) }

// ParseVersion reads a version: a positive integer of at most MaxVersion.
func ParseVersion(s string) (Version, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	switch {
	case err == nil && n > 0 && Version(n) <= MaxVersion:
		return Version(n), nil
	case isDigits(s) && s != "" && !allZero(s):
		return 0, Invalidf("version %s is too large: versions go from 1 to %d (2^63-1)", s, MaxVersion)
	}
	return 0, Invalidf("version %q is not a positive integer", s)
}

// Valid reports whether v is a version a release can have.
func (v Version) Valid() bool { return v >= 1 && v <= MaxVersion }

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func allZero(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '0' {
			return false
		}
	}
	return true
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

var lifetimeRE = regexp.MustCompile(`^[1-9][0-9]*[mhdwMHDW]$`)

// ValidateLifetime checks a suggested lock lifetime such as 30m, 4h, 2d or 1w (the unit in
// either case). Empty is allowed.
func ValidateLifetime(s string) error {
	if s == "" || lifetimeRE.MatchString(s) {
		return nil
	}
	return Invalidf("lock lifetime %q is not valid: use a number followed by m, h, d or w, e.g. 30m, 4h, 2d, 1w", s)
}

// NormalLifetime is a valid lifetime with its unit in lower case (2H → 2h).
func NormalLifetime(s string) string { return strings.ToLower(s) }

// String helpers so the typed names print nicely in messages.
func (e Env) String() string   { return string(e) }
func (g Group) String() string { return string(g) }
func (a App) String() string   { return string(a) }
func (t Team) String() string  { return string(t) }

// LifetimeDuration is the duration of a valid suggested lifetime (a day is 24 hours, a
// week 7 days); 0 for none.
func LifetimeDuration(s string) (time.Duration, error) {
	if err := ValidateLifetime(s); err != nil || s == "" {
		return 0, err
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n > 100000 {
		return 0, Invalidf("lock lifetime %q is too long", s)
	}
	unit := map[byte]time.Duration{'m': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}[NormalLifetime(s)[len(s)-1]]
	return time.Duration(n) * unit, nil
}
