package config

import (
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics and that no error ever shows the value of an
// environment variable, whatever the file.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{string(demoYAML), minimal, head, "a: ${X}", "{state: [${A}]}", "git: {url: '${U}', token: $$}",
		"rbac: {policy: '${P}', teams: {'*': ['${T}']}}\napi: {tokens: [{name: '${N}', token: '${S}', role: x}, {name: y, token: '${S}'}]}"} {
		f.Add(seed)
	}
	const secret = "Xq7SecretValue"
	lookup := func(string) (string, bool) { return secret, true }
	f.Fuzz(func(t *testing.T, yaml string) {
		_, err := Parse([]byte(yaml), lookup)
		if err == nil || strings.Contains(yaml, secret) {
			return
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("the error shows the expanded value:\n%s", err)
		}
	})
}
