package api

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCommitOfTheDeployedRelease(t *testing.T) {
	s := newStack(t, stackOptions{tokens: []Token{ciToken}})
	s.release("checkout", 1, "payments", allEnvs...) // goes to development (upstream latest)
	s.release("checkout", 2, "payments", "staging")  // development has no manifest: stays on 1
	tests := []struct {
		name       string
		path       string
		wantStatus int
		wantBody   string
	}{
		{"deployed", "/api/environments/development/applications/checkout/commit", 200,
			`{"author":"Jane Doe <jane@example.com>","commit_id":"0123456789abcdef0123456789abcdef01234561","commit_message":"Fix rounding in checkout"}`},
		{"not deployed there: empty fields, as Kuberpult", "/api/environments/staging/applications/checkout/commit", 200,
			`{"author":"","commit_id":"","commit_message":""}`},
		{"unknown app", "/api/environments/development/applications/cart/commit", 200,
			`{"author":"","commit_id":"","commit_message":""}`},
		{"trailing slash", "/api/environments/development/applications/checkout/commit/", 200,
			`{"author":"Jane Doe <jane@example.com>","commit_id":"0123456789abcdef0123456789abcdef01234561","commit_message":"Fix rounding in checkout"}`},
		{"unknown environment", "/api/environments/qa/applications/checkout/commit", 404,
			"{\"error\":\"no environment `qa`; environments: development, production-de, production-jp, staging\"}"},
		{"bad app name", "/api/environments/development/applications/Check_out/commit", 400,
			`{"error":"application name \"Check_out\" is not valid: use lowercase letters, digits and single dashes (^[a-z0-9]+(-[a-z0-9]+)*$)"}`},
		{"bad environment name", "/api/environments/dev.1/applications/checkout/commit", 400,
			`{"error":"environment name \"dev.1\" is not valid: use lowercase letters, digits and single dashes (^[a-z0-9]+(-[a-z0-9]+)*$)"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := rawRequest(t, s, http.MethodGet, tt.path, "", "", http.Header{"Authorization": {"Bearer " + ciSecret}})
			status, h, body := s.send(req)
			if status != tt.wantStatus {
				t.Errorf("status = %d, want %d", status, tt.wantStatus)
			}
			if ct := h.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			if diff := cmp.Diff(jsonValue(t, []byte(tt.wantBody)), jsonValue(t, body)); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}

// jsonValue decodes a JSON document for comparison.
func jsonValue(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%q: %v", b, err)
	}
	return v
}

// jsonString encodes s as a JSON string.
func jsonString(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestReadEndpoints(t *testing.T) {
	s := newStack(t, stackOptions{tokens: []Token{ciToken}})
	s.release("checkout", 1, "payments", allEnvs...)
	s.release("cart", 1, "shop", "development", "staging")
	as := func(c cliLock) cliLock {
		c.UseDexAuth, c.DexToken, c.AuthorName, c.AuthorEmail = true, ptr(ciSecret), ptr("Jane Doe"), ptr("jane@example.com")
		return c
	}
	for _, c := range []cliLock{
		as(cliLock{Env: "development", App: "cart", LockID: "hold-cart", Message: "flaky tests"}),
		as(cliLock{Env: "staging", LockID: "freeze", Message: "release freeze"}),
		as(cliLock{Env: "staging", Team: "payments", LockID: "pay-hold", Message: "migration"}),
		as(cliLock{Group: "production", LockID: "xmas", Message: "holidays"}),
	} {
		if status, _, body := c.create(t, s); status != http.StatusOK {
			t.Fatalf("%s: %d %s", c.path(), status, body)
		}
	}
	s.release("cart", 2, "shop", "development", "staging") // held on development by hold-cart

	jane := `{"kind":"api","id":"token:ci","name":"Jane Doe","email":"jane@example.com"}`
	lock := func(kind, id, env, extra, msg string) string {
		return `{"kind":"` + kind + `","id":"` + id + `","env":"` + env + `",` + extra + `"message":"` + msg +
			`","author":` + jane + `,"createdAt":"2026-11-02T10:00:00Z"}`
	}
	holdCart := lock("app", "hold-cart", "development", `"app":"cart",`, "flaky tests")
	freeze := lock("env", "freeze", "staging", "", "release freeze")
	payHold := lock("team", "pay-hold", "staging", `"team":"payments",`, "migration")
	xmasDE := lock("env", "xmas", "production-de", "", "holidays")
	xmasJP := lock("env", "xmas", "production-jp", "", "holidays")
	heldReason := jsonString(t, "auto-deploy of cart 2 to development held by app lock `hold-cart` (\"flaky tests\")")
	deployed := func(env string, v string) string {
		return `"env":"` + env + `","version":` + v + `,"how":"auto","actor":"kuberpult","time":"2026-11-02T10:00:00Z","pending":true`
	}

	tests := []struct {
		path string
		want string
	}{
		{"/api/locks", `{"locks":[` + holdCart + `,` + xmasDE + `,` + xmasJP + `,` + freeze + `,` + payHold + `]}`},
		{"/api/environments", `{"environments":[
			{"name":"development","group":"development","upstream":{"latest":true},"locks":[` + holdCart + `]},
			{"name":"production-de","group":"production","upstream":{"environment":"staging"},"locks":[` + xmasDE + `]},
			{"name":"production-jp","group":"production","upstream":{"environment":"staging"},"locks":[` + xmasJP + `]},
			{"name":"staging","group":"staging","upstream":{"environment":"development"},"locks":[` + freeze + `,` + payHold + `]}]}`},
		{"/api/applications", `{"applications":[
			{"name":"cart","team":"shop","latestVersion":2,"environments":[
				{` + deployed("development", "1") + `,"locks":[` + holdCart + `],
				 "held":{"version":2,"how":"auto","reason":` + heldReason + `,"lockIds":["hold-cart"],"time":"2026-11-02T10:00:00Z"}},
				{"env":"production-de","pending":false,"locks":[` + xmasDE + `]},
				{"env":"production-jp","pending":false,"locks":[` + xmasJP + `]},
				{"env":"staging","pending":false,"locks":[` + freeze + `]}]},
			{"name":"checkout","team":"payments","latestVersion":1,"environments":[
				{` + deployed("development", "1") + `,"locks":[]},
				{"env":"production-de","pending":false,"locks":[` + xmasDE + `]},
				{"env":"production-jp","pending":false,"locks":[` + xmasJP + `]},
				{"env":"staging","pending":false,"locks":[` + freeze + `,` + payHold + `]}]}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			req := rawRequest(t, s, http.MethodGet, tt.path, "", "", http.Header{"Authorization": {"Bearer " + ciSecret}})
			status, _, body := s.send(req)
			if status != http.StatusOK {
				t.Fatalf("status = %d, body %s", status, body)
			}
			if diff := cmp.Diff(jsonValue(t, []byte(tt.want)), jsonValue(t, body)); diff != "" {
				t.Errorf("body (-want +got):\n%s\ngot: %s", diff, body)
			}
		})
	}
}

func TestReadEndpointsWhenEmpty(t *testing.T) {
	s := newStack(t, stackOptions{})
	for path, want := range map[string]string{
		"/api/locks":        `{"locks":[]}`,
		"/api/applications": `{"applications":[]}`,
	} {
		status, _, body := s.send(rawRequest(t, s, http.MethodGet, path, "", "", nil))
		if status != http.StatusOK || string(body) != want+"\n" {
			t.Errorf("%s: %d %s, want 200 %s", path, status, body, want)
		}
	}
}
