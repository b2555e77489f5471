// Package config reads Kuberpult's YAML configuration file into a validated Config.
//
// Decoding is strict: an unknown key is an error, and every problem in the file is
// reported at once in a *ValidationError, each with its line and key path
// (config.yaml:12: environments.staging.upstream.environment: no environment "stagin"; …).
//
// A value may read an environment variable with ${NAME}; "$$" stands for a literal dollar
// sign. Only scalar values are expanded, never keys or comments, and error messages show
// the text as written in the file (such as "${GIT_TOKEN}"), never the expanded value.
//
// Load resolves the relative paths in the file (state.sqlite, a local git.url and
// git.ssh_key) against the directory of the file. Parse has no file and leaves them as
// written, relative to the working directory.
package config
