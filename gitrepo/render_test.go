package gitrepo

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
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
		{Kind: "allow", Schedule: "0 18 * * *", Duration: "1h", Applications: []string{"dev-checkout"}},
	},
	AccessList:             []deploy.AccessEntry{{Group: "*", Kind: "ClusterIssuer"}},
	ApplicationAnnotations: map[string]string{"notifications.argoproj.io/subscribe.on-degraded.teams": ""},
	IgnoreDifferences: []deploy.IgnoreDifference{
		{Group: "apps", Kind: "Deployment", JSONPointers: []string{"/spec/replicas"}},
		{Kind: "Secret", Name: "token", Namespace: "dev-ns", JQPathExpressions: []string{".data.token"}, ManagedFieldsManagers: []string{"kube-controller-manager"}},
	},
	SyncOptions: []string{"ApplyOutOfSyncOnly=true"},
}

var renderCases = []struct {
	name string
	ef   deploy.EnvFiles
}{
	{"full-config", deploy.EnvFiles{
		Env:       "dev",
		Config:    deploy.EnvConfig{Upstream: &deploy.Upstream{Latest: true}, ArgoCD: fullArgo, Group: "development"},
		Manifests: []deploy.AppManifest{{App: "checkout", Manifest: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: checkout\n"}},
		Apps:      []deploy.ArgoApp{{App: "payments", Team: "team-b"}, {App: "checkout", Team: "team-a"}},
	}},
	{"no-argocd-config", deploy.EnvFiles{
		Env:       "staging",
		Config:    deploy.EnvConfig{Upstream: &deploy.Upstream{Environment: "dev"}},
		Manifests: []deploy.AppManifest{{App: "checkout", Manifest: ""}, {App: "cart", Remove: true}},
		Apps:      []deploy.ArgoApp{{App: "checkout"}},
	}},
	{"no-apps", deploy.EnvFiles{
		Env: "production-de",
		Config: deploy.EnvConfig{
			Upstream: &deploy.Upstream{Environment: "staging"}, Group: "production",
			ArgoCD: &deploy.ArgoCD{Destination: deploy.Destination{Name: "prod-de", AppProjectNamespace: "*", ApplicationNamespace: "shop"}},
		},
	}},
	{"quoting", deploy.EnvFiles{
		Env: "qa",
		Config: deploy.EnvConfig{ArgoCD: &deploy.ArgoCD{
			Destination:            deploy.Destination{Server: "https://10.0.0.1:6443", Namespace: "yes"},
			ApplicationAnnotations: quotingValues,
			SyncOptions:            []string{"Validate=false", "- x", "1.5"},
		}},
		Apps: []deploy.ArgoApp{{App: "a1", Team: "Not A Label"}},
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

func TestFilesGolden(t *testing.T) {
	for _, tt := range renderCases {
		t.Run(tt.name, func(t *testing.T) {
			files, err := Files(tt.ef, testRepoURL, testBranch)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			for _, f := range files {
				if f.Remove {
					fmt.Fprintf(&got, "### remove %s\n", f.Path)
					continue
				}
				fmt.Fprintf(&got, "### %s\n%s\n", f.Path, f.Content)
			}
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
			docs := decodeDocs(t, renderArgo(tt.ef, testRepoURL, testBranch))
			cfg := argoSettings(tt.ef)
			apps := sortedApps(tt.ef.Apps)
			if len(docs) != 1+len(apps) {
				t.Fatalf("%d documents, want %d", len(docs), 1+len(apps))
			}
			if got := docs[0]["metadata"].(map[string]any)["name"]; got != string(tt.ef.Env) {
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
				dir := "environments/" + string(tt.ef.Env) + "/applications/" + string(a.App) + "/manifests"
				want[annApplication] = string(a.App)
				want[annEnvironment] = string(tt.ef.Env)
				want[annParentEnv] = string(tt.ef.Env)
				want[annTeams] = string(a.Team)
				want[annGeneratePaths] = "/" + dir + ";"
				if diff := cmp.Diff(want, ann); diff != "" {
					t.Errorf("annotations of %s (-want +got):\n%s", a.App, diff)
				}
				if got := meta["name"]; got != string(tt.ef.Env)+"-"+string(a.App) {
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

func TestFilesRejectsInvalidNames(t *testing.T) {
	tests := []struct {
		name string
		ef   deploy.EnvFiles
	}{
		{"env", deploy.EnvFiles{Env: "../x"}},
		{"manifest app", deploy.EnvFiles{Env: "dev", Manifests: []deploy.AppManifest{{App: "a/b"}}}},
		{"argo app", deploy.EnvFiles{Env: "dev", Apps: []deploy.ArgoApp{{App: "-a"}}}},
		{"duplicate app", deploy.EnvFiles{Env: "dev", Apps: []deploy.ArgoApp{{App: "a"}, {App: "a"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files, err := Files(tt.ef, testRepoURL, testBranch)
			if !errors.Is(err, deploy.ErrInvalid) || files != nil {
				t.Errorf("Files = %v, %v; want no files and an error wrapping deploy.ErrInvalid", files, err)
			}
		})
	}
}

// manyApps is an environment with n deployed apps, as in a large installation.
func manyApps(n int) deploy.EnvFiles {
	ef := deploy.EnvFiles{Env: "production-de", Config: deploy.EnvConfig{Upstream: &deploy.Upstream{Environment: "staging"}, ArgoCD: fullArgo}}
	for i := range n {
		ef.Apps = append(ef.Apps, deploy.ArgoApp{App: deploy.App(fmt.Sprintf("service-%04d", i)), Team: deploy.Team(fmt.Sprintf("team-%02d", i%40))})
	}
	return ef
}

func BenchmarkFiles2000Apps(b *testing.B) {
	ef := manyApps(2000)
	b.ReportAllocs()
	var size int
	for b.Loop() {
		files, err := Files(ef, testRepoURL, testBranch)
		if err != nil {
			b.Fatal(err)
		}
		size = len(files[len(files)-1].Content)
	}
	b.ReportMetric(float64(size)/1e6, "MB/file")
}

func TestRenderManyAppsIsSorted(t *testing.T) {
	ef := manyApps(50)
	for i, j := 0, len(ef.Apps)-1; i < j; i, j = i+1, j-1 {
		ef.Apps[i], ef.Apps[j] = ef.Apps[j], ef.Apps[i]
	}
	out := string(renderArgo(ef, testRepoURL, testBranch))
	if !strings.Contains(out, "name: production-de-service-0000\n") ||
		strings.Index(out, "production-de-service-0001\n") > strings.Index(out, "production-de-service-0002\n") {
		t.Errorf("applications are not sorted by name")
	}
}
