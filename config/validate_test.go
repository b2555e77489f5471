package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// lines joins its arguments as the lines of a file, so that line numbers are easy to read:
// the first argument is line 1.
func lines(ls ...string) string { return strings.Join(ls, "\n") + "\n" }

const head = "state: {sqlite: db}\ngit: {url: repo}\n" // lines 1 and 2

func TestProblems(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{{
		name: "unknown top-level key",
		yaml: lines("state: {sqlite: db}", "git: {url: repo}", "environments: {dev: }", "windowz: {}"),
		want: []string{"line 4: windowz: unknown key; known keys here: state, git, environments, rbac, api, console, slack, argocd, github, windows, approvals, trains"},
	}, {
		name: "unknown nested key",
		yaml: lines("state: {sqlite: db}", "git:", "  url: repo", "  tokn: x", "environments:", "  dev: {upstream: {latest: true}, grup: x}"),
		want: []string{
			"line 4: git.tokn: unknown key; known keys here: url, branch, token, ssh_key, argocd_repo_url, author",
			"line 6: environments.dev.grup: unknown key; known keys here: upstream, argocd, group",
		},
	}, {
		name: "several problems at once",
		yaml: lines("state: {}", "git: {branch: 'a b'}", "environments: {}", "api: {listen: localhost}", "console: {user: {name: ' ', email: me}}"),
		want: []string{
			"line 1: state.sqlite: required: the path of the SQLite database file, e.g. ./data/kuberpult.db (or state.postgres.dsn for PostgreSQL)",
			"line 2: git.url: required: the environment repository, e.g. ./data/envrepo.git, https://github.com/org/envrepo.git or git@github.com:org/envrepo.git",
			`line 2: git.branch: "a b" is not a valid branch name (default main)`,
			"line 3: environments: required: at least one environment, e.g. development: {upstream: {latest: true}}",
			`line 4: api.listen: "localhost" is not host:port, e.g. 127.0.0.1:8080 or :8080; "" turns the API off`,
			"line 5: console.user.name: required: a name, e.g. Kuberpult",
			`line 5: console.user.email: "me" is not an email address, e.g. kuberpult@example.com`,
		},
	}, {
		name: "missing sections",
		yaml: lines("api: {listen: ':0'}"),
		want: []string{
			"state.sqlite: required: the path of the SQLite database file, e.g. ./data/kuberpult.db (or state.postgres.dsn for PostgreSQL)",
			"git.url: required: the environment repository, e.g. ./data/envrepo.git, https://github.com/org/envrepo.git or git@github.com:org/envrepo.git",
			"environments: required: at least one environment, e.g. development: {upstream: {latest: true}}",
		},
	}, {
		name: "own upstream",
		yaml: head + lines("environments:",
			"  a: {upstream: {environment: a}}",
			"  b: {upstream: {latest: true, environment: a}}"),
		want: []string{
			`line 4: environments.a.upstream.environment: "a" cannot be its own upstream`,
		},
	}, {
		name: "upstream cycle",
		yaml: head + lines("environments:",
			"  dev: {upstream: {latest: true}}",
			"  qa: {upstream: {environment: uat}}",
			"  staging: {upstream: {environment: qa}}",
			"  uat: {upstream: {environment: staging}}",
			"  prod: {upstream: {environment: staging}}"),
		want: []string{"line 5: environments.qa.upstream.environment: upstream cycle qa → uat → staging → qa: a release train could never start; one environment of the cycle needs upstream latest: true or another upstream"},
	}, {
		name: "invalid names",
		yaml: head + lines("environments:",
			"  Staging: {}",
			"  development-environment-1: {}",
			"  production-de: {group: Prod_DE}",
			"  production-jp: {group: production-in-japan-and-asia}"),
		want: []string{
			`line 4: environments.Staging: environment name "Staging" is not valid: use lowercase letters, digits and single dashes (^[a-z0-9]+(-[a-z0-9]+)*$)`,
			`line 5: environments.development-environment-1: environment name "development-environment-1" is 25 characters long; at most 20 are allowed`,
			`line 6: environments.production-de.group: environment group name "Prod_DE" is not valid: use lowercase letters, digits and single dashes (^[a-z0-9]+(-[a-z0-9]+)*$)`,
			`line 7: environments.production-jp.group: environment group name "production-in-japan-and-asia" is 28 characters long; at most 20 are allowed`,
		},
	}, {
		name: "group named like another environment",
		yaml: head + lines("environments:", "  staging: {group: pre}", "  staging-2: {group: staging}", "  production: {group: production}"),
		want: []string{`line 5: environments.staging-2.group: group "staging" has the name of environment "staging", which is in group "pre"; rename one of them`},
	}, {
		name: "sync windows",
		yaml: head + lines("environments:", "  prod:", "    argocd:", "      destination: {server: https://kubernetes.default.svc}", "      syncWindows:",
			"        - {kind: block, schedule: '0 25 * * *', duration: 2d}",
			"        - {kind: deny, schedule: '0 9 * *', duration: -1h}",
			"        - {kind: allow, schedule: '*/15 9-17 * jan-mar MON-FRI', duration: 1h30m, applications: ['*']}",
			"        - {kind: allow, schedule: '@daily', duration: 30m, applications: [checkout, '']}",
			"        - {kind: deny, schedule: '0 9 * * 5-1', duration: 1h}",
			"        - {kind: deny, schedule: '0/0 9 * * *', duration: 1h, applications: '*'}"),
		want: []string{
			`line 8: environments.prod.argocd.syncWindows[0].kind: "block" is not allow or deny`,
			`line 8: environments.prod.argocd.syncWindows[0].schedule: "0 25 * * *" is not a cron schedule: hour "25" is not a number from 0 to 23`,
			`line 8: environments.prod.argocd.syncWindows[0].duration: "2d" is not a duration: use a number with h, m or s, e.g. 2h, 30m or 1h30m`,
			`line 9: environments.prod.argocd.syncWindows[1].schedule: "0 9 * *" is not a cron schedule: it has 4 fields; want 5 (minute hour day-of-month month day-of-week), e.g. "0 9 * * 1-5"`,
			`line 9: environments.prod.argocd.syncWindows[1].duration: "-1h" is not a duration: use a number with h, m or s, e.g. 2h, 30m or 1h30m`,
			`line 11: environments.prod.argocd.syncWindows[3].applications[1]: an empty application name; use an app name or a pattern such as "*"`,
			`line 12: environments.prod.argocd.syncWindows[4].schedule: "0 9 * * 5-1" is not a cron schedule: day of week: range 5-1 ends before it starts`,
			"line 13: environments.prod.argocd.syncWindows[5].applications: expected a list, got a single value",
			`line 13: environments.prod.argocd.syncWindows[5].schedule: "0/0 9 * * *" is not a cron schedule: minute: step "0" is not a positive number`,
		},
	}, {
		name: "argo cd settings",
		yaml: head + lines("environments:",
			"  a: {argocd: {destination: {namespace: Shop_1}}}",
			"  b: {argocd: {destination: {server: https://k8s.example.com, name: in-cluster}}}",
			"  c:",
			"    argocd:",
			"      destination: {server: kubernetes.default.svc}",
			"      accessList: [{group: ''}]",
			"      applicationAnnotations: {com.freiheit.kuberpult/team: x, argocd.argoproj.io/manifest-generate-paths: /, team: y}",
			"      ignoreDifferences: [{jsonPointers: [/spec/replicas]}]",
			"      syncOptions: [CreateNamespace, PruneLast=true]"),
		want: []string{
			`line 4: environments.a.argocd.destination: set server (the cluster's API URL, e.g. https://kubernetes.default.svc) or name (the cluster's name in Argo CD)`,
			`line 4: environments.a.argocd.destination.namespace: "Shop_1" is not a Kubernetes namespace name (lowercase letters, digits and '-', at most 63)`,
			"line 5: environments.b.argocd.destination: set server or name, not both",
			`line 8: environments.c.argocd.destination.server: "kubernetes.default.svc" is not a cluster URL, e.g. https://kubernetes.default.svc`,
			`line 9: environments.c.argocd.accessList[0].kind: required: a resource kind such as Namespace, or "*"`,
			`line 10: environments.c.argocd.applicationAnnotations["argocd.argoproj.io/manifest-generate-paths"]: is set by Kuberpult on every Application; remove it here`,
			`line 10: environments.c.argocd.applicationAnnotations["com.freiheit.kuberpult/team"]: is set by Kuberpult on every Application; remove it here`,
			"line 11: environments.c.argocd.ignoreDifferences[0].kind: required: the resource kind, e.g. Deployment",
			`line 12: environments.c.argocd.syncOptions[0]: "CreateNamespace" is not an Argo CD sync option of the form Name=value, e.g. CreateNamespace=true`,
		},
	}, {
		name: "two documents",
		yaml: lines("state: {sqlite: db}", "git:", "  url: git@github.com:org/envrepo.git", "  token: t", "environments: {dev: }") +
			lines("---") + "",
		want: []string{`line 6: only one YAML document is allowed; remove the second "---"`},
	}, {
		name: "token needs https",
		yaml: lines("state: {sqlite: db}", "git:", "  url: git@github.com:org/envrepo.git", "  token: t", "  author: {email: 'Bot <bot@example.com>'}", "environments: {dev: }"),
		want: []string{
			"line 4: git.token: is only used with an https:// (or http://) git.url; this one is ssh",
			`line 5: git.author.email: "Bot <bot@example.com>" is not an email address, e.g. kuberpult@example.com`,
		},
	}, {
		name: "ssh key needs ssh",
		yaml: lines("state: {sqlite: db}", "git: {url: 'https://github.com/org/envrepo.git', ssh_key: id}", "environments: {dev: }"),
		want: []string{"line 2: git.ssh_key: is only used with an ssh git.url; this one is https"},
	}, {
		name: "unsupported URLs",
		yaml: lines("state: {sqlite: db}", "git: {url: 'ftp://github.com/org/envrepo.git'}", "environments: {dev: }"),
		want: []string{`line 2: git.url: "ftp://github.com/org/envrepo.git" has an unsupported scheme; use a local path, file://, https://, http:// or ssh (ssh:// or git@host:org/repo.git)`},
	}, {
		name: "relative file URL",
		yaml: lines("state: {sqlite: db}", "git: {url: 'file://data/envrepo.git'}", "environments: {dev: }"),
		want: []string{`line 2: git.url: "file://data/envrepo.git" file:// URLs need an absolute path, e.g. file:///srv/envrepo.git; or write a path relative to the config file`},
	}, {
		name: "wrong types and duplicate keys",
		yaml: lines("state: {sqlite: [a, b]}", "git: {url: repo}", "environments:", "  Dev: {upstream: {latest: yes}}", "  Dev: {}",
			"  qa: {argocd: 5, upstream: {environment: [Dev]}}", "api: 8080", "console: ${USER_CONFIG}"),
		want: []string{
			"line 1: state.sqlite: expected a single value, got a list",
			`line 4: environments.Dev.upstream.latest: "yes" is not true or false`,
			`line 4: environments.Dev: environment name "Dev" is not valid: use lowercase letters, digits and single dashes (^[a-z0-9]+(-[a-z0-9]+)*$)`,
			"line 5: environments.Dev: duplicate key; first set on line 4",
			"line 6: environments.qa.argocd: expected a mapping, got a single value",
			"line 6: environments.qa.upstream.environment: expected a single value, got a list",
			"line 7: api: expected a mapping, got a single value",
			"line 8: console: environment variable USER_CONFIG is not set",
		},
	}, {
		name: "syntax error",
		yaml: lines("state: {sqlite: db}", "git:", "  url: repo", " branch: main"),
		want: []string{"line 3: did not find expected key"},
	}, {
		name: "slack",
		yaml: head + lines("environments: {dev: }", "slack:", "  app_token: xoxb-1", "  bot_token: xapp-1",
			"  api_url: slack.com", "  command: kuberpult", "  default_channel: '#deploys'", "  teams: {shop: {channel: general}}"),
		want: []string{
			"line 5: slack.app_token: required: the app-level token (xapp-…, with the connections:write scope) from the app's Basic Information page",
			"line 6: slack.bot_token: required: the bot token (xoxb-…) from the app's OAuth & Permissions page",
			`line 7: slack.api_url: "slack.com" is not an http(s) URL, e.g. https://slack.com/api/`,
			`line 8: slack.command: "kuberpult" is not a slash command: a / and up to 31 lowercase letters, digits, - or _, e.g. /kuberpult`,
			`line 9: slack.default_channel: "#deploys" is not a channel id: open the channel's details in Slack, the id (C…) is at the bottom`,
			`line 10: slack.teams.shop.channel: "general" is not a channel id (C…)`,
		},
	}, {
		name: "slack channels without tokens",
		yaml: head + lines("environments: {dev: }", "slack: {default_channel: C123}"),
		want: []string{"line 4: slack: set app_token (xapp-…) and bot_token (xoxb-…) for the bot to post to channels"},
	}, {
		name: "empty file",
		yaml: "# nothing yet\n",
		want: []string{"the file is empty; it needs at least state, git and environments"},
	}, {
		name: "not a mapping",
		yaml: "- state\n",
		want: []string{"line 1: the top level must be a mapping with keys such as state, git and environments"},
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

func TestMergeKeys(t *testing.T) {
	yaml := head + lines(
		"x-defaults: &defaults {upstream: {environment: dev}, group: prod}",
		"environments:",
		"  dev: {upstream: {latest: true}}",
		"  prod-a: *defaults",
		"  prod-b: {<<: *defaults, group: other}",
		"  prod-c: {<<: [*defaults], unknown: 1}",
	)
	_, err := Parse([]byte(yaml), env(nil))
	want := []string{
		"line 3: x-defaults: unknown key; known keys here: state, git, environments, rbac, api, console, slack, argocd, github, windows, approvals, trains",
		"line 8: environments.prod-c.unknown: unknown key; known keys here: upstream, argocd, group",
	}
	if diff := cmp.Diff(want, problems(t, err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}
