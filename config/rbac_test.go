package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRBAC(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want *RBAC
	}{{
		name: "no rbac section",
		yaml: minimal,
		want: nil,
	}, {
		name: "rbac without a value",
		yaml: minimal + "rbac:\n",
		want: nil,
	}, {
		name: "inline policy, teams and team permissions",
		yaml: minimal + lines(
			"rbac:",
			"  policy: |",
			"    p, role:developer, DeployRelease, development:*, *, allow",
			"    g, alice@example.com, role:developer",
			"  teams:",
			`    shop: [alice@example.com, "@shop-devs", U024BE7LH]`,
			`    "*": [token:ci]`,
			"    empty: []",
			"  team_permissions: true"),
		want: &RBAC{
			Policy: "p, role:developer, DeployRelease, development:*, *, allow\ng, alice@example.com, role:developer\n",
			Teams: map[string][]string{
				"shop":  {"alice@example.com", "@shop-devs", "U024BE7LH"},
				"*":     {"token:ci"},
				"empty": {},
			},
			TeamPermissions: true,
		},
	}, {
		name: "policy file: Parse reads no file",
		yaml: minimal + "rbac: {policy_file: ./policy.csv}\n",
		want: &RBAC{PolicyFile: "./policy.csv"},
	}, {
		name: "policy from the environment",
		yaml: minimal + "rbac: {policy: '${POLICY}'}\n",
		want: &RBAC{Policy: "p, role:a, CreateLock, *:*, *, allow"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml), env(map[string]string{"POLICY": "p, role:a, CreateLock, *:*, *, allow"}))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.want, c.RBAC); diff != "" {
				t.Errorf("rbac (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRBACProblems(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{{
		name: "both policy and policy_file",
		yaml: minimal + lines("rbac:", "  policy: 'p, role:a, CreateLock, *:*, *, allow'", "  policy_file: policy.csv"),
		want: []string{"line 6: rbac: set policy or policy_file, not both"},
	}, {
		name: "neither policy nor policy_file",
		yaml: minimal + lines("rbac:", "  teams: {shop: [alice@example.com]}"),
		want: []string{"line 6: rbac: set policy (the lines of a policy.csv) or policy_file (the path of one); leave rbac out to allow everyone everything"},
	}, {
		name: "empty mapping",
		yaml: minimal + lines("rbac: {}"),
		want: []string{"line 6: rbac: set policy (the lines of a policy.csv) or policy_file (the path of one); leave rbac out to allow everyone everything"},
	}, {
		name: "policy from an unset variable says nothing more",
		yaml: minimal + lines("rbac: {policy: '${POLICY}'}"),
		want: []string{"line 6: rbac.policy: environment variable POLICY is not set"},
	}, {
		name: "bad team names",
		yaml: minimal + lines("rbac:", "  policy_file: policy.csv", "  teams:",
			"    Shop: []",
			"    shop_2: []",
			"    a-team-whose-name-goes-on-and-on-and-on-well-past-what-is-allowed: []",
			"    '**': []",
			"    '*': []"),
		want: []string{
			`line 9: rbac.teams.Shop: team name "Shop" is not valid: use lowercase letters, digits and single dashes (^[a-z0-9]+(-[a-z0-9]+)*$)`,
			`line 10: rbac.teams.shop_2: team name "shop_2" is not valid: use lowercase letters, digits and single dashes (^[a-z0-9]+(-[a-z0-9]+)*$)`,
			`line 11: rbac.teams.a-team-whose-name-goes-on-and-on-and-on-well-past-what-is-allowed: team name "a-team-whose-name-goes-on-and-on-and-on-well-past-what-is-allowed" is 65 characters long; at most 63 are allowed`,
			`line 12: rbac.teams["**"]: team name "**" is not valid: use lowercase letters, digits and single dashes (^[a-z0-9]+(-[a-z0-9]+)*$)`,
		},
	}, {
		name: "bad members",
		yaml: minimal + lines("rbac:", "  policy_file: policy.csv", "  teams:",
			"    shop:",
			"      - alice@example.com",
			"      - ''",
			"      - Alice Smith",
			"      - [bob@example.com]",
			"      -"),
		want: []string{
			`line 11: rbac.teams.shop[1]: an empty member; use a Slack user id (U…), an @user-group handle, an email, token:<name> or "*"`,
			`line 12: rbac.teams.shop[2]: "Alice Smith" contains a space; write one member per list item`,
			"line 13: rbac.teams.shop[3]: expected a single value, got a list",
			`line 14: rbac.teams.shop[4]: an empty member; use a Slack user id (U…), an @user-group handle, an email, token:<name> or "*"`,
		},
	}, {
		name: "wrong types and unknown keys",
		yaml: minimal + lines("rbac:", "  policy: [a]", "  teams: [shop]", "  team_permissions: yes", "  roles: {}"),
		want: []string{
			"line 7: rbac.policy: expected a single value, got a list",
			"line 8: rbac.teams: expected a mapping, got a list",
			`line 9: rbac.team_permissions: "yes" is not true or false`,
			"line 10: rbac.roles: unknown key; known keys here: policy, policy_file, teams, team_file, team_permissions",
		},
	}, {
		name: "rbac is not a mapping",
		yaml: minimal + lines("rbac: policy.csv"),
		want: []string{"line 6: rbac: expected a mapping, got a single value"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml), env(nil))
			if err == nil {
				t.Fatalf("Parse succeeded with %+v; want problems", c)
			}
			if diff := cmp.Diff(tt.want, problems(t, err)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadPolicyFile(t *testing.T) {
	const policy = "p, role:developer, DeployRelease, development:*, *, allow\n"
	dir := t.TempDir()
	writeFile(t, dir, "policy.csv", policy)
	if err := os.Mkdir(filepath.Join(dir, "rbac"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "rbac"), "policy.csv", policy)
	other := t.TempDir()
	writeFile(t, other, "shared.csv", policy)

	tests := []struct {
		name string
		file string // value of rbac.policy_file
		want *RBAC
	}{{
		name: "next to the config file",
		file: "policy.csv",
		want: &RBAC{Policy: policy, PolicyFile: filepath.Join(dir, "policy.csv")},
	}, {
		name: "relative path",
		file: "./rbac/policy.csv",
		want: &RBAC{Policy: policy, PolicyFile: filepath.Join(dir, "rbac", "policy.csv")},
	}, {
		name: "absolute path",
		file: filepath.Join(other, "shared.csv"),
		want: &RBAC{Policy: policy, PolicyFile: filepath.Join(other, "shared.csv")},
	}, {
		name: "from the environment",
		file: "${POLICY_FILE}",
		want: &RBAC{Policy: policy, PolicyFile: filepath.Join(dir, "rbac", "policy.csv")},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := writeFile(t, dir, "config.yaml", minimal+"rbac: {policy_file: '"+tt.file+"'}\n")
			c, err := load(file, env(map[string]string{"POLICY_FILE": "rbac/policy.csv"}))
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			if diff := cmp.Diff(tt.want, c.RBAC); diff != "" {
				t.Errorf("rbac (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadPolicyFileUnreadable(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "policy.d"), 0o700); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		rbac string
		want string
	}{{
		name: "missing file",
		rbac: "rbac:\n  teams: {}\n  policy_file: ./missing.csv\n",
		want: `:8: rbac.policy_file: cannot read "./missing.csv" (` + filepath.Join(dir, "missing.csv") + `): no such file or directory`,
	}, {
		name: "a directory",
		rbac: "rbac: {policy_file: policy.d}\n",
		want: `:6: rbac.policy_file: cannot read "policy.d" (` + filepath.Join(dir, "policy.d") + `): is a directory`,
	}, {
		name: "from the environment: the path is not shown",
		rbac: "rbac: {policy_file: '${POLICY_FILE}'}\n",
		want: `:6: rbac.policy_file: cannot read "${POLICY_FILE}": no such file or directory`,
	}, {
		name: "absolute path",
		rbac: "rbac: {policy_file: /nonexistent/policy.csv}\n",
		want: `:6: rbac.policy_file: cannot read "/nonexistent/policy.csv": no such file or directory`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := writeFile(t, dir, "config.yaml", minimal+tt.rbac)
			_, err := load(file, env(map[string]string{"POLICY_FILE": "secret-dir/policy.csv"}))
			if diff := cmp.Diff([]string{file + tt.want}, problems(t, err)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadPolicyFileNotReadWithOtherProblems(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "config.yaml", minimal+"rbac: {policy: 'p', policy_file: missing.csv}\n")
	_, err := Load(file)
	want := []string{file + ":6: rbac: set policy or policy_file, not both"}
	if diff := cmp.Diff(want, problems(t, err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

// TestTeamFile: rbac.team_file reads Kuberpult's team file (team,members separated by
// spaces), relative to the config file; its mistakes are named with their line.
func TestTeamFile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "team.csv", "shop,alice@example.com bob@example.com\n\n*,ops@example.com\n")
	cfg := writeFile(t, dir, "config.yaml", minimal+"rbac: {policy: 'p, role:a, CreateLock, *:*, *, allow', team_file: team.csv}\n")
	c, err := Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"shop": {"alice@example.com", "bob@example.com"}, "*": {"ops@example.com"}}
	if diff := cmp.Diff(want, c.RBAC.Teams); diff != "" {
		t.Errorf("teams (-want +got):\n%s", diff)
	}
	writeFile(t, dir, "bad.csv", "shop,alice@example.com\nShop!,x\nshop,bob@example.com\nno comma\n")
	bad := writeFile(t, dir, "bad.yaml", minimal+"rbac: {policy: 'p, role:a, CreateLock, *:*, *, allow', team_file: bad.csv}\n")
	_, err = Load(bad)
	got := strings.Join(problems(t, err), "\n")
	for _, w := range []string{"rbac.team_file: line 2: team name \"Shop!\" is not valid", "line 3: team shop is listed on line 1 already", "line 4: write <team>,<member>"} {
		if !strings.Contains(got, w) {
			t.Errorf("problems lack %q:\n%s", w, got)
		}
	}
}
