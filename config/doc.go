// Package config reads Kuberpult's YAML configuration file into a validated Config.
//
// Decoding is strict: an unknown key is an error, and every problem in the file is
// reported at once in a *ValidationError, each with its line and key path
// (config.yaml:12: environments.staging.upstream.environment: no environment "stagin"; …).
//
// A value may read an environment variable with ${NAME}; "$$" stands for a literal dollar
// sign. Only scalar values are expanded, never keys or comments, and error messages show
// the text as written in the file (such as "${GIT_TOKEN}"), never the expanded value.
// Secrets (git.token, api.tokens[].token) are never shown at all: not in error messages,
// even when written in the file itself, and not when a Config is printed with package
// fmt (any verb), logged with log/slog or encoded as JSON.
//
// Load resolves the relative paths in the file (state.sqlite, a local git.url,
// git.ssh_key and rbac.policy_file) against the directory of the file, and reads
// rbac.policy_file into RBAC.Policy. Parse has no file: it leaves paths as written,
// relative to the working directory, and reads no policy file.
//
// The rbac section is checked for its shape only (exactly one of policy and
// policy_file, valid team names and members); the policy lines themselves, and the roles
// of api.tokens, are for package policy to check. Warnings lists what is valid but
// leaves Kuberpult open, such as a missing rbac section.
package config
