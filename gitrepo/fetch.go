package gitrepo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
)

// remote is the branch of the environment repository the writer works on.
type remote struct {
	conn conn
	ref  plumbing.ReferenceName
}

// errMoved: the branch is not at the commit asked about any more.
var errMoved = errors.New("the remote branch moved")

func (r *remote) tipOf(adv *packp.AdvRefs) hash { return adv.References[r.ref.String()] }

// fetchRequest is the part of an upload-pack request every fetch of the writer shares.
func fetchRequest(adv *packp.AdvRefs, want hash, filter packp.Filter, thin bool) *packp.UploadPackRequest {
	req := packp.NewUploadPackRequest()
	caps := req.Capabilities
	_ = caps.Set(capability.OFSDelta)
	_ = caps.Set(capability.NoProgress)
	_ = caps.Set(capability.Shallow)
	if adv.Capabilities.Supports(capability.Sideband64k) {
		_ = caps.Set(capability.Sideband64k)
	}
	if thin {
		// go-git hides thin-pack from the advertisement because its own client cannot
		// take thin packs; every git server can send them, and this client takes them.
		_ = caps.Set(capability.ThinPack)
	}
	if filter != "" && adv.Capabilities.Supports(capability.Filter) {
		_ = caps.Set(capability.Filter)
		req.Filter = filter
	}
	req.Wants = []hash{want}
	return req
}

// sync brings the branch's tip into st and returns it (zero when the branch does not
// exist). known says which commits st holds with all their trees: base, the tip it is at,
// and commits it built; they are sent as "have", so the server sends only what changed
// since, as a thin pack against them. Only the tip's commit comes (depth 1), never blobs
// when the server can filter them, so the cost follows the change, not the repository.
func (r *remote) sync(ctx context.Context, st *objects, base hash, known []hash) (hash, int64, error) {
	var tip hash
	var req *packp.UploadPackRequest
	resp, err := r.conn.uploadPack(ctx, func(adv *packp.AdvRefs) (*packp.UploadPackRequest, error) {
		tip = r.tipOf(adv)
		if tip.IsZero() || tip == base || contains(known, tip) {
			return nil, nil
		}
		req = fetchRequest(adv, tip, packp.FilterBlobNone(), !base.IsZero())
		req.Depth = packp.DepthCommits(1)
		if !base.IsZero() {
			// Every "have" is also declared shallow: the store holds the trees of those
			// commits, not of their ancestors (nor of the commits between base and a
			// built tip), and the server may base deltas only on what it thinks we hold.
			req.Haves = append([]hash{base}, known...)
			req.Shallows = req.Haves
		}
		return req, nil
	})
	if err != nil || resp == nil {
		return tip, 0, wrapFetch(r, err)
	}
	pack, err := readPack(resp, req.Capabilities.Supports(capability.Sideband64k))
	if err != nil {
		return zeroHash, 0, wrapFetch(r, err)
	}
	if err := st.index(pack); err != nil {
		return zeroHash, int64(len(pack)), wrapFetch(r, err)
	}
	c, ok := st.commits[tip]
	if !ok {
		return zeroHash, int64(len(pack)), wrapFetch(r, fmt.Errorf("the pack has no commit %s", tip))
	}
	if _, err := st.tree(c.tree); err != nil {
		return zeroHash, int64(len(pack)), wrapFetch(r, err)
	}
	return tip, int64(len(pack)), nil
}

// history fetches the commits up to depth generations behind tip, without their trees
// (filter tree:0) when the server can filter. Commits st holds are not sent again. It
// returns errMoved when tip is not the branch's tip any more (a server only hands out
// what its refs reach).
func (r *remote) history(ctx context.Context, st *objects, tip hash, depth int) (int64, error) {
	var req *packp.UploadPackRequest
	resp, err := r.conn.uploadPack(ctx, func(adv *packp.AdvRefs) (*packp.UploadPackRequest, error) {
		if r.tipOf(adv) != tip {
			return nil, errMoved
		}
		req = fetchRequest(adv, tip, packp.FilterTreeDepth(0), false)
		req.Depth = packp.DepthCommits(depth)
		req.Shallows = st.boundary()
		req.Haves = []hash{tip}
		return req, nil
	})
	if err != nil || resp == nil {
		return 0, wrapFetch(r, err)
	}
	pack, err := readPack(resp, req.Capabilities.Supports(capability.Sideband64k))
	if err != nil {
		return 0, wrapFetch(r, err)
	}
	if err := st.index(pack); err != nil {
		return int64(len(pack)), wrapFetch(r, err)
	}
	return int64(len(pack)), nil
}

func wrapFetch(r *remote, err error) error {
	if err == nil || errors.Is(err, errMoved) {
		return err
	}
	return fmt.Errorf("fetch %s: %w", r.ref.Short(), err)
}

func contains(hs []hash, h hash) bool {
	for _, x := range hs {
		if x == h {
			return true
		}
	}
	return false
}

// pushOutcome is how a push ended.
type pushOutcome int

const (
	pushed   pushOutcome = iota
	lostRace             // the branch was not at old: someone pushed first
	refused              // the server refused it for another reason (a hook, a protected branch)
	unknown              // no answer: it may or may not have landed
)

// pushError is a push that did not land (or of which it is not known).
type pushError struct {
	outcome pushOutcome
	msg     string // git's own words, with the remote's lines
	err     error
}

func (e *pushError) Error() string {
	if e.err != nil && e.msg != "" {
		return e.err.Error() + "\n" + e.msg
	}
	if e.err != nil {
		return e.err.Error()
	}
	return e.msg
}

func (e *pushError) Unwrap() error { return e.err }

// Reasons in a receive-pack report that mean someone else moved the branch first.
var raceReasons = []string{"non-fast-forward", "fetch first", "stale info", "failed to update ref", "failed to lock", "cannot lock ref", "incorrect old value", "already exists"}

// push sends pack and moves the branch from old to new, only if it still is at old: it is
// checked against the advertisement before anything is sent (our own compare-and-swap),
// and the server checks it again when it updates the ref.
func (r *remote) push(ctx context.Context, old, new hash, pack []byte) error {
	var cur hash
	report, msgs, err := r.conn.receivePack(ctx, func(adv *packp.AdvRefs) (*packp.ReferenceUpdateRequest, error) {
		cur = r.tipOf(adv)
		if cur != old {
			return nil, errMoved
		}
		req := packp.NewReferenceUpdateRequestFromCapabilities(adv.Capabilities)
		if adv.Capabilities.Supports(capability.Quiet) {
			_ = req.Capabilities.Set(capability.Quiet)
		}
		req.Commands = []*packp.Command{{Name: r.ref, Old: old, New: new}}
		req.Packfile = io.NopCloser(bytes.NewReader(pack))
		return req, nil
	})
	switch {
	case errors.Is(err, errMoved):
		return &pushError{outcome: lostRace, err: fmt.Errorf("push %s: it is at %s, not at %s", r.ref.Short(), short(cur), short(old))}
	case err != nil:
		return &pushError{outcome: unknown, msg: msgs, err: fmt.Errorf("push %s: %w", r.ref.Short(), err)}
	case report == nil:
		return &pushError{outcome: unknown, msg: msgs, err: fmt.Errorf("push %s: no report from the server", r.ref.Short())}
	case report.UnpackStatus != "ok":
		return &pushError{outcome: refused, msg: msgs, err: fmt.Errorf("push %s: unpack failed: %s", r.ref.Short(), report.UnpackStatus)}
	}
	for _, cs := range report.CommandStatuses {
		if cs.ReferenceName != r.ref || cs.Status == "ok" {
			continue
		}
		e := &pushError{outcome: refused, msg: msgs, err: fmt.Errorf("push %s: %s", r.ref.Short(), cs.Status)}
		for _, reason := range raceReasons {
			if strings.Contains(cs.Status, reason) {
				e.outcome = lostRace
			}
		}
		return e
	}
	return nil
}

func short(h hash) string {
	if h.IsZero() {
		return "nothing"
	}
	return h.String()[:12]
}
