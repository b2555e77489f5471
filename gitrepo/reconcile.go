package gitrepo

import (
	"context"

	"kuberpult/deploy"
)

// recognise finds the pending entries whose recorded builds are in the branch's history:
// pushed, by this writer before a crash or a lost answer, or by a writer that lost the
// lease since, but not marked. It walks back from the tip to the bases the builds were
// made on (at most maxHistory commits), deepening the shallow clone as it goes; commits
// come without their trees. Someone may have pushed on top since: a build is recognised
// anywhere in that part of the history. It returns their real commit ids, in id order.
func (w *Writer) recognise(ctx context.Context, entries []deploy.OutboxEntry) ([]deploy.Pushed, error) {
	if w.tip.IsZero() {
		return nil, nil
	}
	targets := map[hash]bool{}
	bases := map[hash]bool{}
	for _, e := range entries {
		for _, b := range e.Builds {
			if c, ok := parseHex([]byte(b.Commit)); ok && !w.looked[c] {
				targets[c] = true
			}
			if c, ok := parseHex([]byte(b.Base)); ok {
				bases[c] = true
			}
		}
	}
	if len(targets) == 0 {
		return nil, nil
	}
	found := map[hash]bool{}
	depth := 0
	for {
		missing, visited := w.walk(targets, bases, found)
		if len(found) == len(targets) || !missing || visited >= maxHistory || depth >= maxHistory {
			break
		}
		depth = min(maxHistory, max(2*depth, 2*visited, 64))
		fctx, cancel := context.WithTimeout(ctx, w.opts.PushTimeout)
		n, err := w.remote.history(fctx, w.st, w.tip, depth)
		cancel()
		w.update(func(s *Status) { s.Stats.FetchedBytes += n })
		if err != nil {
			return nil, err
		}
	}
	// What is not in the history now will not be found there at this tip.
	if w.looked == nil {
		w.looked = map[hash]bool{}
	}
	for t := range targets {
		if !found[t] {
			w.looked[t] = true
		}
	}
	var out []deploy.Pushed
	for _, e := range entries {
		for _, b := range e.Builds {
			if c, ok := parseHex([]byte(b.Commit)); ok && found[c] {
				out = append(out, deploy.Pushed{ID: e.ID, Commit: b.Commit})
				break
			}
		}
	}
	return out, nil
}

// walk goes back from the tip through the commits the store has, breadth first, without
// going past a base that is not a build (no build is older than the commit it was built on). It marks the
// targets it meets in found, and reports whether it met a commit the store lacks.
func (w *Writer) walk(targets, bases, found map[hash]bool) (missing bool, visited int) {
	seen := map[hash]bool{}
	queue := []hash{w.tip}
	for len(queue) > 0 && len(seen) < maxHistory && len(found) < len(targets) {
		h := queue[0]
		queue = queue[1:]
		if seen[h] {
			continue
		}
		c, ok := w.st.commits[h]
		if !ok {
			missing = true
			continue
		}
		seen[h] = true
		if targets[h] {
			found[h] = true
		}
		// Builds are never older than their bases: the walk stops at one, unless it is a
		// build itself (a batch built on the tip of one that landed), whose base is older.
		if !bases[h] || targets[h] {
			queue = append(queue, c.parents...)
		}
	}
	return missing, len(seen)
}
