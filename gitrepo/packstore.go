package gitrepo

import (
	"bytes"
	"compress/zlib"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/storage/memory"
)

// packStorage is the in-memory storage of the shallow clone. go-git hands it the fetched
// pack as it is (it implements storer.PackfileWriter), and it keeps only the commits,
// trees and tags: the writer never reads a blob, and the blobs are most of a repository.
// This keeps the memory of a clone close to the size of its trees.
type packStorage struct {
	*memory.Storage
}

func newPackStorage() *packStorage { return &packStorage{Storage: memory.NewStorage()} }

// PackfileWriter receives a pack; it is indexed when the writer is closed.
func (s *packStorage) PackfileWriter() (io.WriteCloser, error) {
	return &packWriter{s: s}, nil
}

type packWriter struct {
	s   *packStorage
	buf bytes.Buffer
}

func (w *packWriter) Write(p []byte) (int, error) { return w.buf.Write(p) }

func (w *packWriter) Close() error {
	if w.buf.Len() == 0 {
		return nil
	}
	return w.s.index(w.buf.Bytes())
}

// Pack object types (gitformat-pack).
const (
	packCommit   = 1
	packTree     = 2
	packBlob     = 3
	packTag      = 4
	packOfsDelta = 6
	packRefDelta = 7
)

var packTypes = map[byte]plumbing.ObjectType{
	packCommit: plumbing.CommitObject, packTree: plumbing.TreeObject,
	packBlob: plumbing.BlobObject, packTag: plumbing.TagObject,
}

// packed is an object of the pack: its type, and its hash unless it is a blob.
type packed struct {
	typ  plumbing.ObjectType
	hash plumbing.Hash
}

type refDelta struct {
	base  plumbing.Hash
	delta []byte
}

// index reads a pack and stores its commits, trees and tags, resolving deltas.
func (s *packStorage) index(pack []byte) error {
	if len(pack) < 32 || string(pack[:4]) != "PACK" {
		return errors.New("index pack: not a pack")
	}
	if v := binary.BigEndian.Uint32(pack[4:8]); v != 2 && v != 3 {
		return fmt.Errorf("index pack: version %d", v)
	}
	body := pack[:len(pack)-20]
	if sum := sha1.Sum(body); !bytes.Equal(sum[:], pack[len(pack)-20:]) {
		return errors.New("index pack: checksum mismatch")
	}
	count := binary.BigEndian.Uint32(pack[8:12])
	objects := make(map[int]packed, 1024)
	var pending []refDelta
	r := bytes.NewReader(body)
	_, _ = r.Seek(12, io.SeekStart) // offsets count from the start of the pack
	var zr io.ReadCloser
	for i := uint32(0); i < count; i++ {
		start := len(body) - r.Len()
		kind, size, err := readObjectHeader(r)
		if err != nil {
			return fmt.Errorf("index pack: object %d: %w", i, err)
		}
		var base packed
		var known bool
		switch kind {
		case packOfsDelta:
			off, err := readOffset(r)
			if err != nil || off <= 0 || off > int64(start) {
				return fmt.Errorf("index pack: object %d: bad delta offset", i)
			}
			if base, known = objects[start-int(off)]; !known {
				return fmt.Errorf("index pack: object %d: no object at its delta base", i)
			}
		case packRefDelta:
			if _, err := io.ReadFull(r, base.hash[:]); err != nil {
				return fmt.Errorf("index pack: object %d: %w", i, err)
			}
			base.typ, known = s.typeOf(base.hash)
		default:
			if _, ok := packTypes[kind]; !ok {
				return fmt.Errorf("index pack: object %d: unknown type %d", i, kind)
			}
		}
		if zr == nil {
			zr, err = zlib.NewReader(r)
		} else {
			err = zr.(zlib.Resetter).Reset(r, nil)
		}
		if err != nil {
			return fmt.Errorf("index pack: object %d: %w", i, err)
		}
		isDelta := kind == packOfsDelta || kind == packRefDelta
		wanted := (!isDelta && kind != packBlob) || (known && base.typ != plumbing.BlobObject) ||
			(kind == packRefDelta && !known)
		if !wanted {
			if _, err := io.Copy(io.Discard, zr); err != nil {
				return fmt.Errorf("index pack: object %d: %w", i, err)
			}
			objects[start] = packed{typ: plumbing.BlobObject}
			continue
		}
		data := make([]byte, 0, min(size, 1<<24))
		buf := bytes.NewBuffer(data)
		if _, err := io.Copy(buf, zr); err != nil {
			return fmt.Errorf("index pack: object %d: %w", i, err)
		}
		switch {
		case kind == packRefDelta && !known:
			pending = append(pending, refDelta{base: base.hash, delta: buf.Bytes()})
			continue // its type is unknown until its base shows up
		case isDelta:
			p, err := s.patch(base, buf.Bytes())
			if err != nil {
				return fmt.Errorf("index pack: object %d: %w", i, err)
			}
			objects[start] = p
		default:
			objects[start] = s.store(packTypes[kind], buf.Bytes())
		}
	}
	if r.Len() != 0 {
		return errors.New("index pack: trailing data")
	}
	// Deltas whose base came later in the pack; what is left has a blob as its base.
	for progress := true; progress && len(pending) > 0; {
		progress = false
		rest := pending[:0]
		for _, d := range pending {
			t, ok := s.typeOf(d.base)
			if !ok {
				rest = append(rest, d)
				continue
			}
			if _, err := s.patch(packed{typ: t, hash: d.base}, d.delta); err != nil {
				return fmt.Errorf("index pack: delta on %s: %w", d.base, err)
			}
			progress = true
		}
		pending = rest
	}
	return nil
}

func (s *packStorage) store(t plumbing.ObjectType, content []byte) packed {
	obj := &plumbing.MemoryObject{}
	obj.SetType(t)
	_, _ = obj.Write(content) // writing to memory cannot fail
	h, _ := s.SetEncodedObject(obj)
	return packed{typ: t, hash: h}
}

// patch applies a delta to a stored base and stores the result.
func (s *packStorage) patch(base packed, delta []byte) (packed, error) {
	obj, ok := s.Objects[base.hash]
	if !ok {
		return packed{}, fmt.Errorf("delta base %s not found", base.hash)
	}
	src, err := readAll(obj)
	if err != nil {
		return packed{}, err
	}
	content, err := packfile.PatchDelta(src, delta)
	if err != nil {
		return packed{}, err
	}
	return s.store(base.typ, content), nil
}

func (s *packStorage) typeOf(h plumbing.Hash) (plumbing.ObjectType, bool) {
	obj, ok := s.Objects[h]
	if !ok {
		return plumbing.InvalidObject, false
	}
	return obj.Type(), true
}

// readObjectHeader reads an object's type and inflated size.
func readObjectHeader(r io.ByteReader) (byte, int, error) {
	c, err := r.ReadByte()
	if err != nil {
		return 0, 0, err
	}
	kind := (c >> 4) & 7
	size := int(c & 0x0f)
	for shift := 4; c&0x80 != 0; shift += 7 {
		if c, err = r.ReadByte(); err != nil {
			return 0, 0, err
		}
		if shift > 56 {
			return 0, 0, errors.New("object size too large")
		}
		size |= int(c&0x7f) << shift
	}
	return kind, size, nil
}

// readOffset reads the negative offset of an ofs-delta's base.
func readOffset(r io.ByteReader) (int64, error) {
	c, err := r.ReadByte()
	if err != nil {
		return 0, err
	}
	off := int64(c & 0x7f)
	for c&0x80 != 0 {
		if c, err = r.ReadByte(); err != nil {
			return 0, err
		}
		if off > 1<<55 {
			return 0, errors.New("delta offset too large")
		}
		off = ((off + 1) << 7) | int64(c&0x7f)
	}
	return off, nil
}
