package gitrepo

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"kuberpult/deploy"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const (
	testRepoURL = "git@github.com:org/manifests.git"
	testBranch  = "main"
)

var fullArgo = &deploy.ArgoCD{
	Destination: deploy.Destination{Server: "https://kubernetes.default.svc", Namespace: "dev-ns"},
	SyncWindows: []deploy.SyncWindow{
		{Kind: "deny", Schedule: "0 9 * * 1-5", Duration: "2h"},
		{Kind: "allow", Schedule: "0 18 * * *", Duration: "1h", Applications: []string{"dev-checkout"}, TimeZone: "Europe/Berlin"},
	},
	AccessList:             []deploy.AccessEntry{{Group: "*", Kind: "ClusterIssuer"}, {Group: "", Kind: "Namespace"}},
	ApplicationAnnotations: map[string]string{"notifications.argoproj.io/subscribe.on-degraded.teams": ""},
	IgnoreDifferences: []deploy.IgnoreDifference{
		{Group: "apps", Kind: "Deployment", JSONPointers: []string{"/spec/replicas"}},
		{Kind: "Secret", Name: "token", Namespace: "dev-ns", JQPathExpressions: []string{".data.token"}, ManagedFieldsManagers: []string{"kube-controller-manager"}},
	},
	SyncOptions: []string{"ApplyOutOfSyncOnly=true"},
}

// renderCase is an environment as today's renderer sees it: its config, the manifests an
// entry writes or removes, and the apps whose directories are in the tree.
type renderCase struct {
	env       deploy.Env
	config    deploy.EnvConfig
	manifests []deploy.ManifestChange
	apps      []deploy.AppTeam
}

var renderCases = []struct {
	name string
	rc   renderCase
}{
	{"full-config", renderCase{
		env:       "dev",
		config:    deploy.EnvConfig{Upstream: &deploy.Upstream{Latest: true}, ArgoCD: fullArgo, Group: "development"},
		manifests: []deploy.ManifestChange{{App: "checkout", Manifest: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: checkout\n"}},
		apps:      []deploy.AppTeam{{App: "payments", Team: "team-b"}, {App: "checkout", Team: "team-a"}},
	}},
	{"no-argocd-config", renderCase{
		env:       "staging",
		config:    deploy.EnvConfig{Upstream: &deploy.Upstream{Environment: "dev"}},
		manifests: []deploy.ManifestChange{{App: "checkout", Manifest: ""}, {App: "cart", Remove: true}},
		apps:      []deploy.AppTeam{{App: "checkout"}},
	}},
	{"no-apps", renderCase{
		env: "production-de",
		config: deploy.EnvConfig{
			Upstream: &deploy.Upstream{Environment: "staging"}, Group: "production",
			ArgoCD: &deploy.ArgoCD{Destination: deploy.Destination{Name: "prod-de", AppProjectNamespace: "*", ApplicationNamespace: "shop"}},
		},
	}},
	{"quoting", renderCase{
		env: "qa",
		config: deploy.EnvConfig{ArgoCD: &deploy.ArgoCD{
			Destination:            deploy.Destination{Server: "https://10.0.0.1:6443", Namespace: "yes"},
			ApplicationAnnotations: quotingValues,
			SyncOptions:            []string{"Validate=false", "- x", "1.5"},
		}},
		apps: []deploy.AppTeam{{App: "a1", Team: "Not A Label"}},
	}},
}

// quotingValues are annotation values that must survive YAML quoting unchanged.
var quotingValues = map[string]string{
	"a/empty": "", "a/true": "true", "a/yes": "Yes", "a/off": "off", "a/null": "null", "a/tilde": "~",
	"a/int": "012", "a/float": "1e3", "a/hex": "0x1F", "a/sexagesimal": "1:20", "a/date": "2026-03-01",
	"a/star": "*", "a/colon": "a: b", "a/hash": "x #y", "a/lead": " lead", "a/trail": "trail ",
	"a/newline": "line1\nline2", "a/tab": "a\tb", "a/quote": `it's "q"`, "a/unicode": "grüße ✓",
	"a/dash": "- item", "a/brace": "{x}", "a/amp": "&anchor", "a/bang": "!tag", "a/percent": "%x",
	"a/url": "https://example.com/a?b=c&d", "a/cron": "0 9 * * 1-5", "a/duration": "2h",
	"a/merge": "<<", "a/dot": ".inf", "with space key": "v", "com.freiheit.kuberpult/application": "overridden",
}

// TestFilesGolden renders what an entry writes for an environment (config.json, the
// manifests, the Argo CD file, in this order) and compares it with the golden files, which
// are those of the renderer before outbox entries became deltas: the bytes stay the same.
func TestFilesGolden(t *testing.T) {
	for _, tt := range renderCases {
		t.Run(tt.name, func(t *testing.T) {
			var got bytes.Buffer
			cfg, err := ConfigFile(tt.rc.config)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&got, "### %s\n%s\n", ConfigPath(tt.rc.env), cfg)
			for _, m := range tt.rc.manifests {
				if m.Remove {
					fmt.Fprintf(&got, "### remove %s\n", AppDir(tt.rc.env, m.App))
					continue
				}
				fmt.Fprintf(&got, "### %s\n%s\n", ManifestPath(tt.rc.env, m.App), ManifestFile(m.Manifest))
			}
			argo := ArgoFile(tt.rc.env, tt.rc.config, tt.rc.apps, testRepoURL, testBranch)
			fmt.Fprintf(&got, "### %s\n%s\n", ArgoPath(tt.rc.env), argo)
			golden := filepath.Join("testdata", tt.name+".golden")
			if *update {
				if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./gitrepo -update)", err)
			}
			if diff := cmp.Diff(string(want), got.String()); diff != "" {
				t.Errorf("%s (-want +got):\n%s", golden, diff)
			}
		})
	}
}

// TestArgoFileReadsBack decodes the rendered YAML and compares it with the configuration,
// so quoting mistakes show up whatever the golden files say.
func TestArgoFileReadsBack(t *testing.T) {
	for _, tt := range renderCases {
		t.Run(tt.name, func(t *testing.T) {
			docs := decodeDocs(t, ArgoFile(tt.rc.env, tt.rc.config, tt.rc.apps, testRepoURL, testBranch))
			cfg := argoSettings(tt.rc.env, tt.rc.config)
			apps := sortedApps(tt.rc.apps)
			if len(docs) != 1+len(apps) {
				t.Fatalf("%d documents, want %d", len(docs), 1+len(apps))
			}
			if got := docs[0]["metadata"].(map[string]any)["name"]; got != string(tt.rc.env) {
				t.Errorf("project name = %v", got)
			}
			for i, a := range apps {
				d := docs[i+1]
				meta := d["metadata"].(map[string]any)
				ann := map[string]string{}
				for k, v := range meta["annotations"].(map[string]any) {
					ann[k] = v.(string)
				}
				want := map[string]string{}
				for k, v := range cfg.ApplicationAnnotations {
					want[k] = v
				}
				dir := "environments/" + string(tt.rc.env) + "/applications/" + string(a.App) + "/manifests"
				want[annApplication] = string(a.App)
				want[annEnvironment] = string(tt.rc.env)
				want[annParentEnv] = string(tt.rc.env)
				want[annTeams] = string(a.Team)
				want[annGeneratePaths] = "/" + dir + ";"
				if diff := cmp.Diff(want, ann); diff != "" {
					t.Errorf("annotations of %s (-want +got):\n%s", a.App, diff)
				}
				if got := meta["name"]; got != string(tt.rc.env)+"-"+string(a.App) {
					t.Errorf("name = %v", got)
				}
				spec := d["spec"].(map[string]any)
				src := spec["sources"].([]any)[0].(map[string]any)
				if diff := cmp.Diff(map[string]any{"path": dir, "repoURL": testRepoURL, "targetRevision": testBranch}, src); diff != "" {
					t.Errorf("source (-want +got):\n%s", diff)
				}
				var opts []string
				if so, ok := spec["syncPolicy"].(map[string]any)["syncOptions"]; ok {
					for _, o := range so.([]any) {
						opts = append(opts, o.(string))
					}
				}
				if diff := cmp.Diff(cfg.SyncOptions, opts); diff != "" {
					t.Errorf("sync options (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func decodeDocs(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var docs []map[string]any
	for {
		var d map[string]any
		err := dec.Decode(&d)
		if err != nil {
			if err.Error() == "EOF" {
				return docs
			}
			t.Fatalf("decode: %v\n%s", err, b)
		}
		docs = append(docs, d)
	}
}

func TestScalarQuoting(t *testing.T) {
	for _, s := range append(mapValues(quotingValues), "plain", "ApplyOutOfSyncOnly=true", "1h30m") {
		var got string
		doc := "k: " + string(appendScalar(nil, s)) + "\n"
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Errorf("%q: %v\n%s", s, err, doc)
			continue
		}
		got, ok := m["k"].(string)
		if !ok || got != s {
			t.Errorf("%q reads back as %#v from %s", s, m["k"], doc)
		}
	}
	for _, s := range []string{"yes", "No", "on", "Off", "y", "1e3", "0x1F", "1:20", "~", ""} {
		if plainSafe(s) {
			t.Errorf("%q is written without quotes, but a YAML 1.1 reader takes it for a non-string", s)
		}
	}
}

func mapValues(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k, v)
	}
	return out
}

func TestArgoFileLeavesOutInvalidApps(t *testing.T) {
	apps := []deploy.AppTeam{{App: "cart"}, {App: "Bad_Name"}, {App: "-a"}, {App: "cart"}}
	docs := decodeDocs(t, ArgoFile("dev", deploy.EnvConfig{}, apps, testRepoURL, testBranch))
	var names []string
	for _, d := range docs[1:] {
		names = append(names, d["metadata"].(map[string]any)["name"].(string))
	}
	if diff := cmp.Diff([]string{"dev-cart"}, names); diff != "" {
		t.Errorf("applications (-want +got):\n%s", diff)
	}
}

// manyApps are n deployed apps, as in a large installation.
func manyApps(n int) []deploy.AppTeam {
	apps := make([]deploy.AppTeam, n)
	for i := range apps {
		apps[i] = deploy.AppTeam{App: deploy.App(fmt.Sprintf("service-%04d", i)), Team: deploy.Team(fmt.Sprintf("team-%02d", i%40))}
	}
	return apps
}

var manyConfig = deploy.EnvConfig{Upstream: &deploy.Upstream{Environment: "staging"}, ArgoCD: fullArgo}

func BenchmarkArgoFile2000Apps(b *testing.B) {
	apps := manyApps(2000)
	b.ReportAllocs()
	var size int
	for b.Loop() {
		size = len(ArgoFile("production-de", manyConfig, apps, testRepoURL, testBranch))
	}
	b.ReportMetric(float64(size)/1e6, "MB/file")
}

func TestRenderManyAppsIsSorted(t *testing.T) {
	apps := manyApps(50)
	slices.Reverse(apps)
	out := string(ArgoFile("production-de", manyConfig, apps, testRepoURL, testBranch))
	if !strings.Contains(out, "name: production-de-service-0000\n") ||
		strings.Index(out, "production-de-service-0001\n") > strings.Index(out, "production-de-service-0002\n") {
		t.Errorf("applications are not sorted by name")
	}
}

// TestArgoFilesHaveTheCRDsRequiredFields checks every rendered document against the fields
// Argo CD's CRDs require (v1alpha1 AppProject and Application), so that Argo CD does not
// reject a file: clusterResourceWhitelist entries need group (also "") and kind, a
// destination needs a server or a name, an Application a project, a destination and a
// source with a repoURL.
func TestArgoFilesHaveTheCRDsRequiredFields(t *testing.T) {
	has := func(m map[string]any, keys ...string) bool {
		for _, k := range keys {
			if _, ok := m[k]; !ok {
				return false
			}
		}
		return true
	}
	items := func(v any) []map[string]any {
		list, _ := v.([]any)
		out := make([]map[string]any, 0, len(list))
		for _, x := range list {
			m, _ := x.(map[string]any)
			out = append(out, m)
		}
		return out
	}
	for _, tt := range renderCases {
		t.Run(tt.name, func(t *testing.T) {
			for _, d := range decodeDocs(t, ArgoFile(tt.rc.env, tt.rc.config, tt.rc.apps, testRepoURL, testBranch)) {
				if !has(d, "apiVersion", "kind", "metadata", "spec") {
					t.Errorf("document lacks apiVersion, kind, metadata or spec: %v", d)
					continue
				}
				spec, _ := d["spec"].(map[string]any)
				switch d["kind"] {
				case "AppProject":
					for _, w := range items(spec["clusterResourceWhitelist"]) {
						if !has(w, "group", "kind") {
							t.Errorf("clusterResourceWhitelist entry %v lacks group or kind", w)
						}
					}
					for _, dst := range items(spec["destinations"]) {
						if !has(dst, "server") && !has(dst, "name") {
							t.Errorf("destination %v has neither server nor name", dst)
						}
					}
					for _, w := range items(spec["syncWindows"]) {
						if !has(w, "kind", "schedule", "duration") {
							t.Errorf("sync window %v lacks kind, schedule or duration", w)
						}
					}
				case "Application":
					srcs := items(spec["sources"])
					if src, ok := spec["source"].(map[string]any); ok {
						srcs = append(srcs, src)
					}
					dst, _ := spec["destination"].(map[string]any)
					if !has(spec, "project") || len(srcs) == 0 || dst == nil || (!has(dst, "server") && !has(dst, "name")) {
						t.Errorf("Application spec lacks project, a source or destination: %v", spec)
					}
					for _, src := range srcs {
						if !has(src, "repoURL") {
							t.Errorf("Application source %v lacks repoURL", src)
						}
					}
				default:
					t.Errorf("unexpected kind %v", d["kind"])
				}
			}
		})
	}
}
