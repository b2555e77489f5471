package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"kuberpult/deploy"
)

// env returns a lookup function over vars, standing in for os.LookupEnv.
func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

// problems returns the lines of err, which must be a *ValidationError.
func problems(t *testing.T, err error) []string {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("got error %v (%T), want a *ValidationError", err, err)
	}
	return strings.Split(ve.Error(), "\n")
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// exampleVars are the environment variables config.example.yaml reads.
var exampleVars = map[string]string{"GIT_TOKEN": "ghp_example", "KUBERPULT_CI_TOKEN": "ci-token-0123456789abcdef",
	"SLACK_APP_TOKEN": "xapp-1-example", "SLACK_BOT_TOKEN": "xoxb-example"}

func TestExampleLoads(t *testing.T) {
	c, err := load("../config.example.yaml", env(exampleVars))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	dir, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(filepath.Join(dir, "data", "kuberpult.db"), c.State.SQLite); diff != "" {
		t.Errorf("state.sqlite (-want +got):\n%s", diff)
	}
	if c.Slack.SlashCommand() != "/kuberpult" || c.Slack.Teams["shop"].Channel != "C0456SHOP" || c.Slack.BotToken != "xoxb-example" {
		t.Errorf("slack = %+v", c.Slack)
	}
	if diff := cmp.Diff("ghp_example", c.Git.Token); diff != "" {
		t.Errorf("git.token (-want +got):\n%s", diff)
	}
	wantEnvs := []deploy.Env{"development", "production-de", "production-jp", "staging"}
	if diff := cmp.Diff(wantEnvs, c.Environments.Names()); diff != "" {
		t.Errorf("environments (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]deploy.Env{"production-de", "production-jp"}, c.Environments.Members("production")); diff != "" {
		t.Errorf("group production (-want +got):\n%s", diff)
	}
	// production-jp takes the sync windows of production-de through a merge key.
	wantWindows := []deploy.SyncWindow{{Kind: "deny", Schedule: "0 9 * * 1-5", Duration: "8h"}}
	if diff := cmp.Diff(wantWindows, c.Environments["production-jp"].ArgoCD.SyncWindows); diff != "" {
		t.Errorf("production-jp sync windows (-want +got):\n%s", diff)
	}
	if got := c.Environments["production-jp"].ArgoCD.Destination.Server; got != "https://prod-jp.example.com:6443" {
		t.Errorf("production-jp server = %q; the key next to the merge key should win", got)
	}
	if c.RBAC == nil || !strings.HasPrefix(c.RBAC.Policy, "# developer:") || c.RBAC.PolicyFile != "" {
		t.Errorf("rbac = %+v, want the inline policy", c.RBAC)
	} else {
		wantTeams := map[string][]string{
			"shop":     {"alice@example.com", "@shop-devs"},
			"payments": {"U061F7AUR", "@payments-devs"},
			"*":        {"@platform", "token:ci"},
		}
		if diff := cmp.Diff(wantTeams, c.RBAC.Teams); diff != "" {
			t.Errorf("rbac.teams (-want +got):\n%s", diff)
		}
	}
	wantTokens := []Token{{Name: "ci", Token: "ci-token-0123456789abcdef", Role: "ci"}}
	if diff := cmp.Diff(wantTokens, c.API.Tokens); diff != "" {
		t.Errorf("api.tokens (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string(nil), c.Warnings()); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	if ws := c.PolicyWindows(); len(ws) != 2 || ws[0].Name != "peak-hours" || !ws[1].OneOff() || ws[1].Override != "deny" {
		t.Errorf("windows = %+v", ws)
	}
	trains := c.ScheduledTrains()
	if len(trains) != 1 || trains[0].Name != "daily-production" || trains[0].Schedule.Location().String() != "Europe/Berlin" ||
		trains[0].AnnounceBefore != 30*time.Minute || trains[0].Approval != "role:admin" || c.TrainChannel(trains[0]) != "C0123DEPLOYS" {
		t.Errorf("trains = %+v", trains)
	}
}

// TestExampleNeedsSecrets: the example loads without its secrets (a console needs none of
// them but git's), and each part asks for the ones it uses, with their lines.
func TestExampleNeedsSecrets(t *testing.T) {
	c, err := load("../config.example.yaml", env(nil))
	if err != nil {
		t.Fatalf("load without the secrets: %v", err)
	}
	if err := c.NeedSecrets("rbac."); err != nil {
		t.Errorf("NeedSecrets(rbac.) = %v; no rbac secret is read", err)
	}
	if gitOnly := problems(t, c.NeedSecrets("git.")); len(gitOnly) != 1 || !strings.Contains(gitOnly[0], "GIT_TOKEN") {
		t.Errorf("NeedSecrets(git.) = %v", gitOnly)
	}
	got := problems(t, c.NeedSecrets())
	data, rerr := os.ReadFile("../config.example.yaml")
	if rerr != nil {
		t.Fatal(rerr)
	}
	lineOf := func(text string) int { // the first line (not a comment) that holds text
		for i, l := range strings.Split(string(data), "\n") {
			if strings.Contains(l, text) && !strings.HasPrefix(strings.TrimSpace(l), "#") {
				return i + 1
			}
		}
		t.Fatalf("config.example.yaml has no line with %q", text)
		return 0
	}
	want := []string{
		fmt.Sprintf("../config.example.yaml:%d: git.token: environment variable GIT_TOKEN is not set", lineOf("token: ${GIT_TOKEN}")),
		fmt.Sprintf("../config.example.yaml:%d: api.tokens[0].token: environment variable KUBERPULT_CI_TOKEN is not set", lineOf("${KUBERPULT_CI_TOKEN}")),
		fmt.Sprintf("../config.example.yaml:%d: slack.app_token: environment variable SLACK_APP_TOKEN is not set", lineOf("${SLACK_APP_TOKEN}")),
		fmt.Sprintf("../config.example.yaml:%d: slack.bot_token: environment variable SLACK_BOT_TOKEN is not set", lineOf("${SLACK_BOT_TOKEN}")),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestDemo(t *testing.T) {
	dir := t.TempDir()
	server := "https://kubernetes.default.svc"
	deny := []deploy.SyncWindow{{Kind: "deny", Schedule: "0 9 * * 1-5", Duration: "2h", Applications: []string{"*"}}}
	want := &Config{
		State: State{SQLite: filepath.Join(dir, "kuberpult.db")},
		Git: Git{
			URL:           filepath.Join(dir, "envrepo.git"),
			Branch:        "main",
			ArgoCDRepoURL: filepath.Join(dir, "envrepo.git"),
			Author:        Person{Name: "Kuberpult", Email: "kuberpult@localhost"},
		},
		Environments: deploy.Environments{
			"development": {
				Upstream: &deploy.Upstream{Latest: true},
				ArgoCD:   &deploy.ArgoCD{Destination: deploy.Destination{Server: server, Namespace: "development"}},
			},
			"staging": {
				Upstream: &deploy.Upstream{Environment: "development"},
				ArgoCD:   &deploy.ArgoCD{Destination: deploy.Destination{Server: server, Namespace: "staging"}},
			},
			"production-de": {
				Upstream: &deploy.Upstream{Environment: "staging"},
				Group:    "production",
				ArgoCD:   &deploy.ArgoCD{Destination: deploy.Destination{Server: server, Namespace: "production-de"}, SyncWindows: deny},
			},
			"production-jp": {
				Upstream: &deploy.Upstream{Environment: "staging"},
				Group:    "production",
				ArgoCD:   &deploy.ArgoCD{Destination: deploy.Destination{Server: server, Namespace: "production-jp"}, SyncWindows: deny},
			},
		},
		API:     API{Listen: "127.0.0.1:8080"},
		Console: Console{User: Person{Name: "Demo User", Email: "demo@example.com"}},
		Windows: []Window{{Name: "peak-hours", Environments: []string{"production"}, Schedule: "0 9 * * MON-FRI",
			Duration: "2h", Timezone: "Europe/Berlin", Override: "confirm"}},
		Trains: []Train{{Name: "daily-production", Target: "production", Schedule: "30 11 * * MON-FRI",
			Timezone: "Europe/Berlin", AnnounceBefore: "30m"}},
	}
	got, err := Demo(dir)
	if err != nil {
		t.Fatalf("Demo: %v", err)
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreUnexported(Config{})); diff != "" {
		t.Errorf("Demo (-want +got):\n%s", diff)
	}
}

const minimal = `
state: {sqlite: kuberpult.db}
git: {url: envrepo.git}
environments:
  development: {upstream: {latest: true}}
`

func TestDefaults(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		vars map[string]string
		want Config
	}{{
		name: "minimal file",
		yaml: minimal,
		vars: map[string]string{"USER": "jdoe"},
		want: Config{
			State: State{SQLite: "kuberpult.db"},
			Git: Git{URL: "envrepo.git", Branch: "main", ArgoCDRepoURL: "envrepo.git",
				Author: Person{Name: "Kuberpult", Email: "kuberpult@localhost"}},
			Environments: deploy.Environments{"development": {Upstream: &deploy.Upstream{Latest: true}}},
			API:          API{Listen: "127.0.0.1:8080"},
			Console:      Console{User: Person{Name: "jdoe", Email: "jdoe@localhost"}},
		},
	}, {
		name: "the image's listen address, when the file has none",
		yaml: minimal,
		vars: map[string]string{"USER": "jdoe", "KUBERPULT_API_LISTEN": "0.0.0.0:8080"},
		want: Config{
			State: State{SQLite: "kuberpult.db"},
			Git: Git{URL: "envrepo.git", Branch: "main", ArgoCDRepoURL: "envrepo.git",
				Author: Person{Name: "Kuberpult", Email: "kuberpult@localhost"}},
			Environments: deploy.Environments{"development": {Upstream: &deploy.Upstream{Latest: true}}},
			API:          API{Listen: "0.0.0.0:8080"},
			Console:      Console{User: Person{Name: "jdoe", Email: "jdoe@localhost"}},
		},
	}, {
		name: "the file's listen address wins over the image's",
		yaml: minimal + "api: {listen: '127.0.0.1:9090'}\n",
		vars: map[string]string{"USER": "jdoe", "KUBERPULT_API_LISTEN": "0.0.0.0:8080"},
		want: Config{
			State: State{SQLite: "kuberpult.db"},
			Git: Git{URL: "envrepo.git", Branch: "main", ArgoCDRepoURL: "envrepo.git",
				Author: Person{Name: "Kuberpult", Email: "kuberpult@localhost"}},
			Environments: deploy.Environments{"development": {Upstream: &deploy.Upstream{Latest: true}}},
			API:          API{Listen: "127.0.0.1:9090"},
			Console:      Console{User: Person{Name: "jdoe", Email: "jdoe@localhost"}},
		},
	}, {
		name: "no USER, API off, partial author, own Argo CD repo URL",
		yaml: `
state: {sqlite: kuberpult.db}
git: {url: envrepo.git, author: {name: Release Bot}, argocd_repo_url: https://git.example.com/envrepo.git}
environments: {development: {upstream: {latest: true}}}
api: {listen: ""}
`,
		want: Config{
			State: State{SQLite: "kuberpult.db"},
			Git: Git{URL: "envrepo.git", Branch: "main", ArgoCDRepoURL: "https://git.example.com/envrepo.git",
				Author: Person{Name: "Release Bot", Email: "kuberpult@localhost"}},
			Environments: deploy.Environments{"development": {Upstream: &deploy.Upstream{Latest: true}}},
			Console:      Console{User: Person{Name: "console", Email: "console@localhost"}},
		},
	}, {
		name: "environment without upstream, group or argocd",
		yaml: "state: {sqlite: db}\ngit: {url: repo}\nenvironments: {sandbox: }\nconsole: {user: {name: Ann, email: ann@example.com}}\n",
		want: Config{
			State: State{SQLite: "db"},
			Git: Git{URL: "repo", Branch: "main", ArgoCDRepoURL: "repo",
				Author: Person{Name: "Kuberpult", Email: "kuberpult@localhost"}},
			Environments: deploy.Environments{"sandbox": {}},
			API:          API{Listen: "127.0.0.1:8080"},
			Console:      Console{User: Person{Name: "Ann", Email: "ann@example.com"}},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.yaml), env(tt.vars))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(&tt.want, got, cmpopts.IgnoreUnexported(Config{})); diff != "" {
				t.Errorf("Parse (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadResolvesRelativePaths(t *testing.T) {
	type paths struct{ SQLite, URL, SSHKey, ArgoCDRepoURL string }
	dir := t.TempDir()
	in := func(p string) string { return filepath.Join(dir, p) }
	tests := []struct {
		name string
		git  string
		sql  string
		want paths
	}{{
		name: "relative local repo and database",
		git:  "{url: ./data/envrepo.git}",
		sql:  "data/kuberpult.db",
		want: paths{SQLite: in("data/kuberpult.db"), URL: in("data/envrepo.git"), ArgoCDRepoURL: in("data/envrepo.git")},
	}, {
		name: "absolute paths stay",
		git:  "{url: /srv/envrepo.git}",
		sql:  "/var/lib/kuberpult/kuberpult.db",
		want: paths{SQLite: "/var/lib/kuberpult/kuberpult.db", URL: "/srv/envrepo.git", ArgoCDRepoURL: "/srv/envrepo.git"},
	}, {
		name: "file URL and in-memory database stay",
		git:  "{url: 'file:///srv/envrepo.git'}",
		sql:  ":memory:",
		want: paths{SQLite: ":memory:", URL: "file:///srv/envrepo.git", ArgoCDRepoURL: "file:///srv/envrepo.git"},
	}, {
		name: "ssh URL stays, its key is resolved",
		git:  "{url: 'git@github.com:org/envrepo.git', ssh_key: keys/id_ed25519}",
		sql:  "kuberpult.db",
		want: paths{SQLite: in("kuberpult.db"), URL: "git@github.com:org/envrepo.git", SSHKey: in("keys/id_ed25519"),
			ArgoCDRepoURL: "git@github.com:org/envrepo.git"},
	}, {
		name: "https URL stays",
		git:  "{url: 'https://github.com/org/envrepo.git'}",
		sql:  "kuberpult.db",
		want: paths{SQLite: in("kuberpult.db"), URL: "https://github.com/org/envrepo.git", ArgoCDRepoURL: "https://github.com/org/envrepo.git"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := writeFile(t, dir, "config.yaml",
				"state: {sqlite: '"+tt.sql+"'}\ngit: "+tt.git+"\nenvironments: {development: }\n")
			c, err := Load(file)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			got := paths{SQLite: c.State.SQLite, URL: c.Git.URL, SSHKey: c.Git.SSHKey, ArgoCDRepoURL: c.Git.ArgoCDRepoURL}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("paths (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadNamesFile(t *testing.T) {
	file := writeFile(t, t.TempDir(), "config.yaml", minimal+"windowz: {}\n")
	_, err := Load(file)
	want := []string{file + ":6: windowz: unknown key; known keys here: state, git, environments, rbac, api, console, slack, argocd, github, windows, approvals, trains"}
	if diff := cmp.Diff(want, problems(t, err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load of a missing file: got %v, want an error wrapping os.ErrNotExist", err)
	}
}

func TestTransport(t *testing.T) {
	tests := []struct {
		url  string
		want Transport
	}{
		{"./data/envrepo.git", TransportLocal},
		{"/srv/envrepo.git", TransportLocal},
		{"file:///srv/envrepo.git", TransportLocal},
		{"https://github.com/org/envrepo.git", TransportHTTPS},
		{"http://git.internal:3000/envrepo.git", TransportHTTP},
		{"ssh://git@github.com/org/envrepo.git", TransportSSH},
		{"git@github.com:org/envrepo.git", TransportSSH},
		{"data/a:b", TransportLocal},
		{"ftp://example.com/envrepo.git", ""},
		{"https:///envrepo.git", ""},
	}
	for _, tt := range tests {
		if got := (Git{URL: tt.url}).Transport(); got != tt.want {
			t.Errorf("Transport(%q) = %q, want %q", tt.url, got, tt.want)
		}
	}
}

func TestGitStringHidesToken(t *testing.T) {
	c := Config{Git: Git{URL: "https://example.com/r.git", Token: "s3cr3t"}}
	for _, s := range []string{fmtV(c), fmtV(&c), c.Git.String()} {
		if strings.Contains(s, "s3cr3t") {
			t.Errorf("formatted config shows the token: %s", s)
		}
	}
}

func fmtV(v any) string { return fmt.Sprintf("%v %+v", v, v) }

func TestBadListenFromTheEnvironment(t *testing.T) {
	_, err := Parse([]byte(minimal), env(map[string]string{"KUBERPULT_API_LISTEN": "everywhere"}))
	want := []string{"api.listen: $KUBERPULT_API_LISTEN is not host:port, e.g. 0.0.0.0:8080; set api.listen, or fix the variable"}
	if diff := cmp.Diff(want, problems(t, err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestStateIsOneOfSQLiteAndPostgres(t *testing.T) {
	const rest = "git: {url: envrepo.git}\nenvironments: {development: {upstream: {latest: true}}}\n"
	_, err := Parse([]byte("state: {sqlite: k.db, postgres: {dsn: 'postgres://db/k'}}\n"+rest), env(nil))
	if diff := cmp.Diff([]string{"line 1: state: set sqlite or postgres.dsn, not both"}, problems(t, err)); diff != "" {
		t.Errorf("both (-want +got):\n%s", diff)
	}
	c, err := Parse([]byte("state: {postgres: {dsn: '${DB_URL}'}}\n"+rest), env(map[string]string{"DB_URL": "postgres://u:p@db:5432/k"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.State.Postgres.DSN != "postgres://u:p@db:5432/k" || c.State.SQLite != "" {
		t.Errorf("state: %+v", c.State)
	}
}
