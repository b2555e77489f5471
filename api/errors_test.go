package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"kuberpult/commands"
	"kuberpult/deploy"
	"kuberpult/store"
)

func TestReleaseRefusesMalformedRequests(t *testing.T) {
	app, ver := field("application", "checkout"), field("version", "42")
	dev := filePart("manifests[development]", "development-manifest", "kind: Deployment\n")
	form := func(ps ...formPart) func() (string, []byte) {
		return func() (string, []byte) { return buildForm(ps) }
	}
	envMsg := func(env string) string { m, _ := deploy.UserMessage(deploy.ValidateEnv(env)); return m }
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	truncated := func() (string, []byte) {
		ct, b := buildForm([]formPart{app, ver, dev})
		return ct, b[:len(b)-20]
	}
	tests := []struct {
		name       string
		header     http.Header
		body       func() (string, []byte)
		wantStatus int
		wantError  string
	}{
		{"missing application", nil, form(ver, dev), 400, `field "application" is missing`},
		{"missing version", nil, form(app, dev), 400, `field "version" is missing`},
		{"two versions", nil, form(app, ver, field("version", "43"), dev), 400, `field "version" is given more than once`},
		{"two applications", nil, form(app, app, ver, dev), 400, `field "application" is given more than once`},
		{"team twice", nil, form(app, ver, dev, field("team", "a"), field("team", "b")), 400, `field "team" is given more than once`},
		{"no manifests", nil, form(app, ver), 400, "no manifests: send one file part manifests[<environment>] per environment"},
		{"manifest for an upper-case environment", nil, form(app, ver, filePart("manifests[Prod]", "p", "x")), 400,
			`field name "manifests[Prod]" is malformed: ` + envMsg("Prod")},
		{"manifest environment name too long", nil, form(app, ver, filePart("manifests[a-very-long-environment-name]", "p", "x")), 400,
			`field name "manifests[a-very-long-environment-name]" is malformed: ` + envMsg("a-very-long-environment-name")},
		{"manifest path in brackets", nil, form(app, ver, filePart("manifests[../x]", "p", "x")), 400,
			`field name "manifests[../x]" is malformed: ` + envMsg("../x")},
		{"manifest without brackets", nil, form(app, ver, filePart("manifests", "p", "x")), 400,
			`field name "manifests" is malformed: send manifests as manifests[<environment>]`},
		{"manifest with empty brackets", nil, form(app, ver, filePart("manifests[]", "p", "x")), 400,
			`field name "manifests[]" is malformed: send manifests as manifests[<environment>]`},
		{"two manifests for one environment", nil, form(app, ver, dev, dev), 400,
			`field "manifests[development]" is given more than once: send one manifest per environment`},
		{"unknown field", nil, form(app, ver, dev, field("enviroment", "dev")), 400,
			`unknown field "enviroment"; known fields are application, ci_link, display_version, previous_commit_id, source_author, source_commit_id, source_message, team, version, manifests[<environment>]`},
		{"part without a name", nil, namelessPart, 400, "a form part has no field name"},
		{"prepublish", nil, form(app, ver, dev, field("is_prepublish", "true")), 400, "prepublish releases are not supported"},
		{"prepublish not a bool", nil, form(app, ver, dev, field("is_prepublish", "yes")), 400, `field "is_prepublish" must be true or false, not "yes"`},
		{"revision", nil, form(app, ver, dev, field("revision", "1")), 400, `revisions are not supported: leave out field "revision" or send 0, not "1"`},
		{"deploy to downstream environments", nil, form(app, ver, dev, field("deploy_to_downstream_environments", "staging")), 400,
			`field "deploy_to_downstream_environments" is not supported yet: deploy to those environments after the release`},
		{"author-name not base64", http.Header{"Author-Name": {"Jane Doe!"}}, form(app, ver, dev), 400,
			"header author-name is not valid base64 (Kuberpult's clients send base64 of the value)"},
		{"author-email with a line break", http.Header{"Author-Email": {b64("jane@example.com\nX-Evil: 1")}}, form(app, ver, dev), 400,
			"header author-email must decode to UTF-8 text without control characters, '<' or '>'"},
		{"author-name twice", http.Header{"Author-Name": {b64("a"), b64("b")}}, form(app, ver, dev), 400,
			"header author-name is given 2 times; send it once"},
		{"truncated body", nil, truncated, 400, "the multipart body is malformed: unexpected EOF"},
		{"not multipart", nil, func() (string, []byte) { return "application/json", []byte(`{"application":"checkout"}`) },
			415, "the body must be multipart/form-data with a boundary (e.g. curl --form)"},
		{"body larger than the limit", nil, form(app, ver, filePart("manifests[development]", "d", strings.Repeat("x", 8<<10))),
			413, "the request body is larger than 4 KiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rel := &recordingReleaser{result: created()}
			srv := startServer(t, Options{Handler: rel, MaxRequestBytes: 4 << 10})
			ct, body := tt.body()
			status, h, got := post(t, srv, "/api/release", tt.header, ct, body)
			if status != tt.wantStatus {
				t.Errorf("status = %d, want %d", status, tt.wantStatus)
			}
			if diff := cmp.Diff(errorBody{Error: tt.wantError}, decodeError(t, h, got)); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
			if calls := rel.recorded(); len(calls) != 0 {
				t.Errorf("CreateRelease was called: %+v", calls)
			}
		})
	}
}

// TestReleaseTooLargeStreamed sends a body without Content-Length, so the limit is found
// while reading.
func TestReleaseTooLargeStreamed(t *testing.T) {
	srv := startServer(t, Options{Handler: &recordingReleaser{}, MaxRequestBytes: 1 << 10})
	ct, body := buildForm([]formPart{field("application", "checkout"), field("version", "1"),
		filePart("manifests[development]", "d", strings.Repeat("x", 64<<10))})
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/api/release", struct{ *bytes.Reader }{bytes.NewReader(body)})
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	if req.ContentLength != 0 {
		t.Fatalf("ContentLength = %d; the test needs a streamed body", req.ContentLength)
	}
	status, h, got := do(t, srv, req)
	if status != http.StatusRequestEntityTooLarge {
		t.Errorf("status = %d, want 413", status)
	}
	if diff := cmp.Diff(errorBody{Error: "the request body is larger than 1 KiB"}, decodeError(t, h, got)); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
}

func TestReleaseStatusMapping(t *testing.T) {
	tests := []struct {
		name       string
		result     commands.Result
		wantStatus int
		wantBody   errorBody
	}{
		{"invalid", refused(commands.ProblemInvalid, deploy.Invalidf(`version "x" is not a positive integer`)), 400,
			errorBody{Error: `version "x" is not a positive integer`}},
		{"conflict", refused(commands.ProblemConflict, deploy.Conflictf("checkout 42 exists with a different source_commit_id")), 409,
			errorBody{Error: "checkout 42 exists with a different source_commit_id", AlreadyExistsDifferent: &struct{}{}}},
		{"denied", refused(commands.ProblemDenied, deploy.Deniedf("you may not create releases on production-de")), 403,
			errorBody{Error: "you may not create releases on production-de"}},
		{"not found", refused(commands.ProblemNotFound, deploy.NotFoundf("no environment staging2")), 404, errorBody{Error: "no environment staging2"}},
		{"wrapped user error", refused(commands.ProblemDenied, fmt.Errorf("store: %w", deploy.Deniedf("team payments only"))), 403,
			errorBody{Error: "team payments only"}},
		{"internal error: the handler's reference", commands.Result{Outcome: deploy.OutcomeFailed, Err: errors.New("disk I/O error"),
			Problem: &commands.Problem{Kind: commands.ProblemInternal, Message: "internal error (ref 0a1b2c3d)"}}, 500,
			errorBody{Error: "internal error (ref 0a1b2c3d)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, Options{Handler: &recordingReleaser{result: tt.result}})
			ct, body := buildForm(cliRelease{Application: "checkout", Version: ptr(uint64(42)),
				Manifests: map[string]string{"development": "kind: Deployment\n"}}.parts())
			status, h, got := post(t, srv, "/api/release", nil, ct, body)
			if status != tt.wantStatus {
				t.Errorf("status = %d, want %d", status, tt.wantStatus)
			}
			if diff := cmp.Diff(tt.wantBody, decodeError(t, h, got)); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReleaseInternalErrorHidesCause(t *testing.T) {
	tests := []struct {
		name    string
		handler func(t *testing.T, log *slog.Logger) Handler
		wantLog string
	}{
		{"the store fails", func(t *testing.T, log *slog.Logger) Handler {
			db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "k.db"))
			if err != nil {
				t.Fatal(err)
			}
			db.Close()
			return commands.New(commands.Options{Store: db, Environments: testEnvs(), Logger: log})
		}, "database is closed"},
		{"unknown outcome", func(*testing.T, *slog.Logger) Handler {
			return &recordingReleaser{result: commands.Result{Outcome: deploy.OutcomeDone, Release: &commands.ReleaseInfo{Outcome: "maybe"}}}
		}, `create release: unknown outcome \"maybe\"`},
		{"panic", func(*testing.T, *slog.Logger) Handler { return &recordingReleaser{panic: "nil map"} }, `"panic":"nil map"`},
	}
	refRE := regexp.MustCompile(`^internal error \(ref ([0-9a-f]{8})\)$`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs syncBuffer
			log := newJSONLogger(&logs)
			srv := startServer(t, Options{Handler: tt.handler(t, log), Logger: log})
			ct, body := buildForm(cliRelease{Application: "checkout", Version: ptr(uint64(42)),
				Manifests: map[string]string{"development": "SECRET-MANIFEST"}}.parts())
			h := http.Header{"Authorization": {"Bearer SECRET-TOKEN"}}
			status, rh, got := post(t, srv, "/api/release", h, ct, body)
			if status != http.StatusInternalServerError {
				t.Errorf("status = %d, want 500", status)
			}
			m := refRE.FindStringSubmatch(decodeError(t, rh, got).Error)
			if m == nil {
				t.Fatalf("body %s does not show an internal error with a ref", got)
			}
			lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
			var withRef []string
			for _, l := range lines {
				if strings.Contains(l, `"ref":"`+m[1]+`"`) {
					withRef = append(withRef, l)
				}
			}
			if len(withRef) != 1 || !strings.Contains(withRef[0], tt.wantLog) {
				t.Errorf("want one log line with ref %s containing %s; logs:\n%s", m[1], tt.wantLog, logs.String())
			}
			for _, secret := range []string{"SECRET-MANIFEST", "SECRET-TOKEN"} {
				if strings.Contains(logs.String(), secret) {
					t.Errorf("logs contain %s:\n%s", secret, logs.String())
				}
			}
		})
	}
}

// decodeError reads a JSON error answer strictly: no other keys than errorBody's.
func decodeError(t *testing.T, h http.Header, body []byte) errorBody {
	t.Helper()
	if ct := h.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var e errorBody
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	return e
}
