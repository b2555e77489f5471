package gitrepo

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"

	"kuberpult/deploy"
)

// TestStoreStaysBounded builds many commits on one writer: the trees it holds stay within
// twice what the tip needs, and the commit headers within the history it walks.
func TestStoreStaysBounded(t *testing.T) {
	g := genSpec{envs: []deploy.Env{"dev", "staging", "prod"}, apps: 200, history: 2}
	bare := filepath.Join(t.TempDir(), "env.git")
	if err := g.generate(bare); err != nil {
		t.Fatal(err)
	}
	w := openWriter(t, bare)
	ob := newFakeOutbox()
	ob.state = g.state()
	ob.add(deployChange("dev", genApp(0), 1000, genManifest("dev", genApp(0), 1000)))
	flush(t, w, ob)
	w.st.gcFloor = 0
	live := w.st.treeBytes
	most := 0
	for batch := range 60 {
		for i := range 10 {
			n := batch*10 + i
			env := g.envs[n%3]
			rc := deployChange(env, genApp(n*7%200), deploy.Version(2000+n), genManifest(env, genApp(n*7%200), int64(2000+n)))
			if n%50 == 0 { // now and then a new app: the Argo CD files change too
				app := deploy.App(fmt.Sprintf("new-%03d", n))
				rc.Manifests = append(rc.Manifests, deploy.ManifestChange{Env: env, App: app, Version: 1, Manifest: genManifest(env, app, 1)})
			}
			ob.add(rc)
		}
		flush(t, w, ob)
		most = max(most, w.st.treeBytes)
	}
	if got := run(t, bare, "rev-list", "--count", "main"); got != "603" {
		t.Fatalf("%s commits", got)
	}
	t.Logf("trees of the tip: %d bytes; held at most %d bytes over 600 commits; %d commit headers", live, most, len(w.st.commits))
	if most > 3*live {
		t.Errorf("the store grew to %d bytes of trees; the tip needs about %d", most, live)
	}
	if len(w.st.commits) > maxHistory+11 {
		t.Errorf("%d commit headers kept", len(w.st.commits))
	}
	// What is left is what the tip needs: every one of its trees.
	want := len(tipTrees(t, bare))
	w.st.collect([]hash{w.tip}, 0)
	if got := len(w.st.trees); got != want {
		t.Errorf("%d trees after a collection, the tip has %d", got, want)
	}
	fsck(t, bare)
}

// TestCloneOfDeltifiedPack fetches a repository whose pack stores most trees as deltas and
// checks that the writer holds every tree of the tip, and builds on it.
func TestCloneOfDeltifiedPack(t *testing.T) {
	bare := newBare(t)
	ob := newFakeOutbox()
	var apps []deploy.App
	for i := range 40 {
		apps = append(apps, deploy.App(fmt.Sprintf("app-%02d", i)))
	}
	for _, env := range []deploy.Env{"development", "staging", "production"} {
		for j, app := range apps {
			ob.add(deployChange(env, app, deploy.Version(j+1), manifest(app, j)))
		}
	}
	flush(t, openWriter(t, bare), ob)
	run(t, bare, "repack", "-adf", "--quiet", "--window=250", "--depth=50")
	if stats := run(t, bare, "verify-pack", "-v", packIndex(t, bare)); !strings.Contains(stats, "chain length") {
		t.Fatalf("the pack has no deltas:\n%s", stats)
	}

	w := openWriter(t, bare) // a fresh shallow clone of the repacked repository
	ob.add(deployChange("staging", "app-00", 100, "v: new\n"))
	flush(t, w, ob)
	want := tipTrees(t, bare)
	w.st.collect([]hash{w.tip}, 0)
	if got := len(w.st.trees); got != len(want) {
		t.Errorf("the clone holds %d trees, the tip has %d", got, len(want))
	}
	for h := range want {
		if _, ok := w.st.trees[h]; !ok {
			t.Errorf("tree %s is missing", h)
		}
	}
	if got := run(t, bare, "show", "main:"+ManifestPath("staging", "app-39")); !strings.Contains(got, "version: 39") {
		t.Errorf("an untouched manifest changed: %q", got)
	}
	fsck(t, bare)
}

// tipTrees returns the distinct trees of main's tip (identical directories share one).
func tipTrees(t *testing.T, bare string) map[hash]bool {
	t.Helper()
	root, _ := parseHex([]byte(run(t, bare, "rev-parse", "main^{tree}")))
	out := map[hash]bool{root: true}
	for _, l := range strings.Split(run(t, bare, "ls-tree", "-r", "-t", "main"), "\n") {
		if f := strings.Fields(l); len(f) == 4 && f[1] == "tree" {
			h, _ := parseHex([]byte(f[2]))
			out[h] = true
		}
	}
	return out
}

func packIndex(t *testing.T, bare string) string {
	t.Helper()
	idx, err := filepath.Glob(filepath.Join(bare, "objects", "pack", "*.idx"))
	if err != nil || len(idx) != 1 {
		t.Fatalf("want one pack index, found %v (%v)", idx, err)
	}
	return idx[0]
}

func TestIndexRejectsBadPacks(t *testing.T) {
	tests := []struct {
		name string
		pack []byte
	}{
		{"not a pack", []byte(strings.Repeat("x", 40))},
		{"bad checksum", append([]byte("PACK\x00\x00\x00\x02\x00\x00\x00\x00"), make([]byte, 20)...)},
		{"too short", []byte("PACK")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := newObjects().index(tt.pack); err == nil {
				t.Error("index accepted a bad pack")
			}
		})
	}
}

// TestIndexResolvesTreeDeltas packs similar trees as offset and as reference deltas (with
// go-git's encoder), with a blob among them, and checks that indexing keeps exactly the
// trees and the commit.
func TestIndexResolvesTreeDeltas(t *testing.T) {
	for _, refDeltas := range []bool{false, true} {
		t.Run(fmt.Sprintf("ref deltas %v", refDeltas), func(t *testing.T) {
			src := memory.NewStorage()
			put := func(typ plumbing.ObjectType, data []byte) plumbing.Hash {
				obj := &plumbing.MemoryObject{}
				obj.SetType(typ)
				_, _ = obj.Write(data)
				h, _ := src.SetEncodedObject(obj)
				return h
			}
			blob := put(plumbing.BlobObject, []byte(strings.Repeat("manifest\n", 100)))
			var hashes []plumbing.Hash
			var prev plumbing.Hash
			for i := range 20 {
				var data []byte
				for j := range 200 {
					h := blob
					if j == i {
						h = hashObject(objBlob, []byte{byte(i)})
					}
					data = appendEntry(data, modeRegular, []byte(fmt.Sprintf("app-%03d", j)), h)
				}
				prev = put(plumbing.TreeObject, data)
				hashes = append(hashes, prev)
			}
			obj := src.NewEncodedObject()
			if err := (&object.Commit{Message: "m", TreeHash: prev}).Encode(obj); err != nil {
				t.Fatal(err)
			}
			commit, _ := src.SetEncodedObject(obj)
			hashes = append(hashes, commit, blob)

			var pack bytes.Buffer
			if _, err := packfile.NewEncoder(&pack, src, refDeltas).Encode(hashes, 10); err != nil {
				t.Fatal(err)
			}
			dst := newObjects()
			if err := dst.index(pack.Bytes()); err != nil {
				t.Fatal(err)
			}
			if len(dst.trees) != 20 || len(dst.commits) != 1 {
				t.Errorf("kept %d trees, %d commits; want 20, 1", len(dst.trees), len(dst.commits))
			}
			for _, h := range hashes[:20] {
				if _, ok := dst.trees[h]; !ok {
					t.Errorf("tree %s is missing", h)
				}
			}
			if c := dst.commits[commit]; c.tree != prev {
				t.Errorf("commit %s has tree %s, want %s", commit, c.tree, prev)
			}
		})
	}
}

// TestTreeOrderIsGits edits trees with names whose order depends on being a directory
// (a directory sorts as if its name ended in "/"), a few at a time and many at once,
// starting empty and starting from a tree that has some of them, and compares every
// result with what git mktree makes of the same entries.
func TestTreeOrderIsGits(t *testing.T) {
	bare := newBare(t)
	blob := hashObject(objBlob, []byte("x"))
	names := []string{"a/x", "a-b", "a.b", "a0", "ab/x", "a_/x", "b", "a/y", "foo.bar", "foo/x", "foo-bar/x", "foo-bar.txt", "f/x", "f-g"}
	ops := func(paths ...string) []op {
		var out []op
		for _, p := range paths {
			out = append(out, op{parts: strings.Split(p, "/"), blob: blob})
		}
		return out
	}
	st := newObjects()
	ed := newEditor(st)
	few, err := ed.apply(emptyTree, ops("a-b", "foo.bar", "b"))
	if err != nil {
		t.Fatal(err)
	}
	many, err := ed.apply(emptyTree, ops(names...))
	if err != nil {
		t.Fatal(err)
	}
	remove := func(p string) op { return op{parts: strings.Split(p, "/"), remove: true} }
	cases := map[string]struct {
		root hash
		ops  []op
	}{
		"many at once into an empty tree": {emptyTree, ops(names...)},
		"a few at a time":                 {few, ops("foo/x", "foo-bar.txt")},
		"a few more":                      {few, ops("f/x", "f-g", "a/x", "a0")},
		"a file becomes a directory":      {few, append([]op{remove("b"), remove("a-b")}, ops("b/x")...)},
		"a directory becomes a file":      {many, append([]op{remove("foo"), remove("a")}, ops("foo", "a")...)},
	}
	for name, c := range cases {
		root, err := ed.apply(c.root, c.ops)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got, want := root.String(), mktree(t, bare, st, root); got != want {
			t.Errorf("%s: we made %s, git mktree makes %s", name, got, want)
		}
	}
}

// mktree writes tree h and its subtrees with git mktree and returns the id git gives it.
func mktree(t *testing.T, bare string, st *objects, h hash) string {
	t.Helper()
	var listing strings.Builder
	data := st.trees[h]
	for off := 0; off < len(data); {
		e, next, err := nextEntry(data, off)
		if err != nil {
			t.Fatal(err)
		}
		kind, id := "blob", e.hash.String()
		if e.mode == modeDir {
			kind, id = "tree", mktree(t, bare, st, e.hash)
		}
		fmt.Fprintf(&listing, "%06o %s %s\t%s\n", e.mode, kind, id, e.name)
		off = next
	}
	cmd := exec.Command("git", "-C", bare, "mktree", "--missing")
	cmd.Stdin = strings.NewReader(listing.String())
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// TestDeltaRoundTrip checks makeDelta against applyDelta, and against git itself, for
// edits like the writer's (one entry in, out or replaced) and for sources beyond 64 KiB.
func TestDeltaRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	big := make([]byte, 200_000)
	for i := range big {
		big[i] = byte(rng.IntN(256))
	}
	cases := []struct {
		name     string
		src, dst []byte
	}{
		{"insert", []byte("aaaaccc"), []byte("aaaabbbccc")},
		{"delete", []byte("dddddeeeeefffff"), []byte("dddddfffff")},
		{"replace", []byte("gggghhhiii"), []byte("ggggXXXiii")},
		{"from empty", nil, []byte("new")},
		{"to empty", []byte("old"), nil},
		{"same", []byte("same"), []byte("same")},
		{"big", big, append(append(append([]byte(nil), big[:150_000]...), bytes.Repeat([]byte("n"), 300)...), big[150_010:]...)},
	}
	bare := newBare(t)
	p := newPacker()
	want := map[hash][]byte{}
	for _, c := range cases {
		name := c.name
		c := [2][]byte{c.src, c.dst}
		got, err := applyDelta(c[0], makeDelta(c[0], c[1]))
		if err != nil || !bytes.Equal(got, c[1]) {
			t.Errorf("%s: the delta gives %d bytes (%v), want %d", name, len(got), err, len(c[1]))
		}
		// The source as a blob in the repository, the target as a thin delta against it.
		file := filepath.Join(t.TempDir(), "src")
		if err := os.WriteFile(file, c[0], 0o644); err != nil {
			t.Fatal(err)
		}
		base := hashObject(objBlob, c[0])
		if got := run(t, bare, "hash-object", "-w", file); got != base.String() {
			t.Fatalf("git stores the source as %s, we hash it as %s", got, base)
		}
		p.addDelta(objBlob, base, c[0], c[1])
		want[hashObject(objBlob, c[1])] = c[1]
	}
	cmd := exec.Command("git", "-C", bare, "index-pack", "--stdin", "--fix-thin")
	cmd.Stdin = bytes.NewReader(p.finish())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git index-pack: %v\n%s", err, out)
	}
	for h, content := range want {
		cmd := exec.Command("git", "-C", bare, "cat-file", "blob", h.String())
		if out, err := cmd.Output(); err != nil || !bytes.Equal(out, content) {
			t.Errorf("git reads %s as %d bytes (%v), want %d", h, len(out), err, len(content))
		}
	}
}
