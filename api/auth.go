package api

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"kuberpult/deploy"
)

// Kuberpult's author headers: base64 (standard alphabet) of the person's name and email.
// They say whom a change is recorded for; they never grant anything.
const (
	headerAuthorName  = "author-name"
	headerAuthorEmail = "author-email"
)

// maxAuthorLen bounds a decoded author name or email, in bytes.
const maxAuthorLen = 256

// authenticator decides who is calling. It runs in front of every route that is not
// public, before the request body is read. A refused caller gets errUnauthorized, or a
// user error (ErrInvalid for malformed author headers).
type authenticator func(r *http.Request) (deploy.Actor, error)

// errUnauthorized is the one answer to a missing or wrong token: it does not say which.
var errUnauthorized = &statusError{status: http.StatusUnauthorized, msg: "missing or invalid bearer token"}

type actorKey struct{}

func withActor(ctx context.Context, a deploy.Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// actorFrom returns the caller the authenticate step put into ctx.
func actorFrom(ctx context.Context) (deploy.Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(deploy.Actor)
	return a, ok
}

// authenticated runs the authenticate step before next.
func (s *Server) authenticated(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, err := s.authenticate(r)
		if err != nil {
			if errors.Is(err, errUnauthorized) {
				s.log.Info("unauthorized", "method", r.Method, "route", r.URL.Path)
			}
			s.fail(w, r, err)
			return
		}
		next(w, r.WithContext(withActor(r.Context(), actor)))
	})
}

// anonymous lets every caller in: no API tokens are configured. The caller is named after
// the author headers (or "api"), which grants nothing.
func anonymous(r *http.Request) (deploy.Actor, error) {
	return apiActor(r, "anonymous", "api")
}

// apiActor is the API client id, named after the author headers or else defaultName.
func apiActor(r *http.Request, id, defaultName string) (deploy.Actor, error) {
	author, err := authorFromHeaders(r.Header)
	if err != nil {
		return deploy.Actor{}, err
	}
	a := deploy.Actor{Kind: deploy.ActorAPI, ID: id, Name: author.Name, Email: author.Email}
	if a.Name == "" {
		a.Name = defaultName
	}
	return a, nil
}

// authorFromHeaders reads the person a request is made for from Kuberpult's author-name and
// author-email headers. Without both headers it returns the zero Actor.
func authorFromHeaders(h http.Header) (deploy.Actor, error) {
	name, err := base64Header(h, headerAuthorName)
	if err != nil {
		return deploy.Actor{}, err
	}
	email, err := base64Header(h, headerAuthorEmail)
	if err != nil {
		return deploy.Actor{}, err
	}
	if name == "" && email == "" {
		return deploy.Actor{}, nil
	}
	return deploy.Actor{Kind: deploy.ActorUser, Name: name, Email: email}, nil
}

// base64Header decodes one base64 header. Padding is optional and surplus padding is
// tolerated: Kuberpult's own test scripts send "…=" with an extra "=".
func base64Header(h http.Header, key string) (string, error) {
	vals := h.Values(key)
	switch len(vals) {
	case 0:
		return "", nil
	case 1:
	default:
		return "", deploy.Invalidf("header %s is given %d times; send it once", key, len(vals))
	}
	raw := strings.TrimRight(strings.TrimSpace(vals[0]), "=")
	b, err := base64.RawStdEncoding.DecodeString(raw)
	if err != nil {
		return "", deploy.Invalidf("header %s is not valid base64 (Kuberpult's clients send base64 of the value)", key)
	}
	v := string(b)
	if len(v) > maxAuthorLen {
		return "", deploy.Invalidf("header %s is %d bytes long once decoded; at most %d are allowed", key, len(v), maxAuthorLen)
	}
	if !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool {
		return unicode.IsControl(r) || r == '<' || r == '>'
	}) {
		return "", deploy.Invalidf("header %s must decode to UTF-8 text without control characters, '<' or '>'", key)
	}
	return v, nil
}
