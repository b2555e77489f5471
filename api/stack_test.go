package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"kuberpult/commands"
	"kuberpult/deploy"
	"kuberpult/policy"
	"kuberpult/store"
)

// The command handler is the API's Handler.
var _ Handler = (*commands.Handler)(nil)

var t0 = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)

func testEnvs() deploy.Environments {
	return deploy.Environments{
		"development":   {Upstream: &deploy.Upstream{Latest: true}},
		"staging":       {Upstream: &deploy.Upstream{Environment: "development"}},
		"production-de": {Upstream: &deploy.Upstream{Environment: "staging"}, Group: "production"},
		"production-jp": {Upstream: &deploy.Upstream{Environment: "staging"}, Group: "production"},
	}
}

// stack is the API in front of the real command handler and a real SQLite store.
type stack struct {
	t    *testing.T
	db   *store.DB
	h    *commands.Handler
	srv  *httptest.Server
	logs *syncBuffer // what the API and the handler log, as JSON lines
}

type stackOptions struct {
	tokens          []Token
	policy          *policy.Policy
	followsRollouts bool
}

func newStack(t *testing.T, o stackOptions) *stack {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	logs := &syncBuffer{}
	log := newJSONLogger(logs)
	h := commands.New(commands.Options{Store: db, Environments: testEnvs(), Policy: o.policy,
		Now: func() time.Time { return t0 }, Logger: log})
	srv := startServer(t, Options{Handler: h, Tokens: o.tokens, Logger: log, FollowsRollouts: o.followsRollouts})
	return &stack{t: t, db: db, h: h, srv: srv, logs: logs}
}

// release stores a release the way CI would, with a manifest for each environment given.
func (s *stack) release(app string, version int, team string, envs ...string) {
	s.t.Helper()
	req := commands.ReleaseRequest{Application: app, Version: deploy.Version(version).String(), Team: team,
		SourceCommitID: "0123456789abcdef0123456789abcdef0123456" + deploy.Version(version%10).String(),
		SourceAuthor:   "Jane Doe <jane@example.com>", SourceMessage: "Fix rounding in " + app,
		Manifests: map[string]string{}}
	for _, env := range envs {
		req.Manifests[env] = "kind: ConfigMap\nmetadata:\n  name: " + app + "\n"
	}
	if res := s.h.CreateRelease(context.Background(), commands.Request{Actor: deploy.System, Via: deploy.ViaAPI}, req); !res.OK() {
		s.t.Fatalf("release %s %d: %v", app, version, res.Problem)
	}
}

func (s *stack) state() deploy.State {
	s.t.Helper()
	st, err := s.h.State(context.Background())
	if err != nil {
		s.t.Fatal(err)
	}
	deploy.SortLocks(st.Locks)
	return st
}

func (s *stack) locks() []deploy.Lock { return s.state().Locks }

// send does a request and returns the status, headers and body.
func (s *stack) send(req *http.Request) (int, http.Header, []byte) {
	s.t.Helper()
	return do(s.t, s.srv, req)
}

// allEnvs are the environments of testEnvs.
var allEnvs = []string{"development", "staging", "production-de", "production-jp"}

// cliLock is a lock command of Kuberpult's CLI, sent the way cli/pkg/locks/lock.go sends it:
// create-*-lock is a PUT with the JSON body {"message": ...} (newer versions add "ciLink"),
// delete-*-lock a DELETE with an empty body, both with Content-Type application/json. With
// --use_dex_auth the path gets the "api/" prefix and the request carries
// "Authorization: Bearer $KUBERPULT_DEX_ACCESS_TOKEN"; --author_name and --author_email go
// into the author-name and author-email headers as standard base64.
type cliLock struct {
	Env, App, Team, Group string // Group: a group lock; else Team: team lock; else App: app lock; else env lock
	LockID                string
	Message               string
	CILink                *string
	UseDexAuth            bool
	DexToken              *string
	AuthorName            *string
	AuthorEmail           *string
}

func (c cliLock) path() string {
	prefix := ""
	if c.UseDexAuth {
		prefix = "api/"
	}
	switch {
	case c.Group != "":
		return prefix + "environment-groups/" + c.Group + "/locks/" + c.LockID
	case c.Team != "":
		return prefix + "environments/" + c.Env + "/lock/team/" + c.Team + "/" + c.LockID
	case c.App != "":
		return prefix + "environments/" + c.Env + "/applications/" + c.App + "/locks/" + c.LockID
	}
	return prefix + "environments/" + c.Env + "/locks/" + c.LockID
}

// cliLockBody is the CLI's JSON body of a create request.
type cliLockBody struct {
	Message string `json:"message"`
	CiLink  string `json:"ciLink,omitempty"`
}

func (c cliLock) request(t *testing.T, baseURL, method string) *http.Request {
	t.Helper()
	body := []byte{}
	if method == http.MethodPut {
		b := cliLockBody{Message: c.Message}
		if c.CILink != nil {
			b.CiLink = *c.CILink
		}
		var err error
		if body, err = json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	}
	u, err := url.Parse(baseURL)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(method, u.JoinPath(c.path()).String(), bytes.NewBuffer(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.DexToken != nil {
		req.Header.Add("Authorization", "Bearer "+*c.DexToken)
	}
	if c.AuthorName != nil {
		req.Header.Add("author-name", base64.StdEncoding.EncodeToString([]byte(*c.AuthorName)))
	}
	if c.AuthorEmail != nil {
		req.Header.Add("author-email", base64.StdEncoding.EncodeToString([]byte(*c.AuthorEmail)))
	}
	return req
}

func (c cliLock) create(t *testing.T, s *stack) (int, http.Header, []byte) {
	t.Helper()
	return s.send(c.request(t, s.srv.URL, http.MethodPut))
}

func (c cliLock) delete(t *testing.T, s *stack) (int, http.Header, []byte) {
	t.Helper()
	return s.send(c.request(t, s.srv.URL, http.MethodDelete))
}

// rawRequest builds a request with an arbitrary body and headers.
func rawRequest(t *testing.T, s *stack, method, path, contentType, body string, h http.Header) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, s.srv.URL+path, bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req
}

// decodeAnswer reads a lock answer strictly.
func decodeAnswer(t *testing.T, body []byte) lockAnswer {
	t.Helper()
	var a lockAnswer
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	return a
}
