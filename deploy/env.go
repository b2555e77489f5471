package deploy

import (
	"sort"
)

// EnvConfig is an environment's configuration, with the JSON names Kuberpult writes to
// environments/<env>/config.json and the YAML names of our config file.
type EnvConfig struct {
	Upstream *Upstream `json:"upstream,omitempty" yaml:"upstream"`
	ArgoCD   *ArgoCD   `json:"argocd,omitempty" yaml:"argocd"`
	Group    Group     `json:"environmentGroup,omitempty" yaml:"group"`
}

// Upstream says where an environment takes its versions from: every new release
// (Latest) or the versions running in another environment (release trains).
type Upstream struct {
	Environment Env  `json:"environment,omitempty" yaml:"environment"`
	Latest      bool `json:"latest,omitempty" yaml:"latest"`
}

// ArgoCD holds what is rendered into the environment's AppProject and Applications.
type ArgoCD struct {
	Destination            Destination        `json:"destination" yaml:"destination"`
	SyncWindows            []SyncWindow       `json:"syncWindows,omitempty" yaml:"syncWindows"`
	AccessList             []AccessEntry      `json:"accessList,omitempty" yaml:"accessList"`
	ApplicationAnnotations map[string]string  `json:"applicationAnnotations,omitempty" yaml:"applicationAnnotations"`
	IgnoreDifferences      []IgnoreDifference `json:"ignoreDifferences,omitempty" yaml:"ignoreDifferences"`
	SyncOptions            []string           `json:"syncOptions,omitempty" yaml:"syncOptions"`
}

// Destination is the cluster and namespace Argo CD deploys an environment's apps to.
type Destination struct {
	Name                 string `json:"name" yaml:"name"`
	Server               string `json:"server" yaml:"server"`
	Namespace            string `json:"namespace,omitempty" yaml:"namespace"`
	AppProjectNamespace  string `json:"appProjectNamespace,omitempty" yaml:"appProjectNamespace"`
	ApplicationNamespace string `json:"applicationNamespace,omitempty" yaml:"applicationNamespace"`
}

// SyncWindow is an Argo CD sync window, rendered into the AppProject.
type SyncWindow struct {
	Kind         string   `json:"kind" yaml:"kind"` // allow or deny
	Schedule     string   `json:"schedule" yaml:"schedule"`
	Duration     string   `json:"duration" yaml:"duration"`
	Applications []string `json:"applications,omitempty" yaml:"applications"`
	TimeZone     string   `json:"timeZone,omitempty" yaml:"timeZone"` // IANA name the schedule is read in; Argo CD's default UTC
}

// AccessEntry allows a cluster-scoped resource kind in the AppProject.
type AccessEntry struct {
	Group string `json:"group" yaml:"group"`
	Kind  string `json:"kind" yaml:"kind"`
}

// IgnoreDifference is copied into every Application of the environment.
type IgnoreDifference struct {
	Group                 string   `json:"group,omitempty" yaml:"group"`
	Kind                  string   `json:"kind" yaml:"kind"`
	Name                  string   `json:"name,omitempty" yaml:"name"`
	Namespace             string   `json:"namespace,omitempty" yaml:"namespace"`
	JSONPointers          []string `json:"jsonPointers,omitempty" yaml:"jsonPointers"`
	JQPathExpressions     []string `json:"jqPathExpressions,omitempty" yaml:"jqPathExpressions"`
	ManagedFieldsManagers []string `json:"managedFieldsManagers,omitempty" yaml:"managedFieldsManagers"`
}

// Environments is the configured set of environments.
type Environments map[Env]EnvConfig

// Names returns all environment names, sorted.
func (es Environments) Names() []Env {
	out := make([]Env, 0, len(es))
	for e := range es {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// GroupOf returns the group of env: its configured group, or its own name.
func (es Environments) GroupOf(env Env) Group {
	if c, ok := es[env]; ok && c.Group != "" {
		return c.Group
	}
	return Group(env)
}

// Groups returns every group name (including single-environment ones), sorted.
func (es Environments) Groups() []Group {
	seen := map[Group]bool{}
	var out []Group
	for _, e := range es.Names() {
		g := es.GroupOf(e)
		if !seen[g] {
			seen[g] = true
			out = append(out, g)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Members returns the environments of a group, sorted; empty if there is no such group.
func (es Environments) Members(g Group) []Env {
	var out []Env
	for _, e := range es.Names() {
		if es.GroupOf(e) == g {
			out = append(out, e)
		}
	}
	return out
}

// IsLatest reports whether env takes every new release (upstream latest).
func (es Environments) IsLatest(env Env) bool {
	c, ok := es[env]
	return ok && c.Upstream != nil && c.Upstream.Latest
}

// Pipeline returns the environments in pipeline order: by their distance from an
// environment without an environment upstream (development first), then by name.
func (es Environments) Pipeline() []Env {
	depth := map[Env]int{}
	var d func(e Env, seen int) int
	d = func(e Env, seen int) int {
		if v, ok := depth[e]; ok {
			return v
		}
		v := 0
		if up := es[e].Upstream; up != nil && up.Environment != "" && seen < len(es) {
			if _, known := es[up.Environment]; known {
				v = d(up.Environment, seen+1) + 1
			}
		}
		depth[e] = v
		return v
	}
	names := es.Names()
	for _, e := range names {
		d(e, 0)
	}
	sort.SliceStable(names, func(i, j int) bool { return depth[names[i]] < depth[names[j]] })
	return names
}
