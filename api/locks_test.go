package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"kuberpult/commands"
	"kuberpult/deploy"
)

const ciSecret = "kp-ci-5e1f0c8a9b2d4e6f"

var (
	ciToken   = Token{Name: "ci", Secret: ciSecret}
	anonActor = deploy.Actor{Kind: deploy.ActorAPI, ID: "anonymous", Name: "api"}
	janeAsCI  = deploy.Actor{Kind: deploy.ActorAPI, ID: "token:ci", Name: "Jane Doe", Email: "jane@example.com"}
)

// seeded is a stack where checkout (team payments) has a release on every environment.
func seeded(t *testing.T, o stackOptions) *stack {
	s := newStack(t, o)
	s.release("checkout", 1, "payments", allEnvs...)
	return s
}

func TestLocksAsKuberpultCLISendsThem(t *testing.T) {
	lock := func(kind deploy.LockKind, env, id, msg string, app deploy.App, team deploy.Team, by deploy.Actor) deploy.Lock {
		return deploy.Lock{Kind: kind, ID: id, Env: deploy.Env(env), App: app, Team: team, Message: msg, Author: by, CreatedAt: t0}
	}
	type tc struct {
		name string
		cmd  cliLock
		want func(by deploy.Actor) []deploy.Lock
	}
	tests := []tc{
		{"create-env-lock", cliLock{Env: "staging", LockID: "freeze", Message: "release freeze"},
			func(by deploy.Actor) []deploy.Lock {
				return []deploy.Lock{lock(deploy.LockEnv, "staging", "freeze", "release freeze", "", "", by)}
			}},
		{"create-app-lock", cliLock{Env: "production-de", App: "checkout", LockID: "bug-123", Message: "buy button broken"},
			func(by deploy.Actor) []deploy.Lock {
				return []deploy.Lock{lock(deploy.LockApp, "production-de", "bug-123", "buy button broken", "checkout", "", by)}
			}},
		{"create-team-lock", cliLock{Env: "development", Team: "payments", LockID: "team.hold_1", Message: "migrating"},
			func(by deploy.Actor) []deploy.Lock {
				return []deploy.Lock{lock(deploy.LockTeam, "development", "team.hold_1", "migrating", "", "payments", by)}
			}},
		{"create-group-lock", cliLock{Group: "production", LockID: "xmas", Message: "holidays"},
			func(by deploy.Actor) []deploy.Lock {
				return []deploy.Lock{
					lock(deploy.LockEnv, "production-de", "xmas", "holidays", "", "", by),
					lock(deploy.LockEnv, "production-jp", "xmas", "holidays", "", "", by),
				}
			}},
	}
	for _, tt := range tests {
		for _, dex := range []bool{false, true} {
			name := tt.name
			if dex {
				name += " --use_dex_auth"
			}
			t.Run(name, func(t *testing.T) {
				o, by := stackOptions{}, anonActor
				cmd := tt.cmd
				if dex {
					o.tokens = []Token{ciToken, {Name: "other", Secret: "kp-other-77aa"}}
					cmd.UseDexAuth, cmd.DexToken = true, ptr(ciSecret)
					cmd.AuthorName, cmd.AuthorEmail = ptr("Jane Doe"), ptr("jane@example.com")
					by = janeAsCI
				}
				s := seeded(t, o)

				status, _, body := cmd.create(t, s)
				if status != http.StatusOK {
					t.Fatalf("create: status %d, body %s", status, body)
				}
				if a := decodeAnswer(t, body); a.Outcome != deploy.OutcomeDone || !strings.Contains(a.Message, "`"+cmd.LockID+"`") {
					t.Errorf("create answer = %+v, want done naming the lock", a)
				}
				if diff := cmp.Diff(tt.want(by), s.locks()); diff != "" {
					t.Errorf("locks after create (-want +got):\n%s", diff)
				}

				status, _, body = cmd.delete(t, s)
				if status != http.StatusOK {
					t.Fatalf("delete: status %d, body %s", status, body)
				}
				if a := decodeAnswer(t, body); a.Outcome != deploy.OutcomeDone {
					t.Errorf("delete answer = %+v, want done", a)
				}
				if got := s.locks(); len(got) != 0 {
					t.Errorf("locks after delete: %+v, want none", got)
				}
			})
		}
	}
}

func TestLockPutAgainReplacesIt(t *testing.T) {
	s := seeded(t, stackOptions{})
	first := cliLock{Env: "staging", LockID: "freeze", Message: "first"}
	if status, _, body := first.create(t, s); status != http.StatusOK {
		t.Fatalf("first PUT: %d %s", status, body)
	}
	req := rawRequest(t, s, http.MethodPut, "/environments/staging/locks/freeze", "application/json; charset=utf-8",
		`{"message":"second","suggestedLifeTime":"2d","ciLink":"https://ci.example.com/7","signature":"ignored"}`, nil)
	if status, _, body := s.send(req); status != http.StatusOK {
		t.Fatalf("second PUT: %d %s", status, body)
	}
	want := []deploy.Lock{{Kind: deploy.LockEnv, ID: "freeze", Env: "staging", Message: "second",
		SuggestedLifetime: "2d", Author: anonActor, CreatedAt: t0}}
	if diff := cmp.Diff(want, s.locks()); diff != "" {
		t.Errorf("locks (-want +got):\n%s", diff)
	}
}

func TestLockDeleteOfMissingLockIsNoop(t *testing.T) {
	tests := []struct {
		cmd         cliLock
		wantMessage string
	}{
		{cliLock{Env: "staging", LockID: "nope"}, "no env lock `nope` on staging; nothing to do"},
		{cliLock{Env: "staging", App: "checkout", LockID: "nope"}, "no app lock `nope` on checkout on staging; nothing to do"},
		{cliLock{Env: "staging", Team: "payments", LockID: "nope", UseDexAuth: true}, "no team lock `nope` on team payments on staging; nothing to do"},
		{cliLock{Group: "production", LockID: "nope"}, "no env lock `nope` on production; nothing to do"},
	}
	for _, tt := range tests {
		t.Run(tt.cmd.path(), func(t *testing.T) {
			s := seeded(t, stackOptions{})
			other := cliLock{Env: "staging", LockID: "keep", Message: "stays"}
			other.create(t, s)
			before := s.state()
			status, _, body := tt.cmd.delete(t, s)
			if status != http.StatusOK {
				t.Fatalf("status %d, body %s", status, body)
			}
			got := decodeAnswer(t, body)
			if diff := cmp.Diff(lockAnswer{Outcome: deploy.OutcomeNoop, Message: tt.wantMessage}, got, cmpopts.IgnoreFields(lockAnswer{}, "ActionID")); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
			if got.ActionID == 0 {
				t.Errorf("answer without an action id")
			}
			if diff := cmp.Diff(before, s.state()); diff != "" {
				t.Errorf("state changed (-before +after):\n%s", diff)
			}
		})
	}
}

func TestLockRefusalsChangeNothing(t *testing.T) {
	msg := func(err error) string { m, _ := deploy.UserMessage(err); return m }
	const json = "application/json"
	const body = `{"message":"hold"}`
	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        string
		wantStatus  int
		wantError   string // exact
		wantPrefix  string // or the start of the handler's own message
	}{
		{"environment segment", "PUT", "/environments/Staging/locks/x1", json, body, 400, msg(deploy.ValidateEnv("Staging")), ""},
		{"environment segment on delete", "DELETE", "/api/environments/staging_2/locks/x1", json, "", 400, msg(deploy.ValidateEnv("staging_2")), ""},
		{"empty environment segment", "PUT", "/environments//locks/x1", json, body, 400, "environment name is empty", ""},
		{"group segment", "PUT", "/environment-groups/a-very-long-group-name-x/locks/x1", json, body, 400,
			msg(deploy.ValidateGroup("a-very-long-group-name-x")), ""},
		{"app segment", "PUT", "/environments/staging/applications/Check_out/locks/x1", json, body, 400, msg(deploy.ValidateApp("Check_out")), ""},
		{"team segment", "DELETE", "/api/environments/staging/lock/team/Payments/x1", json, "", 400, msg(deploy.ValidateTeam("Payments")), ""},
		{"lock id too short", "PUT", "/environments/staging/locks/x", json, body, 400, msg(deploy.ValidateLockID("x")), ""},
		{"lock id starting with a dot", "DELETE", "/environments/staging/locks/..", json, "", 400, msg(deploy.ValidateLockID("..")), ""},
		{"group on the environment route", "PUT", "/environments/production/locks/x1", json, body, 400,
			"`production` is an environment group, not an environment; lock it with /environment-groups/production/locks/x1", ""},
		{"no body", "PUT", "/environments/staging/locks/x1", json, "", 400, `the body is empty; send the lock message as {"message": "..."}`, ""},
		{"no message", "PUT", "/environments/staging/locks/x1", json, `{}`, 400, `the lock message is missing; send it as {"message": "..."}`, ""},
		{"blank message", "PUT", "/environments/staging/locks/x1", json, `{"message":"  "}`, 400, `the lock message is missing; send it as {"message": "..."}`, ""},
		{"not JSON", "PUT", "/environments/staging/locks/x1", json, `message=hold`, 400,
			"the body is not a valid JSON object: invalid character 'm' looking for beginning of value", ""},
		{"message not a string", "PUT", "/environments/staging/locks/x1", json, `{"message":7}`, 400,
			"the body is not a valid JSON object: json: cannot unmarshal number into Go struct field lockBody.message of type string", ""},
		{"lifetime", "PUT", "/environments/staging/locks/x1", json, `{"message":"hold","suggestedLifeTime":"4 hours"}`, 400,
			"suggestedLifeTime: " + msg(deploy.ValidateLifetime("4 hours")), ""},
		{"lifetime zero", "PUT", "/environments/staging/locks/x1", json, `{"message":"hold","suggestedLifeTime":"0h"}`, 400,
			"suggestedLifeTime: " + msg(deploy.ValidateLifetime("0h")), ""},
		{"form instead of JSON", "PUT", "/environments/staging/locks/x1", "application/x-www-form-urlencoded", "message=hold", 415,
			`the body must be application/json, not "application/x-www-form-urlencoded"`, ""},
		{"no content type", "PUT", "/environments/staging/locks/x1", "", body, 415, `the body must be application/json, not ""`, ""},
		{"body too large", "PUT", "/environments/staging/locks/x1", json, `{"message":"` + strings.Repeat("x", 70<<10) + `"}`, 413,
			"the request body is larger than 64 KiB", ""},
		{"unknown environment", "PUT", "/environments/qa/locks/x1", json, body, 404, "", "no environment or group `qa`"},
		{"unknown group", "DELETE", "/environment-groups/canary/locks/x1", json, "", 404, "", "no environment or group `canary`"},
		{"unknown app", "PUT", "/environments/staging/applications/cart/locks/x1", json, body, 404, "", "no app `cart`"},
		{"unknown team", "PUT", "/api/environments/staging/lock/team/shop/x1", json, body, 404, "", "no team `shop`"},
		{"GET on a lock", "GET", "/environments/staging/locks/x1", "", "", 405, "method GET is not allowed on /environments/staging/locks/x1; use PUT or DELETE", ""},
		{"extra segment", "PUT", "/environments/staging/locks/x1/junk", json, body, 404, "no such endpoint: /environments/staging/locks/x1/junk", ""},
		{"team lock without a lock id", "PUT", "/api/environments/staging/lock/team/payments", json, body, 404,
			"no such endpoint: /api/environments/staging/lock/team/payments", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := seeded(t, stackOptions{})
			cliLock{Env: "staging", LockID: "x1", Message: "already there"}.create(t, s)
			before := s.state()
			status, h, got := s.send(rawRequest(t, s, tt.method, tt.path, tt.contentType, tt.body, nil))
			if status != tt.wantStatus {
				t.Errorf("status = %d, want %d (body %s)", status, tt.wantStatus, got)
			}
			e := decodeError(t, h, got)
			if tt.wantPrefix != "" {
				if !strings.HasPrefix(e.Error, tt.wantPrefix) {
					t.Errorf("error %q does not start with %q", e.Error, tt.wantPrefix)
				}
			} else if diff := cmp.Diff(tt.wantError, e.Error); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, s.state()); diff != "" {
				t.Errorf("state changed (-before +after):\n%s", diff)
			}
		})
	}
}

func TestResultStatus(t *testing.T) {
	tests := []struct {
		name string
		res  commands.Result
		want int
	}{
		{"done", commands.Result{Outcome: deploy.OutcomeDone}, 200},
		{"noop", commands.Result{Outcome: deploy.OutcomeNoop}, 200},
		{"failed", commands.Result{Outcome: deploy.OutcomeFailed, Err: errors.New("disk full")}, 500},
		{"invalid", commands.Result{Outcome: deploy.OutcomeInvalid, Err: deploy.Invalidf("bad")}, 400},
		{"not found", commands.Result{Outcome: deploy.OutcomeInvalid, Err: deploy.NotFoundf("no env")}, 404},
		{"conflict", commands.Result{Outcome: deploy.OutcomeInvalid, Err: fmt.Errorf("x: %w", deploy.Conflictf("taken"))}, 409},
		{"denied", commands.Result{Outcome: deploy.OutcomeDenied, Err: deploy.Deniedf("no")}, 403},
		{"denied without an error", commands.Result{Outcome: deploy.OutcomeDenied}, 403},
		{"invalid without an error", commands.Result{Outcome: deploy.OutcomeInvalid}, 400},
		{"confirm", commands.Result{Outcome: deploy.OutcomeConfirm}, 409},
		{"stale", commands.Result{Outcome: deploy.OutcomeStale}, 409},
		{"unknown outcome", commands.Result{Outcome: "maybe"}, 500},
	}
	for _, tt := range tests {
		if got := resultStatus(tt.res); got != tt.want {
			t.Errorf("%s: resultStatus = %d, want %d", tt.name, got, tt.want)
		}
	}
}
