package config

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

var varNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// errUnset marks the error of a variable that is not set (it adds nothing to the message).
var errUnset = errors.New("")

var tokenSecretRE = regexp.MustCompile(`^api\.tokens\[\d+\]\.token$`)

// deferredSecret reports whether path is a secret only one part of Kuberpult uses (the
// git token, the API's tokens, Slack's tokens): a variable left unset for it is an error
// only where that part starts.
func deferredSecret(path string) bool {
	switch path {
	case "git.token", "slack.app_token", "slack.bot_token", "argocd.token", "github.token":
		return true
	}
	return tokenSecretRE.MatchString(path)
}

// expand replaces ${VAR} in every scalar value below n and "$$" with "$". Keys, comments,
// tags and anchors are left alone; an alias is expanded where its anchor is defined, so no
// value is expanded twice. The text as written of every changed value is kept in d.raw.
func (d *decoder) expand(n *yaml.Node, path string, lookupEnv func(string) (string, bool)) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			d.expand(c, path, lookupEnv)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			d.expand(n.Content[i+1], join(path, n.Content[i].Value), lookupEnv)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			d.expand(c, index(path, i), lookupEnv)
		}
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "$") {
			return
		}
		out, err := expandString(n.Value, lookupEnv)
		if err != nil {
			if errors.Is(err, errUnset) && deferredSecret(path) {
				d.src.unset = append(d.src.unset, Problem{Line: n.Line, Path: path, Msg: err.Error()})
			} else {
				d.src.problemAt(n.Line, path, "%v", err)
			}
			d.failed[n] = true // marked at its path (maybe an alias's) by decode
			return
		}
		if out != n.Value {
			d.raw[n] = n.Value
			n.Value = out
		}
	}
}

// expandString replaces ${VAR} in s with the value of the environment variable VAR and
// "$$" with "$"; any other "$" stays as it is. Errors never contain a variable's value.
func expandString(s string, lookupEnv func(string) (string, bool)) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", fmt.Errorf(`"${" is not closed by "}"; write "$$" for a literal dollar sign`)
			}
			name := s[i+2 : i+2+end]
			if !varNameRE.MatchString(name) {
				return "", fmt.Errorf("${%s}: %q is not an environment variable name (letters, digits and _)", name, name)
			}
			v, ok := lookupEnv(name)
			if !ok {
				return "", fmt.Errorf("environment variable %s is not set%w", name, errUnset)
			}
			b.WriteString(v)
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String(), nil
}
