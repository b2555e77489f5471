package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"sort"
	"sync"
	"testing"

	"kuberpult/commands"
	"kuberpult/deploy"
)

// This file builds requests the way Kuberpult's own clients build them, so the tests speak
// their exact wire format:
//   - the CLI, cli/pkg/release/http.go (prepareHttpRequest) and its http_test.go: plain
//     fields via WriteField, manifests[<env>] and signatures[<env>] as file parts named
//     "<env>-manifest" / "<env>-signature" (Content-Type application/octet-stream), headers
//     author-name / author-email as standard base64, POST to <url>/release, or to
//     <url>/api/release with --use_dex_auth (then also Authorization: Bearer <token>);
//   - the curl script infrastructure/scripts/create-testdata/create-release.sh: --form-string
//     fields, manifests as files with a temp-file name, revision=0, an empty display_version,
//     a client-uuid header and an author-name with one "=" too many.

// formPart is one part of a multipart form: a plain field, or a file part when filename is set.
type formPart struct {
	name, filename, value string
}

func field(name, value string) formPart { return formPart{name: name, value: value} }

func filePart(name, filename, value string) formPart {
	return formPart{name: name, filename: filename, value: value}
}

// buildForm encodes parts with a fixed boundary, so the same parts give the same bytes.
func buildForm(parts []formPart) (contentType string, body []byte) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	if err := w.SetBoundary("kuberpult-test-boundary"); err != nil {
		panic(err)
	}
	for _, p := range parts {
		var err error
		if p.filename != "" {
			var fw io.Writer
			if fw, err = w.CreateFormFile(p.name, p.filename); err == nil {
				_, err = io.WriteString(fw, p.value)
			}
		} else {
			err = w.WriteField(p.name, p.value)
		}
		if err != nil {
			panic(err)
		}
	}
	if err := w.Close(); err != nil {
		panic(err)
	}
	return w.FormDataContentType(), b.Bytes()
}

// cliRelease is what Kuberpult's CLI puts into a release request (its ReleaseParameters
// and AuthenticationParameters). Nil pointers are flags that were not given.
type cliRelease struct {
	Application      string
	Manifests        map[string]string // environment → manifest
	Signatures       map[string]string // environment → signature (legacy /release only)
	Team             *string
	SourceCommitID   *string
	PreviousCommitID *string
	SourceAuthor     *string
	SourceMessage    *string
	Version          *uint64
	DisplayVersion   *string
	CILink           *string
	Revision         *uint64
	IsPrepublish     bool
	UseDexAuth       bool // /api/release instead of /release
	DexToken         *string
	AuthorName       *string
	AuthorEmail      *string
}

func ptr[T any](v T) *T { return &v }

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// parts lists the form parts in the CLI's order (maps sorted, for stable bytes).
func (c cliRelease) parts() []formPart {
	ps := []formPart{field("application", c.Application)}
	for _, env := range sortedKeys(c.Manifests) {
		ps = append(ps, filePart("manifests["+env+"]", env+"-manifest", c.Manifests[env]))
	}
	for _, env := range sortedKeys(c.Signatures) {
		ps = append(ps, filePart("signatures["+env+"]", env+"-signature", c.Signatures[env]))
	}
	opt := func(name string, v *string) {
		if v != nil {
			ps = append(ps, field(name, *v))
		}
	}
	opt("team", c.Team)
	opt("source_commit_id", c.SourceCommitID)
	opt("previous_commit_id", c.PreviousCommitID)
	opt("source_author", c.SourceAuthor)
	opt("source_message", c.SourceMessage)
	if c.Version != nil {
		ps = append(ps, field("version", fmt.Sprint(*c.Version)))
	}
	opt("display_version", c.DisplayVersion)
	opt("ci_link", c.CILink)
	if c.Revision != nil {
		ps = append(ps, field("revision", fmt.Sprint(*c.Revision)))
	}
	if c.IsPrepublish {
		ps = append(ps, field("is_prepublish", "true"))
	}
	return ps
}

func (c cliRelease) path() string {
	if c.UseDexAuth {
		return "/api/release"
	}
	return "/release"
}

func (c cliRelease) header() http.Header {
	h := http.Header{}
	if c.DexToken != nil {
		h.Set("Authorization", "Bearer "+*c.DexToken)
	}
	if c.AuthorName != nil {
		h.Set("author-name", base64.StdEncoding.EncodeToString([]byte(*c.AuthorName)))
	}
	if c.AuthorEmail != nil {
		h.Set("author-email", base64.StdEncoding.EncodeToString([]byte(*c.AuthorEmail)))
	}
	return h
}

// curlScriptParts are the parts create-release.sh sends for one app and two environments.
func curlScriptParts() []formPart {
	return []formPart{
		field("application", "checkout"),
		field("source_commit_id", "0123456789abcdef0123456789abcdef01234567"),
		field("source_author", "urbansky"),
		field("version", "42"),
		field("revision", "0"),
		field("display_version", ""),
		field("source_message", "Add colors to new UI\n\n1: Add colors to new UI\n"),
		field("team", "sreteam"),
		filePart("manifests[development]", "development.AbC123", "---\nkind: ConfigMap\n"),
		filePart("manifests[staging]", "staging.XyZ789", "---\nkind: ConfigMap\n"),
	}
}

// curlScriptHeader has the script's headers; its author-name carries one "=" too many.
func curlScriptHeader() http.Header {
	h := http.Header{}
	h.Set("author-email", base64.StdEncoding.EncodeToString([]byte("script-user@example.com")))
	h.Set("author-name", base64.StdEncoding.EncodeToString([]byte("script-user"))+"=")
	h.Set("client-uuid", "12345678-1234-1234-1234-123456789012")
	return h
}

// releaseCall is one call a recordingReleaser received.
type releaseCall struct {
	Actor deploy.Actor
	Via   deploy.Via
	Req   commands.ReleaseRequest
}

// recordingReleaser records the releases it is given and answers with a configured result
// or error. It serves the release endpoints only: the rest of Handler is left nil.
type recordingReleaser struct {
	Handler
	mu     sync.Mutex
	calls  []releaseCall
	result commands.Result
	panic  any
	// entered and proceed, when set, let a test hold a call in flight.
	entered chan struct{}
	proceed chan struct{}
}

func (f *recordingReleaser) CreateRelease(_ context.Context, r commands.Request, req commands.ReleaseRequest) commands.Result {
	f.mu.Lock()
	f.calls = append(f.calls, releaseCall{Actor: r.Actor, Via: r.Via, Req: req})
	f.mu.Unlock()
	if f.entered != nil {
		close(f.entered)
		<-f.proceed
	}
	if f.panic != nil {
		panic(f.panic)
	}
	return f.result
}

func (f *recordingReleaser) recorded() []releaseCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]releaseCall(nil), f.calls...)
}

// created is a result for checkout 42, deployed to development and held on staging.
func created() commands.Result {
	rel := deploy.Release{App: "checkout", Version: 42, DisplayVersion: "v1.4.2"}
	return commands.Result{
		Verb: "release", Outcome: deploy.OutcomeDone, ActionID: 7, App: "checkout",
		Release: &commands.ReleaseInfo{Outcome: commands.ReleaseCreated, Release: rel, Deployed: []deploy.Env{"development"}},
		Held: []deploy.Held{{Env: "staging", App: "checkout", Version: 42,
			Reason: "held by lock freeze (release freeze)",
			By:     []deploy.HeldBy{{Kind: deploy.HeldByLock, Lock: &deploy.LockKey{Kind: deploy.LockEnv, ID: "freeze", Env: "staging"}}}}},
	}
}

// refused is the result of a refusal with err (a user error).
func refused(kind commands.ProblemKind, err error) commands.Result {
	msg, _ := deploy.UserMessage(err)
	out := deploy.OutcomeInvalid
	if kind == commands.ProblemDenied {
		out = deploy.OutcomeDenied
	}
	return commands.Result{Verb: "release", Outcome: out, Err: err, Problem: &commands.Problem{Kind: kind, Message: msg}}
}

// syncBuffer is a log destination the server writes to while a test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServer serves New(opts) on a real local HTTP server for the test's lifetime.
func startServer(t *testing.T, opts Options) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(New(opts))
	t.Cleanup(srv.Close)
	return srv
}

// post sends a form and returns the status, headers and body.
func post(t *testing.T, srv *httptest.Server, path string, h http.Header, contentType string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", contentType)
	return do(t, srv, req)
}

func do(t *testing.T, srv *httptest.Server, req *http.Request) (int, http.Header, []byte) {
	t.Helper()
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// namelessPart builds a form whose only part has no name (a Content-Disposition without one).
func namelessPart() (string, []byte) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	_ = w.SetBoundary("kuberpult-test-boundary")
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; filename="x.yaml"`)
	pw, _ := w.CreatePart(h)
	_, _ = io.WriteString(pw, "kind: ConfigMap\n")
	_ = w.Close()
	return w.FormDataContentType(), b.Bytes()
}
