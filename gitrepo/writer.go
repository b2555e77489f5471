package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"kuberpult/deploy"
)

// Options configure a Writer.
type Options struct {
	// URL of the environment repository: a local path, file://, https:// or ssh
	// (ssh://host/repo.git or git@host:org/repo.git). A local path where nothing exists
	// yet becomes a new bare repository.
	URL    string
	Branch string // default "main"
	// Token is the password for https (user "x-access-token"). Never logged.
	Token string
	// SSHKeyFile is the private key for ssh; without it the ssh agent is used. Host keys
	// are checked against known_hosts ($SSH_KNOWN_HOSTS or ~/.ssh/known_hosts).
	SSHKeyFile     string
	CommitterName  string // default "kuberpult"
	CommitterEmail string // default "kuberpult@localhost"
	// ArgoRepoURL is the repoURL rendered into Argo CD Applications; default URL.
	ArgoRepoURL string
	Logger      *slog.Logger
	// PollInterval is how often Run looks for pending changes without being notified,
	// and how often it asks for the lease while another process holds it; default 2s.
	PollInterval time.Duration
	// PendingPoll, when set, is how often a writer that holds the lease looks for changes
	// without being notified, when that is more often than PollInterval: changes accepted
	// by other processes (replicas, consoles) notify only their own writer.
	PendingPoll time.Duration
	// Now is the clock for commit times, lease times and stats; default time.Now.
	Now func() time.Time
	// Holder names this writer in the lease, e.g. "serve on host-1 (pid 4242)"; default
	// the host name and the process id.
	Holder string
	// Priority of this writer's claim on the lease: a writer takes the lease over from
	// one with a lower priority (serve 1, console 0).
	Priority int
	// LeaseTTL is how long the lease lasts without renewal; it is renewed every third of
	// it. Default 30s.
	LeaseTTL time.Duration
	// StopTimeout bounds how long a stop waits for the push in flight; default 20s.
	StopTimeout time.Duration
	// PushTimeout bounds one push or fetch; default 2m.
	PushTimeout time.Duration
	// OnPush is called once per outbox entry after it was marked pushed (or set aside as
	// failed: PushEvent.Failed), in id order, on
	// the writer's goroutine (so it must not call Flush).
	OnPush func(deploy.PushEvent)
	// Lead, when set, runs while Run holds the lease, so that the holder is the leader of
	// the processes sharing the store: it is called on its own goroutine each time Run takes
	// the lease, with a ctx that ends when the lease is lost (taken over, or not renewed
	// before it expired), given up, or Run stops, and with the lease in force (renewed; call
	// it again for the current one, e.g. to fence a write). The lease is released only
	// after Lead returned. Flush never calls it.
	Lead func(ctx context.Context, lease func() deploy.Lease)
}

// LeaseName is the name of the writer lease in the outbox's store.
const LeaseName = "envrepo"

const (
	defaultBranch      = "main"
	defaultPoll        = 2 * time.Second
	defaultTTL         = 30 * time.Second
	defaultStopTimeout = 20 * time.Second
	defaultPushTimeout = 2 * time.Minute
	batchSize          = 100  // outbox entries per push
	maxHistory         = 1000 // commits the writer walks back looking for its builds
	maxRaces           = 5    // lost races in a row before the writer pauses
	maxBackoff         = 30 * time.Second
)

// Stats are counters for metrics.
type Stats struct {
	CommitsPushed    int64
	Pushes           int64
	PushFailures     int64 // pushes that did not land: lost races, refusals, errors
	PushRefusals     int64 // pushes the remote refused for another reason than a race
	FailedEntries    int64 // outbox entries set aside as failed
	LastPushDuration time.Duration
	LastPushTime     time.Time
	FetchedBytes     int64 // pack bytes fetched
	// PushSeconds counts the pushes that landed by duration: PushSeconds[i] those that took
	// at most PushBuckets[i] (cumulative); PushSecondsSum is their total.
	PushSeconds    [len(PushBuckets)]int64
	PushSecondsSum float64
	LeaseTaken     int64 // times this writer took the lease
	LeaseLost      int64 // times it lost the lease to another holder (or let it expire)
}

// PushBuckets are the upper bounds, in seconds, of Stats.PushSeconds.
var PushBuckets = [...]float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// Status is what the writer knows about its remote and its lease.
type Status struct {
	// Reachable is true once the remote answered, and false after a failure to reach it.
	Reachable bool
	// LastError is the last error (empty if none yet), and when it happened.
	LastError   string
	LastErrorAt time.Time
	Tip         string // the branch's commit as last seen ("" before the first fetch or for an empty branch)
	Holding     bool   // this writer holds the lease
	Holder      string // who holds the lease, as far as this writer knows
	Epoch       int64  // the epoch of that lease (it grows with every change of holder)
	// Claimed is the id of the last entry in the batches being pushed or built to be pushed
	// next; 0 when none are. The entries after it wait for the writer.
	Claimed int64
	Stats   Stats
}

// Writer is the single writer of the environment repository. Run, Flush, Notify and
// Status may be called from any goroutine; one Run or Flush at a time owns the git state.
type Writer struct {
	opts   Options
	log    *slog.Logger
	remote *remote
	notify chan struct{}

	driveMu sync.Mutex // held by the one Run or Flush that works on the git state

	// The git state, owned by whoever holds driveMu.
	st        *objects
	tip       hash          // the branch's commit st is at; zero for an empty branch
	synced    bool          // false: fetch the tip before building
	built     []hash        // commits of a push whose outcome is unknown; their trees are in st
	pinned    hash          // the tip of a batch built while the one before it is pushed
	races     int           // lost races in a row
	sentBytes int64         // pack bytes pushed, for the benchmarks
	looked    map[hash]bool // builds not in the history at this tip
	ten       *tenure
	running   bool // a Run (not a Flush) drives: tenures start Lead

	statusMu sync.Mutex
	status   Status
	progress chan struct{} // closed (and replaced) when entries were marked pushed or failed
}

// Open checks the options and prepares a writer. For a local path where there is no
// repository yet it creates an empty bare one. It does not contact the remote: Run does,
// and keeps trying while the remote is unreachable.
func Open(_ context.Context, opts Options) (*Writer, error) {
	if opts.URL == "" {
		return nil, errors.New("open env repo: no git url")
	}
	if opts.Branch == "" {
		opts.Branch = defaultBranch
	}
	ref := plumbing.NewBranchReferenceName(opts.Branch)
	if err := ref.Validate(); err != nil {
		return nil, fmt.Errorf("open env repo: branch %q: %w", opts.Branch, err)
	}
	setDefaults(&opts)
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if isLocalPath(opts.URL) {
		created, err := createBare(opts.URL, opts.Branch)
		if err != nil {
			return nil, fmt.Errorf("open env repo: %w", err)
		}
		if created {
			log.Info("created env repo", "path", opts.URL, "ref", opts.Branch)
		}
	}
	c, err := newConn(opts)
	if err != nil {
		return nil, fmt.Errorf("open env repo: %w", err)
	}
	return &Writer{
		opts: opts, log: log, notify: make(chan struct{}, 1),
		remote:   &remote{conn: c, ref: ref},
		st:       newObjects(),
		progress: make(chan struct{}),
	}, nil
}

func setDefaults(o *Options) {
	if o.CommitterName == "" {
		o.CommitterName = deploy.System.Name
	}
	if o.CommitterEmail == "" {
		o.CommitterEmail = deploy.System.Email
	}
	if o.ArgoRepoURL == "" {
		o.ArgoRepoURL = o.URL
	}
	if o.PollInterval <= 0 {
		o.PollInterval = defaultPoll
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Holder == "" {
		host, _ := os.Hostname()
		o.Holder = fmt.Sprintf("kuberpult on %s (pid %d)", host, os.Getpid())
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = defaultTTL
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = defaultStopTimeout
	}
	if o.PushTimeout <= 0 {
		o.PushTimeout = defaultPushTimeout
	}
}

// Notify wakes Run up to look for pending changes. It never blocks.
func (w *Writer) Notify() {
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

// Status returns what the writer knows now.
func (w *Writer) Status() Status {
	w.statusMu.Lock()
	defer w.statusMu.Unlock()
	return w.status
}

func (w *Writer) update(f func(*Status)) {
	w.statusMu.Lock()
	defer w.statusMu.Unlock()
	f(&w.status)
}

// failed records an error in the status; unreachable errors also mark the remote so.
func (w *Writer) failed(err error) {
	var ue *unreachableError
	unreachable := errors.As(err, &ue)
	w.update(func(s *Status) {
		s.LastError, s.LastErrorAt = err.Error(), w.opts.Now()
		if unreachable {
			s.Reachable = false
		}
	})
}

// reached records that the remote answered, at tip.
func (w *Writer) reached(tip hash) {
	w.update(func(s *Status) {
		s.Reachable = true
		s.Tip = ""
		if !tip.IsZero() {
			s.Tip = tip.String()
		}
	})
}

// signal wakes every Flush waiting for entries to be done.
func (w *Writer) signal() {
	w.statusMu.Lock()
	defer w.statusMu.Unlock()
	close(w.progress)
	w.progress = make(chan struct{})
}

func (w *Writer) progressed() <-chan struct{} {
	w.statusMu.Lock()
	defer w.statusMu.Unlock()
	return w.progress
}
