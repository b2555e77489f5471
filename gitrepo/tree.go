package gitrepo

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
)

// Tree entry modes the writer reads and writes.
const (
	modeDir     = 0o40000
	modeRegular = 0o100644
)

// entry is one entry of a tree; name points into the tree's data.
type entry struct {
	mode uint32
	name []byte
	hash hash
}

// nextEntry reads the entry at off in a tree's data and returns the offset after it.
func nextEntry(data []byte, off int) (entry, int, error) {
	var e entry
	i := off
	for ; i < len(data) && data[i] != ' '; i++ {
		if c := data[i]; c < '0' || c > '7' || i-off > 6 {
			return e, 0, errors.New("bad tree entry mode")
		}
		e.mode = e.mode<<3 | uint32(data[i]-'0')
	}
	if i == off || i == len(data) {
		return e, 0, errors.New("bad tree entry mode")
	}
	nameAt := i + 1
	nul := bytes.IndexByte(data[nameAt:], 0)
	if nul < 0 || nameAt+nul+21 > len(data) {
		return e, 0, errors.New("truncated tree entry")
	}
	e.name = data[nameAt : nameAt+nul]
	copy(e.hash[:], data[nameAt+nul+1:])
	return e, nameAt + nul + 21, nil
}

// appendEntry writes an entry in git's tree format.
func appendEntry(b []byte, mode uint32, name []byte, h hash) []byte {
	b = strconv.AppendUint(b, uint64(mode), 8)
	b = append(b, ' ')
	b = append(b, name...)
	b = append(b, 0)
	return append(b, h[:]...)
}

// compareEntries orders entries as git does: by name, a directory as if its name ended in "/".
func compareEntries(an []byte, amode uint32, bn []byte, bmode uint32) int {
	n := min(len(an), len(bn))
	if c := bytes.Compare(an[:n], bn[:n]); c != 0 {
		return c
	}
	return int(sortByte(an, amode, n)) - int(sortByte(bn, bmode, n))
}

func sortByte(name []byte, mode uint32, n int) byte {
	if n < len(name) {
		return name[n]
	}
	if mode == modeDir {
		return '/'
	}
	return 0
}

// find returns the entry named name in a tree's data and where it is; ok is false when
// there is none.
func find(data []byte, name string) (e entry, start, end int, ok bool, err error) {
	// Only the names are compared; the entry found is then read properly. A mode is 5 or
	// 6 octal digits in every tree git writes ("40000", "100644"), so its end is not
	// searched for unless it is elsewhere.
	for off := 0; off < len(data); {
		nameAt := off + 6
		switch {
		case nameAt < len(data) && data[nameAt-1] == ' ':
		case nameAt+1 < len(data) && data[nameAt] == ' ':
			nameAt++
		default:
			sp := bytes.IndexByte(data[off:], ' ')
			if sp < 0 {
				return e, 0, 0, false, errors.New("bad tree entry mode")
			}
			nameAt = off + sp + 1
		}
		nul := bytes.IndexByte(data[nameAt:], 0)
		if nul < 0 {
			return e, 0, 0, false, errors.New("truncated tree entry")
		}
		if nul == len(name) && string(data[nameAt:nameAt+nul]) == name {
			e, next, err := nextEntry(data, off)
			return e, off, next, err == nil, err
		}
		off = nameAt + nul + 21
	}
	return entry{}, 0, 0, false, nil
}

// lookup follows a slash-separated path from a root tree; ok is false when it is not there.
func (s *objects) lookup(root hash, path string) (entry, bool, error) {
	e := entry{mode: modeDir, hash: root}
	for _, part := range strings.Split(path, "/") {
		if e.mode != modeDir {
			return entry{}, false, nil
		}
		data, err := s.tree(e.hash)
		if err != nil {
			return entry{}, false, err
		}
		var ok bool
		if e, _, _, ok, err = find(data, part); err != nil || !ok {
			return entry{}, false, err
		}
	}
	return e, true, nil
}

// subdirs returns the names of the directories in the tree at path (none if it is missing).
func (s *objects) subdirs(root hash, path string) ([]string, error) {
	e, ok, err := s.lookup(root, path)
	if err != nil || !ok || e.mode != modeDir {
		return nil, err
	}
	data, err := s.tree(e.hash)
	if err != nil {
		return nil, err
	}
	var out []string
	for off := 0; off < len(data); {
		e, next, err := nextEntry(data, off)
		if err != nil {
			return nil, err
		}
		if e.mode == modeDir {
			out = append(out, string(e.name))
		}
		off = next
	}
	return out, nil
}
