package policy

import (
	"fmt"
	"sort"
	"strings"
	"unicode"

	"kuberpult/deploy"
)

// Config is what a Policy is made from. Reading the files is the caller's job.
type Config struct {
	// Policy is the text of a policy.csv in Kuberpult's format.
	Policy string
	// Teams lists the subjects of each team; the team "*" lists members of every team.
	Teams map[string][]string
	// TeamPermissions makes app-scoped actions also need membership of the app's team.
	TeamPermissions bool
	// Bindings gives extra roles to subjects, like g lines (for example API tokens:
	// "token:ci" -> ["CI"]). Roles may be written with or without the "role:" prefix.
	Bindings map[string][]string
}

// Problem is one thing wrong with a Config.
type Problem struct {
	Line int    // 1-based line of Config.Policy; 0 for problems outside the policy text
	Msg  string // e.g. "policy line 3: unknown action ..." or "team \"Shop\": ..."
}

func (p Problem) String() string { return p.Msg }

// LoadError lists every problem found by New, policy lines first, in order. It is a
// deploy.ErrInvalid.
type LoadError struct {
	Problems []Problem
}

// Error has one line per problem.
func (e *LoadError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.Msg
	}
	return strings.Join(lines, "\n")
}

func (e *LoadError) Unwrap() error { return deploy.ErrInvalid }

// Policy is a loaded, validated policy. Its methods are safe for concurrent use.
type Policy struct {
	perms           map[perm]bool
	roles           map[string][]string        // canonical subject -> roles, sorted
	teams           map[string]map[string]bool // team -> canonical subjects
	teamPermissions bool
}

// perm is one permission line.
type perm struct {
	role   string
	action Action
	group  string
	env    string
	app    string
}

type loader struct {
	problems []Problem
	perms    map[perm]bool
	roles    map[string]map[string]bool
	pLines   int
}

func (l *loader) addf(line int, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if line > 0 {
		msg = fmt.Sprintf("policy line %d: %s", line, msg)
	}
	l.problems = append(l.problems, Problem{Line: line, Msg: msg})
}

func (l *loader) bind(subject, role string) {
	s := canon(subject)
	if l.roles[s] == nil {
		l.roles[s] = map[string]bool{}
	}
	l.roles[s][role] = true
}

// New loads and validates c. It reports every problem at once, as a *LoadError.
func New(c Config) (*Policy, error) {
	l := &loader{perms: map[perm]bool{}, roles: map[string]map[string]bool{}}
	for i, raw := range strings.Split(c.Policy, "\n") {
		l.line(i+1, raw)
	}
	if l.pLines == 0 {
		l.addf(0, "the policy has no permission (p) lines, so nobody could do anything")
	}
	teams := l.teams(c.Teams)
	l.bindings(c.Bindings)
	if len(l.problems) > 0 {
		return nil, &LoadError{Problems: l.problems}
	}
	p := &Policy{perms: l.perms, roles: map[string][]string{}, teams: teams, teamPermissions: c.TeamPermissions}
	for s, set := range l.roles {
		p.roles[s] = sortedKeys(set)
	}
	return p, nil
}

// line parses one line of policy text. Whitespace is stripped first, as Kuberpult does.
func (l *loader) line(n int, raw string) {
	text := strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || r == '\ufeff' {
			return -1
		}
		return r
	}, raw)
	if i := strings.IndexByte(text, '#'); i >= 0 { // a comment, also after a line
		text = text[:i]
	}
	if text == "" {
		return
	}
	fields := strings.Split(text, ",")
	switch fields[0] {
	case "p":
		l.pLines++
		l.permission(n, fields)
	case "g":
		l.binding(n, fields)
	default:
		l.addf(n, "unknown line kind %q: lines start with p (permission) or g (binding); comments start with #", fields[0])
	}
}

// permission parses "p, role:<role>, <action>, <group>:<env>, <app>, allow".
func (l *loader) permission(n int, f []string) {
	if len(f) != 6 {
		l.addf(n, "a permission line has 6 fields (p, role:<role>, <action>, <group>:<env>, <app>, allow); this one has %d", len(f))
		return
	}
	before := len(l.problems)
	role := l.role(n, f[1])
	action := Action(f[2])
	known := action.Valid()
	ignored := kuberpultOnly[f[2]]
	if !known && !ignored {
		l.addf(n, "unknown action %q; actions are %s", f[2], actionList())
	}
	group, env, scopeOK := l.scope(n, f[3])
	app := f[4]
	if app != "*" {
		if err := deploy.ValidateApp(app); err != nil {
			l.addf(n, "%s", msgOf(err))
		}
	}
	switch {
	case !scopeOK:
	case known && action.EnvIndependent() && env != "*":
		l.addf(n, "%s does not depend on the environment: write <group>:*, e.g. %s:*", action, group)
	case ignored && (group != "*" || env != "*" || app != "*"):
		l.addf(n, "%s is not scoped: write *:* and *", f[2])
	}
	switch f[5] {
	case "allow":
	case "deny":
		ignored = true // as in Kuberpult: a deny line grants nothing and takes nothing away
	default:
		l.addf(n, "the last field must be allow (or deny, which grants nothing), not %q", f[5])
	}
	if len(l.problems) > before || ignored {
		return
	}
	l.perms[perm{role: role, action: action, group: group, env: env, app: app}] = true
}

// binding parses "g, <subject>, role:<role>".
func (l *loader) binding(n int, f []string) {
	if len(f) != 3 {
		l.addf(n, "a binding line has 3 fields (g, <subject>, role:<role>); this one has %d", len(f))
		return
	}
	before := len(l.problems)
	if f[1] == "" {
		l.addf(n, "the subject is empty: name a Slack user id, @group, email, token:<name> or *")
	}
	role := l.role(n, f[2])
	if len(l.problems) == before {
		l.bind(f[1], role)
	}
}

func (l *loader) role(n int, field string) string {
	role, ok := strings.CutPrefix(field, "role:")
	switch {
	case !ok:
		l.addf(n, "the role must be written role:<name>, not %q", field)
	case role == "":
		l.addf(n, "the role name after role: is empty")
	}
	return role
}

// scope parses "<group>:<env>", each a name or *.
func (l *loader) scope(n int, field string) (group, env string, ok bool) {
	group, env, found := strings.Cut(field, ":")
	if !found || strings.Contains(env, ":") {
		l.addf(n, "scope %q must be <group>:<env>, each a name or *", field)
		return "", "", false
	}
	ok = true
	if group != "*" {
		if err := deploy.ValidateGroup(group); err != nil {
			l.addf(n, "scope %q: %s", field, msgOf(err))
			ok = false
		}
	}
	if env != "*" {
		if err := deploy.ValidateEnv(env); err != nil {
			l.addf(n, "scope %q: %s", field, msgOf(err))
			ok = false
		}
	}
	return group, env, ok
}

func (l *loader) teams(in map[string][]string) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for _, team := range sortedKeys(in) {
		if team != "*" {
			if err := deploy.ValidateTeam(team); err != nil {
				l.addf(0, "team %q: %s", team, msgOf(err))
			}
		}
		set := map[string]bool{}
		for _, s := range in[team] {
			if s = strings.TrimSpace(s); s == "" {
				l.addf(0, "team %q: a member is empty", team)
				continue
			}
			set[canon(s)] = true
		}
		out[team] = set
	}
	return out
}

func (l *loader) bindings(in map[string][]string) {
	for _, subject := range sortedKeys(in) {
		s := strings.TrimSpace(subject)
		if s == "" {
			l.addf(0, "binding: the subject is empty")
			continue
		}
		for _, r := range in[subject] {
			role := strings.TrimPrefix(strings.TrimSpace(r), "role:")
			if role == "" {
				l.addf(0, "binding for %q: a role is empty", subject)
				continue
			}
			l.bind(s, role)
		}
	}
}

// canon is the form identities are compared in: emails and @handles ignore case.
func canon(id string) string {
	if strings.Contains(id, "@") {
		return strings.ToLower(id)
	}
	return id
}

func msgOf(err error) string {
	if m, ok := deploy.UserMessage(err); ok {
		return m
	}
	return err.Error()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
