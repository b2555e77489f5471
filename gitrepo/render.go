package gitrepo

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"kuberpult/deploy"
)

// File is one change to the environment repo: write Content at Path, or, with Remove,
// delete the file or the whole directory at Path. Paths are slash-separated and relative
// to the repository root.
type File struct {
	Path    string
	Content []byte
	Remove  bool
}

// emptyManifest is what an empty manifest is written as, like Kuberpult does.
const emptyManifest = " "

// Default destination of an environment whose configuration has no argocd section.
const defaultServer = "https://kubernetes.default.svc"

// EnvDir returns the directory of an environment: environments/<env>.
func EnvDir(env deploy.Env) string { return "environments/" + string(env) }

// ConfigPath returns the path of an environment's config.json.
func ConfigPath(env deploy.Env) string { return EnvDir(env) + "/config.json" }

// AppDir returns the directory of an app on an environment.
func AppDir(env deploy.Env, app deploy.App) string {
	return EnvDir(env) + "/applications/" + string(app)
}

// ManifestDir returns the directory Argo CD reads an app's manifests from.
func ManifestDir(env deploy.Env, app deploy.App) string { return AppDir(env, app) + "/manifests" }

// ManifestPath returns the path of an app's manifests.yaml on an environment.
func ManifestPath(env deploy.Env, app deploy.App) string {
	return ManifestDir(env, app) + "/manifests.yaml"
}

// ArgoPath returns the path of an environment's Argo CD file.
func ArgoPath(env deploy.Env) string { return "argocd/v1alpha1/" + string(env) + ".yaml" }

// Files renders what ef writes for its environment: config.json, the changed manifests (or
// the removal of an app's directory) and the Argo CD file, in this order. repoURL and branch
// are the source every Application points at. Names that are not valid env or app names
// are rejected with an error wrapping deploy.ErrInvalid, before any path is built.
func Files(ef deploy.EnvFiles, repoURL, branch string) ([]File, error) {
	if err := validate(ef); err != nil {
		return nil, err
	}
	cfg, err := json.MarshalIndent(ef.Config, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode config of %s: %w", ef.Env, err)
	}
	out := make([]File, 0, len(ef.Manifests)+2)
	out = append(out, File{Path: ConfigPath(ef.Env), Content: append(cfg, '\n')})
	for _, m := range ef.Manifests {
		if m.Remove {
			out = append(out, File{Path: AppDir(ef.Env, m.App), Remove: true})
			continue
		}
		text := m.Manifest
		if text == "" {
			text = emptyManifest
		}
		out = append(out, File{Path: ManifestPath(ef.Env, m.App), Content: []byte(text)})
	}
	out = append(out, File{Path: ArgoPath(ef.Env), Content: renderArgo(ef, repoURL, branch)})
	return out, nil
}

// ChangeFiles renders every environment of a repo change, in order.
func ChangeFiles(rc deploy.RepoChange, repoURL, branch string) ([]File, error) {
	var out []File
	for _, ef := range rc.Envs {
		fs, err := Files(ef, repoURL, branch)
		if err != nil {
			return nil, err
		}
		out = append(out, fs...)
	}
	return out, nil
}

func validate(ef deploy.EnvFiles) error {
	if err := deploy.ValidateEnv(string(ef.Env)); err != nil {
		return err
	}
	for _, m := range ef.Manifests {
		if err := deploy.ValidateApp(string(m.App)); err != nil {
			return err
		}
	}
	seen := make(map[deploy.App]bool, len(ef.Apps))
	for _, a := range ef.Apps {
		if err := deploy.ValidateApp(string(a.App)); err != nil {
			return err
		}
		if seen[a.App] {
			return deploy.Invalidf("application %q is listed twice for environment %q", a.App, ef.Env)
		}
		seen[a.App] = true
	}
	return nil
}

// argoSettings are the effective Argo CD settings of an environment.
func argoSettings(ef deploy.EnvFiles) deploy.ArgoCD {
	if ef.Config.ArgoCD == nil {
		return deploy.ArgoCD{Destination: deploy.Destination{Server: defaultServer, Namespace: string(ef.Env)}}
	}
	return *ef.Config.ArgoCD
}

// sortedApps returns the apps of ef sorted by name, without changing ef.
func sortedApps(apps []deploy.ArgoApp) []deploy.ArgoApp {
	if slices.IsSortedFunc(apps, cmpApp) {
		return apps
	}
	out := slices.Clone(apps)
	slices.SortFunc(out, cmpApp)
	return out
}

func cmpApp(a, b deploy.ArgoApp) int { return strings.Compare(string(a.App), string(b.App)) }
