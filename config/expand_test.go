package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestExpandString(t *testing.T) {
	vars := env(map[string]string{"TOKEN": "abc", "EMPTY": "", "DOLLAR": "$x"})
	tests := []struct {
		in      string
		want    string
		wantErr string
	}{
		{in: "plain", want: "plain"},
		{in: "${TOKEN}", want: "abc"},
		{in: "x-${TOKEN}-${TOKEN}", want: "x-abc-abc"},
		{in: "${EMPTY}", want: ""},
		{in: "${DOLLAR}", want: "$x"}, // values are not expanded again
		{in: "$$", want: "$"},
		{in: "$${TOKEN}", want: "${TOKEN}"},
		{in: "cost: 5$ or $5", want: "cost: 5$ or $5"},
		{in: "$TOKEN", want: "$TOKEN"},
		{in: "${MISSING}", wantErr: "environment variable MISSING is not set"},
		{in: "${TOKEN", wantErr: `"${" is not closed by "}"; write "$$" for a literal dollar sign`},
		{in: "${9x}", wantErr: `${9x}: "9x" is not an environment variable name (letters, digits and _)`},
		{in: "${}", wantErr: `${}: "" is not an environment variable name (letters, digits and _)`},
	}
	for _, tt := range tests {
		got, err := expandString(tt.in, vars)
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if got != tt.want || gotErr != tt.wantErr {
			t.Errorf("expandString(%q) = %q, %q; want %q, %q", tt.in, got, gotErr, tt.want, tt.wantErr)
		}
	}
}

func TestParseExpandsValuesOnly(t *testing.T) {
	yaml := `# token: ${NOT_SET_COMMENT}
state: {sqlite: "${DATA}/kuberpult.db"}   # ${NOT_SET_TRAILING}
git:
  url: https://git.example.com/envrepo.git
  token: ${GIT_TOKEN}
  author: {name: 'Bot $$1', email: "${BOT_EMAIL}"}
environments:
  development:
    upstream:
      latest: ${LATEST}
    argocd:
      destination: {server: https://kubernetes.default.svc}
      applicationAnnotations: {"${KEY}": "${VALUE}"}
`
	c, err := Parse([]byte(yaml), env(map[string]string{
		"DATA": "/var/lib/kuberpult", "GIT_TOKEN": "t0k3n", "BOT_EMAIL": "bot@example.com",
		"LATEST": "true", "VALUE": "v",
	}))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	type got struct{ SQLite, Token, Author, Email string }
	if diff := cmp.Diff(got{"/var/lib/kuberpult/kuberpult.db", "t0k3n", "Bot $1", "bot@example.com"},
		got{c.State.SQLite, c.Git.Token, c.Git.Author.Name, c.Git.Author.Email}); diff != "" {
		t.Errorf("expanded values (-want +got):\n%s", diff)
	}
	if !c.Environments.IsLatest("development") {
		t.Errorf("upstream.latest from ${LATEST}=true was not read as true")
	}
	if diff := cmp.Diff(map[string]string{"${KEY}": "v"}, c.Environments["development"].ArgoCD.ApplicationAnnotations); diff != "" {
		t.Errorf("annotations: keys must not be expanded (-want +got):\n%s", diff)
	}
}

func TestMissingVariables(t *testing.T) {
	yaml := minimal + `
console:
  user:
    name: ${CONSOLE_NAME}
    email: ${CONSOLE_EMAIL}
`[1:]
	_, err := Parse([]byte(yaml), env(nil))
	want := []string{
		"line 8: console.user.name: environment variable CONSOLE_NAME is not set",
		"line 9: console.user.email: environment variable CONSOLE_EMAIL is not set",
	}
	if diff := cmp.Diff(want, problems(t, err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestSecretsNotInErrors(t *testing.T) {
	const secret = "Sup3r-s3cret"
	yaml := `
state: {sqlite: "${SECRET}"}
git:
  url: "ssh://${SECRET}"
  token: ${SECRET}
  branch: "${SECRET} x"
  author: {name: x, email: "${SECRET}"}
environments:
  development:
    upstream: {latest: "${SECRET}", environment: "${SECRET}"}
    group: ${SECRET}
    argocd:
      destination: {server: "${SECRET}", namespace: "${SECRET}"}
      syncWindows: [{kind: "${SECRET}", schedule: "${SECRET} 1 2 3 4", duration: "${SECRET}"}]
      syncOptions: ["${SECRET}"]
api: {listen: "${SECRET}"}
`
	_, err := Parse([]byte(yaml), env(map[string]string{"SECRET": secret}))
	if err == nil {
		t.Fatal("Parse succeeded; want problems")
	}
	text := err.Error()
	if strings.Contains(text, secret) || strings.Contains(strings.ToLower(text), strings.ToLower(secret)) {
		t.Errorf("the error shows the secret:\n%s", text)
	}
	if n := len(problems(t, err)); n < 10 {
		t.Errorf("got %d problems, want at least 10 (one per bad value):\n%s", n, text)
	}
	if !strings.Contains(text, `"${SECRET}"`) {
		t.Errorf("the error should show the values as written:\n%s", text)
	}
}
