package gitrepo

import (
	"bytes"
	"compress/zlib"
	"crypto/sha1"
	"encoding/binary"
)

// packPacker writes a pack (gitformat-pack, version 2): a header, the objects, each
// deflated with zlib's fastest level, and a SHA-1 trailer. Changed trees go as REF_DELTA
// against the version they replaced: an edit of a tree keeps all but one entry, so the delta
// is "copy the prefix, insert the new entry, copy the suffix", a few dozen bytes instead of
// a tree of 2,000 entries.
type packer struct {
	buf    bytes.Buffer
	count  uint32
	zw     *zlib.Writer
	stored *zlib.Writer // for small objects, where Huffman coding costs more than it saves
}

const packRefDelta = 7

// maxDeltaDepth bounds the delta chains a pack builds (git's own default is 50), so that
// the server never has to resolve long chains to read a tree.
const maxDeltaDepth = 50

func newPacker() *packer {
	p := &packer{}
	p.buf.Write([]byte("PACK\x00\x00\x00\x02\x00\x00\x00\x00")) // the count is set by finish
	p.zw, _ = zlib.NewWriterLevel(&p.buf, zlib.BestSpeed)       // a valid level never fails
	p.stored, _ = zlib.NewWriterLevel(&p.buf, zlib.NoCompression)
	return p
}

// add writes a whole object.
func (p *packer) add(typ byte, data []byte) {
	p.header(typ, len(data))
	p.deflate(data)
}

// addDelta writes target (of type typ) as a REF_DELTA against base, whose content is src,
// or whole when that is not smaller. It reports whether it wrote a delta.
func (p *packer) addDelta(typ byte, base hash, src, target []byte) bool {
	delta := makeDelta(src, target)
	if len(delta) < 4 || len(delta) >= len(target) { // git takes no delta under 4 bytes
		p.add(typ, target)
		return false
	}
	p.header(packRefDelta, len(delta))
	p.buf.Write(base[:])
	p.deflate(delta)
	return true
}

func (p *packer) header(typ byte, size int) {
	c := typ<<4 | byte(size&0x0f)
	size >>= 4
	for size > 0 {
		p.buf.WriteByte(c | 0x80)
		c = byte(size & 0x7f)
		size >>= 7
	}
	p.buf.WriteByte(c)
	p.count++
}

// storeBelow is the size under which objects are stored, not compressed: building the
// Huffman tables of a small object costs more CPU than the bytes it saves are worth (a
// manifest of 1 KB, a commit, a one-entry tree, a tree delta).
const storeBelow = 4096

func (p *packer) deflate(data []byte) {
	zw := p.zw
	if len(data) < storeBelow {
		zw = p.stored
	}
	zw.Reset(&p.buf)
	_, _ = zw.Write(data) // writing to a buffer cannot fail
	_ = zw.Close()
}

// finish sets the object count, appends the checksum and returns the pack.
func (p *packer) finish() []byte {
	b := p.buf.Bytes()
	binary.BigEndian.PutUint32(b[8:12], p.count)
	sum := sha1.Sum(b)
	return append(b, sum[:]...)
}

// makeDelta returns a git delta that turns src into target: the longest common prefix and
// suffix are copied from src, the middle of target is inserted.
func makeDelta(src, target []byte) []byte {
	n := min(len(src), len(target))
	pre := 0
	for pre+64 <= n && bytes.Equal(src[pre:pre+64], target[pre:pre+64]) {
		pre += 64
	}
	for pre < n && src[pre] == target[pre] {
		pre++
	}
	suf := 0
	for suf+64 <= n-pre && bytes.Equal(src[len(src)-suf-64:len(src)-suf], target[len(target)-suf-64:len(target)-suf]) {
		suf += 64
	}
	for suf < n-pre && src[len(src)-1-suf] == target[len(target)-1-suf] {
		suf++
	}
	d := make([]byte, 0, 32+len(target)-pre-suf)
	d = appendVarint(d, len(src))
	d = appendVarint(d, len(target))
	d = appendCopy(d, 0, pre)
	for mid := target[pre : len(target)-suf]; len(mid) > 0; {
		k := min(len(mid), 127)
		d = append(d, byte(k))
		d = append(d, mid[:k]...)
		mid = mid[k:]
	}
	return appendCopy(d, len(src)-suf, suf)
}

func appendVarint(b []byte, n int) []byte {
	for n >= 0x80 {
		b = append(b, byte(n)|0x80)
		n >>= 7
	}
	return append(b, byte(n))
}

// appendCopy appends copy instructions for size bytes of the source from off; one
// instruction copies at most 64 KiB.
func appendCopy(b []byte, off, size int) []byte {
	for size > 0 {
		k := min(size, 0x10000)
		op := len(b)
		b = append(b, 0x80)
		for i := range 4 {
			if v := byte(off >> (8 * i)); v != 0 {
				b[op] |= 1 << i
				b = append(b, v)
			}
		}
		if k != 0x10000 { // a size of 0 means 64 KiB
			for i := range 3 {
				if v := byte(k >> (8 * i)); v != 0 {
					b[op] |= 0x10 << i
					b = append(b, v)
				}
			}
		}
		off += k
		size -= k
	}
	return b
}

// batchPack writes the objects of a batch into its pack as the commits are made. A tree
// goes as a delta against the version it replaced when the server has that one (it was
// not made in this batch: the server has the tip's trees) or it is earlier in the pack.
//
// A tree used as such a thin base is never sent itself, even when the batch makes it again
// later (an app added and removed again brings a tree back to the tip's): the server
// would resolve it twice, once from its own copy and once from the pack, and git's
// index-pack refuses that ("REF_DELTA already resolved").
type batchPack struct {
	st    *objects
	ed    *editor
	p     *packer
	sent  map[hash]bool
	thin  map[hash]bool // the server's objects deltas in this pack are based on
	depth map[hash]int  // delta chain lengths in this pack
	blobs map[hash][]byte
}

// commit writes a commit and the objects it adds: only the changed entries of new trees
// can be new, the others were in the commit before.
func (bp *batchPack) commit(data []byte, tree hash) {
	bp.p.add(objCommit, data)
	if tree == emptyTree && !bp.sent[emptyTree] {
		bp.sent[emptyTree] = true
		bp.p.add(objTree, nil)
	}
	bp.tree(tree)
}

// minDeltaTree is the size from which a tree is sent as a delta against the one it
// replaces. A smaller one (an app's one-entry directories) is sent whole: the server would
// spend more reading its base from its own packs (and appending it to a thin pack) than
// the few bytes save; a train changes thousands of them.
const minDeltaTree = 512

func (bp *batchPack) tree(h hash) {
	base, made := bp.ed.made[h]
	if !made || bp.sent[h] {
		return
	}
	bp.sent[h] = true
	if bp.thin[h] {
		return // the server has it, and everything below it
	}
	data := bp.st.trees[h]
	_, baseMade := bp.ed.made[base]
	src, haveBase := bp.st.trees[base]
	if len(data) >= minDeltaTree && !base.IsZero() && haveBase && (!baseMade || bp.sent[base]) && bp.depth[base] < maxDeltaDepth {
		if bp.p.addDelta(objTree, base, src, data) {
			bp.depth[h] = bp.depth[base] + 1
			if !baseMade {
				bp.thin[base] = true
			}
		}
	} else {
		bp.p.add(objTree, data)
	}
	for _, k := range bp.ed.kids[h] {
		if k.dir {
			bp.tree(k.hash)
		} else if content, ok := bp.blobs[k.hash]; ok {
			bp.blob(k.hash, content)
		}
	}
}

// blob writes a blob, once; its content is not kept.
func (bp *batchPack) blob(h hash, content []byte) {
	delete(bp.blobs, h)
	if !bp.sent[h] {
		bp.sent[h] = true
		bp.p.add(objBlob, content)
	}
}
