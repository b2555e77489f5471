package api

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"kuberpult/commands"
	"kuberpult/deploy"
)

// rolloutStack has checkout (payments) and cart (shop) 1 on every environment.
func rolloutStack(t *testing.T, follows bool) *stack {
	s := newStack(t, stackOptions{tokens: []Token{ciToken}, followsRollouts: follows})
	s.release("checkout", 1, "payments", allEnvs...)
	s.release("cart", 1, "shop", allEnvs...)
	for _, target := range []string{"staging", "production"} {
		if res := s.h.Run(context.Background(), commands.Request{Actor: deploy.System, Via: deploy.ViaAPI}, commands.Train{Target: target}); !res.OK() {
			t.Fatalf("train to %s: %v", target, res.Problem)
		}
	}
	return s
}

func (s *stack) rollout(env, app string, state deploy.RolloutState) {
	s.t.Helper()
	r := deploy.Rollout{Env: deploy.Env(env), App: deploy.App(app), Version: 1, Commit: "c", ActionID: 1, State: state, Pushed: t0}
	if err := s.db.SaveRollouts(context.Background(), r); err != nil {
		s.t.Fatal(err)
	}
}

func (s *stack) rolloutStatus(method, path, body string) (int, rolloutStatusAnswer, string) {
	s.t.Helper()
	req := rawRequest(s.t, s, method, path, "application/json", body, http.Header{"Authorization": {"Bearer " + ciSecret}})
	status, _, b := s.send(req)
	var a rolloutStatusAnswer
	if status == http.StatusOK {
		if err := json.Unmarshal(b, &a); err != nil {
			s.t.Fatalf("%s: %v", b, err)
		}
	}
	return status, a, string(b)
}

// TestGroupRolloutStatus: Kuberpult's group rollout status — the most severe status of the
// group's apps, the ones not successful listed, by team when asked — and its errors.
func TestGroupRolloutStatus(t *testing.T) {
	s := rolloutStack(t, true)
	s.rollout("production-de", "checkout", deploy.RolloutSuccessful)
	s.rollout("production-de", "cart", deploy.RolloutProgressing)
	s.rollout("production-jp", "checkout", deploy.RolloutUnhealthy)
	// cart on production-jp: nothing known → unknown
	tests := []struct {
		name, method, path, body string
		want                     rolloutStatusAnswer
	}{
		{"the group", http.MethodPost, "/environment-groups/production/rollout-status", `{}`, rolloutStatusAnswer{Status: "progressing", Applications: []rolloutAppStatus{
			{"cart", "production-de", "progressing"}, {"cart", "production-jp", "unknown"}, {"checkout", "production-jp", "unhealthy"}}}},
		{"a team", http.MethodPost, "/api/environment-groups/production/rollout-status", `{"team":"payments"}`, rolloutStatusAnswer{Status: "unhealthy", Applications: []rolloutAppStatus{
			{"checkout", "production-jp", "unhealthy"}}}},
		{"an environment of its own, without a body", http.MethodGet, "/environment-groups/staging/rollout-status", ``, rolloutStatusAnswer{Status: "unknown", Applications: []rolloutAppStatus{
			{"cart", "staging", "unknown"}, {"checkout", "staging", "unknown"}}}},
		{"a team without apps there", http.MethodPost, "/environment-groups/production/rollout-status", `{"team":"search"}`, rolloutStatusAnswer{Status: "successful", Applications: []rolloutAppStatus{}}},
		// the app has ended badly: waiting would not change it
		{"waiting ends when every rollout has ended", http.MethodPost, "/environment-groups/production/rollout-status", `{"team":"payments","waitDuration":"10m"}`,
			rolloutStatusAnswer{Status: "unhealthy", Applications: []rolloutAppStatus{{"checkout", "production-jp", "unhealthy"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, got, body := s.rolloutStatus(tt.method, tt.path, tt.body)
			if status != http.StatusOK {
				t.Fatalf("status %d: %s", status, body)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
		})
	}
	for _, tt := range []struct{ name, path, body, want string }{
		{"too long a wait", "/environment-groups/production/rollout-status", `{"waitDuration":"11m"}`, "too long: at most 10m0s"},
		{"too short a wait", "/environment-groups/production/rollout-status", `{"waitDuration":"1ns"}`, "shorter than one second"},
		{"not a duration", "/environment-groups/production/rollout-status", `{"waitDuration":"soon"}`, "is not a duration such as 90s"},
		{"a signature", "/environment-groups/production/rollout-status", `{"signature":"-----BEGIN PGP"}`, "signatures are not supported"},
		{"an unknown field", "/environment-groups/production/rollout-status", `{"teams":"payments"}`, `unknown field \"teams\"`},
		{"no such group", "/environment-groups/qa/rollout-status", `{}`, "no environment group `qa`; groups: development, production, staging"},
		{"a bad team", "/environment-groups/production/rollout-status", `{"team":"Pay Ments"}`, "team name"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := s.rolloutStatus(http.MethodPost, tt.path, tt.body)
			if status/100 != 4 || !strings.Contains(body, tt.want) {
				t.Errorf("status %d, body %s; want a 4xx naming %q", status, body, tt.want)
			}
		})
	}

	// A waiting request answers once the rollouts it waits for are successful.
	answered := make(chan rolloutStatusAnswer, 1)
	go func() {
		_, a, _ := s.rolloutStatus(http.MethodPost, "/environment-groups/production/rollout-status", `{"team":"shop","waitDuration":"30s"}`)
		answered <- a
	}()
	time.Sleep(2 * rolloutWaitPoll) // it has read the rollouts at least once
	select {
	case a := <-answered:
		t.Fatalf("answered before the rollouts ended: %+v", a)
	default:
	}
	s.rollout("production-de", "cart", deploy.RolloutSuccessful)
	s.rollout("production-jp", "cart", deploy.RolloutSuccessful)
	if a := <-answered; a.Status != "successful" || len(a.Applications) != 0 {
		t.Errorf("after the wait: %+v", a)
	}
}

// TestGroupRolloutStatusNeedsArgoCD: without an argocd section the endpoint says so, as
// Kuberpult does without its rollout service.
func TestGroupRolloutStatusNeedsArgoCD(t *testing.T) {
	s := rolloutStack(t, false)
	status, _, body := s.rolloutStatus(http.MethodPost, "/environment-groups/production/rollout-status", `{}`)
	if status != http.StatusNotImplemented || !strings.Contains(body, "no argocd section") {
		t.Errorf("status %d: %s", status, body)
	}
}

// TestRolloutWaitEndsAtShutdown: a request that waits answers what is known when the
// server shuts down, rather than holding the shutdown up.
func TestRolloutWaitEndsAtShutdown(t *testing.T) {
	s := rolloutStack(t, true)
	srv := New(Options{Handler: s.h, FollowsRollouts: true})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	answered := make(chan string, 1)
	go func() {
		resp, err := http.Post("http://"+ln.Addr().String()+"/environment-groups/production/rollout-status", "application/json", strings.NewReader(`{"waitDuration":"10m"}`))
		if err != nil {
			answered <- err.Error()
			return
		}
		defer resp.Body.Close()
		var a rolloutStatusAnswer
		_ = json.NewDecoder(resp.Body).Decode(&a)
		answered <- resp.Status + " " + a.Status
	}()
	time.Sleep(2 * rolloutWaitPoll)
	cancel()
	if got := <-answered; got != "200 OK unknown" {
		t.Errorf("answer at shutdown: %s", got)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
}
