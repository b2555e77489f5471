package gitrepo

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"

	"kuberpult/deploy"
)

// The Argo CD file is built as text: with 2,000 Applications in one file a generic YAML
// encoder is too slow for the commit path. The output has the shape Kuberpult writes
// (JSON field names, keys sorted, block style, documents joined with "---").

const (
	annGeneratePaths = "argocd.argoproj.io/manifest-generate-paths"
	annParentEnv     = "com.freiheit.kuberpult/aa-parent-environment"
	annApplication   = "com.freiheit.kuberpult/application"
	annEnvironment   = "com.freiheit.kuberpult/environment"
	annTeams         = "com.freiheit.kuberpult/teams"
	finalizer        = "resources-finalizer.argocd.argoproj.io"
)

// ownAnnotations are the annotations Kuberpult sets on every Application; they win over
// configured annotations with the same key.
var ownAnnotations = []string{annGeneratePaths, annParentEnv, annApplication, annEnvironment, annTeams}

// argoEnv holds what all Applications of an environment share, rendered once.
type argoEnv struct {
	env   string
	extra []string // configured annotation keys that are not Kuberpult's own, sorted
	ann   map[string]string
	// specHead is "spec:" with destination and ignoreDifferences and the project line;
	// specTail is the syncPolicy that follows the sources.
	specHead, specTail string
	sourceTail         string // the source's fields after its path
	projectLen         int    // the length of the AppProject document
}

// renderArgo renders the Argo CD file of an environment; apps are sorted and valid.
func renderArgo(envName deploy.Env, config deploy.EnvConfig, apps []deploy.AppTeam, repoURL, branch string) []byte {
	cfg := argoSettings(envName, config)
	env := string(envName)
	var b []byte
	b = appendProject(b, env, cfg)

	e := argoEnv{env: env, ann: cfg.ApplicationAnnotations, projectLen: len(b)}
	for k := range cfg.ApplicationAnnotations {
		if !slices.Contains(ownAnnotations, k) {
			e.extra = append(e.extra, k)
		}
	}
	slices.Sort(e.extra)

	var s []byte
	s = append(s, "spec:\n  destination:"...)
	s = appendDestination(s, "    ", cfg.Destination, appNamespace(cfg.Destination))
	if len(cfg.IgnoreDifferences) > 0 {
		s = append(s, "  ignoreDifferences:\n"...)
		for _, d := range cfg.IgnoreDifferences {
			s = appendIgnoreDifference(s, d)
		}
	}
	s = appendKV(s, "  ", "project", env)
	s = append(s, "  sources:\n"...)
	e.specHead = string(s)

	s = s[:0]
	s = appendKV(s, "    ", "repoURL", repoURL)
	s = appendKV(s, "    ", "targetRevision", branch)
	e.sourceTail = string(s)

	s = s[:0]
	s = append(s, "  syncPolicy:\n    automated:\n      allowEmpty: true\n      prune: true\n      selfHeal: true\n"...)
	if len(cfg.SyncOptions) > 0 {
		s = append(s, "    syncOptions:\n"...)
		s = appendList(s, "    ", cfg.SyncOptions)
	}
	e.specTail = string(s)

	for i, a := range apps {
		if i == 1 {
			// Applications differ little in size: make room for all of them at once,
			// rather than growing a 2.5 MB file by doubling.
			per := len(b) - e.projectLen
			b = slices.Grow(b, (len(apps)-1)*(per+per/8))
		}
		b = append(b, "---\n"...)
		b = e.appendApplication(b, a)
	}
	return b
}

func appendProject(b []byte, env string, cfg deploy.ArgoCD) []byte {
	b = append(b, "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata:\n"...)
	b = appendKV(b, "  ", "name", env)
	b = append(b, "spec:\n"...)
	if len(cfg.AccessList) > 0 {
		b = append(b, "  clusterResourceWhitelist:\n"...)
		for _, a := range cfg.AccessList {
			// group is required by Argo CD's CRD, also when it is "" (the core API group).
			b = appendKV(b, "  - ", "group", a.Group)
			b = appendKV(b, "    ", "kind", a.Kind)
		}
	}
	b = appendKV(b, "  ", "description", env)
	b = append(b, "  destinations:\n"...)
	ns := cfg.Destination.Namespace
	if ns == "" {
		ns = cfg.Destination.AppProjectNamespace
	}
	b = appendItem(b, "  ", []kv{{"name", cfg.Destination.Name}, {"namespace", ns}, {"server", cfg.Destination.Server}})
	b = append(b, "  sourceRepos:\n  - '*'\n"...)
	if len(cfg.SyncWindows) > 0 {
		b = append(b, "  syncWindows:\n"...)
		for _, w := range cfg.SyncWindows {
			apps := w.Applications
			if len(apps) == 0 {
				apps = []string{"*"}
			}
			b = append(b, "  - applications:\n"...)
			b = appendList(b, "    ", apps)
			b = appendOmitEmpty(b, "    ", "duration", w.Duration)
			b = appendOmitEmpty(b, "    ", "kind", w.Kind)
			b = append(b, "    manualSync: true\n"...)
			b = appendOmitEmpty(b, "    ", "schedule", w.Schedule)
			b = appendOmitEmpty(b, "    ", "timeZone", w.TimeZone)
		}
	}
	return b
}

func (e *argoEnv) appendApplication(b []byte, a deploy.AppTeam) []byte {
	app, team := string(a.App), string(a.Team)
	dir := "environments/" + e.env + "/applications/" + app + "/manifests"
	own := [...]string{"/" + dir + ";", e.env, app, e.env, team} // values of ownAnnotations

	b = append(b, "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  annotations:\n"...)
	i, j := 0, 0 // merge the sorted configured keys with the sorted own keys
	for i < len(e.extra) || j < len(ownAnnotations) {
		if j == len(ownAnnotations) || (i < len(e.extra) && e.extra[i] < ownAnnotations[j]) {
			b = appendKV(b, "    ", e.extra[i], e.ann[e.extra[i]])
			i++
			continue
		}
		b = appendKV(b, "    ", ownAnnotations[j], own[j])
		j++
	}
	b = append(b, "  finalizers:\n  - "+finalizer+"\n  labels:\n"...)
	label := team
	if deploy.ValidateTeam(team) != nil {
		label = "" // not a valid label value
	}
	b = appendKV(b, "    ", annTeams, label)
	b = appendKV(b, "  ", "name", e.env+"-"+app)
	b = append(b, e.specHead...)
	b = appendKV(b, "  - ", "path", dir)
	b = append(b, e.sourceTail...)
	b = append(b, e.specTail...)
	return b
}

func appNamespace(d deploy.Destination) string {
	if d.Namespace != "" {
		return d.Namespace
	}
	return d.ApplicationNamespace
}

// appendDestination writes the fields of a destination after "destination:" (a map or {}).
func appendDestination(b []byte, indent string, d deploy.Destination, ns string) []byte {
	if d.Name == "" && ns == "" && d.Server == "" {
		return append(b, " {}\n"...)
	}
	b = append(b, '\n')
	b = appendOmitEmpty(b, indent, "name", d.Name)
	b = appendOmitEmpty(b, indent, "namespace", ns)
	return appendOmitEmpty(b, indent, "server", d.Server)
}

func appendIgnoreDifference(b []byte, d deploy.IgnoreDifference) []byte {
	first := true
	field := func(key string) []byte {
		if first {
			first = false
			return append(b, "  - "+key+":"...)
		}
		return append(b, "    "+key+":"...)
	}
	str := func(key, v string) {
		if v != "" {
			b = field(key)
			b = append(b, ' ')
			b = appendScalar(b, v)
			b = append(b, '\n')
		}
	}
	list := func(key string, vs []string) {
		if len(vs) > 0 {
			b = field(key)
			b = append(b, '\n')
			b = appendList(b, "    ", vs)
		}
	}
	str("group", d.Group)
	list("jqPathExpressions", d.JQPathExpressions)
	list("jsonPointers", d.JSONPointers)
	b = field("kind") // never omitted
	b = append(b, ' ')
	b = appendScalar(b, d.Kind)
	b = append(b, '\n')
	list("managedFieldsManagers", d.ManagedFieldsManagers)
	str("name", d.Name)
	str("namespace", d.Namespace)
	return b
}

type kv struct{ k, v string }

// appendItem writes one list item of a map with omitempty fields, keys in the given order.
func appendItem(b []byte, indent string, fields []kv) []byte {
	first := true
	for _, f := range fields {
		if f.v == "" {
			continue
		}
		if first {
			b = appendKV(b, indent+"- ", f.k, f.v)
			first = false
		} else {
			b = appendKV(b, indent+"  ", f.k, f.v)
		}
	}
	if first {
		b = append(b, indent+"- {}\n"...)
	}
	return b
}

func appendList(b []byte, indent string, vs []string) []byte {
	for _, v := range vs {
		b = append(b, indent...)
		b = append(b, "- "...)
		b = appendScalar(b, v)
		b = append(b, '\n')
	}
	return b
}

func appendOmitEmpty(b []byte, indent, k, v string) []byte {
	if v == "" {
		return b
	}
	return appendKV(b, indent, k, v)
}

func appendKV(b []byte, indent, k, v string) []byte {
	b = append(b, indent...)
	b = appendScalar(b, k)
	b = append(b, ": "...)
	b = appendScalar(b, v)
	return append(b, '\n')
}

// appendScalar writes s as a YAML scalar that reads back as the string s, with YAML 1.1
// and 1.2 readers alike: plain when that is unambiguous, else quoted.
func appendScalar(b []byte, s string) []byte {
	switch {
	case plainSafe(s):
		return append(b, s...)
	case s != "" && singleQuotable(s) && !looksLikeNonString(s):
		b = append(b, '\'')
		b = append(b, strings.ReplaceAll(s, "'", "''")...)
		return append(b, '\'')
	}
	// A JSON string is a valid YAML double-quoted scalar.
	var q bytes.Buffer
	enc := json.NewEncoder(&q)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return append(b, bytes.TrimSuffix(q.Bytes(), []byte("\n"))...)
}

// plainSafe reports whether s can be written without quotes: a conservative subset of
// YAML plain scalars that no reader resolves to anything but a string.
func plainSafe(s string) bool {
	if s == "" || s[len(s)-1] == ':' || s[len(s)-1] == ' ' || looksLikeNonString(s) {
		return false
	}
	c := s[0]
	if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '/' || c == '_') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("-._/;=+@()$^~*", c) >= 0:
		case c == ':':
			if i+1 < len(s) && s[i+1] == ' ' {
				return false
			}
		case c == ' ':
			if i+1 < len(s) && (s[i+1] == '#' || s[i+1] == ' ') {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// singleQuotable reports whether s has only printable ASCII, so 'single quotes' can hold it.
func singleQuotable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// looksLikeNonString reports whether a YAML 1.1 or 1.2 reader could take s, unquoted, for
// a null, a boolean or a number (also base-60 numbers and dates, to be safe).
func looksLikeNonString(s string) bool {
	switch strings.ToLower(s) {
	case "", "~", "null", "y", "yes", "n", "no", "true", "false", "on", "off", "=", "<<",
		".inf", "-.inf", "+.inf", ".nan":
		return true
	}
	c := s[0]
	if !(c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.') {
		return false
	}
	for i := 0; i < len(s); i++ {
		if strings.IndexByte("0123456789_:.+-eExXoObBaAcCdDfF", s[i]) < 0 {
			return false
		}
	}
	return true
}
