package gitrepo

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"kuberpult/deploy"
)

// emptyManifest is what an empty manifest is written as, like Kuberpult does.
const emptyManifest = " "

// Default destination of an environment whose configuration has no argocd section.
const defaultServer = "https://kubernetes.default.svc"

// EnvDir returns the directory of an environment: environments/<env>.
func EnvDir(env deploy.Env) string { return "environments/" + string(env) }

// ConfigPath returns the path of an environment's config.json.
func ConfigPath(env deploy.Env) string { return EnvDir(env) + "/config.json" }

// AppsDir returns the directory holding one directory per app deployed on an environment.
func AppsDir(env deploy.Env) string { return EnvDir(env) + "/applications" }

// AppDir returns the directory of an app on an environment.
func AppDir(env deploy.Env, app deploy.App) string { return AppsDir(env) + "/" + string(app) }

// ManifestDir returns the directory Argo CD reads an app's manifests from.
func ManifestDir(env deploy.Env, app deploy.App) string { return AppDir(env, app) + "/manifests" }

// ManifestPath returns the path of an app's manifests.yaml on an environment.
func ManifestPath(env deploy.Env, app deploy.App) string {
	return ManifestDir(env, app) + "/manifests.yaml"
}

// ArgoPath returns the path of an environment's Argo CD file.
func ArgoPath(env deploy.Env) string { return "argocd/v1alpha1/" + string(env) + ".yaml" }

// ConfigFile renders an environment's config.json.
func ConfigFile(cfg deploy.EnvConfig) ([]byte, error) {
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode environment config: %w", err)
	}
	return append(b, '\n'), nil
}

// ManifestFile renders a manifests.yaml; an empty manifest is written as a single space.
func ManifestFile(manifest string) []byte {
	if manifest == "" {
		manifest = emptyManifest
	}
	return []byte(manifest)
}

// ArgoFile renders an environment's Argo CD file: the AppProject from its configuration
// and one Application per app, sorted by name. repoURL and branch are the source every
// Application points at. Apps whose names are not valid app names are left out: they
// cannot become a valid Application name.
func ArgoFile(env deploy.Env, cfg deploy.EnvConfig, apps []deploy.AppTeam, repoURL, branch string) []byte {
	return renderArgo(env, cfg, sortedApps(apps), repoURL, branch)
}

// argoSettings are the effective Argo CD settings of an environment.
func argoSettings(env deploy.Env, cfg deploy.EnvConfig) deploy.ArgoCD {
	if cfg.ArgoCD == nil {
		return deploy.ArgoCD{Destination: deploy.Destination{Server: defaultServer, Namespace: string(env)}}
	}
	return *cfg.ArgoCD
}

// sortedApps returns the valid apps sorted by name, each once, without changing apps.
func sortedApps(apps []deploy.AppTeam) []deploy.AppTeam {
	out := make([]deploy.AppTeam, 0, len(apps))
	for _, a := range apps {
		if deploy.ValidateApp(string(a.App)) == nil {
			out = append(out, a)
		}
	}
	if !slices.IsSortedFunc(out, cmpApp) {
		slices.SortFunc(out, cmpApp)
	}
	return slices.CompactFunc(out, func(a, b deploy.AppTeam) bool { return a.App == b.App })
}

func cmpApp(a, b deploy.AppTeam) int { return strings.Compare(string(a.App), string(b.App)) }
