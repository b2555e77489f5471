package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"kuberpult/deploy"
)

// prognosisRuns is how often the train phase asks for the prognosis.
const prognosisRuns = 10

// trainResult is the release train of every app into the group: its prognosis, the one
// commit it pushes, and a second train that has nothing left to do.
type trainResult struct {
	Group    deploy.Group `json:"group"`
	Envs     []deploy.Env `json:"environments"`
	Upstream deploy.Env   `json:"upstream"`
	// Planned is what the database says the train has to move: the (environment, app)
	// pairs of the group whose version differs from the upstream's.
	Planned   int       `json:"planned"`
	Prognosis durations `json:"prognosis"`        // GET …/releasetrain/prognosis, prognosisRuns times
	Listed    int       `json:"prognosisDeploys"` // apps the prognosis deploys, summed over the environments
	RequestMs float64   `json:"requestMs"`        // PUT until its answer
	PushedMs  float64   `json:"pushedMs"`         // PUT until the branch holds the train; -1: not in time
	Deployed  int       `json:"deployed"`         // deployments the answer counts
	Commits   int       `json:"commits"`          // commits the branch moved by for the train
	Manifests int       `json:"manifestsChanged"` // the group's manifests those commits changed
	// OtherFiles counts the other files those commits changed; Other names the first few.
	OtherFiles int         `json:"otherFilesChanged"`
	Other      []string    `json:"otherFiles,omitempty"`
	Again      againResult `json:"again"`
	// Problems says what was not as planned (the first few); none when all was.
	Problems []string `json:"problems,omitempty"`
	Serve    usage    `json:"serve"`
	Replicas []usage  `json:"replicas,omitempty"`
}

// againResult is the same train sent again right after the first was pushed.
type againResult struct {
	RequestMs float64 `json:"requestMs"`
	Deployed  int     `json:"deployed"`
	Commits   int     `json:"commits"` // new commits on the branch: none when it changed nothing
}

// planned maps environment and app to the version the train should bring there.
type planned map[deploy.Env]map[deploy.App]deploy.Version

func (p planned) size() int {
	n := 0
	for _, apps := range p {
		n += len(apps)
	}
	return n
}

// train measures the release train into the group: the prognosis prognosisRuns times, then
// one PUT, from the start of the request until the remote's branch holds what was planned;
// then it checks that the train was one commit that changed the group's manifests and
// nothing else, and that the same train again changes nothing.
func (b *bench) train(ctx context.Context) (*trainResult, error) {
	res := &trainResult{Group: trainGroup, Envs: b.w.group, Upstream: b.w.upstream, PushedMs: -1}
	problem := func(format string, args ...any) {
		if len(res.Problems) < 5 {
			res.Problems = append(res.Problems, fmt.Sprintf(format, args...))
		}
	}
	want, err := b.trainPlan(ctx)
	if err != nil {
		return nil, err
	}
	res.Planned = want.size()

	path := "/api/environments/" + string(trainGroup) + "/releasetrain/prognosis"
	var took []time.Duration
	var first []byte
	for i := range prognosisRuns {
		t0 := time.Now()
		code, body, err := b.srv.get(ctx, path)
		took = append(took, time.Since(t0))
		if err != nil {
			return nil, fmt.Errorf("GET %s: %w", path, err)
		}
		if code != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %d %s", path, code, body)
		}
		if i == 0 {
			first = body
			res.Listed = checkPrognosis(body, want, problem)
		} else if !bytes.Equal(body, first) {
			problem("prognosis %d differs from the first", i+1)
		}
	}
	res.Prognosis = summarize(took)

	old, err := readRef(b.remote, "main")
	if err != nil {
		return nil, err
	}
	start := time.Now()
	answered := b.sendTrain(ctx)
	var got *trainReply
	tip := old
poll:
	for res.PushedMs < 0 {
		ref, err := readRef(b.remote, "main")
		if err != nil {
			return nil, err
		}
		if ref != tip {
			at := time.Now()
			ok, err := b.trainHeld(ctx, ref, want)
			if err != nil {
				return nil, err
			}
			tip = ref
			if ok {
				res.PushedMs = ms(at.Sub(start))
			}
		}
		select {
		case a := <-answered:
			got = &a
		default:
		}
		switch {
		case got != nil && got.err != nil:
			return nil, got.err
		case got != nil && (got.code != http.StatusOK || got.answer.Deployed == 0):
			break poll // refused, or nothing to do: no commit comes
		case res.PushedMs < 0 && time.Since(start) > b.o.drainTimeout:
			problem("the branch did not hold the train %s after the request", b.o.drainTimeout)
			break poll
		}
		if err := pause(ctx, time.Millisecond); err != nil {
			return nil, err
		}
	}
	if got == nil {
		a := <-answered
		got = &a
	}
	if got.err != nil {
		return nil, got.err
	}
	res.RequestMs, res.Deployed = ms(got.took), got.answer.Deployed
	if got.code != http.StatusOK || got.answer.Outcome != deploy.OutcomeDone {
		problem("train: %d %s", got.code, got.body)
	}
	if res.Deployed != res.Planned {
		problem("train: the answer counts %d deployments, the plan %d", res.Deployed, res.Planned)
	}
	if err := b.settle(ctx); err != nil {
		return nil, err
	}
	if tip, err = readRef(b.remote, "main"); err != nil {
		return nil, err
	}
	if res.Commits, err = commitsBetween(ctx, b.remote, old, tip); err != nil {
		return nil, err
	}
	if res.Commits != 1 {
		problem("train: %d commits, want 1", res.Commits)
	}
	if err := b.trainDiff(ctx, res, old, tip, want); err != nil {
		return nil, err
	}
	if res.Manifests != res.Planned || res.OtherFiles > 0 {
		problem("train: %d of the group's manifests changed (%d planned) and %d other files", res.Manifests, res.Planned, res.OtherFiles)
	}

	t0 := time.Now()
	again := <-b.sendTrain(ctx)
	if again.err != nil {
		return nil, again.err
	}
	res.Again.RequestMs, res.Again.Deployed = ms(time.Since(t0)), again.answer.Deployed
	if again.code != http.StatusOK || again.answer.Deployed != 0 {
		problem("train again: %d %s", again.code, again.body)
	}
	// Anything the second train changed is in the outbox by the time it answers; once the
	// outbox is empty, a commit would have been pushed. Wait a little longer all the same.
	if err := b.settle(ctx); err != nil {
		return nil, err
	}
	if err := pause(ctx, 500*time.Millisecond); err != nil {
		return nil, err
	}
	after, err := readRef(b.remote, "main")
	if err != nil {
		return nil, err
	}
	if res.Again.Commits, err = commitsBetween(ctx, b.remote, tip, after); err != nil {
		return nil, err
	}
	if res.Again.Commits != 0 {
		problem("train again: %d new commits, want none", res.Again.Commits)
	}
	res.Serve, res.Replicas = b.usage(ctx)
	return res, nil
}

// trainPlan reads from the database (GET /api/applications) what the train into the
// group has to do.
func (b *bench) trainPlan(ctx context.Context) (planned, error) {
	st, err := b.srv.deployed(ctx)
	if err != nil {
		return nil, err
	}
	if st.pending > 0 {
		return nil, fmt.Errorf("%d deployments not yet pushed before the train", st.pending)
	}
	want := planned{}
	for _, env := range b.w.group {
		want[env] = map[deploy.App]deploy.Version{}
	}
	for app, envs := range st.versions {
		up, ok := envs[b.w.upstream]
		if !ok {
			continue
		}
		for _, env := range b.w.group {
			if envs[env] != up {
				want[env][app] = up
			}
		}
	}
	return want, nil
}

// checkPrognosis compares Kuberpult's prognosis JSON with the plan and returns how many
// apps it deploys, summed over the environments.
func checkPrognosis(body []byte, want planned, problem func(string, ...any)) int {
	var p struct {
		EnvsPrognoses map[deploy.Env]struct {
			SkipCause     string `json:"skipCause"`
			AppsPrognoses *struct {
				Prognoses map[deploy.App]struct {
					SkipCause       string `json:"skipCause"`
					DeployedVersion *struct {
						Version deploy.Version `json:"version"`
					} `json:"deployedVersion"`
				} `json:"prognoses"`
			} `json:"appsPrognoses"`
		} `json:"envsPrognoses"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		problem("prognosis: %v", err)
		return 0
	}
	n := 0
	for env, apps := range want {
		ep, ok := p.EnvsPrognoses[env]
		switch {
		case !ok:
			problem("prognosis: no environment %s", env)
			continue
		case ep.SkipCause != "" || ep.AppsPrognoses == nil:
			problem("prognosis: %s skipped: %s", env, ep.SkipCause)
			continue
		}
		for app, ap := range ep.AppsPrognoses.Prognoses {
			if ap.SkipCause != "" {
				if _, ok := apps[app]; ok {
					problem("prognosis: %s on %s skipped: %s", app, env, ap.SkipCause)
				}
				continue
			}
			n++
			switch v, ok := apps[app]; {
			case !ok:
				problem("prognosis: %s on %s deployed, though it runs the upstream's version", app, env)
			case ap.DeployedVersion == nil || ap.DeployedVersion.Version != v:
				problem("prognosis: %s on %s to another version than %s", app, env, v)
			}
		}
		for app := range apps {
			if _, ok := ep.AppsPrognoses.Prognoses[app]; !ok {
				problem("prognosis: %s on %s missing", app, env)
			}
		}
	}
	if len(p.EnvsPrognoses) != len(want) {
		problem("prognosis: %d environments, want %d", len(p.EnvsPrognoses), len(want))
	}
	return n
}

// trainReply is the answer to PUT …/releasetrain.
type trainReply struct {
	code   int
	body   string
	answer struct {
		Outcome  deploy.Outcome `json:"outcome"`
		Deployed int            `json:"deployed"`
	}
	took time.Duration
	err  error
}

// sendTrain sends the train into the group; the channel gets its answer.
func (b *bench) sendTrain(ctx context.Context) <-chan trainReply {
	c := make(chan trainReply, 1)
	go func() {
		t0 := time.Now()
		code, body, err := b.srv.train(ctx, trainGroup)
		r := trainReply{code: code, body: strings.TrimSpace(string(body)), took: time.Since(t0), err: err}
		if err == nil && code == http.StatusOK {
			if jerr := json.Unmarshal(body, &r.answer); jerr != nil {
				r.err = fmt.Errorf("train answer %q: %w", body, jerr)
			}
		}
		c <- r
	}()
	return c
}

// trainHeld reports whether commit holds the planned versions on the group's environments.
func (b *bench) trainHeld(ctx context.Context, commit string, want planned) (bool, error) {
	var dirs []string
	for env := range want {
		dirs = append(dirs, "environments/"+string(env))
	}
	got, err := b.manifestsAt(ctx, commit, dirs...)
	if err != nil {
		return false, err
	}
	for env, apps := range want {
		for app, v := range apps {
			if got[env][app] != v {
				return false, nil
			}
		}
	}
	return true, nil
}

// trainDiff counts the files that changed from old to tip: the group's manifests, and others.
func (b *bench) trainDiff(ctx context.Context, res *trainResult, old, tip string, want planned) error {
	out, err := git(ctx, b.remote, "diff-tree", "-r", "--name-only", "--no-renames", old, tip)
	if err != nil {
		return err
	}
	for _, path := range strings.Fields(out) {
		parts := strings.Split(path, "/")
		// environments/<env>/applications/<app>/manifests/manifests.yaml
		if len(parts) == 6 && parts[0] == "environments" && parts[2] == "applications" && parts[5] == "manifests.yaml" {
			if _, ok := want[deploy.Env(parts[1])][deploy.App(parts[3])]; ok {
				res.Manifests++
				continue
			}
		}
		res.OtherFiles++
		if len(res.Other) < 5 {
			res.Other = append(res.Other, path)
		}
	}
	return nil
}

// settle waits until the outbox is empty, at most b.o.drainTimeout.
func (b *bench) settle(ctx context.Context) error {
	start := time.Now()
	for {
		n, err := b.pending(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if time.Since(start) > b.o.drainTimeout {
			return fmt.Errorf("%d outbox entries still pending after %s", n, b.o.drainTimeout)
		}
		if err := pause(ctx, 5*time.Millisecond); err != nil {
			return err
		}
	}
}

// commitsBetween counts the commits on to that are not on from.
func commitsBetween(ctx context.Context, repo, from, to string) (int, error) {
	if from == to {
		return 0, nil
	}
	out, err := git(ctx, repo, "rev-list", "--count", from+".."+to)
	if err != nil {
		return 0, err
	}
	var n int
	_, err = fmt.Sscan(out, &n)
	return n, err
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
