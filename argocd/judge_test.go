package argocd

import (
	"errors"
	"strings"
	"testing"
	"time"

	"kuberpult/deploy"
)

var (
	pushed = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	timing = Timing{Soak: time.Minute, Timeout: 15 * time.Minute}
)

const (
	oldCommit = "1111111111111111111111111111111111111111"
	ourCommit = "2222222222222222222222222222222222222222"
	newCommit = "3333333333333333333333333333333333333333"
)

// at is the env repo's history as the watcher knows it: our commit, then a newer one.
func at(rev string) bool { return rev == ourCommit || rev == newCommit }

func app(rev string, sync SyncStatusCode, health HealthStatusCode) Application {
	var a Application
	a.Status.Sync = SyncStatus{Status: sync, Revision: rev}
	a.Status.Health = HealthStatus{Status: health}
	return a
}

func withOp(a Application, phase OperationPhase, rev string, started time.Time) Application {
	a.Status.OperationState = &OperationState{Phase: phase, Message: "one or more objects failed to apply", StartedAt: started,
		SyncResult: &SyncResult{Revision: rev}}
	return a
}

// TestJudgeSequences walks rollouts through sequences of what Argo CD reports, a minute
// apart, and checks the state after each.
func TestJudgeSequences(t *testing.T) {
	tests := []struct {
		name  string
		steps []Application
		want  []deploy.RolloutState
	}{
		{"out of sync, progressing, healthy for the soak time",
			[]Application{app(ourCommit, OutOfSync, Healthy), app(ourCommit, Synced, Progressing), app(ourCommit, Synced, Healthy), app(ourCommit, Synced, Healthy)},
			[]deploy.RolloutState{deploy.RolloutProgressing, deploy.RolloutProgressing, deploy.RolloutProgressing, deploy.RolloutSuccessful}},
		{"healthy at the old revision stays pending",
			[]Application{app(oldCommit, Synced, Healthy), app(oldCommit, Synced, Healthy), app(oldCommit, Synced, Healthy)},
			[]deploy.RolloutState{deploy.RolloutPending, deploy.RolloutPending, deploy.RolloutPending}},
		{"a newer commit of the env repo counts",
			[]Application{app(newCommit, Synced, Healthy), app(newCommit, Synced, Healthy)},
			[]deploy.RolloutState{deploy.RolloutProgressing, deploy.RolloutSuccessful}},
		{"degraded after a sync, for the soak time",
			[]Application{app(ourCommit, Synced, Degraded), app(ourCommit, Synced, Degraded)},
			[]deploy.RolloutState{deploy.RolloutProgressing, deploy.RolloutUnhealthy}},
		{"degraded, then healthy: the soak time starts again",
			[]Application{app(ourCommit, Synced, Degraded), app(ourCommit, Synced, Healthy), app(ourCommit, Synced, Healthy)},
			[]deploy.RolloutState{deploy.RolloutProgressing, deploy.RolloutProgressing, deploy.RolloutSuccessful}},
		{"the sync operation failed at the commit",
			[]Application{withOp(app(ourCommit, OutOfSync, Missing), PhaseFailed, ourCommit, pushed.Add(time.Second))},
			[]deploy.RolloutState{deploy.RolloutError}},
		{"an old failed operation does not count",
			[]Application{withOp(app(ourCommit, Synced, Healthy), PhaseFailed, oldCommit, pushed.Add(-time.Hour)), app(ourCommit, Synced, Healthy)},
			[]deploy.RolloutState{deploy.RolloutProgressing, deploy.RolloutSuccessful}},
		{"the app is missing",
			[]Application{app(ourCommit, Synced, Missing), app(ourCommit, Synced, Missing)},
			[]deploy.RolloutState{deploy.RolloutProgressing, deploy.RolloutUnhealthy}},
		{"a final state stays",
			[]Application{app(ourCommit, Synced, Healthy), app(ourCommit, Synced, Healthy), app(ourCommit, Synced, Degraded)},
			[]deploy.RolloutState{deploy.RolloutProgressing, deploy.RolloutSuccessful, deploy.RolloutSuccessful}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := deploy.Rollout{Env: "staging", App: "checkout", Commit: ourCommit, State: deploy.RolloutPending, Pushed: pushed}
			for i, a := range tt.steps {
				r = Judge(r, a, pushed.Add(time.Duration(i+1)*time.Minute), timing, at)
				if r.State != tt.want[i] {
					t.Fatalf("step %d: %s (%s), want %s", i, r.State, r.Message, tt.want[i])
				}
			}
		})
	}
}

func TestJudgeTimesOutAndUnreachable(t *testing.T) {
	r := deploy.Rollout{Env: "staging", App: "checkout", Commit: ourCommit, State: deploy.RolloutPending, Pushed: pushed}
	r = Judge(r, app(oldCommit, Synced, Healthy), pushed.Add(14*time.Minute), timing, at)
	if r.State != deploy.RolloutPending {
		t.Fatalf("before the timeout: %s", r.State)
	}
	r = Judge(r, app(oldCommit, Synced, Healthy), pushed.Add(15*time.Minute), timing, at)
	if r.State != deploy.RolloutTimeout || !strings.Contains(r.Message, "not healthy at 2222222 within 15m0s") {
		t.Errorf("at the timeout: %s %q", r.State, r.Message)
	}
	u := deploy.Rollout{Env: "staging", App: "checkout", Commit: ourCommit, State: deploy.RolloutProgressing, Pushed: pushed}
	u = Unreachable(u, errors.New("connection refused"), pushed.Add(time.Minute), timing)
	if u.State != deploy.RolloutUnknown || u.Message != "Argo CD: connection refused" || u.Changed.IsZero() {
		t.Errorf("unreachable: %+v", u)
	}
	if u = Unreachable(u, errors.New("connection refused"), pushed.Add(16*time.Minute), timing); u.State != deploy.RolloutTimeout {
		t.Errorf("unreachable past the timeout: %s", u.State)
	}
}
