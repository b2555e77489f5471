package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"kuberpult/deploy"
)

// Token is an API token. A client sends "Authorization: Bearer <Secret>" and acts as the
// API client "token:<Name>": that id is what policy lines bind roles to. The author-name
// and author-email headers only set the name and email recorded with its changes.
//
// A Token prints as its id, never with its secret, whatever the format verb or logger.
type Token struct {
	Name   string
	Secret string
}

// String returns the token's id, "token:<name>".
func (t Token) String() string { return tokenID(t.Name) }

// GoString keeps the secret out of %#v.
func (t Token) GoString() string { return fmt.Sprintf("api.Token{Name:%q, Secret:<redacted>}", t.Name) }

// LogValue keeps the secret out of slog.
func (t Token) LogValue() slog.Value { return slog.StringValue(tokenID(t.Name)) }

// MarshalJSON keeps the secret out of JSON (and so out of slog's JSON of a []Token).
func (t Token) MarshalJSON() ([]byte, error) { return json.Marshal(tokenID(t.Name)) }

func tokenID(name string) string { return "token:" + name }

// tokenSet checks presented secrets against the configured tokens. It keeps only hashes:
// comparing fixed-size hashes takes the same time whatever the secrets' lengths.
type tokenSet struct {
	names  []string
	hashes [][sha256.Size]byte
}

// newTokenSet panics on a token without a name or secret and on shared names or secrets;
// the configuration is validated before it gets here. Panics never show a secret.
func newTokenSet(tokens []Token) tokenSet {
	var ts tokenSet
	for _, t := range tokens {
		switch {
		case t.Name == "":
			panic("api: an API token has no name")
		case t.Secret == "":
			panic(fmt.Sprintf("api: API token %q has no secret", t.Name))
		}
		h := sha256.Sum256([]byte(t.Secret))
		for i, name := range ts.names {
			if name == t.Name {
				panic(fmt.Sprintf("api: two API tokens are named %q", t.Name))
			}
			if ts.hashes[i] == h {
				panic(fmt.Sprintf("api: API tokens %q and %q have the same secret", name, t.Name))
			}
		}
		ts.names = append(ts.names, t.Name)
		ts.hashes = append(ts.hashes, h)
	}
	return ts
}

// lookup returns the name of the token whose secret this is. It compares with every
// token, in constant time, so the answer's timing does not tell which token matched.
func (ts tokenSet) lookup(secret string) (string, bool) {
	h := sha256.Sum256([]byte(secret))
	found, at := 0, 0
	for i := range ts.hashes {
		eq := subtle.ConstantTimeCompare(h[:], ts.hashes[i][:])
		at = subtle.ConstantTimeSelect(eq, i, at)
		found |= eq
	}
	if found == 0 {
		return "", false
	}
	return ts.names[at], true
}

// authenticate lets in callers with a valid bearer token. The actor is the token's id,
// named after the author headers or else the token.
func (ts tokenSet) authenticate(r *http.Request) (deploy.Actor, error) {
	secret, ok := bearer(r.Header)
	if !ok {
		return deploy.Actor{}, errUnauthorized
	}
	name, ok := ts.lookup(secret)
	if !ok {
		return deploy.Actor{}, errUnauthorized
	}
	return apiActor(r, tokenID(name), name)
}

// bearer returns the secret of the one "Authorization: Bearer <secret>" header.
func bearer(h http.Header) (string, bool) {
	vals := h.Values("Authorization")
	if len(vals) != 1 {
		return "", false
	}
	scheme, secret, ok := strings.Cut(strings.TrimSpace(vals[0]), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	secret = strings.TrimSpace(secret)
	return secret, secret != ""
}
