package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"

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
	Logger         *slog.Logger
	// ArgoRepoURL is the repoURL rendered into Argo CD Applications; default URL.
	ArgoRepoURL string
	// PollInterval is how often Run looks for pending changes without being notified;
	// default 2s.
	PollInterval time.Duration
	// Now is the clock for commit times and stats; default time.Now.
	Now func() time.Time
}

const (
	defaultBranch = "main"
	defaultPoll   = 2 * time.Second
	maxAttempts   = 5   // pushes per Write before giving up
	recloneAfter  = 300 // commits built on one clone before it is fetched again
	maxBackoff    = 30 * time.Second
	batchSize     = 50 // outbox entries per Write in Run and Flush
)

// Stats are counters for metrics.
type Stats struct {
	CommitsPushed    int64
	PushFailures     int64
	LastPushDuration time.Duration
	LastPushTime     time.Time
}

// Writer is the single writer of the environment repository. Write, Flush and Run may be
// called from any goroutine; one of them at a time owns the git state.
type Writer struct {
	opts   Options
	log    *slog.Logger
	remote *remote
	notify chan struct{}

	flushMu sync.Mutex // one Flush (Pending → Write → MarkPushed) at a time

	mu    sync.Mutex      // guards the git state below
	st    *memory.Storage // shallow clone; nil when it must be fetched again
	base  plumbing.Hash   // remote tip the clone is at (zero: empty branch)
	built int             // commits built on this clone

	statsMu sync.Mutex
	stats   Stats
}

// Open prepares a writer and fetches the branch.
func Open(ctx context.Context, opts Options) (*Writer, error) {
	if opts.URL == "" {
		return nil, errors.New("open env repo: no git url")
	}
	if opts.Branch == "" {
		opts.Branch = defaultBranch
	}
	if opts.CommitterName == "" {
		opts.CommitterName = deploy.System.Name
	}
	if opts.CommitterEmail == "" {
		opts.CommitterEmail = deploy.System.Email
	}
	if opts.ArgoRepoURL == "" {
		opts.ArgoRepoURL = opts.URL
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = defaultPoll
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Writer{opts: opts, log: log, notify: make(chan struct{}, 1)}
	if isLocalPath(opts.URL) {
		created, err := createBare(opts.URL, opts.Branch)
		if err != nil {
			return nil, fmt.Errorf("open env repo: %w", err)
		}
		if created {
			log.Info("created env repo", "path", opts.URL, "ref", opts.Branch)
		}
	}
	r, err := newRemote(opts)
	if err != nil {
		return nil, fmt.Errorf("open env repo: %w", err)
	}
	w.remote = r
	if err := w.refetch(ctx); err != nil {
		return nil, fmt.Errorf("open env repo %s: %w", RedactURL(opts.URL), err)
	}
	return w, nil
}

// Notify wakes Run up to look for pending changes. It never blocks.
func (w *Writer) Notify() {
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

// Stats returns the counters since Open.
func (w *Writer) Stats() Stats {
	w.statsMu.Lock()
	defer w.statsMu.Unlock()
	return w.stats
}

// Write applies the entries in order, one commit each on top of the previous one (none
// for an entry that changes nothing), and pushes them all at once. When the remote moved
// it fetches the new tip and applies the same entries again, a few times, before it gives
// up with an error; the caller then tries again later, which is safe: entries hold whole
// files, and ones the repo holds already make no commit. The result has the commit of
// every entry ("" for one whose content the repo held already). An entry with an invalid
// name is an error wrapping deploy.ErrInvalid, and nothing is written.
func (w *Writer) Write(ctx context.Context, entries []deploy.OutboxEntry) ([]deploy.Pushed, error) {
	files := make([][]File, len(entries))
	for i, e := range entries {
		fs, err := ChangeFiles(e.Change, w.opts.ArgoRepoURL, w.opts.Branch)
		if err != nil {
			return nil, fmt.Errorf("outbox entry %d: %w", e.ID, err)
		}
		files[i] = fs
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var lastErr error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		if w.st == nil || w.built >= recloneAfter {
			if err := w.refetch(ctx); err != nil {
				return nil, err
			}
		}
		pushed, tip, ed, err := w.build(entries, files)
		if err != nil {
			return nil, err
		}
		if tip == w.base {
			return pushed, nil
		}
		start := time.Now()
		err = w.remote.push(ctx, w.base, tip, ed.out, ed.new)
		w.record(start, countCommits(pushed), err)
		if err == nil {
			w.log.Debug("pushed", "ref", w.opts.Branch, "commit", tip.String(), "commits", countCommits(pushed))
			w.base = tip
			w.built += countCommits(pushed)
			return pushed, nil
		}
		lastErr = &pushError{commit: tip.String(), err: err}
		w.st = nil // fetch the new tip and apply the entries again
		if !errors.Is(err, errRemoteMoved) || ctx.Err() != nil {
			break
		}
		w.log.Info("remote moved, applying again", "ref", w.opts.Branch, "err", err)
	}
	return nil, fmt.Errorf("push %s: %w", w.opts.Branch, lastErr)
}

// build makes one commit per entry that changes the tree, on top of the clone's tip. The
// new commits and their objects are kept in the editor's out store until they are pushed.
//
// Entries that were pushed before without being marked (a crash in between) come back in
// the same order. Applied one by one they would first undo and then redo the later ones,
// so the longest prefix of entries that ends in the tip's own tree and whose last entry
// made the tip commit is skipped: the repo holds it already.
func (w *Writer) build(entries []deploy.OutboxEntry, files [][]File) ([]deploy.Pushed, plumbing.Hash, *editor, error) {
	ed := &editor{st: w.st, out: memory.NewStorage()}
	tip := w.base
	var head *object.Commit
	trees := make([]plumbing.Hash, len(entries)+1)
	trees[0] = emptyTree
	if !tip.IsZero() {
		c, err := object.GetCommit(w.st, tip)
		if err != nil {
			return nil, tip, nil, fmt.Errorf("read commit %s: %w", tip, err)
		}
		head, trees[0] = c, c.TreeHash
	}
	for i, e := range entries {
		ops, err := ed.ops(files[i])
		if err == nil {
			trees[i+1], err = ed.apply(trees[i], ops)
		}
		if err != nil {
			return nil, tip, nil, fmt.Errorf("outbox entry %d: %w", e.ID, err)
		}
	}
	pushed := make([]deploy.Pushed, len(entries))
	skip := 0
	for i := len(entries); i > 0 && head != nil; i-- {
		if trees[i] == trees[0] && w.madeBy(head, entries[i-1].Change) {
			skip = i
			pushed[i-1].Commit = tip.String()
			break
		}
	}
	for i, e := range entries {
		pushed[i].ID = e.ID
		if i < skip || trees[i+1] == trees[i] {
			continue
		}
		obj := w.st.NewEncodedObject()
		if err := w.commit(e.Change, trees[i+1], tip).Encode(obj); err != nil {
			return nil, tip, nil, fmt.Errorf("encode commit: %w", err)
		}
		content, err := readAll(obj)
		if err != nil {
			return nil, tip, nil, fmt.Errorf("encode commit: %w", err)
		}
		tip = ed.put(plumbing.CommitObject, content, true)
		pushed[i].Commit = tip.String()
	}
	return pushed, tip, ed, nil
}

// madeBy reports whether c is the commit that rc makes: same message, author and time.
func (w *Writer) madeBy(c *object.Commit, rc deploy.RepoChange) bool {
	a := w.author(rc)
	return !rc.Time.IsZero() && c.Message == rc.Message && c.Author.Name == a.Name &&
		c.Author.Email == a.Email && c.Author.When.Unix() == rc.Time.Unix()
}

func (w *Writer) author(rc deploy.RepoChange) object.Signature {
	a := object.Signature{Name: rc.Author.Name, Email: rc.Author.Email, When: rc.Time}
	if a.Name == "" {
		a.Name = w.opts.CommitterName
	}
	if a.Email == "" {
		a.Email = w.opts.CommitterEmail
	}
	return a
}

func (w *Writer) commit(rc deploy.RepoChange, tree, parent plumbing.Hash) *object.Commit {
	now := w.opts.Now()
	author := w.author(rc)
	if author.When.IsZero() {
		author.When = now
	}
	c := &object.Commit{
		Author:    author,
		Committer: object.Signature{Name: w.opts.CommitterName, Email: w.opts.CommitterEmail, When: now},
		Message:   rc.Message,
		TreeHash:  tree,
	}
	if !parent.IsZero() {
		c.ParentHashes = []plumbing.Hash{parent}
	}
	return c
}

// refetch replaces the clone with a fresh shallow clone of the remote branch.
func (w *Writer) refetch(ctx context.Context) error {
	w.st = nil
	st, tip, err := w.remote.fetch(ctx)
	if err != nil {
		return err
	}
	w.st, w.base, w.built = st, tip, 0
	return nil
}

func (w *Writer) record(start time.Time, commits int, err error) {
	w.statsMu.Lock()
	defer w.statsMu.Unlock()
	if err != nil {
		w.stats.PushFailures++
		return
	}
	w.stats.CommitsPushed += int64(commits)
	w.stats.LastPushDuration = time.Since(start)
	w.stats.LastPushTime = w.opts.Now()
}

// pushError is a failed push of the commits up to commit.
type pushError struct {
	commit string
	err    error
}

func (e *pushError) Error() string { return e.err.Error() }
func (e *pushError) Unwrap() error { return e.err }

func countCommits(ps []deploy.Pushed) int {
	n := 0
	for _, p := range ps {
		if p.Commit != "" {
			n++
		}
	}
	return n
}
