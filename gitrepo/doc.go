// Package gitrepo writes the environment repository that Argo CD reads: the Kuberpult
// layout, the rendered Argo CD files, and the single git writer that turns outbox entries
// into commits and pushes them.
//
// Layout (the same as Kuberpult's, so existing app-of-apps setups keep working):
//
//	environments/<env>/config.json                                  upstream, group, argocd settings
//	environments/<env>/applications/<app>/manifests/manifests.yaml  the deployed release's manifest
//	argocd/v1alpha1/<env>.yaml                                      AppProject <env> + one Application <env>-<app> per app directory
//
// # Entries and the Argo CD files
//
// An outbox entry is a delta: manifests set or removed, environment configs, apps whose
// team changed. The writer applies it to the tree it holds; every environment and app name
// is validated before it becomes part of a path. The Argo CD file of an environment is
// derived: the AppProject from the environment's configuration and one Application per app
// directory under environments/<env>/applications in the tree, with the app's team (both
// from the outbox's RenderState; without a configuration, the in-cluster destination and
// the environment's name as namespace). So an Application is never dropped by a stale
// view, and an app directory someone pushed by hand gets its Application at the next
// render of its environment. The file is rendered again only when the environment's app
// set, its configuration or the team of one of its apps changes: a new version changes
// one manifest and leaves the 2.5 MB file of 2,000 apps alone.
//
// One commit per entry stays the rule (none for an entry that leaves the tree as it is),
// and the writer pushes the entries pending at once as one batch. Within a batch each
// environment's Argo CD file is rendered once, in the last commit of the batch that changes
// what the file is made of. Argo CD syncs the branch head, which is therefore always exact;
// an earlier commit of the same push may carry a new app's manifests before the commit that
// adds its Application. An entry that cannot be applied (unreadable, an invalid name, a tree
// conflict) is set aside as failed, logged with its id, and the entries behind it go on.
//
// # The clone, the pack, the push
//
// The writer keeps a shallow in-memory clone of the branch: the tip's trees and the headers
// of recent commits (up to 1,000, for the history walk below), no blobs. The first fetch
// is a depth-1 clone without blobs; later fetches send the tip as "have" and get a thin
// pack of what changed since, so their cost follows the change, not the repository. A
// commit is built by editing only the trees on the paths it changes. Trees no longer
// reachable from the tip (or from the batch being built) are dropped: often the young ones,
// which are most of the garbage, now and then all, so memory stays bounded however many
// commits are built. The pack is written here, commit by commit as the batch is built:
// zlib at its fastest level, changed trees as deltas against the version they replace
// (copy the prefix, insert the entry, copy the suffix), SHA-1 from crypto/sha1. A push is
// a compare-and-swap of the branch: checked against the advertised tip before anything is
// sent, and by the server.
//
// # One writer, and its faults
//
// Exactly one process writes the repository: Run holds the outbox's lease ("envrepo"),
// renews it every third of its TTL, and stops pushing at once when it loses it; a holder
// of higher priority (serve) takes it over from a lower one (a console). Before a push the
// writer records the commits it built for each entry (fenced by the lease). Whenever the
// outcome of a push is not known (a crash, a lost answer, a lost race, a take-over), the
// writer fetches the tip, looks for the recorded builds in the history back to the commits
// they were built on, marks those entries with their real commit ids (a build is found
// also when someone pushed on top since), reads what is still pending and builds it on
// the new tip. So nothing is applied twice and no push moves an app back to an older
// version. A push the remote refuses (a hook, a protected branch) is reported with git's
// own message and retried with a growing pause.
//
// A push runs with its own deadline, never the caller's context: a stop lets the push in
// flight finish (up to Options.StopTimeout) or abandons the batch before its push starts,
// and never kills git during a ref update (that leaves refs/heads/<branch>.lock behind for
// everyone). For a repository on this machine git runs in its own process group, so the
// SIGINT of a Ctrl-C does not reach it either. Open does not need the remote: Run keeps
// trying, and Status says whether the remote is reachable and what went wrong last.
package gitrepo
