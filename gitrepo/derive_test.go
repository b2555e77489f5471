package gitrepo

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"kuberpult/deploy"
)

// TestArgoFileIsDerivedFromTheTree applies a sequence of entries to one repository and
// checks, after each, which Applications staging's Argo CD file lists, and whether the
// file was rendered again.
func TestArgoFileIsDerivedFromTheTree(t *testing.T) {
	bare := newBare(t)
	w := openWriter(t, bare)
	ob := newFakeOutbox()
	ob.setTeam("cart", "shop")
	ob.setTeam("checkout", "shop")
	argo := func() string { return run(t, bare, "rev-parse", "main:"+ArgoPath("staging")) }
	teamOf := func(app string) string {
		for _, d := range decodeDocs(t, []byte(run(t, bare, "show", "main:"+ArgoPath("staging")))) {
			meta := d["metadata"].(map[string]any)
			if meta["name"] == "staging-"+app {
				return meta["annotations"].(map[string]any)[annTeams].(string)
			}
		}
		return "(none)"
	}
	steps := []struct {
		name     string
		before   func()
		changes  []deploy.RepoChange
		apps     []string
		rendered bool // the Argo CD file changed
		check    func(t *testing.T)
	}{
		{
			name:     "two entries each adding an app",
			changes:  []deploy.RepoChange{deployChange("staging", "cart", 1, "cart: 1\n"), deployChange("staging", "checkout", 1, "checkout: 1\n")},
			apps:     []string{"staging-cart", "staging-checkout"},
			rendered: true,
		},
		{
			name:    "a new version only",
			changes: []deploy.RepoChange{deployChange("staging", "cart", 2, "cart: 2\n")},
			apps:    []string{"staging-cart", "staging-checkout"},
		},
		{
			name: "an app directory pushed by hand appears at the next render",
			before: func() {
				pushOther(t, bare, map[string]string{ManifestPath("staging", "handmade"): "x: 1\n"})
			},
			changes:  []deploy.RepoChange{deployChange("staging", "payments", 1, "payments: 1\n")},
			apps:     []string{"staging-cart", "staging-checkout", "staging-handmade", "staging-payments"},
			rendered: true,
		},
		{
			name:     "removal drops the Application",
			changes:  []deploy.RepoChange{removeChange("staging", "payments")},
			apps:     []string{"staging-cart", "staging-checkout", "staging-handmade"},
			rendered: true,
		},
		{
			name:   "team change renders again",
			before: func() { ob.setTeam("cart", "payments-team") },
			changes: []deploy.RepoChange{{Message: "cart moves to payments-team", Author: alice, Time: t0,
				Teams: []deploy.AppTeam{{App: "cart", Team: "payments-team"}}}},
			apps:     []string{"staging-cart", "staging-checkout", "staging-handmade"},
			rendered: true,
			check: func(t *testing.T) {
				if got := teamOf("cart"); got != "payments-team" {
					t.Errorf("team of cart = %q", got)
				}
			},
		},
		{
			name: "config change renders again",
			before: func() {
				ob.setEnv("staging", deploy.EnvConfig{ArgoCD: &deploy.ArgoCD{Destination: deploy.Destination{Server: "https://staging.example.com", Namespace: "shop"}}})
			},
			changes: []deploy.RepoChange{{Message: "configure staging", Author: alice, Time: t0,
				Configs: []deploy.EnvConfigChange{{Env: "staging", Config: deploy.EnvConfig{ArgoCD: &deploy.ArgoCD{Destination: deploy.Destination{Server: "https://staging.example.com", Namespace: "shop"}}}}}}},
			apps:     []string{"staging-cart", "staging-checkout", "staging-handmade"},
			rendered: true,
			check: func(t *testing.T) {
				if got := run(t, bare, "show", "main:"+ArgoPath("staging")); !strings.Contains(got, "server: https://staging.example.com\n") {
					t.Errorf("the AppProject does not have the new destination:\n%s", got)
				}
			},
		},
		{
			name:    "the same config again",
			changes: []deploy.RepoChange{deployChange("staging", "cart", 3, "cart: 3\n")},
			apps:    []string{"staging-cart", "staging-checkout", "staging-handmade"},
			before: func() {
				ob.add(deploy.RepoChange{Message: "configure staging again", Author: alice, Time: t0,
					Configs: []deploy.EnvConfigChange{{Env: "staging", Config: deploy.EnvConfig{ArgoCD: &deploy.ArgoCD{Destination: deploy.Destination{Server: "https://staging.example.com", Namespace: "shop"}}}}}})
			},
		},
		{
			// serve writes every config at start: that repairs an Argo CD file changed by hand.
			name:   "a config entry repairs an Argo CD file changed by hand",
			before: func() { pushOther(t, bare, map[string]string{ArgoPath("staging"): "hand: edited\n"}) },
			changes: []deploy.RepoChange{{Message: "configure staging again", Author: alice, Time: t0,
				Configs: []deploy.EnvConfigChange{{Env: "staging", Config: deploy.EnvConfig{ArgoCD: &deploy.ArgoCD{Destination: deploy.Destination{Server: "https://staging.example.com", Namespace: "shop"}}}}}}},
			apps:     []string{"staging-cart", "staging-checkout", "staging-handmade"},
			rendered: false, // the file is the one rendered before the hand edit again
		},
	}
	prev := ""
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.before != nil {
				st.before()
			}
			ob.add(st.changes...)
			flush(t, w, ob)
			if diff := cmp.Diff(st.apps, argoApps(t, bare, "main", "staging")); diff != "" {
				t.Errorf("applications (-want +got):\n%s", diff)
			}
			if got := argo() != prev; got != st.rendered {
				t.Errorf("Argo CD file rendered again: %v, want %v", got, st.rendered)
			}
			prev = argo()
			if st.check != nil {
				st.check(t)
			}
		})
	}
	fsck(t, bare)
}

// TestBatchRendersEachArgoFileOnce pushes an onboarding burst in one batch: one commit per
// entry, each env's Argo CD file rendered only in the last commit that adds an app to it,
// and a tip that lists every app.
func TestBatchRendersEachArgoFileOnce(t *testing.T) {
	bare := newBare(t)
	w := openWriter(t, bare)
	ob := newFakeOutbox()
	var changes []deploy.RepoChange
	var want []string
	for i := range 20 {
		app := deploy.App(fmt.Sprintf("app-%02d", i))
		rc := deployChange("dev", app, 1, manifest(app, 1))
		if i < 15 {
			rc.Manifests = append(rc.Manifests, deploy.ManifestChange{Env: "prod", App: app, Version: 1, Manifest: manifest(app, 1)})
		}
		rc.Message = "onboard " + string(app)
		changes = append(changes, rc)
		want = append(want, "dev-"+string(app))
	}
	changes = append(changes, deployChange("dev", "app-00", 2, manifest("app-00", 2))) // a version only, last
	ids := ob.add(changes...)
	flush(t, w, ob)

	commits := strings.Split(run(t, bare, "log", "--reverse", "--format=%H %s", "main"), "\n")
	if len(commits) != len(changes) {
		t.Fatalf("%d commits for %d entries:\n%s", len(commits), len(changes), strings.Join(commits, "\n"))
	}
	pushed := ob.pushed()
	for i, id := range ids {
		if c, _, _ := strings.Cut(commits[i], " "); pushed[id] != c {
			t.Errorf("entry %d marked %s, want %s", id, pushed[id], commits[i])
		}
	}
	if n := len(strings.Split(run(t, bare, "reflog", "show", "--format=%H", "refs/heads/main"), "\n")); n != 1 {
		t.Errorf("branch moved %d times, want once", n)
	}
	if diff := cmp.Diff(want, argoApps(t, bare, "main", "dev")); diff != "" {
		t.Errorf("dev applications at the tip (-want +got):\n%s", diff)
	}
	if got := len(argoApps(t, bare, "main", "prod")); got != 15 {
		t.Errorf("prod has %d applications, want 15", got)
	}
	for env, subject := range map[deploy.Env]string{"dev": "onboard app-19", "prod": "onboard app-14"} {
		if got := run(t, bare, "log", "--format=%s", "main", "--", ArgoPath(env)); got != subject {
			t.Errorf("commits that change %s: %q, want only %q", ArgoPath(env), got, subject)
		}
	}
	fsck(t, bare)
}

// TestPoisonedEntriesAreSetAside: entries that cannot be applied are marked failed with a
// reason, and the good ones behind them are pushed.
func TestPoisonedEntriesAreSetAside(t *testing.T) {
	bare := newBare(t)
	pushOther(t, bare, map[string]string{"environments/dev/applications/cart": "a file where a directory belongs\n"})
	w := openWriter(t, bare)
	failedEvents := map[int64]string{}
	w.opts.OnPush = func(e deploy.PushEvent) {
		if e.Failed != "" {
			failedEvents[e.ActionID] = e.Failed
		}
	}
	ob := newFakeOutbox()
	good1 := ob.add(deployChange("dev", "checkout", 1, "v: 1\n"))[0]
	broken := ob.addBroken("unexpected end of JSON input")
	escape := ob.add(deployChange("../x", "checkout", 1, "v: 1\n"))[0]
	badApp := ob.add(deployChange("dev", "a/../../b", 1, "v: 1\n"))[0]
	conflict := ob.add(deployChange("dev", "cart", 1, "v: 1\n"))[0]
	good2 := ob.add(deployChange("staging", "checkout", 1, "v: 1\n"))[0]
	flush(t, w, ob)

	reasons := ob.failures()
	for id, want := range map[int64]string{
		broken:   "cannot read the entry: unexpected end of JSON input",
		escape:   `environment name "../x" is not valid`,
		badApp:   `application name "a/../../b" is not valid`,
		conflict: "tree conflict: environments/dev/applications/cart is a file",
	} {
		if !strings.Contains(reasons[id], want) {
			t.Errorf("entry %d failed with %q, want it to say %q", id, reasons[id], want)
		}
	}
	if len(reasons) != 4 {
		t.Errorf("failed entries: %v", reasons)
	}
	if diff := cmp.Diff(reasons, failedEvents); diff != "" {
		t.Errorf("events of the entries set aside (-marked +told):\n%s", diff)
	}
	pushed := ob.pushed()
	if pushed[good1] == "" || pushed[good2] == "" {
		t.Errorf("good entries not pushed: %v", pushed)
	}
	if got := w.Status().Stats.FailedEntries; got != 4 {
		t.Errorf("FailedEntries = %d, want 4", got)
	}
	want := "deploy checkout 1 to staging\ndeploy checkout 1 to dev\nother change environments/dev/applications/cart"
	if diff := cmp.Diff(want, run(t, bare, "log", "--format=%s", "main")); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
	fsck(t, bare)
}

// TestBatchThatRevertsATree: within one push, dev's applications tree goes back to the
// tip's (an app added and removed again) and is then edited once more. The pack must not
// carry an object the server would also resolve from its own copy; both of git's ways to
// take a push (unpack-objects for small ones, index-pack --fix-thin) must accept it.
func TestBatchThatRevertsATree(t *testing.T) {
	for _, limit := range []string{"100", "1"} {
		t.Run("unpackLimit "+limit, func(t *testing.T) {
			bare := newBare(t)
			run(t, bare, "config", "receive.unpackLimit", limit)
			w := openWriter(t, bare)
			ob := newFakeOutbox()
			ob.add(deployChange("dev", "checkout", 1, "v: 1\n"), deployChange("dev", "cart", 1, "v: 1\n"))
			flush(t, w, ob)
			ob.add(
				deployChange("dev", "tmp", 1, "v: 1\n"),
				removeChange("dev", "tmp"),
				deployChange("dev", "checkout", 1, "v: 1\n"), // no change
				deployChange("dev", "checkout", 2, "v: 2\n"),
				deployChange("dev", "checkout", 1, "v: 1\n"), // back to the tip's manifest
				deployChange("dev", "cart", 2, "v: 2\n"),
			)
			flush(t, w, ob)
			if got := run(t, bare, "rev-list", "--count", "main"); got != "7" {
				t.Errorf("%s commits, want 7", got)
			}
			if diff := cmp.Diff([]string{"dev-cart", "dev-checkout"}, argoApps(t, bare, "main", "dev")); diff != "" {
				t.Errorf("applications (-want +got):\n%s", diff)
			}
			fsck(t, bare)
		})
	}
}

// TestRandomBatches pushes batches of random deploys, removals and redeploys of a few
// apps, so that trees often come back to earlier states within a batch, through git's
// index-pack: every push must be taken, and the tip must be what the entries say.
func TestRandomBatches(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			bare := newBare(t)
			run(t, bare, "config", "receive.unpackLimit", "1")
			w := openWriter(t, bare)
			ob := newFakeOutbox()
			want := map[string]string{} // manifest path → content
			for range 5 {
				for range 30 {
					env := []deploy.Env{"dev", "prod"}[rng.IntN(2)]
					app := deploy.App(fmt.Sprintf("app-%d", rng.IntN(3)))
					if rng.IntN(3) == 0 {
						ob.add(removeChange(env, app))
						delete(want, ManifestPath(env, app))
						continue
					}
					v := rng.IntN(3) + 1
					ob.add(deployChange(env, app, deploy.Version(v), manifest(app, v)))
					want[ManifestPath(env, app)] = manifest(app, v)
				}
				flush(t, w, ob)
			}
			got := map[string]string{}
			for _, p := range strings.Split(run(t, bare, "ls-tree", "-r", "--name-only", "main"), "\n") {
				if strings.HasSuffix(p, "manifests.yaml") {
					got[p] = run(t, bare, "show", "main:"+p) + "\n"
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("manifests at the tip (-want +got):\n%s", diff)
			}
			fsck(t, bare)
		})
	}
}
