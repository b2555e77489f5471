package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"kuberpult/deploy"
)

// durations summarises measured times, in milliseconds.
type durations struct {
	Min    float64 `json:"minMs"`
	Median float64 `json:"medianMs"`
	P95    float64 `json:"p95Ms"`
	Max    float64 `json:"maxMs"`
}

func summarize(ds []time.Duration) durations {
	if len(ds) == 0 {
		return durations{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	median := s[len(s)/2]
	if len(s)%2 == 0 {
		median = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return durations{Min: ms(s[0]), Median: ms(median), P95: ms(s[(len(s)*95-1)/100]), Max: ms(s[len(s)-1])}
}

// latencyResult compares one release, from the start of its request until the remote's
// branch holds it, with the git CLI making the same change: the release's manifest on every
// upstream-latest environment (eight files in the default world).
type latencyResult struct {
	Rounds    int       `json:"rounds"`
	Files     int       `json:"files"` // manifests one release changes
	Kuberpult durations `json:"kuberpult"`
	// ByReplica splits Kuberpult's times by the replica that took the release (round i
	// goes to replica i mod N); none with one replica.
	ByReplica []durations `json:"byReplica,omitempty"`
	GitCLI    durations   `json:"gitCli"`
	Ratio     float64     `json:"ratioOfMedians"`
	Serve     usage       `json:"serve"`
	Replicas  []usage     `json:"replicas,omitempty"`
	// PostgresCPUSeconds is the CPU time of the PostgreSQL backends of the benchmark's and
	// the replicas' connections during the phase (-postgres, server on this machine).
	PostgresCPUSeconds float64 `json:"postgresCpuSeconds,omitempty"`
}

func (b *bench) latency(ctx context.Context) (*latencyResult, error) {
	var ours, cli []time.Duration
	byReplica := make([][]time.Duration, len(b.srvs))
	pgBefore := b.pgCPU(ctx)
	for round := range b.o.rounds {
		app := b.pickApp(b.rng)
		n, srv := b.serverFor(round)
		d, err := b.releaseAndWait(ctx, srv, release{app: app, version: b.next(app)})
		if err != nil {
			return nil, err
		}
		ours = append(ours, d)
		byReplica[n] = append(byReplica[n], d)
		// Let the writer finish its bookkeeping, so both sides start from idle.
		if err := pause(ctx, 200*time.Millisecond); err != nil {
			return nil, err
		}
		other := b.pickApp(b.rng)
		d, err = b.cli.change(ctx, b.w.auto, other, b.peek(other)+1)
		if err != nil {
			return nil, err
		}
		cli = append(cli, d)
		if err := pause(ctx, 200*time.Millisecond); err != nil {
			return nil, err
		}
	}
	r := &latencyResult{Rounds: b.o.rounds, Files: len(b.w.auto), Kuberpult: summarize(ours), GitCLI: summarize(cli),
		PostgresCPUSeconds: b.pgCPUSince(ctx, pgBefore)}
	r.Serve, r.Replicas = b.usage(ctx)
	if len(b.srvs) > 1 {
		for _, ds := range byReplica {
			r.ByReplica = append(r.ByReplica, summarize(ds))
		}
	}
	if r.GitCLI.Median > 0 {
		r.Ratio = r.Kuberpult.Median / r.GitCLI.Median
	}
	// The git CLI's branch goes again: every later push's connectivity check would walk its
	// trees too, which a setup without this phase does not pay (the history comparison).
	if _, err := git(ctx, b.remote, "update-ref", "-d", "refs/heads/"+cliBranch); err != nil {
		return nil, err
	}
	return r, nil
}

// releaseAndWait sends one release and polls the remote's branch until it points at a
// commit that holds it on every upstream-latest environment; the time is from the start of
// the request to the first sight of that commit.
func (b *bench) releaseAndWait(ctx context.Context, srv *server, r release) (time.Duration, error) {
	old, err := readRef(b.remote, "main")
	if err != nil {
		return 0, err
	}
	type answer struct {
		code int
		body string
		err  error
	}
	answered := make(chan answer, 1)
	start := time.Now()
	go func() {
		code, body, err := srv.release(ctx, r, b.w.envs)
		answered <- answer{code, body, err}
	}()
	var got *answer
	for {
		ref, err := readRef(b.remote, "main")
		if err == nil && ref != old {
			at := time.Now()
			ok, err := holds(ctx, b.remote, ref, b.w.auto, r.app, r.version)
			if err != nil {
				return 0, err
			}
			if ok {
				if got == nil {
					a := <-answered
					got = &a
				}
				if got.err != nil || got.code != http.StatusCreated {
					return 0, fmt.Errorf("release %s %s: %d %s %v", r.app, r.version, got.code, got.body, got.err)
				}
				return at.Sub(start), nil
			}
			old = ref
		}
		select {
		case a := <-answered:
			got = &a
			if a.err != nil || a.code != http.StatusCreated {
				return 0, fmt.Errorf("release %s %s: %d %s %v", r.app, r.version, a.code, a.body, a.err)
			}
		default:
		}
		if time.Since(start) > b.o.drainTimeout {
			return 0, fmt.Errorf("release %s %s not on the remote after %s", r.app, r.version, b.o.drainTimeout)
		}
		if err := pause(ctx, time.Millisecond); err != nil {
			return 0, err
		}
	}
}

// loadResult is what concurrent clients saw: how fast releases were accepted, and how
// long after the last acceptance the remote held everything.
type loadResult struct {
	Clients  int            `json:"clients"`
	Sent     int            `json:"sent"`
	Accepted int            `json:"accepted"` // answered 201
	Statuses map[string]int `json:"statuses"`
	Errors   []string       `json:"errors,omitempty"` // the first few other answers
	Capped   bool           `json:"capped"`           // the time limit stopped it before all were sent
	Seconds  float64        `json:"seconds"`          // first request → last acceptance
	Rate     float64        `json:"releasesPerSecond"`
	Request  durations      `json:"request"`
	// PendingAtEnd is the outbox backlog right after the last acceptance.
	PendingAtEnd int `json:"pendingAtEnd"`
	// Commits and Pushes count what the writer pushed during the phase (from /metrics;
	// -1 when serve does not export the counter).
	Commits int `json:"commitsPushed"`
	Pushes  int `json:"pushes"`
	// PushLag is the time from the last acceptance until the outbox was empty and the
	// branch held the last accepted release; -1 when that did not happen in time.
	PushLag float64 `json:"pushLagSeconds"`
	Serve   usage   `json:"serve"`
	// With several replicas: each one's figures, and what the requests sent to each saw
	// (request i went to replica i mod N).
	Replicas  []usage       `json:"replicas,omitempty"`
	ByReplica []replicaLoad `json:"byReplica,omitempty"`
	// PostgresCPUSeconds: as in latencyResult.
	PostgresCPUSeconds float64 `json:"postgresCpuSeconds,omitempty"`
}

// replicaLoad is what the requests sent to one replica saw.
type replicaLoad struct {
	Sent     int       `json:"sent"`
	Accepted int       `json:"accepted"`
	Request  durations `json:"request"`
}

// load sends up to n releases from b.o.clients clients, each made by job, for at most
// maxFor (0: no limit), then waits for the push of the last one.
func (b *bench) load(ctx context.Context, n int, maxFor time.Duration, job func(i int, rng *rand.Rand) release) (*loadResult, error) {
	type sent struct {
		r        release
		replica  int
		code     int
		msg      string
		took     time.Duration
		answered time.Time
	}
	before, err := b.counters(ctx)
	if err != nil {
		return nil, err
	}
	pgBefore := b.pgCPU(ctx)
	var (
		next    atomic.Int64
		mu      sync.Mutex
		all     []sent
		wg      sync.WaitGroup
		capped  atomic.Bool
		started = time.Now()
	)
	for c := range b.o.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(b.o.seed, uint64(c)+1))
			var mine []sent
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					break
				}
				if maxFor > 0 && time.Since(started) > maxFor {
					capped.Store(true)
					break
				}
				r := job(i, rng)
				n, srv := b.serverFor(i)
				t0 := time.Now()
				code, body, err := srv.release(ctx, r, b.w.envs)
				s := sent{r: r, replica: n, code: code, took: time.Since(t0), answered: time.Now()}
				if err != nil {
					s.msg = err.Error()
				} else if code != http.StatusCreated {
					s.msg = fmt.Sprintf("%s %s: %d %s", r.app, r.version, code, body)
				}
				mine = append(mine, s)
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res := &loadResult{Clients: b.o.clients, Sent: len(all), Statuses: map[string]int{}, Capped: capped.Load(), PushLag: -1}
	var took []time.Duration
	var last sent
	byReplica := make([][]time.Duration, len(b.srvs))
	if len(b.srvs) > 1 {
		res.ByReplica = make([]replicaLoad, len(b.srvs))
	}
	for _, s := range all {
		took = append(took, s.took)
		if res.ByReplica != nil {
			res.ByReplica[s.replica].Sent++
			byReplica[s.replica] = append(byReplica[s.replica], s.took)
		}
		if s.msg != "" {
			res.Statuses[fmt.Sprint(s.code)]++
			if len(res.Errors) < 5 {
				res.Errors = append(res.Errors, s.msg)
			}
			continue
		}
		res.Statuses["201"]++
		res.Accepted++
		if res.ByReplica != nil {
			res.ByReplica[s.replica].Accepted++
		}
		if s.answered.After(last.answered) {
			last = s
		}
	}
	res.Request = summarize(took)
	for i := range res.ByReplica {
		res.ByReplica[i].Request = summarize(byReplica[i])
	}
	if res.Accepted == 0 {
		res.Serve, res.Replicas = b.usage(ctx)
		return res, nil
	}
	res.Seconds = last.answered.Sub(started).Seconds()
	res.Rate = float64(res.Accepted) / res.Seconds
	lag, pendingAtEnd, err := b.drain(ctx, last.r, last.answered)
	if err != nil {
		return nil, err
	}
	res.PendingAtEnd, res.PushLag = pendingAtEnd, lag
	res.PostgresCPUSeconds = b.pgCPUSince(ctx, pgBefore)
	res.Serve, res.Replicas = b.usage(ctx)
	after, err := b.counters(ctx)
	if err != nil {
		return nil, err
	}
	res.Commits = counted(before, after, "kuberpult_git_commits_pushed_total")
	res.Pushes = counted(before, after, "kuberpult_git_pushes_total")
	return res, nil
}

// drain waits until the branch holds r, accepted at from, and the outbox is empty. It
// returns the lag in seconds (-1 after b.o.drainTimeout) and the backlog it found first.
// It polls the ref file, and asks for the backlog (/metrics; on PostgreSQL the store, as
// any replica may have accepted what waits) only once the branch holds r, so that the
// polling costs serve next to nothing.
func (b *bench) drain(ctx context.Context, r release, from time.Time) (float64, int, error) {
	backlog, err := b.pending(ctx)
	if err != nil {
		return 0, 0, err
	}
	seen, arrived := "", false
	for {
		now := time.Now()
		if err := b.alive(); err != nil {
			return 0, 0, err
		}
		tip, err := readRef(b.remote, "main")
		if err != nil {
			return 0, 0, err
		}
		if tip != seen && !arrived {
			if arrived, err = holds(ctx, b.remote, tip, b.w.auto, r.app, r.version); err != nil {
				return 0, 0, err
			}
			seen = tip
		}
		if arrived {
			if n, err := b.pending(ctx); err == nil && n == 0 {
				return now.Sub(from).Seconds(), backlog, nil
			}
		}
		if now.Sub(from) > b.o.drainTimeout {
			return -1, backlog, nil
		}
		if err := pause(ctx, 5*time.Millisecond); err != nil {
			return 0, 0, err
		}
	}
}

// steady releases new versions of random existing apps.
func (b *bench) steady(ctx context.Context) (*loadResult, error) {
	return b.load(ctx, b.o.steadyN, b.o.steadyFor, func(_ int, rng *rand.Rand) release {
		app := b.pickApp(rng)
		return release{app: app, version: b.next(app)}
	})
}

// onboarding sends the first release of new apps.
func (b *bench) onboarding(ctx context.Context) (*loadResult, error) {
	return b.load(ctx, b.o.onboardN, b.o.onboardFor, func(i int, _ *rand.Rand) release {
		app := newAppName(i)
		return release{app: app, version: b.next(app)}
	})
}

func (b *bench) pickApp(rng *rand.Rand) deploy.App {
	return b.w.apps[rng.IntN(len(b.w.apps))]
}

// next returns the next version of app: the one after the newest the benchmark knows.
func (b *bench) next(app deploy.App) deploy.Version {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.latest[app]++
	return b.latest[app]
}

func (b *bench) peek(app deploy.App) deploy.Version {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.latest[app]
}

// counted is how much a counter grew, or -1 when it is not exported.
func counted(before, after map[string]float64, name string) int {
	a, ok1 := before[name]
	z, ok2 := after[name]
	if !ok1 || !ok2 {
		return -1
	}
	return int(z - a)
}
