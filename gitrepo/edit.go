package gitrepo

import (
	"fmt"
	"slices"
	"strings"
)

// op is one file operation: write the blob at parts, or remove what is there.
type op struct {
	parts  []string
	blob   hash
	remove bool
}

// conflictError says that a change cannot be applied to the tree as it is.
type conflictError struct{ path string }

func (e *conflictError) Error() string {
	return fmt.Sprintf("tree conflict: %s is a file, not a directory", e.path)
}

// editor builds new trees from old ones, reading only the trees on the edited paths. Every
// tree it makes is stored, and remembered with the tree it replaced, so that the pack can
// send it as a delta against that one.
type editor struct {
	st   *objects
	made map[hash]hash // new tree → the tree it replaced at its path (zero: none)
	// kids are the entries of a new tree that differ from the tree it replaced: the only
	// ones that can be new objects. The others were in an earlier version of the tree.
	kids map[hash][]kid
}

// kid is an entry of a new tree that changed.
type kid struct {
	hash hash
	dir  bool
}

func newEditor(st *objects) *editor {
	return &editor{st: st, made: make(map[hash]hash), kids: make(map[hash][]kid)}
}

// apply applies ops to the tree root and returns the new root tree.
func (ed *editor) apply(root hash, ops []op) (hash, error) {
	if len(ops) == 0 {
		return root, nil
	}
	h, err := ed.edit(root, ops, 0)
	if err != nil {
		return zeroHash, err
	}
	if h.IsZero() {
		return emptyTree, nil
	}
	return h, nil
}

// edit applies ops, whose paths all continue below depth, to tree h. It returns the zero
// id when the result has no entries (git stores no empty directories).
func (ed *editor) edit(h hash, ops []op, depth int) (hash, error) {
	old, err := ed.st.tree(h)
	if err != nil {
		return zeroHash, err
	}
	// Group the operations by the entry they go through, in the order they come.
	idx := make(map[string]int, 1)
	var groups [][]op
	for _, o := range ops {
		name := o.parts[depth]
		i, ok := idx[name]
		if !ok {
			i = len(groups)
			idx[name] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], o)
	}
	var index map[string]entry // the old entries by name, when there are many lookups
	if len(groups) > 8 {
		index = make(map[string]entry, len(old)/40)
		for off := 0; off < len(old); {
			e, next, err := nextEntry(old, off)
			if err != nil {
				return zeroHash, fmt.Errorf("tree %s: %w", h, err)
			}
			index[string(e.name)] = e
			off = next
		}
	}
	var changes []change
	for _, g := range groups {
		name := g[0].parts[depth]
		var c change
		if index != nil {
			c.cur, c.found = index[name]
		} else if c.cur, c.start, c.end, c.found, err = find(old, name); err != nil {
			return zeroHash, fmt.Errorf("tree %s: %w", h, err)
		}
		if c.next, err = ed.next(c.cur, c.found, name, g, depth); err != nil {
			return zeroHash, err
		}
		if c.next.mode != c.cur.mode || c.next.hash != c.cur.hash {
			changes = append(changes, c)
		}
	}
	if len(changes) == 0 {
		return h, nil
	}
	var data []byte
	if index == nil {
		data = splice(old, changes)
	} else {
		data = rebuild(index, changes)
	}
	if len(data) == 0 {
		return zeroHash, nil
	}
	nh := ed.st.putTree(data)
	if _, seen := ed.made[nh]; !seen {
		base := h
		if h == emptyTree {
			base = zeroHash
		}
		ed.made[nh] = base
		kids := make([]kid, 0, len(changes))
		for _, c := range changes {
			if c.next.mode != 0 {
				kids = append(kids, kid{hash: c.next.hash, dir: c.next.mode == modeDir})
			}
		}
		ed.kids[nh] = kids
	}
	return nh, nil
}

// change is the new state of one entry of a tree; a next without mode removes it. start
// and end are where cur is in the old tree's data.
type change struct {
	cur        entry
	found      bool
	start, end int
	next       entry
}

// next works out the new state of the entry name (cur, if found) after the operations g,
// which all go through it. The last operation on the entry itself wins; operations below
// it after that one edit the directory it is then.
func (ed *editor) next(cur entry, found bool, name string, g []op, depth int) (entry, error) {
	next := cur
	if !found {
		next = entry{name: []byte(name)}
	}
	var below []op
	for _, o := range g {
		switch {
		case len(o.parts) > depth+1:
			below = append(below, o)
		case o.remove:
			next.mode, next.hash, below = 0, zeroHash, nil
		default:
			next.mode, next.hash, below = modeRegular, o.blob, nil
		}
	}
	if len(below) == 0 {
		return next, nil
	}
	base := zeroHash
	switch {
	case next.mode == modeDir:
		base = next.hash
	case next.mode != 0 && allRemovals(below):
		return next, nil // removing paths below a file: nothing to remove
	case next.mode != 0:
		return next, &conflictError{path: strings.Join(g[0].parts[:depth+1], "/")}
	}
	sub, err := ed.edit(base, below, depth+1)
	if err != nil {
		return next, err
	}
	next.mode, next.hash = modeDir, sub
	if sub.IsZero() {
		next.mode = 0
	}
	return next, nil
}

// fold makes result, made by editing staged (itself made from a commit's root by other
// operations on other entries), count as made from that root: its changes are those of
// both steps, and staged, never part of a commit, is not needed in the pack.
func (ed *editor) fold(staged, result hash) {
	first, ok := ed.made[staged]
	if !ok || staged == result {
		return
	}
	if base, ok := ed.made[result]; ok && base == staged {
		ed.made[result] = first
		ed.kids[result] = append(slices.Clone(ed.kids[staged]), ed.kids[result]...)
	}
}

func allRemovals(ops []op) bool {
	for _, o := range ops {
		if !o.remove {
			return false
		}
	}
	return true
}

// splice returns a new tree's data: the old data with a few entries replaced, inserted or
// cut out, in one pass (which is also what the pack's delta of it says: copy, insert, copy).
// old is never changed in place.
func splice(old []byte, changes []change) []byte {
	type cut struct {
		at, end int
		name    []byte
		mode    uint32
		ent     []byte
	}
	cuts := make([]cut, 0, len(changes)+1)
	size := len(old)
	for _, c := range changes {
		var ent []byte
		if c.next.mode != 0 {
			ent = appendEntry(nil, c.next.mode, c.next.name, c.next.hash)
		}
		switch {
		case c.found && (c.next.mode == 0 || (c.next.mode == modeDir) == (c.cur.mode == modeDir)):
			cuts = append(cuts, cut{at: c.start, end: c.end, name: c.cur.name, mode: c.cur.mode, ent: ent}) // in place
		case c.found: // a file becomes a directory or back: it moves
			cuts = append(cuts, cut{at: c.start, end: c.end, name: c.cur.name, mode: c.cur.mode})
			at := insertAt(old, c.next, c.start)
			cuts = append(cuts, cut{at: at, end: at, name: c.next.name, mode: c.next.mode, ent: ent})
		default:
			at := insertAt(old, c.next, -1)
			cuts = append(cuts, cut{at: at, end: at, name: c.next.name, mode: c.next.mode, ent: ent})
		}
		size += len(ent) - (c.end - c.start)
	}
	slices.SortFunc(cuts, func(a, b cut) int {
		if a.at != b.at {
			return a.at - b.at
		}
		return compareEntries(a.name, a.mode, b.name, b.mode) // new entries at the same place, in git's order
	})
	out := make([]byte, 0, size)
	prev := 0
	for _, c := range cuts {
		out = append(out, old[prev:c.at]...)
		out = append(out, c.ent...)
		prev = max(prev, c.end, c.at)
	}
	return append(out, old[prev:]...)
}

// insertAt returns where e goes in the sorted old data, leaving out the entry at skip.
func insertAt(old []byte, e entry, skip int) int {
	for off := 0; off < len(old); {
		cur, next, err := nextEntry(old, off)
		if err != nil {
			break
		}
		if off != skip && compareEntries(cur.name, cur.mode, e.name, e.mode) > 0 {
			return off
		}
		off = next
	}
	return len(old)
}

// rebuild writes a tree from the old entries (by name) with many changes made.
func rebuild(old map[string]entry, changes []change) []byte {
	for _, c := range changes {
		if c.next.mode == 0 {
			delete(old, string(c.next.name))
		} else {
			old[string(c.next.name)] = c.next
		}
	}
	entries := make([]entry, 0, len(old))
	size := 0
	for _, e := range old {
		entries = append(entries, e)
		size += len(e.name) + 28
	}
	slices.SortFunc(entries, func(a, b entry) int { return compareEntries(a.name, a.mode, b.name, b.mode) })
	out := make([]byte, 0, size)
	for _, e := range entries {
		out = appendEntry(out, e.mode, e.name, e.hash)
	}
	return out
}
