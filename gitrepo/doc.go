// Package gitrepo writes the environment repository that Argo CD reads: the Kuberpult
// layout, the rendered Argo CD files, and the single git writer that turns outbox entries
// into commits and pushes them.
//
// Layout (the same as Kuberpult's, so existing app-of-apps setups keep working):
//
//	environments/<env>/config.json                                  upstream, group, argocd settings
//	environments/<env>/applications/<app>/manifests/manifests.yaml  the deployed release's manifest
//	argocd/v1alpha1/<env>.yaml                                      AppProject <env> + one Application <env>-<app> per deployed app
//
// Every environment and app name is validated before it becomes part of a path, so nothing
// is ever written outside its directory. An environment without an argocd section in its
// configuration is rendered with the in-cluster destination: server
// https://kubernetes.default.svc and the environment's name as namespace.
//
// The Writer keeps a shallow in-memory clone of one branch and builds each commit by
// editing only the trees on the paths it changes, so the cost of a commit grows with the
// files it touches, not with the size or history of the repository. It pushes only the
// objects it created, with a compare-and-swap update of the branch; when the remote moved
// it fetches the new tip and applies the same changes again (they hold full file contents,
// so this is idempotent). A change that leaves the tree as it is makes no commit.
package gitrepo
