package argocd_test

import (
	"context"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"kuberpult/argocd"
	"kuberpult/argocd/argocdfake"
	"kuberpult/deploy"
)

// memRollouts keeps rollouts as the store does (the latest per env and app) and the
// commits that carried actions (push); the store's own conformance suite checks the real
// one.
type memRollouts struct {
	mu      sync.Mutex
	m       map[[2]string]deploy.Rollout
	actions map[string]int64 // commit → its newest action
	// untracked is what UntrackedPushes answers
	untracked []deploy.PushEvent
}

func (s *memRollouts) SaveRollouts(_ context.Context, rs ...deploy.Rollout) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[[2]string]deploy.Rollout{}
	}
	for _, r := range rs {
		s.m[[2]string{string(r.Env), string(r.App)}] = r
	}
	return nil
}

func (s *memRollouts) RolloutsInFlight(context.Context) ([]deploy.Rollout, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []deploy.Rollout
	for _, r := range s.m {
		if !r.State.Final() {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Env < out[j].Env })
	return out, nil
}

func (s *memRollouts) LastActionOfCommit(_ context.Context, rev string) (int64, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var last int64
	found := false
	for commit, id := range s.actions {
		if strings.HasPrefix(commit, rev) && (!found || id > last) {
			last, found = id, true
		}
	}
	return last, found, nil
}

func (s *memRollouts) UntrackedPushes(context.Context, time.Time) ([]deploy.PushEvent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.untracked, nil
}

// push records that commit carried action, as the git writer's MarkPushed does.
func (s *memRollouts) push(commit string, action int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.actions == nil {
		s.actions = map[string]int64{}
	}
	s.actions[commit] = action
}

func (s *memRollouts) get(env deploy.Env, app deploy.App) deploy.Rollout {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[[2]string{string(env), string(app)}]
}

const (
	c1 = "1111111111111111111111111111111111111111"
	c2 = "2222222222222222222222222222222222222222"
	c3 = "3333333333333333333333333333333333333333"
)

func argoApp(env, app, rev string, sync argocd.SyncStatusCode, health argocd.HealthStatusCode) argocd.Application {
	var a argocd.Application
	a.Metadata.Name = env + "-" + app
	a.Spec.Project = env
	a.Status.Sync = argocd.SyncStatus{Status: sync, Revision: rev}
	a.Status.Health = argocd.HealthStatus{Status: health}
	return a
}

// TestTrackerFollowsAPush: a push is followed through what Argo CD reports until it is
// healthy for the soak time; Argo CD failing says unknown; a newer push supersedes the
// older rollout; a tracker started again on the same rollouts resumes them.
func TestTrackerFollowsAPush(t *testing.T) {
	fake := argocdfake.New(t)
	client, err := argocd.New(argocd.Options{Server: fake.URL(), Token: fake.Token()})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	store := &memRollouts{}
	var changes []string
	newTracker := func() *argocd.Tracker {
		return &argocd.Tracker{Client: client, Store: store, Timing: argocd.Timing{Soak: time.Minute, Timeout: 15 * time.Minute},
			Now: func() time.Time { return now }, OnChange: func(r deploy.Rollout) { changes = append(changes, string(r.App)+":"+string(r.State)) }}
	}
	tr := newTracker()
	step := func(want deploy.RolloutState) {
		t.Helper()
		if err := tr.Step(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := store.get("staging", "checkout"); got.State != want {
			t.Fatalf("after a step at %s: %s (%s), want %s", now.Format("15:04"), got.State, got.Message, want)
		}
		now = now.Add(time.Minute)
	}
	fake.Set(argoApp("staging", "checkout", c1, argocd.Synced, argocd.Healthy))
	tr.Pushed(deploy.PushEvent{ActionID: 7, Commit: c2, Time: now, Carried: []deploy.Carried{{Env: "staging", App: "checkout", Version: 2}}})
	step(deploy.RolloutPending) // Argo CD still runs c1
	if got := fake.Refreshes("staging-checkout"); len(got) != 1 || got[0] != "normal" {
		t.Errorf("the first check asks Argo CD to read git again: refreshes %v", got)
	}
	fake.Set(argoApp("staging", "checkout", c2, argocd.OutOfSync, argocd.Healthy))
	step(deploy.RolloutProgressing)
	fake.FailNext(http.StatusInternalServerError, 1)
	step(deploy.RolloutUnknown)
	fake.Set(argoApp("staging", "checkout", c2, argocd.Synced, argocd.Healthy))
	step(deploy.RolloutProgressing) // healthy, soaking

	tr = newTracker() // a restart: the rollout in flight is in the store
	step(deploy.RolloutSuccessful)
	r := store.get("staging", "checkout")
	if r.ActionID != 7 || r.Version != 2 || r.Commit != c2 {
		t.Errorf("rollout: %+v", r)
	}

	tr.Pushed(deploy.PushEvent{ActionID: 8, Commit: c3, Time: now, Carried: []deploy.Carried{{Env: "staging", App: "checkout", Version: 3}}})
	tr.Pushed(deploy.PushEvent{ActionID: 9, Commit: c3 + "", Time: now, Carried: []deploy.Carried{{Env: "staging", App: "checkout", Version: 4}}})
	step(deploy.RolloutPending)
	if got := store.get("staging", "checkout"); got.Version != 4 {
		t.Errorf("the newest push is followed: %+v", got)
	}

	// Argo CD reports the branch head it read: an older commit is not the rollout's, a
	// commit that carried a later action holds it — known from the store after a restart.
	const c4 = "4444444444444444444444444444444444444444"
	store.push(c1, 5)
	store.push(c3, 9)
	store.push(c4, 12) // another app's deployment, pushed before the restart
	tr = newTracker()
	fake.Set(argoApp("staging", "checkout", c1, argocd.Synced, argocd.Healthy))
	step(deploy.RolloutPending)
	fake.Set(argoApp("staging", "checkout", c4[:8], argocd.Synced, argocd.Healthy))
	step(deploy.RolloutProgressing)
	step(deploy.RolloutSuccessful)

	want := "checkout:pending checkout:progressing checkout:unknown checkout:progressing checkout:successful checkout:pending checkout:superseded checkout:pending" +
		" checkout:progressing checkout:successful"
	if got := join(changes); got != want {
		t.Errorf("changes:\n%s\nwant:\n%s", got, want)
	}
}

func join(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += " "
		}
		out += s
	}
	return out
}

// TestTrackerHearsTheStream: with polling far away, a rollout still ends as soon as Argo
// CD's stream reports its Application, judged from the event without asking again; other
// Applications' changes cost no request; a cut stream is opened again.
func TestTrackerHearsTheStream(t *testing.T) {
	fake := argocdfake.New(t)
	client, err := argocd.New(argocd.Options{Server: fake.URL(), Token: fake.Token()})
	if err != nil {
		t.Fatal(err)
	}
	store := &memRollouts{}
	tr := &argocd.Tracker{Client: client, Store: store, Poll: time.Hour, Timing: argocd.Timing{Timeout: time.Hour}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	const path = "/api/v1/applications/staging-checkout"
	waitFor := func(commit string, want deploy.RolloutState) {
		t.Helper()
		for ctx.Err() == nil {
			if r := store.get("staging", "checkout"); r.Commit == commit && r.State == want {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatalf("the rollout of %s never became %s: %+v", commit[:7], want, store.get("staging", "checkout"))
	}
	push := func(action int64, commit string) {
		tr.Pushed(deploy.PushEvent{ActionID: action, Commit: commit, Time: time.Now(), Carried: []deploy.Carried{{Env: "staging", App: "checkout", Version: deploy.Version(action)}}})
	}

	fake.Set(argoApp("staging", "checkout", c1, argocd.Synced, argocd.Healthy))
	if err := fake.WaitForStreams(ctx, 1); err != nil {
		t.Fatal(err)
	}
	push(2, c2)
	waitFor(c2, deploy.RolloutPending) // the first check asks (and refreshes)
	for i := range 20 {
		fake.Set(argoApp("production", "cart", c1, argocd.Synced, []argocd.HealthStatusCode{argocd.Progressing, argocd.Healthy}[i%2]))
	}
	fake.Set(argoApp("staging", "checkout", c2, argocd.Synced, argocd.Healthy))
	waitFor(c2, deploy.RolloutSuccessful)

	push(3, c3)
	waitFor(c3, deploy.RolloutPending)
	fake.DropStreams()
	if err := fake.WaitForRequests(ctx, "/api/v1/stream/applications", 2); err != nil {
		t.Fatal(err)
	}
	if err := fake.WaitForStreams(ctx, 1); err != nil {
		t.Fatal(err)
	}
	fake.Set(argoApp("staging", "checkout", c3, argocd.Synced, argocd.Healthy))
	waitFor(c3, deploy.RolloutSuccessful)
	if got := fake.Requests(path); got != 2 {
		t.Errorf("Argo CD was asked for the Application %d times, want 2 (the first check of each push; the rest came on the stream)", got)
	}
	if got := fake.Requests("/api/v1/applications/production-cart"); got != 0 {
		t.Errorf("an Application not in flight was asked for %d times", got)
	}
}

// TestTrackerTrain: a push that carries many apps is judged in one step, each Application
// asked for once.
func TestTrackerTrain(t *testing.T) {
	fake := argocdfake.New(t)
	client, err := argocd.New(argocd.Options{Server: fake.URL(), Token: fake.Token()})
	if err != nil {
		t.Fatal(err)
	}
	store := &memRollouts{}
	var mu sync.Mutex
	ended := map[deploy.App]deploy.RolloutState{}
	tr := &argocd.Tracker{Client: client, Store: store, Timing: argocd.Timing{Timeout: time.Hour},
		OnChange: func(r deploy.Rollout) {
			mu.Lock()
			defer mu.Unlock()
			ended[r.App] = r.State
		}}
	ev := deploy.PushEvent{ActionID: 3, Commit: c2, Time: time.Now()}
	for i := range 30 {
		app := deploy.App("app" + strconv.Itoa(i))
		ev.Carried = append(ev.Carried, deploy.Carried{Env: "production", App: app, Version: 1})
		health := argocd.Healthy
		if i == 7 {
			health = argocd.Degraded
		}
		fake.Set(argoApp("production", string(app), c2, argocd.Synced, health))
	}
	tr.Pushed(ev)
	if err := tr.Step(t.Context()); err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		app := deploy.App("app" + strconv.Itoa(i))
		want := deploy.RolloutSuccessful
		if i == 7 {
			want = deploy.RolloutUnhealthy
		}
		if got := store.get("production", app); got.State != want || ended[app] != want {
			t.Errorf("%s: %s (told %s), want %s", app, got.State, ended[app], want)
		}
		if n := fake.Requests("/api/v1/applications/production-" + string(app)); n != 1 {
			t.Errorf("%s asked for %d times", app, n)
		}
	}
}

// TestTrackerFollowsPushesItMissed: a push made while no tracker listened (the program
// stopped between the push and its event) is followed once the tracker runs.
func TestTrackerFollowsPushesItMissed(t *testing.T) {
	fake := argocdfake.New(t)
	client, err := argocd.New(argocd.Options{Server: fake.URL(), Token: fake.Token()})
	if err != nil {
		t.Fatal(err)
	}
	store := &memRollouts{untracked: []deploy.PushEvent{{ActionID: 4, Commit: c2, Time: time.Now(), Carried: []deploy.Carried{{Env: "staging", App: "checkout", Version: 4}}}}}
	fake.Set(argoApp("staging", "checkout", c2, argocd.Synced, argocd.Healthy))
	tr := &argocd.Tracker{Client: client, Store: store, Poll: time.Hour, Timing: argocd.Timing{Timeout: time.Hour}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx) }()
	for ctx.Err() == nil && store.get("staging", "checkout").State != deploy.RolloutSuccessful {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if r := store.get("staging", "checkout"); r.State != deploy.RolloutSuccessful || r.ActionID != 4 || r.Version != 4 {
		t.Errorf("the missed push: %+v", r)
	}
}
