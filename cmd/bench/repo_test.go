package main

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"kuberpult/config"
	"kuberpult/deploy"
	"kuberpult/gitrepo"
)

// TestGenerate checks the generated env repo with the git CLI: the number of commits, and
// a tip that holds exactly what the seeded database says (on every environment the release
// manifest of the version w.runs there — 5 on the upstream-latest ones, 4 on the group's —
// and each environment's config.json).
func TestGenerate(t *testing.T) {
	ctx := context.Background()
	w := newWorld(7, 4, 2)
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
		want[tip+":environments/"+string(e)+"/config.json"] = string(envConfigJSON(w.config(e)))
		v := deploy.Version(5)
		if slices.Contains(w.group, e) {
			v = 4
		}
		for _, a := range w.apps {
			want[tip+":"+manifestPath(e, a)] = manifest(a, e, v, "release")
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
	if ok, err := holds(ctx, bare, tip, w.auto, w.apps[0], 5); err != nil || !ok {
		t.Errorf("holds(auto, v5) = %v, %v; want true", ok, err)
	}
	if ok, err := holds(ctx, bare, tip, w.envs, w.apps[0], 5); err != nil || ok {
		t.Errorf("holds(all, v5) = %v, %v; want false (the group runs 4)", ok, err)
	}
	if ok, err := holds(ctx, bare, tip, w.group, w.apps[0], 4); err != nil || !ok {
		t.Errorf("holds(group, v4) = %v, %v; want true", ok, err)
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

// TestWorld checks the shape of the world: which environments take every release and which
// form the group trains go to, and its upstream.
func TestWorld(t *testing.T) {
	type shape struct {
		Auto, Group []deploy.Env
		Upstream    deploy.Env
		Newest      deploy.Version
	}
	tests := []struct {
		name                string
		envs, grouped, hist int
		want                shape
	}{
		{"default", 10, 2, 50, shape{
			Auto:     []deploy.Env{"development", "integration", "staging", "canary", "production-br", "production-de", "production-fr", "production-jp"},
			Group:    []deploy.Env{"production-uk", "production-us"},
			Upstream: "staging", Newest: 51}},
		{"no group", 3, 0, 50, shape{Auto: []deploy.Env{"development", "integration", "staging"}, Newest: 50}},
		{"small", 2, 1, 1, shape{Auto: []deploy.Env{"development"}, Group: []deploy.Env{"integration"}, Upstream: "development", Newest: 2}},
		{"many", 12, 2, 1, shape{
			Auto:     append(slices.Clone(envNames), "env-10", "env-11")[:10],
			Group:    []deploy.Env{"env-10", "env-11"},
			Upstream: "staging", Newest: 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(3, tc.envs, tc.grouped)
			got := shape{Auto: w.auto, Group: w.group, Upstream: w.upstream, Newest: w.newest(deploy.Version(tc.hist))}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("world (-want +got):\n%s", diff)
			}
			if len(w.envs) != tc.envs {
				t.Errorf("%d environments, want %d", len(w.envs), tc.envs)
			}
		})
	}
}

// TestConfig checks that serve is configured as the generated repo says: the config file
// writeConfig writes loads into w.config's environments, and config.json is what gitrepo
// renders for them, so serve's initial sync leaves every config.json as it is.
func TestConfig(t *testing.T) {
	w := newWorld(3, 10, 2)
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	if err := writeConfig(path, filepath.Join(dir, "state.sqlite"), filepath.Join(dir, "remote.git"), "127.0.0.1:0", w); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(path)
	if err != nil {
		b, _ := os.ReadFile(path)
		t.Fatalf("%v\n%s", err, b)
	}
	want := deploy.Environments{}
	for _, e := range w.envs {
		want[e] = w.config(e)
		rendered, err := gitrepo.ConfigFile(w.config(e))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(rendered), string(envConfigJSON(w.config(e)))); diff != "" {
			t.Errorf("config.json of %s (-gitrepo +bench):\n%s", e, diff)
		}
	}
	if diff := cmp.Diff(want, c.Environments); diff != "" {
		t.Errorf("environments (-want +got):\n%s", diff)
	}
	if got := string(envConfigJSON(w.config("production-us"))); !strings.Contains(got, `"environment": "staging"`) || !strings.Contains(got, `"environmentGroup": "production"`) {
		t.Errorf("config.json of production-us:\n%s", got)
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
