package api

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"kuberpult/commands"
	"kuberpult/deploy"
)

// anonymousAPI is the acting caller of a request without author headers.
var anonymousAPI = deploy.Actor{Kind: deploy.ActorAPI, ID: "anonymous", Name: "api"}

func TestReleaseDecodesKuberpultClients(t *testing.T) {
	const commit = "0123abcdef0123abcdef0123abcdef0123abcdef"
	const previous = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	full := cliRelease{
		Application: "checkout",
		Manifests: map[string]string{
			"development":   "kind: Deployment\nmetadata:\n  name: checkout\n",
			"production-de": "kind: Deployment\n",
		},
		Team:             ptr("payments"),
		SourceCommitID:   ptr(commit),
		PreviousCommitID: ptr(previous),
		SourceAuthor:     ptr("Jane Doe <jane@example.com>"),
		SourceMessage:    ptr("Fix rounding\n\nin the basket"),
		Version:          ptr(uint64(42)),
		DisplayVersion:   ptr("v1.4.2"),
		CILink:           ptr("https://ci.example.com/runs/7"),
		UseDexAuth:       true,
		DexToken:         ptr("some-dex-token"),
		AuthorName:       ptr("Jane Doe"),
		AuthorEmail:      ptr("jane@example.com"),
	}
	fullWant := commands.ReleaseRequest{
		Application: "checkout", Version: "42", Team: "payments",
		SourceCommitID: commit, PreviousCommitID: previous,
		SourceAuthor: "Jane Doe <jane@example.com>", SourceMessage: "Fix rounding\n\nin the basket",
		DisplayVersion: "v1.4.2", CILink: "https://ci.example.com/runs/7",
		Manifests: full.Manifests,
		Author:    deploy.Actor{Kind: deploy.ActorUser, Name: "Jane Doe", Email: "jane@example.com"},
	}
	minimal := cliRelease{
		Application: "checkout",
		Manifests:   map[string]string{"development": "kind: Deployment\n"},
		Version:     ptr(uint64(7)),
	}
	minimalWant := commands.ReleaseRequest{Application: "checkout", Version: "7",
		Manifests: map[string]string{"development": "kind: Deployment\n"}}
	withSignatures := minimal
	withSignatures.Signatures = map[string]string{"development": "-----BEGIN PGP SIGNATURE-----\n..."}
	revisionZero := minimal
	revisionZero.Revision = ptr(uint64(0))
	revisionZero.UseDexAuth = true

	type tc struct {
		name      string
		path      string
		header    http.Header
		parts     []formPart
		wantReq   commands.ReleaseRequest
		wantActor deploy.Actor
	}
	tests := []tc{
		{"cli minimal, legacy /release", minimal.path(), minimal.header(), minimal.parts(), minimalWant, anonymousAPI},
		{"cli every flag, /api/release with dex token", full.path(), full.header(), full.parts(), fullWant,
			deploy.Actor{Kind: deploy.ActorAPI, ID: "anonymous", Name: "Jane Doe", Email: "jane@example.com"}},
		{"cli signatures are ignored", withSignatures.path(), withSignatures.header(), withSignatures.parts(), minimalWant, anonymousAPI},
		{"cli revision 0 is accepted", revisionZero.path(), revisionZero.header(), revisionZero.parts(), minimalWant, anonymousAPI},
		{"curl script create-release.sh", "/api/release", curlScriptHeader(), curlScriptParts(),
			commands.ReleaseRequest{
				Application: "checkout", Version: "42", Team: "sreteam",
				SourceCommitID: "0123456789abcdef0123456789abcdef01234567", SourceAuthor: "urbansky",
				SourceMessage: "Add colors to new UI\n\n1: Add colors to new UI\n",
				Manifests:     map[string]string{"development": "---\nkind: ConfigMap\n", "staging": "---\nkind: ConfigMap\n"},
				Author:        deploy.Actor{Kind: deploy.ActorUser, Name: "script-user", Email: "script-user@example.com"},
			},
			deploy.Actor{Kind: deploy.ActorAPI, ID: "anonymous", Name: "script-user", Email: "script-user@example.com"}},
		{"manifest as a plain field, ignored fields", "/api/release", nil,
			[]formPart{field("application", "checkout"), field("version", "7"),
				field("manifests[development]", "kind: Deployment\n"),
				field("is_prepublish", "false"), field("source_repo_url", "https://git.example.com/x")},
			minimalWant, anonymousAPI},
		{"author email only, unpadded base64", "/api/release",
			http.Header{"Author-Email": {"amFuZUBleGFtcGxlLmNvbQ"}}, minimal.parts(),
			withAuthor(minimalWant, deploy.Actor{Kind: deploy.ActorUser, Email: "jane@example.com"}),
			deploy.Actor{Kind: deploy.ActorAPI, ID: "anonymous", Name: "api", Email: "jane@example.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rel := &recordingReleaser{result: created()}
			srv := startServer(t, Options{Handler: rel})
			ct, body := buildForm(tt.parts)
			status, _, _ := post(t, srv, tt.path, tt.header, ct, body)
			if status != http.StatusCreated {
				t.Fatalf("status = %d, want 201", status)
			}
			want := []releaseCall{{Actor: tt.wantActor, Via: deploy.ViaAPI, Req: tt.wantReq}}
			if diff := cmp.Diff(want, rel.recorded()); diff != "" {
				t.Errorf("CreateRelease calls (-want +got):\n%s", diff)
			}
		})
	}
}

func withAuthor(r commands.ReleaseRequest, a deploy.Actor) commands.ReleaseRequest {
	r.Author = a
	return r
}

func TestReleaseAnswers(t *testing.T) {
	exists := created()
	exists.Outcome, exists.Release.Outcome = deploy.OutcomeNoop, commands.ReleaseExists
	exists.Release.Deployed, exists.Held = nil, nil
	tests := []struct {
		name       string
		path       string
		result     commands.Result
		wantStatus int
		wantBody   map[string]any
	}{
		{"created", "/api/release", created(), http.StatusCreated, map[string]any{
			"Success": map[string]any{}, "outcome": "created",
			"application": "checkout", "version": 42.0, "displayVersion": "v1.4.2", "actionId": 7.0,
			"deployed": []any{"development"},
			"held": []any{map[string]any{"env": "staging",
				"reason": "held by lock freeze (release freeze)", "lockIds": []any{"freeze"}}},
		}},
		{"already exists, legacy path", "/release", exists, http.StatusOK, map[string]any{
			"AlreadyExistsSame": map[string]any{}, "outcome": "already_exists",
			"application": "checkout", "version": 42.0, "displayVersion": "v1.4.2", "actionId": 7.0,
			"deployed": []any{}, "held": []any{},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, Options{Handler: &recordingReleaser{result: tt.result}})
			ct, body := buildForm(cliRelease{Application: "checkout", Version: ptr(uint64(42)),
				Manifests: map[string]string{"development": "kind: Deployment\n"}}.parts())
			status, h, got := post(t, srv, tt.path, nil, ct, body)
			if status != tt.wantStatus {
				t.Errorf("status = %d, want %d", status, tt.wantStatus)
			}
			if ct := h.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			var gotBody map[string]any
			if err := json.Unmarshal(got, &gotBody); err != nil {
				t.Fatalf("body %q: %v", got, err)
			}
			if diff := cmp.Diff(tt.wantBody, gotBody); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}
