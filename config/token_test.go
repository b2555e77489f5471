package config

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Secrets of the token tests; no message or printout may contain them.
const (
	secretCI     = "ci-secret-0123456789abcdef"
	secretDeploy = "deploy-secret-0123456789abcdef"
	secretShort  = "tooShort15chars"
)

func TestTokens(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []Token
	}{{
		name: "none",
		yaml: minimal,
		want: nil,
	}, {
		name: "inline and from the environment, role with and without prefix",
		yaml: minimal + lines("api:",
			"  tokens:",
			"    - {name: ci, token: '${CI_TOKEN}', role: developer}",
			"    - name: github-actions-2",
			"      token: "+secretDeploy,
			"      role: role:admin",
			"    - {name: train, token: 16-chars-exactly, role: ci}"),
		want: []Token{
			{Name: "ci", Token: secretCI, Role: "developer"},
			{Name: "github-actions-2", Token: secretDeploy, Role: "role:admin"},
			{Name: "train", Token: "16-chars-exactly", Role: "ci"},
		},
	}, {
		name: "with the API off",
		yaml: minimal + lines("api: {listen: '', tokens: [{name: ci, token: '${CI_TOKEN}', role: ci}]}"),
		want: []Token{{Name: "ci", Token: secretCI, Role: "ci"}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml), env(map[string]string{"CI_TOKEN": secretCI}))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.want, c.API.Tokens); diff != "" {
				t.Errorf("api.tokens (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTokenProblems(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{{
		name: "bad names",
		yaml: minimal + lines("api:", "  tokens:",
			"    - {name: CI, token: "+secretCI+", role: ci}",
			"    - {name: ci--deploy, token: "+secretDeploy+", role: ci}",
			"    - {name: '${NAME}', token: a-third-secret-0123456789, role: ci}",
			"    - {token: a-fourth-secret-0123456789, role: ci}"),
		want: []string{
			`line 8: api.tokens[0].name: "CI" is not a valid token name: use lowercase letters, digits and single dashes, e.g. ci or github-actions`,
			`line 9: api.tokens[1].name: "ci--deploy" is not a valid token name: use lowercase letters, digits and single dashes, e.g. ci or github-actions`,
			`line 10: api.tokens[2].name: "${NAME}" is not a valid token name: use lowercase letters, digits and single dashes, e.g. ci or github-actions`,
			"line 11: api.tokens[3].name: required: a name for the audit log, e.g. ci (requests show as made by token:ci)",
		},
	}, {
		name: "duplicate names and secrets",
		yaml: minimal + lines("api:", "  tokens:",
			"    - {name: ci, token: "+secretCI+", role: ci}",
			"    - {name: deploy, token: "+secretDeploy+", role: ci}",
			"    - {name: ci, token: a-third-secret-0123456789, role: ci}",
			"    - {name: ci-2, token: '${CI_TOKEN}', role: ci}",
			"    - {name: deploy-2, token: "+secretDeploy+", role: ci}"),
		want: []string{
			`line 10: api.tokens[2].name: "ci" is also the name of api.tokens[0]; every token needs its own name`,
			"line 11: api.tokens[3].token: is the same secret as api.tokens[0].token; give every client its own, so the audit log tells them apart and one can be revoked alone",
			"line 12: api.tokens[4].token: is the same secret as api.tokens[1].token; give every client its own, so the audit log tells them apart and one can be revoked alone",
		},
	}, {
		name: "short, empty and malformed secrets",
		yaml: minimal + lines("api:", "  tokens:",
			"    - {name: a, token: "+secretShort+", role: ci}",
			"    - {name: b, token: '${SHORT}', role: ci}",
			"    - {name: c, role: ci}",
			"    - {name: d, token: '', role: ci}",
			"    - {name: e, token: '${NEWLINE}', role: ci}",
			"    - {name: f, token: 'has a space 0123456789', role: ci}",
			"    - {name: g, token: '${UNSET}', role: ci}"),
		want: []string{
			"line 8: api.tokens[0].token: is shorter than 16 characters, short enough to be guessed; use a random one, e.g. from openssl rand -hex 32",
			"line 9: api.tokens[1].token: is shorter than 16 characters, short enough to be guessed; use a random one, e.g. from openssl rand -hex 32",
			"line 10: api.tokens[2].token: required: the secret clients send as Authorization: Bearer <token>; read it from the environment, e.g. ${KUBERPULT_CI_TOKEN}",
			"line 11: api.tokens[3].token: required: the secret clients send as Authorization: Bearer <token>; read it from the environment, e.g. ${KUBERPULT_CI_TOKEN}",
			"line 12: api.tokens[4].token: may only contain visible ASCII characters, no spaces or line breaks (a secret read from a file often ends in a line break)",
			"line 13: api.tokens[5].token: may only contain visible ASCII characters, no spaces or line breaks (a secret read from a file often ends in a line break)",
		},
	}, {
		name: "roles",
		yaml: minimal + lines("api:", "  tokens:",
			"    - {name: a, token: "+secretCI+"}",
			"    - {name: b, token: "+secretDeploy+", role: 'role:'}",
			"    - {name: c, token: a-third-secret-0123456789, role: 'ci, admin'}"),
		want: []string{
			"line 8: api.tokens[0].role: required: a role of rbac.policy, e.g. developer (or role:developer)",
			"line 9: api.tokens[1].role: required: a role of rbac.policy, e.g. developer (or role:developer)",
			`line 10: api.tokens[2].role: "ci, admin" is not a role name: it may not contain spaces or commas`,
		},
	}, {
		name: "wrong types and unknown keys",
		yaml: minimal + lines("api:", "  tokens:",
			"    - {name: ci, token: ["+secretCI+"], role: ci}",
			"    - {name: ci-2, secret: "+secretDeploy+", token: a-third-secret-0123456789, role: ci}",
			"    - "+secretShort),
		want: []string{
			"line 8: api.tokens[0].token: expected a single value, got a list",
			"line 9: api.tokens[1].secret: unknown key; known keys here: name, token, role",
			"line 10: api.tokens[2]: expected a mapping, got a single value",
		},
	}}
	vars := env(map[string]string{"CI_TOKEN": secretCI, "SHORT": "abc", "NEWLINE": secretDeploy + "\n", "NAME": "Secret-Name"})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml), vars)
			if err == nil {
				t.Fatalf("Parse succeeded with %+v; want problems", c)
			}
			got := problems(t, err)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			for _, secret := range []string{secretCI, secretDeploy, secretShort, "abc", "Secret-Name"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the problems show the secret %q:\n%s", secret, err)
				}
			}
		})
	}
}

func TestTokenFormat(t *testing.T) {
	tok := Token{Name: "ci", Token: secretCI, Role: "developer"}
	tests := []struct {
		format string
		want   string
	}{
		{"%v", "ci (role developer)"},
		{"%+v", "ci (role developer)"},
		{"%s", "ci (role developer)"},
		{"%q", `"ci (role developer)"`},
		{"%#v", `config.Token{Name:"ci", Token:"<redacted>", Role:"developer"}`},
		{"%22v|", "   ci (role developer)|"},
		{"%d", "%!d(string=ci (role developer))"},
	}
	for _, tt := range tests {
		if got := fmt.Sprintf(tt.format, tok); got != tt.want {
			t.Errorf("Sprintf(%q, token) = %q, want %q", tt.format, got, tt.want)
		}
	}
	if got := fmt.Sprintf("%#v", Token{Name: "ci"}); got != `config.Token{Name:"ci", Token:"", Role:""}` {
		t.Errorf("%%#v of a token without secret = %s", got)
	}
}

// TestConfigPrintsNoSecret prints a whole Config and its parts with every verb a log line
// or a debug print might use, logs them with slog's handlers and encodes them as JSON;
// neither the git token nor an API token may show.
func TestConfigPrintsNoSecret(t *testing.T) {
	yaml := lines("state: {sqlite: db}",
		"git: {url: 'https://example.com/envrepo.git', token: '${GIT_TOKEN}'}",
		"environments: {development: }",
		"rbac: {policy: 'p, role:ci, CreateRelease, *:*, *, allow'}",
		"api:",
		"  tokens:",
		"    - {name: ci, token: '${CI_TOKEN}', role: ci}",
		"    - {name: deploy, token: "+secretDeploy+", role: ci}")
	c, err := Parse([]byte(yaml), env(map[string]string{"GIT_TOKEN": "ghp_s3cr3tGitToken", "CI_TOKEN": secretCI}))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if c.API.Tokens[0].Token != secretCI || c.Git.Token != "ghp_s3cr3tGitToken" {
		t.Fatalf("the secrets were not read: %#v", c)
	}
	var secrets []string
	for _, s := range []string{secretCI, secretDeploy, "ghp_s3cr3tGitToken"} {
		secrets = append(secrets, s, hex.EncodeToString([]byte(s)), strings.ToUpper(hex.EncodeToString([]byte(s))))
	}
	values := map[string]any{"Config": *c, "*Config": c, "API": c.API, "Tokens": c.API.Tokens, "Token": c.API.Tokens[0],
		"*Token": &c.API.Tokens[0], "Git": c.Git}
	for name, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
			got := fmt.Sprintf(verb, v)
			for _, s := range secrets {
				if strings.Contains(got, s) {
					t.Errorf("Sprintf(%q, %s) shows a secret: %s", verb, name, got)
				}
			}
		}
	}
	data, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	logs.Write(data)
	for _, h := range []slog.Handler{slog.NewJSONHandler(&logs, nil), slog.NewTextHandler(&logs, nil)} {
		slog.New(h).Info("config", "git", c.Git, "token", c.API.Tokens[0], "api", c.API, "config", c)
	}
	for _, s := range secrets {
		if strings.Contains(logs.String(), s) {
			t.Errorf("the log shows a secret:\n%s", logs.String())
		}
	}
	if got, want := fmt.Sprint(c.API), "{127.0.0.1:8080 [ci (role ci) deploy (role ci)]}"; got != want {
		t.Errorf("Sprint(api) = %q, want %q", got, want)
	}
}

func TestWarnings(t *testing.T) {
	const rbac = "rbac: {policy: 'p, role:a, CreateLock, *:*, *, allow'}\n"
	const tokens = "  tokens: [{name: ci, token: " + secretCI + ", role: ci}]\n"
	open := "the HTTP API accepts unauthenticated requests on "
	tests := []struct {
		name string
		yaml string
		want []string
	}{{
		name: "defaults: no rbac, API on this machine only",
		yaml: minimal,
		want: []string{"no rbac section: everyone may do everything (as Kuberpult without authentication)"},
	}, {
		name: "rbac, API on this machine only",
		yaml: minimal + rbac,
		want: nil,
	}, {
		name: "API on every interface without tokens",
		yaml: minimal + rbac + "api: {listen: ':8080'}\n",
		want: []string{"no api.tokens: " + open + ":8080"},
	}, {
		name: "API on a host name without tokens, no rbac",
		yaml: minimal + "api: {listen: 'kuberpult.internal:80'}\n",
		want: []string{
			"no rbac section: everyone may do everything (as Kuberpult without authentication)",
			"no api.tokens: " + open + "kuberpult.internal:80",
		},
	}, {
		name: "API on every interface with tokens",
		yaml: minimal + rbac + "api:\n  listen: 0.0.0.0:8080\n" + tokens,
		want: nil,
	}, {
		name: "loopback addresses",
		yaml: minimal + rbac + "api: {listen: '[::1]:8080'}\n",
		want: nil,
	}, {
		name: "localhost",
		yaml: minimal + rbac + "api: {listen: 'localhost:8080'}\n",
		want: nil,
	}, {
		name: "API off",
		yaml: minimal + rbac + "api: {listen: ''}\n",
		want: nil,
	}, {
		name: "a token over plain http",
		yaml: "state: {sqlite: k.db}\ngit: {url: 'http://git.internal/envrepo.git', token: t0ken}\nenvironments: {dev: {}}\n" + rbac,
		want: []string{"git.url is plain http:// and git.token is set: the token travels unencrypted"},
	}, {
		name: "team permissions without teams",
		yaml: minimal + "rbac: {policy_file: p.csv, team_permissions: true}\n",
		want: []string{"rbac.team_permissions is true but rbac.teams is empty: nobody may act on any app"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml), env(nil))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			var got []string
			for _, w := range c.Warnings() {
				if !strings.Contains(w, "has no argocd section") { // TestArgoCDWarning's
					got = append(got, w)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}
