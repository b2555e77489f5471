package main

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"kuberpult/deploy"
)

// TestGenerate checks the generated env repo with the git CLI: the number of commits, and
// a tip that holds exactly what the seeded database says (release v's manifest of every app
// on every environment, and each environment's config.json).
func TestGenerate(t *testing.T) {
	ctx := context.Background()
	w := newWorld(7, 3)
	bare := filepath.Join(t.TempDir(), "remote.git")
	tip, err := generate(ctx, bare, w, 4, 40, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := git(ctx, bare, "rev-list", "--count", tip); err != nil || n != "40" {
		t.Errorf("rev-list --count = %q, %v; want 40", n, err)
	}
	if ref, err := readRef(bare, "main"); err != nil || ref != tip {
		t.Errorf("readRef = %q, %v; want %s", ref, err, tip)
	}
	want := map[string]string{}
	var names []string
	for _, e := range w.envs {
		want[tip+":environments/"+string(e)+"/config.json"] = string(envConfigJSON())
		for _, a := range w.apps {
			want[tip+":"+manifestPath(e, a)] = manifest(a, e, 4, "release")
		}
	}
	for n := range want {
		names = append(names, n)
	}
	got, err := catFile(ctx, bare, names)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tip (-want +got):\n%s", diff)
	}
	if ok, err := holds(ctx, bare, tip, w.envs, w.apps[0], 4); err != nil || !ok {
		t.Errorf("holds(v4) = %v, %v; want true", ok, err)
	}
	if ok, err := holds(ctx, bare, tip, w.envs, w.apps[0], 5); err != nil || ok {
		t.Errorf("holds(v5) = %v, %v; want false", ok, err)
	}
	if _, err := git(ctx, bare, "fsck", "--no-progress"); err != nil {
		t.Error(err)
	}
	// The writer or a git gc may pack the refs: the poll must still find the branch.
	if _, err := git(ctx, bare, "pack-refs", "--all"); err != nil {
		t.Fatal(err)
	}
	if ref, err := readRef(bare, "main"); err != nil || ref != tip {
		t.Errorf("readRef after pack-refs = %q, %v; want %s", ref, err, tip)
	}
}

func TestVersionOf(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want deploy.Version
		ok   bool
	}{
		{"release", manifest("checkout", "staging", 42, "release"), 42, true},
		{"largest", manifest("checkout", "staging", 1<<63-1, "x"), 1<<63 - 1, true},
		{"no label", "kind: ConfigMap\n", 0, false},
		{"not a number", `app.kubernetes.io/version: "v1"`, 0, false},
		{"unterminated", `app.kubernetes.io/version: "12`, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := versionOf(tc.in)
			if got != tc.want || ok != tc.ok {
				t.Errorf("versionOf = %d, %v; want %d, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestManifestSize(t *testing.T) {
	m := manifest("app-0001", "production-de", 50, "release")
	if n := len(m); n < 900 || n > 1300 {
		t.Errorf("manifest is %d bytes, want about 1 KB:\n%s", n, m)
	}
	if strings.Contains(m, "%!") {
		t.Errorf("manifest has a formatting error:\n%s", m)
	}
}

func TestSummarize(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		var out []time.Duration
		for _, n := range ns {
			out = append(out, time.Duration(n)*time.Millisecond)
		}
		return out
	}
	tests := []struct {
		name string
		in   []time.Duration
		want durations
	}{
		{"none", nil, durations{}},
		{"one", ms(5), durations{Min: 5, Median: 5, P95: 5, Max: 5}},
		{"even", ms(40, 10, 30, 20), durations{Min: 10, Median: 25, P95: 40, Max: 40}},
		{"odd", ms(3, 1, 2), durations{Min: 1, Median: 2, P95: 3, Max: 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, summarize(tc.in)); diff != "" {
				t.Errorf("summarize (-want +got):\n%s", diff)
			}
		})
	}
}
