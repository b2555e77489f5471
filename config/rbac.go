package config

import (
	"errors"
	"io/fs"
	"os"
	"sort"
	"strings"
	"unicode"

	"kuberpult/deploy"
)

// RBAC says who may do what, in Kuberpult's terms: a policy.csv of permission (p) and
// binding (g) lines, and optionally the members of each team. A nil *RBAC allows everyone
// everything, as Kuberpult does without authentication.
//
// The policy lines are not checked here; package policy reads them.
type RBAC struct {
	// Policy is the text of a policy.csv. Load fills it from PolicyFile; Parse leaves it
	// empty when the file sets policy_file.
	Policy string `yaml:"policy"`
	// PolicyFile is the policy.csv Policy was read from, if any: absolute after Load, as
	// written after Parse.
	PolicyFile string `yaml:"policy_file"`
	// Teams lists the subjects of each team (Slack user ids, @user-group handles, emails,
	// token:<name> or *). Members of team "*" are members of every team.
	Teams map[string][]string `yaml:"teams"`
	// TeamFile is a team file in Kuberpult's format, read into Teams: one team a line,
	// `<team>,<member> <member> …` (members separated by spaces). Relative to this file.
	TeamFile string `yaml:"team_file"`
	// TeamPermissions makes app-scoped actions also need membership of the app's team.
	TeamPermissions bool `yaml:"team_permissions"`
}

// validate records the problems of r. The policy text is left to package policy.
func (r *RBAC) validate(s *source) {
	if r == nil {
		return
	}
	switch {
	case s.unread("rbac.policy") || s.unread("rbac.policy_file"):
		// why was said already
	case r.Policy != "" && r.PolicyFile != "":
		s.problem("rbac", "set policy or policy_file, not both")
	case r.Policy == "" && r.PolicyFile == "":
		s.problem("rbac", "set policy (the lines of a policy.csv) or policy_file (the path of one); "+
			"leave rbac out to allow everyone everything")
	}
	teams := make([]string, 0, len(r.Teams))
	for t := range r.Teams {
		teams = append(teams, t)
	}
	sort.Strings(teams)
	for _, t := range teams {
		p := join("rbac.teams", t)
		if t != "*" {
			if err := deploy.ValidateTeam(t); err != nil {
				s.problem(p, "%v", err)
			}
		}
		for i, subject := range r.Teams[t] {
			sp := index(p, i)
			switch {
			case subject == "":
				s.problem(sp, `an empty member; use a Slack user id (U…), an @user-group handle, an email, token:<name> or "*"`)
			case strings.IndexFunc(subject, unicode.IsSpace) >= 0:
				s.problem(sp, "%s contains a space; write one member per list item", s.quote(sp, subject))
			}
		}
	}
}

// readPolicy reads r.PolicyFile, relative to dir, into r.Policy. A file that cannot be
// read is a problem at rbac.policy_file.
func (r *RBAC) readPolicy(dir string, s *source) {
	r.readTeams(dir, s)
	if r == nil || r.PolicyFile == "" || r.Policy != "" || s.unread("rbac.policy_file") {
		return
	}
	path := resolve(dir, r.PolicyFile)
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is said below, and only if it shows no ${VAR} value
		}
		where := ""
		if _, expanded := s.raw["rbac.policy_file"]; !expanded && path != r.PolicyFile {
			where = " (" + path + ")"
		}
		s.problem("rbac.policy_file", "cannot read %s%s: %v", s.quote("rbac.policy_file", r.PolicyFile), where, err)
		return
	}
	r.Policy = string(data)
}

// readTeams reads r.TeamFile, relative to dir, into r.Teams. Kuberpult's format: one team a
// line, its name, a comma, and its members separated by spaces; a team listed twice, or in
// rbac.teams too, is a problem.
func (r *RBAC) readTeams(dir string, s *source) {
	if r == nil || r.TeamFile == "" || s.unread("rbac.team_file") {
		return
	}
	path := resolve(dir, r.TeamFile)
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		s.problem("rbac.team_file", "cannot read %s: %v", s.quote("rbac.team_file", r.TeamFile), err)
		return
	}
	if r.Teams == nil {
		r.Teams = map[string][]string{}
	}
	seen := map[string]int{}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		n := i + 1
		team, members, ok := strings.Cut(line, ",")
		team = strings.TrimSpace(team)
		switch {
		case !ok:
			s.problem("rbac.team_file", "line %d: write <team>,<member> <member> …, e.g. shop,alice@example.com bob@example.com", n)
			continue
		case team != "*" && deploy.ValidateTeam(team) != nil:
			s.problem("rbac.team_file", "line %d: %v", n, deploy.ValidateTeam(team))
			continue
		case seen[team] > 0:
			s.problem("rbac.team_file", "line %d: team %s is listed on line %d already", n, team, seen[team])
			continue
		case r.Teams[team] != nil:
			s.problem("rbac.team_file", "line %d: team %s is in rbac.teams too; list each team in one place", n, team)
			continue
		}
		seen[team] = n
		r.Teams[team] = strings.Fields(members)
	}
}
