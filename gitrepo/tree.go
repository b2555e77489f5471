package gitrepo

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"
)

// emptyTree is the hash of the tree without entries.
var emptyTree = plumbing.ComputeHash(plumbing.TreeObject, nil)

// op is one file operation on a tree, with the path split into its components.
type op struct {
	parts   []string
	content []byte
	blob    plumbing.Hash // hash of content, unless remove
	remove  bool
}

// editor builds new trees from old ones, reading only the trees on the edited paths. New
// trees go to both stores (the clone, to edit them again, and out, to push them); new
// blobs only to out, because the writer never reads a blob back.
type editor struct {
	st  *memory.Storage
	out *memory.Storage
	new []plumbing.Hash // objects added to out, in order
}

// ops turns files into operations, storing their contents as blobs.
func (ed *editor) ops(files []File) ([]op, error) {
	out := make([]op, 0, len(files))
	for _, f := range files {
		parts := strings.Split(f.Path, "/")
		for _, p := range parts {
			if p == "" || p == "." || p == ".." || strings.EqualFold(p, ".git") || strings.ContainsAny(p, "\x00\\") {
				return nil, fmt.Errorf("unsafe path %q", f.Path)
			}
		}
		o := op{parts: parts, remove: f.Remove}
		if !f.Remove {
			o.content, o.blob = f.Content, plumbing.ComputeHash(plumbing.BlobObject, f.Content)
		}
		out = append(out, o)
	}
	return out, nil
}

// apply applies ops to the tree root (zero for none) and returns the new root tree.
func (ed *editor) apply(root plumbing.Hash, ops []op) (plumbing.Hash, error) {
	h, err := ed.edit(root, ops, 0)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if h.IsZero() {
		return ed.put(plumbing.TreeObject, nil, true), nil
	}
	return h, nil
}

// edit applies ops, whose paths all continue below depth, to tree h. It returns the zero
// hash when the result has no entries (git stores no empty directories).
func (ed *editor) edit(h plumbing.Hash, ops []op, depth int) (plumbing.Hash, error) {
	entries, err := ed.readTree(h)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	changed := false
	done := make(map[string]bool)
	for i, first := range ops {
		name := first.parts[depth]
		if done[name] {
			continue
		}
		done[name] = true
		idx := slices.IndexFunc(entries, func(e object.TreeEntry) bool { return e.Name == name })
		cur := object.TreeEntry{Name: name} // Mode 0: no entry
		if idx >= 0 {
			cur = entries[idx]
		}
		next := cur
		var below []op // operations inside the entry, after the last one on the entry itself
		var content []byte
		for _, o := range ops[i:] {
			if o.parts[depth] != name {
				continue
			}
			switch {
			case len(o.parts) > depth+1:
				below = append(below, o)
			case o.remove:
				next.Mode, next.Hash, below = 0, plumbing.ZeroHash, nil
			default:
				next.Mode, next.Hash, below, content = filemode.Regular, o.blob, nil, o.content
			}
		}
		if len(below) > 0 {
			base := plumbing.ZeroHash
			if next.Mode == filemode.Dir {
				base = next.Hash
			}
			sub, err := ed.edit(base, below, depth+1)
			if err != nil {
				return plumbing.ZeroHash, err
			}
			next.Mode, next.Hash = filemode.Dir, sub
			if sub.IsZero() {
				next.Mode = 0
			}
		}
		if next.Mode == cur.Mode && next.Hash == cur.Hash {
			continue
		}
		if next.Mode == filemode.Regular {
			ed.put(plumbing.BlobObject, content, false) // a changed file: the remote lacks its blob
		}
		changed = true
		switch {
		case next.Mode == 0:
			entries = slices.Delete(entries, idx, idx+1)
		case idx >= 0:
			entries[idx] = next
		default:
			entries = append(entries, next)
		}
	}
	if !changed {
		return h, nil
	}
	if len(entries) == 0 {
		return plumbing.ZeroHash, nil
	}
	slices.SortFunc(entries, compareEntries)
	return ed.put(plumbing.TreeObject, encodeTree(entries), true), nil
}

// readTree returns a copy of the entries of tree h (none for the zero hash).
func (ed *editor) readTree(h plumbing.Hash) ([]object.TreeEntry, error) {
	if h.IsZero() || h == emptyTree {
		return nil, nil
	}
	obj, err := ed.st.EncodedObject(plumbing.TreeObject, h)
	if err != nil {
		return nil, fmt.Errorf("read tree %s: %w", h, err)
	}
	var t object.Tree
	if err := t.Decode(obj); err != nil {
		return nil, fmt.Errorf("decode tree %s: %w", h, err)
	}
	return t.Entries, nil
}

// put stores an object in out (and, if keep, in the clone) and returns its hash.
func (ed *editor) put(t plumbing.ObjectType, content []byte, keep bool) plumbing.Hash {
	obj := &plumbing.MemoryObject{}
	obj.SetType(t)
	_, _ = obj.Write(content) // writing to memory cannot fail
	h := obj.Hash()
	if _, ok := ed.out.Objects[h]; !ok {
		_, _ = ed.out.SetEncodedObject(obj)
		ed.new = append(ed.new, h)
	}
	if keep {
		_, _ = ed.st.SetEncodedObject(obj)
	}
	return h
}

// encodeTree writes entries in git's tree format; they must be sorted.
func encodeTree(entries []object.TreeEntry) []byte {
	var b bytes.Buffer
	b.Grow(len(entries) * 48)
	var mode [8]byte
	for _, e := range entries {
		b.Write(strconv.AppendUint(mode[:0], uint64(e.Mode), 8))
		b.WriteByte(' ')
		b.WriteString(e.Name)
		b.WriteByte(0)
		b.Write(e.Hash[:])
	}
	return b.Bytes()
}

// compareEntries orders tree entries like git: by name, a directory as if its name ended in "/".
func compareEntries(a, b object.TreeEntry) int {
	an, bn := a.Name, b.Name
	n := min(len(an), len(bn))
	if c := strings.Compare(an[:n], bn[:n]); c != 0 {
		return c
	}
	return int(entryEnd(a, n)) - int(entryEnd(b, n))
}

// entryEnd is the byte of e's sort name at position n (its name, plus "/" for a directory).
func entryEnd(e object.TreeEntry, n int) byte {
	if n < len(e.Name) {
		return e.Name[n]
	}
	if e.Mode == filemode.Dir {
		return '/'
	}
	return 0
}

// readAll returns the content of an object.
func readAll(obj plumbing.EncodedObject) ([]byte, error) {
	r, err := obj.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}
