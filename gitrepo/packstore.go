package gitrepo

import (
	"bytes"
	"compress/zlib"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Pack object types that are deltas.
const packOfsDelta = 6

// packed is an object of a pack being indexed: its type, and its content unless it is a
// blob (blobs are skipped, the writer never reads one).
type packed struct {
	typ  byte
	data []byte
}

type pendingDelta struct {
	base  hash
	delta []byte
}

// index reads a fetched pack and stores its commits and trees, resolving deltas against
// objects of the pack and against the trees the store holds (a thin pack). A delta whose
// base is unknown has a blob as its base (the server sends deltas only against what this
// clone has, and it has every tree of its tip), so it is skipped.
func (s *objects) index(pack []byte) error {
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
	byOffset := make(map[int]packed, 1024)
	byHash := make(map[hash]packed)
	var pending []pendingDelta
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
		var baseHash hash
		known := false
		switch kind {
		case packOfsDelta:
			off, err := readOffset(r)
			if err != nil || off <= 0 || off > int64(start) {
				return fmt.Errorf("index pack: object %d: bad delta offset", i)
			}
			if base, known = byOffset[start-int(off)]; !known {
				return fmt.Errorf("index pack: object %d: no object at its delta base", i)
			}
		case packRefDelta:
			if _, err := io.ReadFull(r, baseHash[:]); err != nil {
				return fmt.Errorf("index pack: object %d: %w", i, err)
			}
			base, known = s.packedBase(byHash, baseHash)
		case objCommit, objTree, objBlob, objTag:
		default:
			return fmt.Errorf("index pack: object %d: unknown type %d", i, kind)
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
		skip := kind == objBlob || (isDelta && known && base.typ == objBlob)
		if skip {
			if _, err := io.Copy(io.Discard, zr); err != nil {
				return fmt.Errorf("index pack: object %d: %w", i, err)
			}
			byOffset[start] = packed{typ: objBlob}
			continue
		}
		data := bytes.NewBuffer(make([]byte, 0, min(size, 1<<24)))
		if _, err := io.Copy(data, zr); err != nil {
			return fmt.Errorf("index pack: object %d: %w", i, err)
		}
		obj := packed{typ: kind, data: data.Bytes()}
		switch {
		case kind == packRefDelta && !known:
			pending = append(pending, pendingDelta{base: baseHash, delta: obj.data})
			continue // its type is unknown until its base shows up
		case isDelta:
			content, err := applyDelta(base.data, obj.data)
			if err != nil {
				return fmt.Errorf("index pack: object %d: %w", i, err)
			}
			obj = packed{typ: base.typ, data: content}
		}
		byOffset[start] = obj
		byHash[s.keep(obj)] = obj
	}
	if r.Len() != 0 {
		return errors.New("index pack: trailing data")
	}
	// Deltas whose base came later in the pack; what is left has a blob as its base.
	for progress := true; progress && len(pending) > 0; {
		progress = false
		rest := pending[:0]
		for _, d := range pending {
			base, ok := s.packedBase(byHash, d.base)
			if !ok {
				rest = append(rest, d)
				continue
			}
			content, err := applyDelta(base.data, d.delta)
			if err != nil {
				return fmt.Errorf("index pack: delta on %s: %w", d.base, err)
			}
			obj := packed{typ: base.typ, data: content}
			byHash[s.keep(obj)] = obj
			progress = true
		}
		pending = rest
	}
	return nil
}

// packedBase finds a delta base among the objects of the pack and the stored trees.
func (s *objects) packedBase(byHash map[hash]packed, h hash) (packed, bool) {
	if p, ok := byHash[h]; ok {
		return p, true
	}
	if t, ok := s.trees[h]; ok {
		return packed{typ: objTree, data: t}, true
	}
	return packed{}, false
}

// keep stores a commit or tree of a pack and returns its id.
func (s *objects) keep(p packed) hash {
	h := hashObject(p.typ, p.data)
	switch p.typ {
	case objTree:
		s.addTree(h, p.data)
	case objCommit:
		_ = s.addCommit(h, p.data) // a commit the writer cannot read is one it never builds on
	}
	return h
}

// applyDelta applies a git delta to src.
func applyDelta(src, delta []byte) ([]byte, error) {
	srcSize, delta, err := deltaVarint(delta)
	if err != nil || srcSize != len(src) {
		return nil, errors.New("delta: source size does not match")
	}
	size, delta, err := deltaVarint(delta)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, size)
	for len(delta) > 0 {
		c := delta[0]
		delta = delta[1:]
		switch {
		case c&0x80 != 0:
			var off, n int
			for i := range 4 {
				if c&(1<<i) != 0 {
					if len(delta) == 0 {
						return nil, errors.New("delta: truncated copy")
					}
					off |= int(delta[0]) << (8 * i)
					delta = delta[1:]
				}
			}
			for i := range 3 {
				if c&(0x10<<i) != 0 {
					if len(delta) == 0 {
						return nil, errors.New("delta: truncated copy")
					}
					n |= int(delta[0]) << (8 * i)
					delta = delta[1:]
				}
			}
			if n == 0 {
				n = 0x10000
			}
			if off+n > len(src) || off+n < off {
				return nil, errors.New("delta: copy out of range")
			}
			out = append(out, src[off:off+n]...)
		case c != 0:
			if int(c) > len(delta) {
				return nil, errors.New("delta: truncated insert")
			}
			out = append(out, delta[:c]...)
			delta = delta[c:]
		default:
			return nil, errors.New("delta: reserved instruction")
		}
	}
	if len(out) != size {
		return nil, errors.New("delta: result size does not match")
	}
	return out, nil
}

func deltaVarint(b []byte) (int, []byte, error) {
	n, shift := 0, 0
	for i, c := range b {
		if shift > 56 {
			break
		}
		n |= int(c&0x7f) << shift
		shift += 7
		if c&0x80 == 0 {
			return n, b[i+1:], nil
		}
	}
	return 0, nil, errors.New("delta: bad size")
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
