package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"kuberpult/commands"
	"kuberpult/deploy"
)

// TestReleaseManifestsForTheDryRun: Kuberpult's CLI `release --dry-run` posts an empty
// form to /api/application/<app>/release/manifests/latest and diffs against "manifests"
// → env → "content"; an unknown app is a 404 (the CLI then compares with nothing).
func TestReleaseManifestsForTheDryRun(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.release("checkout", 1, "shop", "development", "staging")
	s.release("checkout", 2, "shop", "development")
	for _, tt := range []struct {
		method, path string
		status       int
		version      uint64
		envs         []string
	}{
		{http.MethodPost, "/api/application/checkout/release/manifests/latest", 200, 2, []string{"development"}},
		{http.MethodGet, "/api/application/checkout/release/manifests/1", 200, 1, []string{"development", "staging"}},
		{http.MethodPost, "/api/application/cart/release/manifests/latest", 404, 0, nil},
		{http.MethodGet, "/api/application/checkout/release/manifests/9", 404, 0, nil},
	} {
		status, _, body := get(t, s.srv, tt.method, s.srv.URL+tt.path)
		if status != tt.status {
			t.Errorf("%s %s: %d %s", tt.method, tt.path, status, body)
			continue
		}
		if status != 200 {
			continue
		}
		var got manifestsJSON
		if err := json.Unmarshal([]byte(body), &got); err != nil {
			t.Fatal(err)
		}
		if got.Release.Version != tt.version || !cmp.Equal(tt.envs, got.Release.Environments) ||
			got.Manifests["development"].Content != "kind: ConfigMap\nmetadata:\n  name: checkout\n" || got.Release.CreatedAt == nil {
			t.Errorf("%s: %s", tt.path, body)
		}
	}
}

// TestCommitDeployments: Kuberpult's `get-commit-deployments`: where the commit's release
// number (or a newer one) runs it is DEPLOYED, elsewhere PENDING, for every app.
func TestCommitDeployments(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.release("checkout", 1, "shop", "development", "staging", "production-de", "production-jp")
	s.release("checkout", 2, "shop", "development", "staging", "production-de", "production-jp")
	if res := s.h.Execute(context.Background(), commands.Request{Actor: deploy.System, Via: deploy.ViaConsole, Text: "deploy checkout 1 to staging"}); !res.OK() {
		t.Fatal(res.Problem)
	}
	status, _, body := get(t, s.srv, http.MethodGet, s.srv.URL+"/api/commit-deployments/01234567")
	if status != 200 {
		t.Fatalf("commit-deployments: %d %s", status, body)
	}
	want := `{"deploymentStatus":{"checkout":{"deploymentStatus":{"development":"DEPLOYED","production-de":"PENDING","production-jp":"PENDING","staging":"PENDING"}}}}` + "\n"
	if diff := cmp.Diff(want, body); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
	if status, _, body := get(t, s.srv, http.MethodGet, s.srv.URL+"/api/commit-deployments/fedcba9"); status != 404 {
		t.Errorf("unknown commit: %d %s", status, body)
	}
	if status, _, _ := get(t, s.srv, http.MethodGet, s.srv.URL+"/api/commit-deployments/xyz"); status != 400 {
		t.Errorf("bad commit id: %d", status)
	}
}

func TestHistogramExposition(t *testing.T) {
	m := newMetrics([]MetricFunc{{Name: "x_seconds", Help: "X.", Type: "histogram", Histogram: func() Histogram {
		return Histogram{Bounds: []float64{0.5, 1}, Counts: []uint64{2, 3}, Sum: 2.25, Count: 4}
	}}, {Name: "broken", Type: "histogram"}}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	var b bytes.Buffer
	m.write(&b)
	want := "# HELP x_seconds X.\n# TYPE x_seconds histogram\nx_seconds_bucket{le=\"0.5\"} 2\nx_seconds_bucket{le=\"1\"} 3\nx_seconds_bucket{le=\"+Inf\"} 4\nx_seconds_sum 2.25\nx_seconds_count 4\n"
	if got := b.String(); !strings.HasSuffix(got, want) || strings.Contains(got, "broken") {
		t.Errorf("exposition:\n%s\nwant it to end with:\n%s", got, want)
	}
}
