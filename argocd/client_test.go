package argocd_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"kuberpult/argocd"
	"kuberpult/argocd/argocdfake"
)

const commit = "9f2c1e7b4d3a5f6e8c0b1a2d3e4f5a6b7c8d9e0f"

func app(env, name, team string, health argocd.HealthStatusCode) argocd.Application {
	return argocd.Application{
		Metadata: argocd.Metadata{
			Name:        env + "-" + name,
			Namespace:   "argocd",
			Labels:      map[string]string{"com.freiheit.kuberpult/team": team},
			Annotations: map[string]string{"com.freiheit.kuberpult/environment": env, "com.freiheit.kuberpult/application": name},
		},
		Spec: argocd.Spec{
			Project:     env,
			Destination: argocd.Destination{Server: "https://kubernetes.default.svc", Namespace: name},
			Sources: []argocd.Source{{
				RepoURL:        "https://git.example.com/org/envrepo.git",
				Path:           "environments/" + env + "/applications/" + name + "/manifests",
				TargetRevision: "main",
			}},
		},
		Status: argocd.Status{
			Sync:   argocd.SyncStatus{Status: argocd.Synced, Revisions: []string{commit}},
			Health: argocd.HealthStatus{Status: health},
		},
	}
}

func newClient(t *testing.T, server string, opts argocd.Options) *argocd.Client {
	t.Helper()
	opts.Server = server
	c, err := argocd.New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func TestApplication(t *testing.T) {
	fake := argocdfake.New(t)
	shop := app("staging", "shop", "checkout", argocd.Healthy)
	fake.Set(shop)
	c := newClient(t, fake.URL(), argocd.Options{Token: fake.Token()})
	ctx := t.Context()

	got, err := c.Application(ctx, "staging-shop", false)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(shop, got); diff != "" {
		t.Errorf("application (-want +got):\n%s", diff)
	}
	if got := fake.Refreshes("staging-shop"); len(got) != 0 {
		t.Errorf("refreshes without refresh: %v", got)
	}

	// A refresh: Argo CD reads git again and answers with what it found.
	fake.OnRefresh(func(a argocd.Application) argocd.Application {
		a.Status.Sync = argocd.SyncStatus{Status: argocd.OutOfSync, Revisions: []string{"1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b"}}
		return a
	})
	got, err = c.ApplicationInProject(ctx, "staging", "staging-shop", true)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status.Sync.Status != argocd.OutOfSync || !got.HasRevision("1a2b3c4") {
		t.Errorf("refreshed application has sync %+v", got.Status.Sync)
	}
	if diff := cmp.Diff([]string{"normal"}, fake.Refreshes("staging-shop")); diff != "" {
		t.Errorf("refreshes (-want +got):\n%s", diff)
	}
	if n := fake.Requests("/api/v1/applications/staging-shop"); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestApplicationErrors(t *testing.T) {
	tests := []struct {
		name    string
		token   string // "" for the right one
		setup   func(*argocdfake.Server)
		get     func(ctx context.Context, c *argocd.Client) error
		is      error
		want    *argocd.APIError
		wantMsg string
	}{
		{
			name: "missing application in a project: not found",
			get:  getIn("staging", "staging-nope"),
			is:   argocd.ErrNotFound,
			want: &argocd.APIError{Status: 404, Code: 5, Message: `applications.argoproj.io "staging-nope" not found`},
		},
		{
			name: "application of another project: not found",
			get:  getIn("production", "staging-shop"),
			is:   argocd.ErrNotFound,
			want: &argocd.APIError{Status: 404, Code: 5, Message: `applications.argoproj.io "staging-shop" not found`},
		},
		{
			name: "missing application without a project: permission denied, as Argo CD answers",
			get:  getIn("", "staging-nope"),
			is:   argocd.ErrUnauthorized,
			want: &argocd.APIError{Status: 403, Code: 7, Message: "permission denied"},
		},
		{
			name:  "wrong token",
			token: "wrong-token",
			get:   getIn("", "staging-shop"),
			is:    argocd.ErrUnauthorized,
			want:  &argocd.APIError{Status: 401, Code: 16, Message: "invalid session: token signature is invalid"},
		},
		{
			name:  "no token",
			token: "-",
			get:   getIn("", "staging-shop"),
			is:    argocd.ErrUnauthorized,
			want:  &argocd.APIError{Status: 401, Code: 16, Message: "no session information"},
		},
		{
			name:  "expired session",
			setup: func(s *argocdfake.Server) { s.FailNext(http.StatusUnauthorized, 1) },
			get:   getIn("", "staging-shop"),
			is:    argocd.ErrUnauthorized,
			want:  &argocd.APIError{Status: 401, Code: 16, Message: "invalid session: token has invalid claims: token is expired"},
		},
		{
			name:  "server error",
			setup: func(s *argocdfake.Server) { s.FailNext(http.StatusInternalServerError, 1) },
			get:   getIn("staging", "staging-shop"),
			want:  &argocd.APIError{Status: 500, Code: 2, Message: "argocdfake: injected failure (internal server error)"},
		},
		{
			name:  "list, server error",
			setup: func(s *argocdfake.Server) { s.FailNext(http.StatusServiceUnavailable, 1) },
			get: func(ctx context.Context, c *argocd.Client) error {
				_, err := c.Applications(ctx, "a=b")
				return err
			},
			want:    &argocd.APIError{Status: 503, Code: 14, Message: "argocdfake: injected failure (service unavailable)"},
			wantMsg: "argocd: list applications with selector a=b: argocdfake: injected failure (service unavailable) (HTTP 503, gRPC code 14)",
		},
		{
			name: "list, bad selector",
			get: func(ctx context.Context, c *argocd.Client) error {
				_, err := c.Applications(ctx, "a in (b")
				return err
			},
			want: &argocd.APIError{Status: 500, Code: 2, Message: `error parsing the selector: unable to parse requirement "a in (b"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := argocdfake.New(t)
			fake.Set(app("staging", "shop", "checkout", argocd.Healthy))
			if tt.setup != nil {
				tt.setup(fake)
			}
			token := fake.Token()
			switch tt.token {
			case "-":
				token = ""
			case "":
			default:
				token = tt.token
			}
			c := newClient(t, fake.URL(), argocd.Options{Token: token})
			err := tt.get(t.Context(), c)
			if err == nil {
				t.Fatal("no error")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			for _, sentinel := range []error{argocd.ErrNotFound, argocd.ErrUnauthorized} {
				if sentinel != tt.is && errors.Is(err, sentinel) {
					t.Errorf("error %v is %v", err, sentinel)
				}
			}
			var got *argocd.APIError
			if !errors.As(err, &got) {
				t.Fatalf("error %v is no *APIError", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("APIError (-want +got):\n%s", diff)
			}
			if tt.wantMsg != "" && err.Error() != tt.wantMsg {
				t.Errorf("error %q, want %q", err, tt.wantMsg)
			}
			if strings.Contains(err.Error(), fake.Token()) || (token != "" && strings.Contains(err.Error(), token)) {
				t.Errorf("error %q shows the token", err)
			}
		})
	}
}

func getIn(project, name string) func(context.Context, *argocd.Client) error {
	return func(ctx context.Context, c *argocd.Client) error {
		_, err := c.ApplicationInProject(ctx, project, name, false)
		return err
	}
}

// TestTimeout: a server that does not answer makes the request fail after the timeout;
// released, it answers again.
func TestTimeout(t *testing.T) {
	fake := argocdfake.New(t)
	fake.Set(app("staging", "shop", "checkout", argocd.Healthy))
	c := newClient(t, fake.URL(), argocd.Options{Token: fake.Token(), Timeout: 50 * time.Millisecond})

	release := fake.Block()
	defer release()
	for _, call := range []func() error{
		func() error { _, err := c.Application(t.Context(), "staging-shop", true); return err },
		func() error { _, err := c.Applications(t.Context(), ""); return err },
	} {
		err := call()
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no answer within 50ms") {
			t.Errorf("error %v, want a timeout", err)
		}
	}
	if n := fake.Requests("/api/v1/applications/staging-shop"); n != 1 {
		t.Errorf("%d requests reached the server, want 1", n)
	}

	// The caller's own context ends a hanging request too, with its error.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := c.Application(ctx, "staging-shop", false); !errors.Is(err, context.Canceled) || strings.Contains(err.Error(), "no answer within") {
		t.Errorf("error %v, want the caller's cancellation", err)
	}

	release()
	if _, err := c.Application(t.Context(), "staging-shop", false); err != nil {
		t.Errorf("after release: %v", err)
	}
}

func TestApplications(t *testing.T) {
	fake := argocdfake.New(t)
	shop := app("staging", "shop", "checkout", argocd.Healthy)
	cart := app("staging", "cart", "checkout", argocd.Degraded)
	search := app("staging", "search", "discovery", argocd.Progressing)
	for _, a := range []argocd.Application{shop, cart, search} {
		fake.Set(a)
	}
	c := newClient(t, fake.URL(), argocd.Options{Token: fake.Token()})
	tests := []struct {
		selector string
		want     []argocd.Application
	}{
		{selector: "", want: []argocd.Application{cart, search, shop}},
		{selector: "com.freiheit.kuberpult/team=checkout", want: []argocd.Application{cart, shop}},
		{selector: "com.freiheit.kuberpult/team!=checkout", want: []argocd.Application{search}},
		{selector: "com.freiheit.kuberpult/team=checkout,com.freiheit.kuberpult/team==discovery", want: nil},
		{selector: "com.freiheit.kuberpult/team=nobody", want: nil}, // Argo CD answers "items":null
	}
	for _, tt := range tests {
		t.Run(tt.selector, func(t *testing.T) {
			got, err := c.Applications(t.Context(), tt.selector)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("applications (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTokenNeverInErrors: a server (or a proxy) that echoes the request's Authorization
// header in its error answers does not get the token into an error.
func TestTokenNeverInErrors(t *testing.T) {
	const token = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.signature"
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/api/v1/stream/applications" {
			_, _ = w.Write([]byte(`{"error":{"grpc_code":16,"http_code":401,"message":"bad header ` + auth + `","http_status":"Unauthorized"}}` + "\n"))
			return
		}
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"bad header ` + auth + `","code":16,"message":"bad header ` + auth + `"}`))
	}))
	defer echo.Close()
	c := newClient(t, echo.URL, argocd.Options{Token: token + "\n"})
	ctx := t.Context()
	calls := map[string]func() error{
		"application":  func() error { _, err := c.Application(ctx, "staging-shop", true); return err },
		"applications": func() error { _, err := c.Applications(ctx, "a=b"); return err },
		"watch":        func() error { return c.Watch(ctx, "", func(argocd.Event) {}) },
	}
	for name, call := range calls {
		err := call()
		if !errors.Is(err, argocd.ErrUnauthorized) {
			t.Errorf("%s: error %v, want unauthorized", name, err)
		}
		if strings.Contains(err.Error(), token) || strings.Contains(err.Error(), "signature") {
			t.Errorf("%s: error %q shows the token", name, err)
		}
		if !strings.Contains(err.Error(), "bad header Bearer [redacted]") {
			t.Errorf("%s: error %q does not show the redacted message", name, err)
		}
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opts argocd.Options
		want string
	}{
		{name: "no server", opts: argocd.Options{}, want: `argocd: server "" is not a URL like https://argocd.example.com`},
		{name: "no scheme", opts: argocd.Options{Server: "argocd.example.com:443"}, want: `argocd: server "argocd.example.com:443" is not a URL like https://argocd.example.com`},
		{name: "negative timeout", opts: argocd.Options{Server: "https://a", Timeout: -time.Second}, want: "argocd: timeout -1s is negative"},
		{name: "CA file and insecure", opts: argocd.Options{Server: "https://a", CAFile: "ca.pem", Insecure: true}, want: "argocd: set either a CA file or insecure, not both"},
		{name: "HTTP client and insecure", opts: argocd.Options{Server: "https://a", HTTPClient: http.DefaultClient, Insecure: true}, want: "argocd: set either an HTTP client or a CA file and insecure, not both"},
		{name: "token with a space", opts: argocd.Options{Server: "https://a", Token: "abc def"}, want: "argocd: the token has spaces or control characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := argocd.New(tt.opts)
			if err == nil || err.Error() != tt.want {
				t.Errorf("New: error %v, want %q", err, tt.want)
			}
		})
	}
}

// TestServerWithPath: Argo CD served under a path (--rootpath) keeps it in every request.
func TestServerWithPath(t *testing.T) {
	fake := argocdfake.New(t)
	fake.Set(app("staging", "shop", "checkout", argocd.Healthy))
	mux := http.NewServeMux()
	mux.Handle("/argocd/", http.StripPrefix("/argocd", fake))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := newClient(t, srv.URL+"/argocd/", argocd.Options{Token: fake.Token(), HTTPClient: srv.Client()})
	if _, err := c.Application(t.Context(), "staging-shop", false); err != nil {
		t.Fatal(err)
	}
}
