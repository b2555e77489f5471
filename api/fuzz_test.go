package api

import (
	"bytes"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"kuberpult/deploy"
)

var update = flag.Bool("update", false, "rewrite the fuzz seed corpus under testdata/fuzz")

// fuzzSeed is one named request body for FuzzDecodeRelease.
type fuzzSeed struct {
	name        string
	contentType string
	body        []byte
}

// fuzzSeeds are requests shaped like Kuberpult's clients send them, plus a few broken ones.
func fuzzSeeds() []fuzzSeed {
	minimal := cliRelease{Application: "checkout", Version: ptr(uint64(7)),
		Manifests: map[string]string{"development": "kind: Deployment\n"}}
	full := cliRelease{
		Application: "checkout",
		Manifests:   map[string]string{"development": "kind: Deployment\n", "production-de": "kind: Service\n"},
		Signatures:  map[string]string{"development": "-----BEGIN PGP SIGNATURE-----\n"},
		Team:        ptr("payments"), SourceCommitID: ptr("0123abcdef0123abcdef0123abcdef0123abcdef"),
		PreviousCommitID: ptr("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), SourceAuthor: ptr("Jane <jane@example.com>"),
		SourceMessage: ptr("fix\nrounding"), Version: ptr(uint64(42)), DisplayVersion: ptr("v1.4.2"),
		CILink: ptr("https://ci.example.com/7"), Revision: ptr(uint64(0)),
	}
	prepublish := minimal
	prepublish.IsPrepublish = true
	seeds := []fuzzSeed{}
	add := func(name string, parts []formPart) {
		ct, body := buildForm(parts)
		seeds = append(seeds, fuzzSeed{name, ct, body})
	}
	add("cli-minimal", minimal.parts())
	add("cli-full", full.parts())
	add("cli-prepublish", prepublish.parts())
	add("curl-script", curlScriptParts())
	add("bad-env-name", []formPart{field("application", "a"), field("version", "1"), filePart("manifests[Prod]", "p", "x")})
	add("duplicate-version", []formPart{field("application", "a"), field("version", "1"), field("version", "2")})
	ct, body := buildForm(minimal.parts())
	seeds = append(seeds,
		fuzzSeed{"truncated", ct, body[:len(body)/2]},
		fuzzSeed{"not-multipart", "application/x-www-form-urlencoded", []byte("application=a&version=1")},
	)
	ct, body = namelessPart()
	seeds = append(seeds, fuzzSeed{"nameless-part", ct, body})
	return seeds
}

// FuzzDecodeRelease feeds arbitrary bodies to the release decoder. It must never panic,
// every refusal must be one meant for the caller, and an accepted form must have
// manifests for valid environment names only.
func FuzzDecodeRelease(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s.contentType, s.body)
	}
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/api/release", bytes.NewReader(body))
		r.Header.Set("Content-Type", contentType)
		r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 64<<10)
		req, err := decodeRelease(r)
		if err != nil {
			if status, msg := classify(err); status == http.StatusInternalServerError || msg == "" {
				t.Fatalf("decode error is not a user error: %v", err)
			}
			return
		}
		if len(req.Manifests) == 0 {
			t.Fatalf("accepted a form without manifests")
		}
		for env := range req.Manifests {
			if err := deploy.ValidateEnv(env); err != nil {
				t.Fatalf("accepted a manifest for %q: %v", env, err)
			}
		}
	})
}

// TestFuzzCorpus keeps testdata/fuzz/FuzzDecodeRelease in step with fuzzSeeds;
// run with -update to rewrite it.
func TestFuzzCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecodeRelease")
	for _, s := range fuzzSeeds() {
		want := fmt.Sprintf("go test fuzz v1\nstring(%s)\n[]byte(%s)\n",
			strconv.Quote(s.contentType), strconv.Quote(string(s.body)))
		path := filepath.Join(dir, s.name)
		if *update {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./api -run TestFuzzCorpus -update)", err)
		}
		if string(got) != want {
			t.Errorf("%s is out of date (run go test ./api -run TestFuzzCorpus -update)", path)
		}
	}
}

// FuzzDecodeLockBody feeds arbitrary bodies to the lock body decoder. It must never panic,
// every refusal must be one meant for the caller, and an accepted body must have a message
// and a valid lifetime.
func FuzzDecodeLockBody(f *testing.F) {
	for _, seed := range []string{
		`{"message":"release freeze"}`,
		`{"message":"bug","ciLink":"https://ci.example.com/7"}`,
		`{"message":"x","suggestedLifeTime":"4h","signature":"-----BEGIN PGP SIGNATURE-----"}`,
		`{"message":"x","suggestedLifeTime":"0h"}`,
		`{"message":""}`, `{}`, ``, `null`, `[1,2]`, `{"message":7}`, `{"message":"a"} trailing`,
	} {
		f.Add("application/json", []byte(seed))
	}
	f.Add("text/plain", []byte(`{"message":"x"}`))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		r := httptest.NewRequest(http.MethodPut, "/environments/staging/locks/x1", bytes.NewReader(body))
		r.Header.Set("Content-Type", contentType)
		got, err := decodeLockBody(httptest.NewRecorder(), r)
		if err != nil {
			if status, msg := classify(err); status == http.StatusInternalServerError || msg == "" {
				t.Fatalf("decode error is not a user error: %v", err)
			}
			return
		}
		if strings.TrimSpace(got.Message) == "" {
			t.Fatalf("accepted a body without a message: %q", body)
		}
		if err := deploy.ValidateLifetime(got.SuggestedLifeTime); err != nil {
			t.Fatalf("accepted lifetime %q", got.SuggestedLifeTime)
		}
	})
}
