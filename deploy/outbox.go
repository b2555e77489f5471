package deploy

import "time"

// OutboxEntry is an accepted env-repo change waiting for the git writer. Its ID is the id of
// the action that made it; entries are applied in ID order.
type OutboxEntry struct {
	ID     int64
	Change RepoChange
	// Broken is set when the stored entry cannot be read; the writer sets it aside as failed.
	Broken string
	// Builds are the commits built for the entry before pushes that may have landed or not
	// (a crash, a lost connection, a takeover by another writer). The writer looks for them
	// on the remote before it builds the entry again.
	Builds []Build
}

// Build is a commit the git writer built for an outbox entry, recorded before its push.
type Build struct {
	Commit string `json:"commit"` // the commit carrying the entry, or Base when it changed nothing
	Base   string `json:"base"`   // the remote tip the batch was built on ("" for an empty branch)
	Epoch  int64  `json:"epoch"`  // the writer lease it was built under
}

// BuildRecord is the build of one outbox entry.
type BuildRecord struct {
	ID    int64
	Build Build
}

// Pushed tells the store which commit carries an outbox entry: the commit made for it, or,
// for an entry that changed nothing, the commit that already held its content.
type Pushed struct {
	ID     int64
	Commit string
}

// FailedEntry is an outbox entry the git writer could not apply. It stays visible until
// someone deals with it; the entries behind it went on.
type FailedEntry struct {
	ID      int64     `json:"id"`
	Message string    `json:"message"` // the commit subject it would have had
	Reason  string    `json:"reason"`
	Time    time.Time `json:"time"`
}

// OutboxSummary is what status and /metrics show of the outbox.
type OutboxSummary struct {
	Pending int
	Oldest  time.Time // when the first pending entry in line (the lowest id) was accepted; zero when none
	Failed  []FailedEntry
}

// Carried is one (env, app, version) an env-repo commit carried; Version 0 is a removal.
type Carried struct {
	Env     Env     `json:"env"`
	App     App     `json:"app"`
	Version Version `json:"version"`
	// Removed: the app's directory was removed there (an undeploy version, or remove).
	Removed bool `json:"removed,omitempty"`
}

// PushEvent tells subscribers inside the process that an action's change is in the env
// repo: pushed as Commit (or already held by it), carrying these deployments — or, with
// Failed set, that the change was set aside and will never be pushed (Commit is "").
type PushEvent struct {
	ActionID int64
	Commit   string
	Carried  []Carried
	Time     time.Time // when the push was confirmed (or the change set aside)
	Failed   string    // why the change cannot be applied; "" for a push
}

// CarriedBy lists what a change carries to the env repo, in its order.
func CarriedBy(rc RepoChange) []Carried {
	out := make([]Carried, 0, len(rc.Manifests))
	for _, m := range rc.Manifests {
		out = append(out, Carried{Env: m.Env, App: m.App, Version: m.Version, Removed: m.Remove})
	}
	return out
}

// RenderState is what the git writer needs, beyond its tree, to render Argo CD files: the
// team of every app and the configuration of every environment, as accepted last.
type RenderState struct {
	Teams map[App]Team
	Envs  Environments
}

// Lease is the right to be the one writer of the env repo, across processes. A holder with a
// higher priority (serve) takes it over from one with a lower priority (a console); an
// expired lease can be taken by anyone. Epoch grows with every new holder and fences the
// writes of a holder that lost it.
type Lease struct {
	Name     string    `json:"name"`
	Holder   string    `json:"holder"` // e.g. "serve on host-1 (pid 4242)"
	Priority int       `json:"priority"`
	Epoch    int64     `json:"epoch"`
	Expires  time.Time `json:"expires"`
}
