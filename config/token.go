package config

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"unicode"
)

// Token lets an HTTP API client (a CI pipeline, Kuberpult's CLI) in: a request that sends
// "Authorization: Bearer <Token>" acts as token:<Name> with the permissions of Role.
//
// Printing a Token with any verb of package fmt, logging it with log/slog or encoding it
// as JSON never shows the secret.
type Token struct {
	Name  string `yaml:"name"`  // shown in the audit log as token:<name>
	Token string `yaml:"token"` // the bearer secret; never logged
	Role  string `yaml:"role"`  // a role of rbac.policy, with or without the "role:" prefix
}

// MinTokenLen is the length a token's secret needs at least, so it cannot be guessed.
const MinTokenLen = 16

// String is the name and role of t, e.g. "ci (role developer)", without the secret.
func (t Token) String() string {
	return fmt.Sprintf("%s (role %s)", t.Name, t.Role)
}

// GoString is t as Go syntax, with the secret replaced by "<redacted>".
func (t Token) GoString() string {
	return fmt.Sprintf("config.Token{Name:%q, Token:%q, Role:%q}", t.Name, redacted(t.Token), t.Role)
}

// Format makes every verb print t without its secret: %#v as GoString, the others as String.
func (t Token) Format(f fmt.State, verb rune) {
	formatSafe(f, verb, t.String(), t.GoString())
}

// LogValue keeps the secret out of log/slog, whatever the handler: t logs as String.
func (t Token) LogValue() slog.Value { return slog.StringValue(t.String()) }

// MarshalJSON encodes t with "<redacted>" for the secret, so that JSON logs of a Config
// (slog's JSON handler encodes nested values with encoding/json) never show it.
func (t Token) MarshalJSON() ([]byte, error) {
	type plain Token // without methods
	t.Token = redacted(t.Token)
	return json.Marshal(plain(t))
}

// redacted stands in for a secret: "" if there is none, else "<redacted>".
func redacted(secret string) string {
	if secret == "" {
		return ""
	}
	return "<redacted>"
}

// formatSafe formats a value that holds a secret from its secret-free renderings: gs
// for %#v, s for every other verb (so %d or %x cannot reach the fields).
func formatSafe(f fmt.State, verb rune, s, gs string) {
	if verb == 'v' && f.Flag('#') {
		io.WriteString(f, gs)
		return
	}
	fmt.Fprintf(f, fmt.FormatString(f, verb), s)
}

var tokenNameRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// validateTokens records the problems of the API tokens. No message shows a secret, not
// even one written in the file: a token is named by its path, api.tokens[0].token.
func validateTokens(tokens []Token, s *source) {
	names := map[string]string{}   // name -> path of the token that has it first
	secrets := map[string]string{} // secret -> path of the token that has it first
	for i, t := range tokens {
		p := index("api.tokens", i)

		np := p + ".name"
		switch {
		case t.Name == "":
			s.problem(np, "required: a name for the audit log, e.g. ci (requests show as made by token:ci)")
		case !tokenNameRE.MatchString(t.Name):
			s.problem(np, "%s is not a valid token name: use lowercase letters, digits and single dashes, e.g. ci or github-actions",
				s.quote(np, t.Name))
		case names[t.Name] != "":
			s.problem(np, "%s is also the name of %s; every token needs its own name", s.quote(np, t.Name), names[t.Name])
		default:
			names[t.Name] = p
		}

		tp := p + ".token"
		switch {
		case t.Token == "":
			s.problem(tp, "required: the secret clients send as Authorization: Bearer <token>; read it from the environment, e.g. ${KUBERPULT_CI_TOKEN}")
		case strings.IndexFunc(t.Token, notTokenChar) >= 0:
			s.problem(tp, "may only contain visible ASCII characters, no spaces or line breaks (a secret read from a file often ends in a line break)")
		case len(t.Token) < MinTokenLen:
			s.problem(tp, "is shorter than %d characters, short enough to be guessed; use a random one, e.g. from openssl rand -hex 32", MinTokenLen)
		case secrets[t.Token] != "":
			s.problem(tp, "is the same secret as %s.token; give every client its own, so the audit log tells them apart and one can be revoked alone",
				secrets[t.Token])
		default:
			secrets[t.Token] = p
		}

		rp := p + ".role"
		role := strings.TrimPrefix(t.Role, "role:")
		switch {
		case role == "":
			s.problem(rp, "required: a role of rbac.policy, e.g. developer (or role:developer)")
		case strings.IndexFunc(role, func(r rune) bool { return unicode.IsSpace(r) || r == ',' }) >= 0:
			s.problem(rp, "%s is not a role name: it may not contain spaces or commas", s.quote(rp, t.Role))
		}
	}
}

// notTokenChar reports whether r may not be part of a bearer token.
func notTokenChar(r rune) bool { return r <= ' ' || r > '~' }
