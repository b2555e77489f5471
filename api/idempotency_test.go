package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func releaseForm(version string) (string, []byte) {
	return buildForm([]formPart{field("application", "checkout"), field("version", version), field("team", "shop"),
		filePart("manifests[development]", "development-manifest", "kind: ConfigMap\nmetadata:\n  name: checkout\n")})
}

func TestReleaseIdempotencyKey(t *testing.T) {
	s := newStack(t, stackOptions{})
	key := http.Header{"Idempotency-Key": {"build-1234"}}
	ct, body := releaseForm("1")
	status1, h1, b1 := post(t, s.srv, "/api/release", key, ct, body)
	status2, h2, b2 := post(t, s.srv, "/api/release", key, ct, body)
	if status1 != http.StatusCreated || status2 != http.StatusCreated {
		t.Fatalf("statuses %d, %d; want 201 twice (the first answer again)", status1, status2)
	}
	if diff := cmp.Diff(string(b1), string(b2)); diff != "" {
		t.Errorf("answers differ (-first +second):\n%s", diff)
	}
	if h1.Get("Idempotent-Replayed") != "" || h2.Get("Idempotent-Replayed") != "true" {
		t.Errorf("Idempotent-Replayed: %q, %q; want it on the repeat only", h1.Get("Idempotent-Replayed"), h2.Get("Idempotent-Replayed"))
	}
	// Without a key, the same release again is Kuberpult's "already exists" (200).
	if status, _, _ := post(t, s.srv, "/api/release", nil, ct, body); status != http.StatusOK {
		t.Errorf("same release without a key: %d, want 200", status)
	}
	// The key sent with another request is refused, and nothing is stored.
	ct2, body2 := releaseForm("2")
	status, h, b := post(t, s.srv, "/api/release", key, ct2, body2)
	if e := decodeError(t, h, b); status != http.StatusConflict || !strings.Contains(e.Error, "build-1234") {
		t.Errorf("key reuse: %d %s; want 409 naming the key", status, b)
	}
	if latest := s.state().Apps["checkout"].Latest; latest != 1 {
		t.Errorf("newest release %d after a refused key reuse, want 1", latest)
	}
	long := http.Header{"Idempotency-Key": {strings.Repeat("k", 256)}}
	if status, _, _ := post(t, s.srv, "/api/release", long, ct2, body2); status != http.StatusBadRequest {
		t.Errorf("256-character key: %d, want 400", status)
	}
}

func TestLockIdempotencyKey(t *testing.T) {
	s := seeded(t, stackOptions{})
	put := func() (int, http.Header, []byte) {
		req := rawRequest(t, s, http.MethodPut, "/environments/staging/locks/freeze", "application/json",
			`{"message":"release freeze"}`, http.Header{"Idempotency-Key": {"req-9"}})
		return s.send(req)
	}
	st1, _, b1 := put()
	before := s.state()
	st2, h2, b2 := put()
	if st1 != http.StatusOK || st2 != http.StatusOK || h2.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("answers %d %s / %d %s", st1, b1, st2, b2)
	}
	var a1, a2 lockAnswer
	if err := json.Unmarshal(b1, &a1); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b2, &a2); err != nil {
		t.Fatal(err)
	}
	if a1.ActionID != a2.ActionID || a1.ActionID == 0 || len(a1.Created) != 1 {
		t.Errorf("action ids %d / %d, created %v; want the same action", a1.ActionID, a2.ActionID, a1.Created)
	}
	if diff := cmp.Diff(before, s.state()); diff != "" {
		t.Errorf("the repeat changed state (-before +after):\n%s", diff)
	}
}

func TestReleaseVersionLimit(t *testing.T) {
	s := newStack(t, stackOptions{})
	ct, body := releaseForm("9223372036854775808")
	status, h, b := post(t, s.srv, "/api/release", nil, ct, body)
	if e := decodeError(t, h, b); status != http.StatusBadRequest || !strings.Contains(e.Error, "9223372036854775807") {
		t.Errorf("version 2^63: %d %s; want 400 naming the limit", status, b)
	}
	ct, body = releaseForm("9223372036854775807")
	if status, _, b := post(t, s.srv, "/api/release", nil, ct, body); status != http.StatusCreated {
		t.Fatalf("version 2^63-1: %d %s", status, b)
	}
	for _, path := range []string{"/api/applications", "/api/environments", "/api/locks", "/api/environments/development/applications/checkout/commit"} {
		if status, _, b := get(t, s.srv, http.MethodGet, s.srv.URL+path); status != http.StatusOK {
			t.Errorf("GET %s after a release at the limit: %d %s", path, status, b)
		}
	}
}
