package config

import (
	_ "embed"
	"fmt"
)

//go:embed demo.yaml
var demoYAML []byte

// Demo returns the demo configuration: development (upstream latest) → staging →
// production-de and production-jp (group production), with Argo CD destinations on the
// local cluster and a weekday-morning deny sync window on production. Its SQLite file
// and bare environment repository live in dataDir. It goes through the same decoding and
// validation as any file; an error means the embedded file is broken (a test keeps it
// from happening).
func Demo(dataDir string) (*Config, error) {
	noEnv := func(string) (string, bool) { return "", false }
	c, err := parse(demoYAML, noEnv, "demo.yaml", dataDir)
	if err != nil {
		return nil, fmt.Errorf("the embedded demo configuration is invalid: %w", err)
	}
	return c, nil
}
