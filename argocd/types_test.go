package argocd

import (
	"encoding/json"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestDecodeApplication decodes an application as Argo CD answers it (multi-source, a
// sync running), with the many fields we do not declare.
func TestDecodeApplication(t *testing.T) {
	b, err := os.ReadFile("testdata/application.json")
	if err != nil {
		t.Fatal(err)
	}
	var got Application
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	rev := "9f2c1e7b4d3a5f6e8c0b1a2d3e4f5a6b7c8d9e0f"
	want := Application{
		Metadata: Metadata{
			Name:      "staging-shop",
			Namespace: "argocd",
			Labels:    map[string]string{"com.freiheit.kuberpult/team": "checkout"},
			Annotations: map[string]string{
				"argocd.argoproj.io/manifest-generate-paths": "/environments/staging/applications/shop/manifests;",
				"com.freiheit.kuberpult/application":         "shop",
				"com.freiheit.kuberpult/environment":         "staging",
			},
		},
		Spec: Spec{
			Project:     "staging",
			Destination: Destination{Server: "https://kubernetes.default.svc", Namespace: "shop"},
			Sources: []Source{{
				RepoURL:        "https://git.example.com/org/envrepo.git",
				Path:           "environments/staging/applications/shop/manifests",
				TargetRevision: "main",
			}},
		},
		Status: Status{
			Sync:   SyncStatus{Status: Synced, Revisions: []string{rev}},
			Health: HealthStatus{Status: Progressing},
			OperationState: &OperationState{
				Phase:      PhaseRunning,
				Message:    "waiting for healthy state of apps/Deployment/shop",
				StartedAt:  time.Date(2025, 3, 2, 10, 15, 0, 0, time.UTC),
				SyncResult: &SyncResult{Revisions: []string{rev}},
			},
			ReconciledAt: time.Date(2025, 3, 2, 10, 15, 4, 0, time.UTC),
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decoded application (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{rev}, got.Revisions()); diff != "" {
		t.Errorf("revisions (-want +got):\n%s", diff)
	}
}

func TestRevisionsAndHasRevision(t *testing.T) {
	const full = "9f2c1e7b4d3a5f6e8c0b1a2d3e4f5a6b7c8d9e0f"
	const other = "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b"
	single := Application{Status: Status{Sync: SyncStatus{Status: Synced, Revision: full}}}
	multi := Application{Status: Status{
		Sync:           SyncStatus{Revisions: []string{full, "", full}},
		OperationState: &OperationState{Phase: PhaseSucceeded, SyncResult: &SyncResult{Revision: "", Revisions: []string{other, full}}},
	}}
	syncing := Application{Status: Status{
		Sync:           SyncStatus{Status: OutOfSync, Revision: other},
		OperationState: &OperationState{Phase: PhaseRunning, SyncResult: &SyncResult{Revision: full}},
	}}
	tests := []struct {
		name      string
		app       Application
		commit    string
		revisions []string
		want      bool
	}{
		{name: "nothing reported", app: Application{}, commit: full, want: false},
		{name: "single source, full id", app: single, commit: full, revisions: []string{full}, want: true},
		{name: "single source, 7-character prefix", app: single, commit: full[:7], revisions: []string{full}, want: true},
		{name: "upper case prefix", app: single, commit: "9F2C1E7B", revisions: []string{full}, want: true},
		{name: "6 characters are too few", app: single, commit: full[:6], revisions: []string{full}, want: false},
		{name: "another commit", app: single, commit: other, revisions: []string{full}, want: false},
		{name: "empty commit", app: single, commit: "", revisions: []string{full}, want: false},
		{name: "a longer id than the revision", app: single, commit: full + "00", revisions: []string{full}, want: false},
		{name: "multi source, deduplicated, empty ones left out", app: multi, commit: other, revisions: []string{full, other}, want: true},
		{name: "the running sync's revision counts", app: syncing, commit: full[:10], revisions: []string{other, full}, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.revisions, tt.app.Revisions()); diff != "" {
				t.Errorf("Revisions() (-want +got):\n%s", diff)
			}
			if got := tt.app.HasRevision(tt.commit); got != tt.want {
				t.Errorf("HasRevision(%q) = %v, want %v", tt.commit, got, tt.want)
			}
		})
	}
}

func TestAppName(t *testing.T) {
	if got, want := AppName("staging", "shop"), "staging-shop"; got != want {
		t.Errorf("AppName = %q, want %q", got, want)
	}
}

func TestParseError(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   *APIError
		is     []error
	}{
		{
			name: "gateway error", status: 403,
			body: `{"error":"permission denied","code":7,"message":"permission denied"}`,
			want: &APIError{Status: 403, Code: 7, Message: "permission denied"},
			is:   []error{ErrUnauthorized},
		},
		{
			name: "not found", status: 404,
			body: `{"error":"applications.argoproj.io \"x\" not found","code":5,"message":"applications.argoproj.io \"x\" not found"}`,
			want: &APIError{Status: 404, Code: 5, Message: `applications.argoproj.io "x" not found`},
			is:   []error{ErrNotFound},
		},
		{
			name: "stream error before the first event", status: 503,
			body: `{"error":{"grpc_code":14,"http_code":503,"message":"connection refused","http_status":"Service Unavailable"}}`,
			want: &APIError{Status: 503, Code: 14, Message: "connection refused"},
		},
		{
			name: "not Argo CD's JSON", status: 502,
			body: "<html>Bad Gateway</html>\n",
			want: &APIError{Status: 502, Message: "<html>Bad Gateway</html>"},
		},
		{
			name: "a proxy's 401", status: 401, body: "",
			want: &APIError{Status: 401},
			is:   []error{ErrUnauthorized},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseError(tt.status, []byte(tt.body))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseError (-want +got):\n%s", diff)
			}
			for _, target := range []error{ErrNotFound, ErrUnauthorized} {
				want := false
				for _, is := range tt.is {
					want = want || is == target
				}
				if errors.Is(got, target) != want {
					t.Errorf("errors.Is(%v, %v) = %v, want %v", got, target, !want, want)
				}
			}
		})
	}
}

func TestAPIErrorText(t *testing.T) {
	tests := []struct {
		err  *APIError
		want string
	}{
		{&APIError{Status: 403, Code: 7, Message: "permission denied"}, "permission denied (HTTP 403, gRPC code 7)"},
		{&APIError{Status: 401}, "unauthorized (HTTP 401)"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}
