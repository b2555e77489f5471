// Command bench measures Kuberpult the way its users wait for it, from outside: it builds
// the kuberpult binary of this tree, generates an env repo (a bare git repository) of
// 2,000 apps × 10 environments (20,000 manifests) and a few thousand commits of history with
// git fast-import, seeds a SQLite database that matches it through the store package,
// starts `kuberpult serve` as a child process, and sends it requests over HTTP, timing
// until the remote's branch holds what they asked for. Eight environments are upstream
// latest; the last two (-group-envs) form the group production with upstream staging and
// run the release before the newest, so a release train has every app to move there.
// Releases are Kuberpult's multipart form with ten manifests, deployed at once to the
// eight upstream-latest environments.
//
// Phases (-phases, all by default; they run in this order):
//
//	latency     one release at a time: from the start of the request until refs/heads/main
//	            of the remote points at a commit holding it, alternating with the git CLI
//	            making the same eight-file change (pull, write, add, commit, push) in a full
//	            clone of the same remote
//	steady      concurrent clients release new versions of random existing apps: accepted
//	            releases/s, and the time from the last acceptance until all is pushed
//	train       the release train of all 2,000 apps into the group production: its
//	            prognosis (GET …/releasetrain/prognosis, several times), then one PUT
//	            …/environment-groups/production/releasetrain, from the start of the request
//	            until the branch holds it in one commit, and a second PUT that must change
//	            nothing (before onboarding, whose new apps would add to the train)
//	onboarding  concurrent clients send the first release of new apps
//	history     steady again on a fresh setup whose database holds -compare-history
//	            releases per app instead of -history, to show the cost does not grow
//
// After the setup and every phase it checks that the remote's branch holds exactly what
// the database says is deployed (and one Argo CD Application per deployed app), and runs
// git fsck. It samples the server's RSS and reads its peak (VmHWM) from /proc.
//
// With -postgres <dsn> the state is PostgreSQL instead of SQLite: each setup gets a new
// schema kp_bench_<random> on that server (serve's DSN gets search_path=<schema>), seeded
// through store.OpenPostgres and dropped at the end unless -keep. -replicas N starts N serve
// processes on the same configuration but api.listen (config-<i>.yaml, serve-<i>.log); one
// of them leads (holds the writer lease and pushes), and request i goes to replica i mod N
// (the latency rounds too). Then the backlog and the end-state checks read the store itself
// (every replica's GET /api/applications must agree with it), commits and pushes are summed
// over the replicas, and every replica's RSS is reported and held to the target.
//
// Usage:
//
//	go run ./cmd/bench                     # the default run: a few minutes on 2 cores
//	go run ./cmd/bench -json > bench.json  # figures for machines
//	go run ./cmd/bench -check              # exit status 1 when a target is missed
//	go run ./cmd/bench -phases train -history 1 -fsck off  # the train alone, in 15 s
//	go run ./cmd/bench -postgres "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable" \
//	    -replicas 2 -group-envs 0 -phases latency,steady,onboarding   # two replicas on PostgreSQL
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"kuberpult/deploy"
	"kuberpult/store"
)

type options struct {
	dir, bin            string
	keep                bool
	apps, envs, commits int
	groupEnvs           int
	history, compare    int
	clients, rounds     int
	steadyN, onboardN   int
	steadyFor           time.Duration
	onboardFor          time.Duration
	drainTimeout        time.Duration
	syncTimeout         time.Duration
	phases              []string
	fsck                string
	jsonOut, check      bool
	seed                uint64
	// postgres is the DSN of a PostgreSQL server to run on instead of SQLite: each setup
	// gets a schema of its own there. replicas is how many serve processes share it.
	postgres string
	replicas int
}

// allPhases are the phases in the order they run.
var allPhases = []string{"latency", "steady", "train", "onboarding", "history"}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.dir, "dir", "", "work directory (default: a new temporary directory, removed at the end unless -keep)")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary work directory (env repos, databases, serve logs)")
	fs.StringVar(&o.bin, "bin", "", "use this kuberpult binary instead of building ./cmd/kuberpult (its database schema must match this tree's store)")
	fs.IntVar(&o.apps, "apps", 2000, "apps in the generated env repo")
	fs.IntVar(&o.envs, "envs", 10, "environments")
	fs.IntVar(&o.groupEnvs, "group-envs", 2, "of the environments, the last ones form the group production with upstream staging and the others are upstream latest (0: all upstream latest, the world before the train phase)")
	fs.IntVar(&o.commits, "commits", 4000, "commits in the generated env repo: one with every file, then each deploys a random app to a random environment")
	fs.IntVar(&o.history, "history", 50, "releases per app in the database, version N deployed everywhere; with a group (-group-envs) one more per app, N+1, runs on the upstream-latest environments and waits for the train")
	fs.IntVar(&o.compare, "compare-history", 1, "releases per app for the history phase's second setup")
	fs.IntVar(&o.clients, "clients", 8, "concurrent HTTP clients in steady and onboarding")
	fs.IntVar(&o.rounds, "rounds", 10, "latency rounds (one release and one git CLI change each)")
	fs.IntVar(&o.steadyN, "steady", 2000, "releases to send in the steady phase (R)")
	fs.DurationVar(&o.steadyFor, "steady-for", 20*time.Second, "longest the steady phase sends (D; 0: no limit)")
	fs.IntVar(&o.onboardN, "onboard", 2000, "new apps in the onboarding phase")
	fs.DurationVar(&o.onboardFor, "onboard-for", 5*time.Minute, "longest the onboarding phase sends (0: no limit)")
	fs.DurationVar(&o.drainTimeout, "drain-timeout", 5*time.Minute, "longest wait for the remote to hold what was accepted")
	fs.DurationVar(&o.syncTimeout, "sync-timeout", 10*time.Minute, "longest wait for serve's initial environment sync")
	phases := fs.String("phases", strings.Join(allPhases, ","), "phases to run, comma-separated (all but train with -group-envs 0)")
	fs.StringVar(&o.fsck, "fsck", "end", "git fsck in the end-state checks: full (after every phase), end (connectivity after every phase, full after the last), connectivity, off")
	fs.BoolVar(&o.jsonOut, "json", false, "print the report as JSON")
	fs.BoolVar(&o.check, "check", false, "exit with status 1 when a target is missed")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the random choices (apps, history)")
	fs.StringVar(&o.postgres, "postgres", "", "run on PostgreSQL instead of SQLite: a DSN (postgres://user@host:5432/db?sslmode=disable) whose user may create schemas; each setup gets a new schema kp_bench_<random>, dropped at the end unless -keep")
	fs.IntVar(&o.replicas, "replicas", 1, "serve processes sharing the database (more than 1 needs -postgres); the clients' requests go to them in turn")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	for _, p := range strings.Split(*phases, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if !slices.Contains(allPhases, p) {
			return o, fmt.Errorf("unknown phase %q; phases: %s", p, strings.Join(allPhases, ", "))
		}
		o.phases = append(o.phases, p)
	}
	slices.SortFunc(o.phases, func(a, b string) int { return slices.Index(allPhases, a) - slices.Index(allPhases, b) })
	o.phases = slices.Compact(o.phases)
	explicit := false
	fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "phases" })
	if o.groupEnvs == 0 && !explicit { // the world without a group has no train to measure
		o.phases = slices.DeleteFunc(o.phases, func(p string) bool { return p == "train" })
	}
	switch {
	case o.apps < 1 || o.envs < 1 || o.clients < 1 || o.history < 1:
		return o, errors.New("-apps, -envs, -clients and -history must be at least 1")
	case o.groupEnvs < 0 || o.groupEnvs >= o.envs:
		return o, fmt.Errorf("-group-envs %d: want 0 to %d (at least one environment stays upstream latest)", o.groupEnvs, o.envs-1)
	case o.has("train") && o.groupEnvs == 0:
		return o, errors.New("the train phase needs -group-envs ≥ 1")
	case !slices.Contains([]string{"full", "end", "connectivity", "off"}, o.fsck):
		return o, fmt.Errorf("-fsck %q: want full, end, connectivity or off", o.fsck)
	case o.has("history") && (o.compare < 1 || o.compare == o.history):
		return o, errors.New("the history phase needs -compare-history ≥ 1 and different from -history")
	case o.replicas < 1:
		return o, fmt.Errorf("-replicas %d: want at least 1", o.replicas)
	case o.replicas > 1 && o.postgres == "":
		return o, errReplicasNeedPostgres
	}
	return o, nil
}

func (o options) has(phase string) bool { return slices.Contains(o.phases, phase) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "bench:", err)
		}
		os.Exit(2)
	}
	rep, err := run(ctx, o, os.Stderr)
	if o.jsonOut {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
	} else {
		printReport(os.Stdout, rep)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	if o.check && !rep.ok() {
		os.Exit(1)
	}
}

// run does the whole benchmark. The report holds whatever was measured, also on error.
func run(ctx context.Context, o options, logw io.Writer) (*report, error) {
	rep := &report{Apps: o.apps, Envs: o.envs, GroupEnvs: o.groupEnvs, Commits: max(o.commits, 1), Clients: o.clients,
		State: "sqlite", Replicas: o.replicas}
	if o.postgres != "" {
		rep.State = "postgres"
	}
	defer rep.evaluate(o) // also on error: the targets of what was measured
	dir := o.dir
	if dir == "" {
		d, err := os.MkdirTemp("", "kuberpult-bench-")
		if err != nil {
			return rep, err
		}
		dir = d
		if o.keep {
			fmt.Fprintf(logw, "bench: work directory %s (kept)\n", dir)
		} else {
			defer os.RemoveAll(dir)
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return rep, err
	}
	bin := o.bin
	if bin == "" {
		fmt.Fprintln(logw, "bench: go build ./cmd/kuberpult")
		b, err := buildBinary(ctx, dir)
		if err != nil {
			return rep, err
		}
		bin = b
	}
	rep.Binary = bin
	var mainPhases []string
	for _, p := range o.phases {
		if p != "history" {
			mainPhases = append(mainPhases, p)
		}
	}
	if o.has("history") && !o.has("steady") {
		mainPhases = append(mainPhases, "steady")
	}
	if len(mainPhases) > 0 {
		rr, err := runOne(ctx, o, bin, dir, o.history, mainPhases, logw)
		rep.Runs = append(rep.Runs, rr)
		if err != nil {
			return rep, err
		}
	}
	if o.has("history") {
		rr, err := runOne(ctx, o, bin, dir, o.compare, []string{"steady"}, logw)
		rep.Runs = append(rep.Runs, rr)
		if err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// bench is one setup: an env repo, a database and a running serve (-replicas of them on
// PostgreSQL).
type bench struct {
	o      options
	w      world
	remote string
	srv    *server   // the first replica: single requests (latency's odd rounds, the train)
	srvs   []*server // every replica, srv first; the clients' requests go to them in turn
	cli    *cliClone
	rng    *rand.Rand
	// pg is the setup's schema and db the store on it, opened by the benchmark (-postgres;
	// nil on SQLite): the seed, the end-state checks and the backlog read it.
	pg *pgSchema
	db *store.DB

	mu     sync.Mutex
	latest map[deploy.App]deploy.Version // newest version sent per app
}

// runOne sets up with history releases per app and runs phases on it.
func runOne(ctx context.Context, o options, bin, dir string, history int, phases []string, logw io.Writer) (*runReport, error) {
	w := newWorld(o.apps, o.envs, o.groupEnvs)
	rr := &runReport{History: history, Releases: int(w.newest(deploy.Version(history))) * o.apps}
	logf := func(format string, args ...any) {
		fmt.Fprintf(logw, "bench: history %d: "+format+"\n", append([]any{history}, args...)...)
	}
	sub := filepath.Join(dir, fmt.Sprintf("history-%d", history))
	if err := os.RemoveAll(sub); err != nil {
		return rr, err
	}
	if err := os.MkdirAll(sub, 0o755); err != nil {
		return rr, err
	}
	b := &bench{o: o, w: w, remote: filepath.Join(sub, "remote.git"),
		rng: rand.New(rand.NewPCG(o.seed, uint64(history))), latest: map[deploy.App]deploy.Version{}}
	for _, a := range b.w.apps {
		b.latest[a] = w.newest(deploy.Version(history))
	}
	if o.postgres != "" {
		pg, err := newSchema(ctx, o.postgres)
		if err != nil {
			return rr, err
		}
		b.pg, rr.Schema = pg, pg.name
		defer func() {
			if b.db != nil {
				b.db.Close()
			}
			if o.keep {
				logf("schema %s kept", pg.name)
				pg.admin.Close()
			} else if err := pg.drop(ctx); err != nil {
				logf("%v", err)
			}
		}()
	}
	logf("generating the env repo and seeding the database")
	if err := b.setup(ctx, bin, sub, history, slices.Contains(phases, "latency"), &rr.Setup); err != nil {
		_ = b.stopAll()
		return rr, err
	}
	if rr.Setup.SyncSeconds < 0 {
		logf("serve's initial sync pushed nothing: the remote has no Argo CD files")
	} else {
		logf("serve synced in %.1f s (peak RSS %.0f MB)", rr.Setup.SyncSeconds, rr.Setup.Serve.PeakMB)
	}
	err := b.phases(ctx, rr, phases, logf)
	if serr := b.stopAll(); serr != nil {
		rr.Stop = serr.Error()
		err = errors.Join(err, serr)
	}
	return rr, err
}

// stopAll stops the replicas, the last started first, so that the leader (usually the
// first) is not handed over at the end.
func (b *bench) stopAll() error {
	var errs []error
	for i := len(b.srvs) - 1; i >= 0; i-- {
		if err := b.srvs[i].stop(); err != nil {
			if len(b.srvs) > 1 {
				err = fmt.Errorf("replica %d: %w", i+1, err)
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (b *bench) phases(ctx context.Context, rr *runReport, phases []string, logf func(string, ...any)) error {
	check := func(after string, last bool) error {
		c, err := b.checkEndState(ctx, after, last && b.o.fsck == "end")
		rr.Checks = append(rr.Checks, c)
		if err == nil && !c.ok() {
			logf("end state after %s is wrong, e.g. %s", after, strings.Join(c.Examples[:min(2, len(c.Examples))], "; "))
		}
		return err
	}
	if err := check("setup", len(phases) == 0); err != nil {
		return err
	}
	for i, p := range phases {
		if err := b.maintain(ctx); err != nil {
			return err
		}
		logf("phase %s", p)
		var err error
		switch p {
		case "latency":
			rr.Latency, err = b.latency(ctx)
		case "steady":
			rr.Steady, err = b.steady(ctx)
		case "train":
			rr.Train, err = b.train(ctx)
		case "onboarding":
			rr.Onboarding, err = b.onboarding(ctx)
		}
		if err != nil {
			return fmt.Errorf("phase %s: %w", p, err)
		}
		if err := check(p, i == len(phases)-1); err != nil {
			return err
		}
	}
	return nil
}

// maintain repacks the remote between phases, untimed, as git servers do in the background
// (git maintenance, GitHub's repacks): every push adds a pack, and a remote with a hundred
// packs makes every later push slower, Kuberpult's and the git CLI's alike.
func (b *bench) maintain(ctx context.Context) error {
	_, err := git(ctx, b.remote, "repack", "-d", "-q", "--geometric=2")
	return err
}
