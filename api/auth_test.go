package api

import (
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"kuberpult/deploy"
	"kuberpult/policy"
)

var otherToken = Token{Name: "deployer", Secret: "kp-deployer-0a9b8c7d"}

func TestTokenAuthentication(t *testing.T) {
	ct, form := buildForm(cliRelease{Application: "cart", Version: ptr(uint64(1)),
		Manifests: map[string]string{"development": "kind: ConfigMap\n"}}.parts())
	bearerOf := func(v ...string) http.Header { return http.Header{"Authorization": v} }
	lockPath, lockBody := "/api/environments/staging/locks/x1", `{"message":"hold"}`
	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        string
		header      http.Header
		wantStatus  int
	}{
		{"lock without a token", "PUT", lockPath, "application/json", lockBody, nil, 401},
		{"lock with a wrong token", "PUT", lockPath, "application/json", lockBody, bearerOf("Bearer kp-ci-wrong"), 401},
		{"lock with the secret plus more", "PUT", lockPath, "application/json", lockBody, bearerOf("Bearer " + ciSecret + "x"), 401},
		{"lock with basic auth", "PUT", lockPath, "application/json", lockBody,
			bearerOf("Basic " + base64.StdEncoding.EncodeToString([]byte("ci:"+ciSecret))), 401},
		{"lock with an empty bearer", "PUT", lockPath, "application/json", lockBody, bearerOf("Bearer "), 401},
		{"lock with the secret alone", "PUT", lockPath, "application/json", lockBody, bearerOf(ciSecret), 401},
		{"lock with two Authorization headers", "PUT", lockPath, "application/json", lockBody,
			bearerOf("Bearer "+ciSecret, "Bearer "+ciSecret), 401},
		{"unlock without a token", "DELETE", "/environments/staging/locks/x1", "application/json", "", nil, 401},
		{"invalid request without a token is 401 first", "PUT", "/environments/Staging/locks/x", "text/plain", "", nil, 401},
		{"release without a token", "POST", "/api/release", ct, string(form), nil, 401},
		{"read without a token", "GET", "/api/locks", "", "", nil, 401},
		{"commit without a token", "GET", "/api/environments/development/applications/checkout/commit", "", "", nil, 401},
		{"lock with the token", "PUT", lockPath, "application/json", lockBody, bearerOf("Bearer " + ciSecret), 200},
		{"lock with the other token", "PUT", lockPath, "application/json", lockBody, bearerOf("Bearer " + otherToken.Secret), 200},
		{"scheme in lower case", "PUT", lockPath, "application/json", lockBody, bearerOf("bearer " + ciSecret), 200},
		{"read with the token", "GET", "/api/locks", "", "", bearerOf("Bearer " + ciSecret), 200},
		{"healthz is public", "GET", "/healthz", "", "", nil, 200},
		{"readyz is public", "GET", "/readyz", "", "", nil, 200},
		{"metrics are public", "GET", "/metrics", "", "", nil, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := seeded(t, stackOptions{tokens: []Token{ciToken, otherToken}})
			before := s.state()
			status, h, body := s.send(rawRequest(t, s, tt.method, tt.path, tt.contentType, tt.body, tt.header))
			if status != tt.wantStatus {
				t.Fatalf("status = %d, want %d (body %s)", status, tt.wantStatus, body)
			}
			if status != http.StatusUnauthorized {
				return
			}
			if got := h.Get("WWW-Authenticate"); got != "Bearer" {
				t.Errorf("WWW-Authenticate = %q, want Bearer", got)
			}
			if diff := cmp.Diff(errorBody{Error: "missing or invalid bearer token"}, decodeError(t, h, body)); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, s.state()); diff != "" {
				t.Errorf("a refused request changed the state (-before +after):\n%s", diff)
			}
		})
	}
}

func TestAuthorHeadersNameTheActorOnly(t *testing.T) {
	// Jane may lock anything as a person; the CI token may lock development only. A request
	// with the CI token and Jane's author headers acts as the token.
	pol, err := policy.New(policy.Config{
		Policy: "p, role:CI, CreateLock, development:development, *, allow\n" +
			"p, role:Admin, CreateLock, *:*, *, allow\n" +
			"g, jane@example.com, role:Admin\n",
		Bindings: map[string][]string{"token:ci": {"CI"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		cmd        cliLock
		wantStatus int
		wantLocks  []deploy.Lock
	}{
		{"author headers are recorded",
			cliLock{Env: "development", LockID: "l1", Message: "m", AuthorName: ptr("Jane Doe"), AuthorEmail: ptr("jane@example.com")},
			200, []deploy.Lock{{Kind: deploy.LockEnv, ID: "l1", Env: "development", Message: "m", Author: janeAsCI, CreatedAt: t0}}},
		{"without author headers the token names the actor",
			cliLock{Env: "development", LockID: "l1", Message: "m"},
			200, []deploy.Lock{{Kind: deploy.LockEnv, ID: "l1", Env: "development", Message: "m",
				Author: deploy.Actor{Kind: deploy.ActorAPI, ID: "token:ci", Name: "ci"}, CreatedAt: t0}}},
		{"author headers grant nothing",
			cliLock{Env: "staging", LockID: "l1", Message: "m", AuthorName: ptr("Jane Doe"), AuthorEmail: ptr("jane@example.com")},
			403, nil},
		{"group lock needs every environment",
			cliLock{Group: "production", LockID: "l1", Message: "m", AuthorEmail: ptr("jane@example.com")},
			403, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := seeded(t, stackOptions{tokens: []Token{ciToken}, policy: pol})
			cmd := tt.cmd
			cmd.UseDexAuth, cmd.DexToken = true, ptr(ciSecret)
			status, h, body := cmd.create(t, s)
			if status != tt.wantStatus {
				t.Fatalf("status = %d, want %d (body %s)", status, tt.wantStatus, body)
			}
			if status == http.StatusForbidden {
				if e := decodeError(t, h, body); !strings.HasPrefix(e.Error, "you need CreateLock on ") {
					t.Errorf("refusal %q does not say what is missing", e.Error)
				}
			}
			if diff := cmp.Diff(tt.wantLocks, s.locks()); diff != "" {
				t.Errorf("locks (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMalformedAuthorHeaderIsRefusedAfterTheToken(t *testing.T) {
	s := seeded(t, stackOptions{tokens: []Token{ciToken}})
	h := http.Header{"Authorization": {"Bearer " + ciSecret}, "Author-Name": {"not base64!"}}
	status, rh, body := s.send(rawRequest(t, s, "PUT", "/environments/staging/locks/l1", "application/json", `{"message":"m"}`, h))
	if status != http.StatusBadRequest {
		t.Fatalf("status = %d, want 400 (body %s)", status, body)
	}
	want := "header author-name is not valid base64 (Kuberpult's clients send base64 of the value)"
	if diff := cmp.Diff(errorBody{Error: want}, decodeError(t, rh, body)); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
	if got := s.locks(); len(got) != 0 {
		t.Errorf("locks: %+v, want none", got)
	}
}

// TestSecretsStayOutOfLogsAndAnswers sends failing and succeeding requests and checks that
// no token secret and no Authorization header shows up in the logs, the answers or /metrics.
func TestSecretsStayOutOfLogsAndAnswers(t *testing.T) {
	s := seeded(t, stackOptions{tokens: []Token{ciToken, otherToken}})
	auth := func(v string) http.Header { return http.Header{"Authorization": {v}} }
	right, wrong := auth("Bearer "+ciSecret), auth("Bearer "+ciSecret+"-but-longer")
	var seen strings.Builder
	send := func(method, path, ct, body string, h http.Header) int {
		status, rh, b := s.send(rawRequest(t, s, method, path, ct, body, h))
		fmt.Fprintf(&seen, "%d %v %s\n", status, rh, b)
		return status
	}
	requests := []struct {
		method, path, ct, body string
		h                      http.Header
		want                   int
	}{
		{"PUT", "/environments/staging/locks/l1", "application/json", `{"message":"m"}`, wrong, 401},
		{"PUT", "/environments/staging/locks/l1", "application/json", `{"message":"m"}`, auth(otherToken.Secret), 401},
		{"GET", "/api/applications", "", "", wrong, 401},
		{"PUT", "/environments/staging/locks/l1", "application/json", `{"message":"m"}`, right, 200},
		{"PUT", "/environments/staging/locks/l1", "application/json", `{}`, right, 400},
		{"PUT", "/environments/qa/locks/l1", "application/json", `{"message":"m"}`, right, 404},
		{"DELETE", "/environments/staging/locks/l1", "application/json", "", auth("Bearer " + otherToken.Secret), 200},
		{"GET", "/api/environments", "", "", right, 200},
		{"GET", "/api/environments/development/applications/checkout/commit", "", "", right, 200},
	}
	for _, r := range requests {
		if got := send(r.method, r.path, r.ct, r.body, r.h); got != r.want {
			t.Errorf("%s %s: status %d, want %d", r.method, r.path, got, r.want)
		}
	}
	// An internal error is logged with the request's route: the store is gone.
	s.db.Close()
	if got := send("PUT", "/environments/staging/locks/l2", "application/json", `{"message":"m"}`, right); got != 500 {
		t.Errorf("with a closed store: status %d, want 500", got)
	}
	if got := send("GET", "/api/locks", "", "", right); got != 500 {
		t.Errorf("read with a closed store: status %d, want 500", got)
	}
	send("GET", "/metrics", "", "", nil)

	logs := s.logs.String()
	for _, wantLogged := range []string{`"msg":"unauthorized"`, `"msg":"internal error"`, `"msg":"command failed"`, `"msg":"lock"`} {
		if !strings.Contains(logs, wantLogged) {
			t.Errorf("logs lack %s:\n%s", wantLogged, logs)
		}
	}
	for where, text := range map[string]string{"logs": logs, "answers and /metrics": seen.String()} {
		for _, secret := range []string{ciSecret, otherToken.Secret, "Bearer ", "uthorization"} {
			if strings.Contains(text, secret) {
				t.Errorf("%s contain %q:\n%s", where, secret, text)
			}
		}
	}
}

func TestTokenPrintsWithoutItsSecret(t *testing.T) {
	var logs strings.Builder
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "token", ciToken, "tokens", []Token{ciToken})
	slog.New(slog.NewTextHandler(&logs, nil)).Info("config", "token", ciToken, "tokens", []Token{ciToken})
	out := fmt.Sprintf("%v %+v %s %#v %v", ciToken, ciToken, ciToken, ciToken, []Token{ciToken}) + logs.String()
	if strings.Contains(out, ciSecret) {
		t.Errorf("a printed token shows its secret: %s", out)
	}
	if !strings.Contains(out, "token:ci") {
		t.Errorf("a printed token does not show its id: %s", out)
	}
}

func TestNewRefusesBadTokens(t *testing.T) {
	tests := []struct {
		name   string
		tokens []Token
		want   string
	}{
		{"no name", []Token{{Secret: "s3cret-value"}}, "api: an API token has no name"},
		{"no secret", []Token{{Name: "ci"}}, `api: API token "ci" has no secret`},
		{"same name", []Token{ciToken, {Name: "ci", Secret: "another"}}, `api: two API tokens are named "ci"`},
		{"same secret", []Token{ciToken, {Name: "ci2", Secret: ciSecret}}, `api: API tokens "ci" and "ci2" have the same secret`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				got := fmt.Sprint(recover())
				if got != tt.want {
					t.Errorf("panic = %q, want %q", got, tt.want)
				}
				if strings.Contains(got, ciSecret) {
					t.Errorf("panic shows a secret")
				}
			}()
			New(Options{Handler: &recordingReleaser{}, Tokens: tt.tokens, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		})
	}
}

// TestUnauthorizedReleasesAreCounted: a release refused for its missing token is counted as
// unauthorized, not as an error.
func TestUnauthorizedReleasesAreCounted(t *testing.T) {
	srv := startServer(t, Options{Handler: &recordingReleaser{}, Tokens: []Token{ciToken}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if status, _, _ := get(t, srv, http.MethodPost, srv.URL+"/api/release"); status != http.StatusUnauthorized {
		t.Fatalf("release without a token: %d", status)
	}
	_, _, body := get(t, srv, http.MethodGet, srv.URL+"/metrics")
	for _, want := range []string{`kuberpult_releases_total{outcome="unauthorized"} 1`, `kuberpult_releases_total{outcome="error"} 0`,
		`kuberpult_http_requests_total{route="/api/release",method="POST",code="401"} 1`} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s:\n%s", want, body)
		}
	}
}
