package commands

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"kuberpult/deploy"
)

// Limits of release fields, as in Kuberpult.
const (
	maxDisplayVersion = 15
	maxTextField      = 1000
)

// commitRE matches a commit id, full or abbreviated, as Kuberpult accepts it (7 to 40 hex
// digits).
var commitRE = regexp.MustCompile(`^[0-9a-fA-F]{7,40}$`)

// validateRelease checks a release request and turns it into a Release (without its
// creation time). Every problem is a user error that names the field and what would be
// right.
func (h *Handler) validateRelease(req ReleaseRequest, actor deploy.Actor) (deploy.Release, error) {
	var rel deploy.Release
	if err := deploy.ValidateApp(req.Application); err != nil {
		return rel, fieldErr("application", err)
	}
	v, err := deploy.ParseVersion(req.Version)
	if err != nil {
		return rel, fieldErr("version", err)
	}
	if req.Team != "" {
		if err := deploy.ValidateTeam(req.Team); err != nil {
			return rel, fieldErr("team", err)
		}
	}
	for _, f := range []struct{ name, value string }{{"source_commit_id", req.SourceCommitID}, {"previous_commit_id", req.PreviousCommitID}} {
		if f.value != "" && !commitRE.MatchString(f.value) {
			return rel, deploy.Invalidf("%s %q is not a commit id (7 to 40 hex digits)", f.name, f.value)
		}
	}
	if n := len([]rune(req.DisplayVersion)); n > maxDisplayVersion {
		return rel, deploy.Invalidf("display_version is %d characters long; at most %d are allowed", n, maxDisplayVersion)
	}
	for _, f := range []struct{ name, value string }{{"source_author", req.SourceAuthor}, {"source_message", req.SourceMessage}, {"ci_link", req.CILink}} {
		if n := len([]rune(f.value)); n > maxTextField {
			return rel, deploy.Invalidf("%s is %d characters long; at most %d are allowed", f.name, n, maxTextField)
		}
	}
	if len(req.Manifests) == 0 {
		return rel, deploy.Invalidf("a release needs at least one manifest: a form file field manifests[<environment>]")
	}
	manifests := make(map[deploy.Env]string, len(req.Manifests))
	for _, name := range sortedKeys(req.Manifests) {
		env := deploy.Env(name)
		if _, ok := h.envs[env]; !ok {
			return rel, fieldErr("manifests["+name+"]", h.unknownTarget(name))
		}
		objects, err := checkYAML(req.Manifests[name])
		if err != nil {
			return rel, deploy.Invalidf("manifests[%s] is not valid YAML: %v", name, err)
		}
		if objects == 0 {
			return rel, deploy.Invalidf("manifests[%s] is empty (no YAML document with content): deployed, it would make Argo CD delete everything %s runs on %s; to take an app off an environment on purpose, undeploy it",
				name, req.Application, name)
		}
		manifests[env] = req.Manifests[name]
	}
	author := req.Author
	if author.Name == "" && author.Email == "" {
		author = actor
	}
	return deploy.Release{
		App: deploy.App(req.Application), Version: v, DisplayVersion: req.DisplayVersion, Team: deploy.Team(req.Team),
		SourceCommitID: strings.ToLower(req.SourceCommitID), PreviousCommitID: strings.ToLower(req.PreviousCommitID),
		SourceAuthor: req.SourceAuthor, SourceMessage: req.SourceMessage, CILink: req.CILink,
		Manifests: manifests, CreatedBy: author,
	}, nil
}

func fieldErr(field string, err error) error {
	if msg, ok := deploy.UserMessage(err); ok {
		return &deploy.Error{Kind: deploy.ErrInvalid, Msg: field + ": " + msg}
	}
	return err
}

// checkYAML parses every document of a manifest and counts those with content (not empty,
// not only comments, not null).
func checkYAML(s string) (int, error) {
	dec := yaml.NewDecoder(strings.NewReader(s))
	n := 0
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		for _, c := range doc.Content {
			if c.Kind != yaml.ScalarNode || c.Tag != "!!null" {
				n++
				break
			}
		}
	}
}

// canonicalYAML parses a (multi-document) manifest and marshals it again, so formatting
// differences do not count when releases are compared.
func canonicalYAML(s string) (string, error) {
	dec := yaml.NewDecoder(strings.NewReader(s))
	var out bytes.Buffer
	for {
		var doc any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", err
		}
		b, err := yaml.Marshal(doc)
		if err != nil {
			return "", err
		}
		out.WriteString("---\n")
		out.Write(b)
	}
	return out.String(), nil
}

// sameRelease compares a stored release with a new request for the same version, in
// Kuberpult's order, and names the first differing field.
func sameRelease(old, rel deploy.Release) error {
	fields := []struct{ name, old, new string }{
		{"source_commit_id", old.SourceCommitID, rel.SourceCommitID},
		{"source_author", old.SourceAuthor, rel.SourceAuthor},
		{"source_message", old.SourceMessage, rel.SourceMessage},
		{"display_version", old.DisplayVersion, rel.DisplayVersion},
		{"team", string(old.Team), string(rel.Team)},
	}
	for _, f := range fields {
		if f.new != "" && f.new != f.old {
			return deploy.Conflictf("release %s of %s already exists with a different %s (stored %q, sent %q)", rel.Version, rel.App, f.name, f.old, f.new)
		}
	}
	envs := map[deploy.Env]bool{}
	for e := range old.Manifests {
		envs[e] = true
	}
	for e := range rel.Manifests {
		envs[e] = true
	}
	names := make([]string, 0, len(envs))
	for e := range envs {
		names = append(names, string(e))
	}
	sort.Strings(names)
	for _, name := range names {
		env := deploy.Env(name)
		o, inOld := old.Manifests[env]
		n, inNew := rel.Manifests[env]
		switch {
		case !inOld:
			return deploy.Conflictf("release %s of %s already exists without a manifest for %s (field manifests[%s])", rel.Version, rel.App, env, env)
		case !inNew:
			return deploy.Conflictf("release %s of %s already exists with a manifest for %s that this request lacks (field manifests[%s])", rel.Version, rel.App, env, env)
		}
		co, err1 := canonicalYAML(o)
		cn, err2 := canonicalYAML(n)
		if err1 != nil || err2 != nil || co != cn {
			return deploy.Conflictf("release %s of %s already exists with a different manifest for %s (field manifests[%s])", rel.Version, rel.App, env, env)
		}
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
