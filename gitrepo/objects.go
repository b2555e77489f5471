package gitrepo

import (
	"bytes"
	"crypto/sha1"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// hash is a git object id.
type hash = plumbing.Hash

var zeroHash hash

// Object types, numbered as in the pack format.
const (
	objCommit byte = 1
	objTree   byte = 2
	objBlob   byte = 3
	objTag    byte = 4
)

var typeNames = map[byte]string{objCommit: "commit", objTree: "tree", objBlob: "blob", objTag: "tag"}

// hashObject is the id of an object. crypto/sha1 is used rather than go-git's collision
// detecting sha1cd: the writer hashes megabytes of its own trees and files per commit, and
// sha1cd is several times slower.
func hashObject(typ byte, data []byte) hash {
	h := sha1.New()
	h.Write([]byte(typeNames[typ]))
	h.Write([]byte{' '})
	h.Write(strconv.AppendInt(nil, int64(len(data)), 10))
	h.Write([]byte{0})
	h.Write(data)
	var out hash
	h.Sum(out[:0])
	return out
}

// emptyTree is the id of the tree without entries.
var emptyTree = hashObject(objTree, nil)

// commitInfo is what the writer needs of a commit: its tree, to build on it, and its
// parents, to walk the history when it looks for its own builds.
type commitInfo struct {
	tree    hash
	parents []hash
}

// objects is the in-memory object store of the shallow clone: the trees of the tip (and of
// commits being built), and commit headers for the history walk. It holds no blobs: the
// writer never reads a file back, and blobs are most of a repository. gc keeps it bounded.
type objects struct {
	trees      map[hash][]byte
	commits    map[hash]commitInfo
	treeBytes  int           // sum of the sizes of trees
	liveBytes  int           // treeBytes after the last full collection
	young      map[hash]bool // trees added since the last collection
	youngBytes int
	gcFloor    int // a collection waits until the trees grew by at least this much
}

func newObjects() *objects {
	return &objects{trees: make(map[hash][]byte), commits: make(map[hash]commitInfo), young: make(map[hash]bool), gcFloor: 16 << 20}
}

// putTree stores a tree (data is kept, not copied) and returns its id.
func (s *objects) putTree(data []byte) hash {
	h := hashObject(objTree, data)
	s.addTree(h, data)
	return h
}

func (s *objects) addTree(h hash, data []byte) {
	if _, ok := s.trees[h]; !ok {
		s.trees[h] = data
		s.treeBytes += len(data)
		s.young[h] = true
		s.youngBytes += len(data)
	}
}

// tree returns the entries of tree h; the zero id and the empty tree have none.
func (s *objects) tree(h hash) ([]byte, error) {
	if h.IsZero() || h == emptyTree {
		return nil, nil
	}
	t, ok := s.trees[h]
	if !ok {
		return nil, fmt.Errorf("tree %s is not in the clone", h)
	}
	return t, nil
}

// addCommit parses a commit's header and keeps what the writer needs of it.
func (s *objects) addCommit(h hash, data []byte) error {
	ci, err := parseCommit(data)
	if err != nil {
		return fmt.Errorf("commit %s: %w", h, err)
	}
	s.commits[h] = ci
	return nil
}

// gc drops trees that no root commit reaches, and commits more than keep generations
// behind the roots. Most trees die young: a batch replaces the trees on the paths it
// changes again and again. So gc collects the trees made since its last run when they
// reach gcFloor, marking only through them (an older tree cannot contain a newer one),
// and all trees only when they grew to twice what was live after the last full run.
func (s *objects) gc(roots []hash, keep int) {
	switch {
	case s.treeBytes >= 2*s.liveBytes+2*s.gcFloor:
		s.collect(roots, keep)
	case s.youngBytes >= s.gcFloor:
		s.collectYoung(roots)
	}
}

// collectYoung drops the young trees the roots do not reach; the others grow old.
func (s *objects) collectYoung(roots []hash) {
	live := make(map[hash]bool, len(s.young)/4)
	var mark func(h hash)
	mark = func(h hash) {
		if !s.young[h] || live[h] {
			return
		}
		live[h] = true
		s.eachSubtree(s.trees[h], mark)
	}
	for _, r := range roots {
		if c, ok := s.commits[r]; ok {
			mark(c.tree)
		}
	}
	for h := range s.young {
		if !live[h] {
			s.treeBytes -= len(s.trees[h])
			delete(s.trees, h)
		}
	}
	s.young, s.youngBytes = make(map[hash]bool), 0
}

// eachSubtree calls f with every directory entry of a tree.
func (s *objects) eachSubtree(data []byte, f func(hash)) {
	for off := 0; off < len(data); {
		e, next, err := nextEntry(data, off)
		if err != nil {
			return
		}
		if e.mode == modeDir {
			f(e.hash)
		}
		off = next
	}
}

// collect drops every tree the roots do not reach, and the commits more than keep
// generations behind them.
func (s *objects) collect(roots []hash, keep int) {
	live := make(map[hash]bool, len(s.trees))
	var mark func(h hash)
	mark = func(h hash) {
		if live[h] {
			return
		}
		data, ok := s.trees[h]
		if !ok {
			return
		}
		live[h] = true
		s.eachSubtree(data, mark)
	}
	for _, r := range roots {
		if c, ok := s.commits[r]; ok {
			mark(c.tree)
		}
	}
	for h, data := range s.trees {
		if !live[h] {
			delete(s.trees, h)
			s.treeBytes -= len(data)
		}
	}
	s.liveBytes = s.treeBytes
	s.young, s.youngBytes = make(map[hash]bool), 0

	kept := make(map[hash]bool, keep+len(roots))
	queue := append([]hash(nil), roots...)
	for len(queue) > 0 && len(kept) < keep+len(roots) {
		h := queue[0]
		queue = queue[1:]
		if kept[h] {
			continue
		}
		c, ok := s.commits[h]
		if !ok {
			continue
		}
		kept[h] = true
		queue = append(queue, c.parents...)
	}
	for h := range s.commits {
		if !kept[h] {
			delete(s.commits, h)
		}
	}
}

// boundary returns the commits whose parents are not all in the store: what the server
// must take as this clone's shallow commits.
func (s *objects) boundary() []hash {
	var out []hash
	for h, c := range s.commits {
		for _, p := range c.parents {
			if _, ok := s.commits[p]; !ok {
				out = append(out, h)
				break
			}
		}
	}
	return out
}

// parseCommit reads the tree and parent lines of a commit.
func parseCommit(data []byte) (commitInfo, error) {
	var ci commitInfo
	for len(data) > 0 {
		line, rest, _ := bytes.Cut(data, []byte{'\n'})
		data = rest
		if len(line) == 0 {
			break // the message follows
		}
		key, val, _ := bytes.Cut(line, []byte{' '})
		switch string(key) {
		case "tree", "parent":
			h, ok := parseHex(val)
			if !ok {
				return ci, fmt.Errorf("bad %s line %q", key, line)
			}
			if string(key) == "tree" {
				ci.tree = h
			} else {
				ci.parents = append(ci.parents, h)
			}
		}
	}
	if ci.tree.IsZero() {
		return ci, errors.New("no tree")
	}
	return ci, nil
}

func parseHex(b []byte) (hash, bool) {
	if len(b) != 40 {
		return zeroHash, false
	}
	h := plumbing.NewHash(string(b))
	return h, h.String() == string(b)
}

// signature is an author or committer.
type signature struct {
	name, email string
	when        time.Time
}

// encodeCommit writes a commit in git's format. Names and emails are cleaned of what git
// does not allow in them (angle brackets, newlines), so that no actor's name can corrupt
// the object; the message ends with a newline, as git writes it.
func encodeCommit(tree hash, parent hash, author, committer signature, message string) []byte {
	var b bytes.Buffer
	b.Grow(256 + len(message))
	b.WriteString("tree " + tree.String() + "\n")
	if !parent.IsZero() {
		b.WriteString("parent " + parent.String() + "\n")
	}
	writeSignature(&b, "author", author)
	writeSignature(&b, "committer", committer)
	b.WriteByte('\n')
	message = strings.ReplaceAll(message, "\x00", "")
	b.WriteString(message)
	if !strings.HasSuffix(message, "\n") {
		b.WriteByte('\n')
	}
	return b.Bytes()
}

var signatureCrud = strings.NewReplacer("<", "", ">", "", "\n", " ", "\x00", "")

func writeSignature(b *bytes.Buffer, key string, s signature) {
	name := strings.TrimSpace(signatureCrud.Replace(s.name))
	email := strings.TrimSpace(signatureCrud.Replace(s.email))
	b.WriteString(key + " " + name + " <" + email + "> ")
	b.WriteString(strconv.FormatInt(s.when.Unix(), 10))
	b.WriteString(s.when.Format(" -0700\n"))
}
