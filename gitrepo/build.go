package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"kuberpult/deploy"
)

// batch is what build made of a run of outbox entries: one commit per entry that changes
// the tree, on top of base, and the pack that carries them.
type batch struct {
	base, tip hash
	commits   []hash
	pushed    []deploy.Pushed // per entry applied, in order
	records   []deploy.BuildRecord
	pack      []byte
	took      time.Duration // how long its push took
}

// entryError is an entry that cannot be applied.
type entryError struct {
	index int
	err   error
}

func (e *entryError) Error() string { return e.err.Error() }

// build applies entries on commit base (the tip, or the tip of a batch still being
// pushed). An entry that cannot be applied (unreadable, an invalid name, a tree conflict)
// is set aside as failed, and the batch is built without it. It returns nil when every
// entry was set aside.
func (w *Writer) build(ctx context.Context, ob Outbox, entries []deploy.OutboxEntry, base hash) (*batch, error) {
	good := make([]deploy.OutboxEntry, 0, len(entries))
	for _, e := range entries {
		reason := ""
		switch {
		case e.Broken != "":
			reason = "cannot read the entry: " + e.Broken
		default:
			if err := checkChange(e.Change); err != nil {
				reason = err.Error()
			}
		}
		if reason != "" {
			if err := w.setAside(ctx, ob, e, reason); err != nil {
				return nil, err
			}
			continue
		}
		good = append(good, e)
	}
	for len(good) > 0 {
		last, err := w.plan(good, base)
		if err != nil {
			return nil, err
		}
		b, err := w.apply(ctx, ob, good, last, base)
		var ee *entryError
		if !errors.As(err, &ee) {
			return b, err
		}
		if err := w.setAside(ctx, ob, good[ee.index], ee.err.Error()); err != nil {
			return nil, err
		}
		good = slices.Delete(good, ee.index, ee.index+1)
	}
	return nil, nil
}

// checkChange validates every name before it becomes part of a path.
func checkChange(rc deploy.RepoChange) error {
	for _, c := range rc.Configs {
		if err := deploy.ValidateEnv(string(c.Env)); err != nil {
			return err
		}
	}
	for _, m := range rc.Manifests {
		if err := deploy.ValidateEnv(string(m.Env)); err != nil {
			return err
		}
		if err := deploy.ValidateApp(string(m.App)); err != nil {
			return err
		}
	}
	for _, t := range rc.Teams {
		if err := deploy.ValidateApp(string(t.App)); err != nil {
			return err
		}
	}
	return nil
}

func (w *Writer) root(c hash) hash {
	if c.IsZero() {
		return emptyTree
	}
	return w.st.commits[c].tree
}

// plan works out, for every environment whose Argo CD file must be rendered again, the
// last entry of the batch that changes what the file is made of: the environment's app
// set, its config (any config change), or the team of one of its apps. The file is rendered once, in that
// entry's commit; after it nothing in the batch changes it, so the tip is exact. It only
// simulates the entries on the tip's tree.
func (w *Writer) plan(entries []deploy.OutboxEntry, base hash) (map[deploy.Env]int, error) {
	root := w.root(base)
	apps := map[deploy.Env]map[deploy.App]bool{} // app directories added (true) or removed
	has := func(env deploy.Env, app deploy.App) (bool, error) {
		if v, ok := apps[env][app]; ok {
			return v, nil
		}
		e, ok, err := w.st.lookup(root, AppDir(env, app))
		return ok && e.mode == modeDir, err
	}
	set := func(env deploy.Env, app deploy.App, v bool) {
		if apps[env] == nil {
			apps[env] = map[deploy.App]bool{}
		}
		apps[env][app] = v
	}
	last := map[deploy.Env]int{}
	var treeEnvs []string
	for i, e := range entries {
		rc := e.Change
		// A config change always renders the environment's Argo CD file again, also when
		// config.json stays the same: so a start of serve, which writes every config,
		// repairs an Argo CD file that is missing or that someone changed by hand.
		for _, c := range rc.Configs {
			last[c.Env] = i
		}
		for _, m := range rc.Manifests {
			present, err := has(m.Env, m.App)
			if err != nil {
				return nil, err
			}
			if present == m.Remove {
				set(m.Env, m.App, !m.Remove)
				last[m.Env] = i
			}
		}
		if len(rc.Teams) == 0 {
			continue
		}
		if treeEnvs == nil {
			var err error
			if treeEnvs, err = w.st.subdirs(root, "environments"); err != nil {
				return nil, err
			}
		}
		envs := map[deploy.Env]bool{}
		for _, name := range treeEnvs {
			envs[deploy.Env(name)] = true
		}
		for env := range apps {
			envs[env] = true
		}
		for env := range envs {
			for _, t := range rc.Teams {
				if ok, err := has(env, t.App); err != nil {
					return nil, err
				} else if ok {
					last[env] = i
				}
			}
		}
	}
	return last, nil
}

// apply builds the commits of a batch as planned. Each commit goes into the pack as soon
// as it is built, with the trees and blobs it adds, and the trees it superseded are
// dropped now and then, so a batch holds about two versions of the tree, not one per
// commit. An *entryError says which entry cannot be applied.
func (w *Writer) apply(ctx context.Context, ob Outbox, entries []deploy.OutboxEntry, last map[deploy.Env]int, baseCommit hash) (*batch, error) {
	ed := newEditor(w.st)
	bp := &batchPack{st: w.st, ed: ed, p: newPacker(), sent: map[hash]bool{}, thin: map[hash]bool{}, depth: map[hash]int{}, blobs: map[hash][]byte{}}
	renders := map[int][]deploy.Env{}
	for env, i := range last {
		renders[i] = append(renders[i], env)
	}
	var rs *deploy.RenderState
	b := &batch{base: baseCommit, tip: baseCommit}
	base := ""
	if !baseCommit.IsZero() {
		base = baseCommit.String()
	}
	epoch := w.ten.current().Epoch
	root := w.root(baseCommit)
	for i, e := range entries {
		ops, err := changeOps(e.Change, bp.blobs)
		if err != nil {
			return nil, &entryError{i, err}
		}
		next, err := ed.apply(root, ops)
		if err != nil {
			return nil, entryErr(i, err)
		}
		if envs := renders[i]; len(envs) > 0 {
			if rs == nil {
				s, err := ob.RenderState(ctx)
				if err != nil {
					return nil, fmt.Errorf("read render state: %w", err)
				}
				rs = &s
			}
			slices.Sort(envs)
			var argo []op
			for _, env := range envs {
				content, err := w.argoFile(next, env, rs)
				if err != nil {
					return nil, err
				}
				// Into the pack at once: ten files of 2.5 MB need not wait for the commit.
				// They go whole: as a delta against the server's version, git's index-pack
				// would have to append that version to the pack, compressing megabytes.
				h := hashObject(objBlob, content)
				if cur, ok, _ := w.st.lookup(root, ArgoPath(env)); !ok || cur.hash != h {
					bp.blob(h, content)
				}
				argo = append(argo, op{parts: strings.Split(ArgoPath(env), "/"), blob: h})
			}
			staged := next
			if next, err = ed.apply(staged, argo); err != nil {
				return nil, entryErr(i, err)
			}
			ed.fold(staged, next)
		}
		commit := b.tip
		if next != root {
			data := w.commitData(e, next, b.tip)
			commit = hashObject(objCommit, data)
			ci := commitInfo{tree: next}
			if !b.tip.IsZero() {
				ci.parents = []hash{b.tip}
			}
			w.st.commits[commit] = ci
			b.commits = append(b.commits, commit)
			bp.commit(data, next)
			b.tip, root = commit, next
			// Keep the tip's trees (and the base's): the batch is built again on the tip
			// if its push, or the one before, does not land.
			w.st.gc([]hash{w.tip, baseCommit, commit}, maxHistory)
		}
		id := ""
		if !commit.IsZero() {
			id = commit.String()
		}
		b.pushed = append(b.pushed, deploy.Pushed{ID: e.ID, Commit: id})
		b.records = append(b.records, deploy.BuildRecord{ID: e.ID, Build: deploy.Build{Commit: id, Base: base, Epoch: epoch}})
	}
	if len(b.commits) > 0 {
		b.pack = bp.p.finish()
	}
	return b, nil
}

func entryErr(i int, err error) error {
	var ce *conflictError
	if errors.As(err, &ce) {
		return &entryError{i, err}
	}
	return err
}

// changeOps turns a change's manifests and configs into tree operations; the contents go
// to blobs.
func changeOps(rc deploy.RepoChange, blobs map[hash][]byte) ([]op, error) {
	ops := make([]op, 0, len(rc.Configs)+len(rc.Manifests))
	for _, c := range rc.Configs {
		content, err := ConfigFile(c.Config)
		if err != nil {
			return nil, err
		}
		ops = append(ops, fileOp(ConfigPath(c.Env), content, blobs))
	}
	for _, m := range rc.Manifests {
		if m.Remove {
			ops = append(ops, op{parts: strings.Split(AppDir(m.Env, m.App), "/"), remove: true})
			continue
		}
		ops = append(ops, fileOp(ManifestPath(m.Env, m.App), ManifestFile(m.Manifest), blobs))
	}
	return ops, nil
}

func fileOp(path string, content []byte, blobs map[hash][]byte) op {
	h := hashObject(objBlob, content)
	blobs[h] = content
	return op{parts: strings.Split(path, "/"), blob: h}
}

// argoFile renders env's Argo CD file for the tree root: one Application per app
// directory in it, with the teams and the configuration of the render state.
func (w *Writer) argoFile(root hash, env deploy.Env, rs *deploy.RenderState) ([]byte, error) {
	names, err := w.st.subdirs(root, AppsDir(env))
	if err != nil {
		return nil, err
	}
	apps := make([]deploy.AppTeam, len(names))
	for i, n := range names {
		apps[i] = deploy.AppTeam{App: deploy.App(n), Team: rs.Teams[deploy.App(n)]}
	}
	return ArgoFile(env, rs.Envs[env], apps, w.opts.ArgoRepoURL, w.opts.Branch), nil
}

// commitData encodes the commit of an entry: the author is the actor (the committer when
// it has no name), the committer this writer.
func (w *Writer) commitData(e deploy.OutboxEntry, tree, parent hash) []byte {
	now := w.opts.Now()
	rc := e.Change
	author := signature{name: rc.Author.Name, email: rc.Author.Email, when: rc.Time}
	if author.name == "" {
		author.name = w.opts.CommitterName
	}
	if author.email == "" {
		author.email = w.opts.CommitterEmail
	}
	if author.when.IsZero() {
		author.when = now
	}
	msg := rc.Message
	if strings.TrimSpace(msg) == "" {
		msg = fmt.Sprintf("env repo change %d", e.ID)
	}
	return encodeCommit(tree, parent, author, signature{name: w.opts.CommitterName, email: w.opts.CommitterEmail, when: now}, msg)
}
