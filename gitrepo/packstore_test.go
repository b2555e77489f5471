package gitrepo

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/object"

	"kuberpult/deploy"
)

// TestCloneKeepsTreesOfDeltifiedPack fetches a repository whose pack stores most trees as
// deltas and checks that every tree of the tip can be read, and that no blob is kept.
func TestCloneKeepsTreesOfDeltifiedPack(t *testing.T) {
	bare := newBare(t)
	ctx := context.Background()
	w := openWriter(t, bare)
	var apps []deploy.App
	for i := range 40 {
		apps = append(apps, deploy.App(fmt.Sprintf("app-%02d", i)))
	}
	var entries []deploy.OutboxEntry
	for i, env := range []deploy.Env{"development", "staging", "production"} {
		for j, app := range apps {
			entries = append(entries, deployEntry(int64(i*100+j+1), env, app, fmt.Sprintf("app: %s\nversion: %d\n", app, j), apps[:j+1]...))
		}
	}
	if _, err := w.Write(ctx, entries); err != nil {
		t.Fatal(err)
	}
	run(t, bare, "repack", "-adf", "--quiet", "--window=250", "--depth=50")
	if stats := run(t, bare, "verify-pack", "-v", packIndex(t, bare)); !strings.Contains(stats, "chain length") {
		t.Fatalf("the pack has no deltas:\n%s", stats)
	}

	w = openWriter(t, bare) // a fresh shallow clone of the repacked repository
	if n := len(w.st.Blobs); n != 0 {
		t.Errorf("the clone keeps %d blobs, want none", n)
	}
	var want []string
	for _, line := range strings.Split(run(t, bare, "ls-tree", "-r", "-t", "main"), "\n") {
		if strings.Contains(line, " tree ") {
			want = append(want, line[strings.Index(line, "\t")+1:])
		}
	}
	c, err := object.GetCommit(w.st, w.base)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	var walk func(h plumbing.Hash, dir string)
	walk = func(h plumbing.Hash, dir string) {
		ed := &editor{st: w.st}
		entries, err := ed.readTree(h)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		for _, e := range entries {
			if e.Mode == filemode.Dir {
				got = append(got, dir+e.Name)
				walk(e.Hash, dir+e.Name+"/")
			}
		}
	}
	walk(c.TreeHash, "")
	slices.Sort(got)
	slices.Sort(want)
	if len(got) != len(want) || !slices.Equal(got, want) {
		t.Errorf("read %d trees, want %d", len(got), len(want))
	}
	// And the clone is good to build on.
	pushed, err := w.Write(ctx, []deploy.OutboxEntry{deployEntry(1000, "staging", "app-00", "v: new\n", apps...)})
	if err != nil || pushed[0].Commit == "" {
		t.Fatalf("write on the fresh clone: %v, %v", pushed, err)
	}
	if got := run(t, bare, "show", "main:environments/staging/applications/app-39/manifests/manifests.yaml"); !strings.Contains(got, "version: 39") {
		t.Errorf("an untouched manifest changed: %q", got)
	}
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
			if err := newPackStorage().index(tt.pack); err == nil {
				t.Error("index accepted a bad pack")
			}
		})
	}
}

// TestIndexResolvesTreeDeltas packs similar trees as offset and as reference deltas, with
// a blob among them, and checks that indexing keeps exactly the trees and the commit.
func TestIndexResolvesTreeDeltas(t *testing.T) {
	for _, refDeltas := range []bool{false, true} {
		t.Run(fmt.Sprintf("ref deltas %v", refDeltas), func(t *testing.T) {
			src := &editor{st: newPackStorage().Storage, out: newPackStorage().Storage}
			blob := src.put(plumbing.BlobObject, []byte(strings.Repeat("manifest\n", 100)), true)
			var hashes []plumbing.Hash
			var prev plumbing.Hash
			for i := range 20 {
				var entries []object.TreeEntry
				for j := range 200 {
					h := blob
					if j == i {
						h = plumbing.ComputeHash(plumbing.BlobObject, []byte{byte(i)})
					}
					entries = append(entries, object.TreeEntry{Name: fmt.Sprintf("app-%03d", j), Mode: filemode.Regular, Hash: h})
				}
				prev = src.put(plumbing.TreeObject, encodeTree(entries), true)
				hashes = append(hashes, prev)
			}
			obj := src.st.NewEncodedObject()
			if err := (&object.Commit{Message: "m", TreeHash: prev}).Encode(obj); err != nil {
				t.Fatal(err)
			}
			commit, err := src.st.SetEncodedObject(obj)
			if err != nil {
				t.Fatal(err)
			}
			hashes = append(hashes, commit, blob)

			var pack bytes.Buffer
			if _, err := packfile.NewEncoder(&pack, src.st, refDeltas).Encode(hashes, 10); err != nil {
				t.Fatal(err)
			}
			if n := countDeltas(t, pack.Bytes()); n < 10 {
				t.Fatalf("only %d deltas in the pack; the test needs deltified trees", n)
			}
			dst := newPackStorage()
			if err := dst.index(pack.Bytes()); err != nil {
				t.Fatal(err)
			}
			if len(dst.Blobs) != 0 || len(dst.Trees) != 20 || len(dst.Commits) != 1 {
				t.Errorf("kept %d blobs, %d trees, %d commits; want 0, 20, 1", len(dst.Blobs), len(dst.Trees), len(dst.Commits))
			}
			for _, h := range hashes[:21] {
				if _, ok := dst.Objects[h]; !ok {
					t.Errorf("object %s is missing", h)
				}
			}
		})
	}
}

func countDeltas(t *testing.T, pack []byte) int {
	t.Helper()
	s := packfile.NewScanner(bytes.NewReader(pack))
	_, n, err := s.Header()
	if err != nil {
		t.Fatal(err)
	}
	deltas := 0
	for range n {
		h, err := s.NextObjectHeader()
		if err != nil {
			t.Fatal(err)
		}
		if h.Type.IsDelta() {
			deltas++
		}
		if _, _, err := s.NextObject(io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	return deltas
}
