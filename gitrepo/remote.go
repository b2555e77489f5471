package gitrepo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/go-git/go-git/v5/storage/memory"
)

// errRemoteMoved means the branch on the remote is not where our commits were built on.
var errRemoteMoved = errors.New("remote branch moved")

// remote is how the writer reaches the environment repository.
type remote struct {
	url    string // as go-git wants it: a local path made absolute, or the URL
	ep     *transport.Endpoint
	auth   transport.AuthMethod
	client transport.Transport
	ref    plumbing.ReferenceName
}

// isLocalPath reports whether u is a path on this machine rather than a URL: no scheme,
// and not ssh's host:path form (a colon before any slash).
func isLocalPath(u string) bool {
	if strings.Contains(u, "://") {
		return false
	}
	colon := strings.IndexByte(u, ':')
	return colon < 0 || strings.Contains(u[:colon], "/") || filepath.VolumeName(u) != ""
}

func newRemote(opts Options) (*remote, error) {
	u := opts.URL
	if isLocalPath(u) {
		abs, err := filepath.Abs(u)
		if err != nil {
			return nil, fmt.Errorf("git url: %w", err)
		}
		u = abs
	}
	ep, err := transport.NewEndpoint(u)
	if err != nil {
		return nil, fmt.Errorf("git url %s: %w", RedactURL(opts.URL), err)
	}
	r := &remote{url: u, ep: ep, ref: plumbing.NewBranchReferenceName(opts.Branch)}
	switch ep.Protocol {
	case "https", "http":
		if opts.Token != "" {
			r.auth = &githttp.BasicAuth{Username: "x-access-token", Password: opts.Token}
		}
	case "ssh":
		user := ep.User
		if user == "" {
			user = gitssh.DefaultUsername
		}
		if opts.SSHKeyFile != "" {
			r.auth, err = gitssh.NewPublicKeysFromFile(user, opts.SSHKeyFile, "")
		} else {
			r.auth, err = gitssh.NewSSHAgentAuth(user)
		}
		if err != nil {
			return nil, fmt.Errorf("ssh auth for %s: %w", RedactURL(opts.URL), err)
		}
	}
	if r.client, err = client.NewClient(ep); err != nil {
		return nil, fmt.Errorf("git url %s: %w", RedactURL(opts.URL), err)
	}
	return r, nil
}

// createBare makes an empty bare repository at path whose HEAD names branch, unless
// something other than an empty directory exists there already.
func createBare(path, branch string) (created bool, err error) {
	if names, err := os.ReadDir(path); len(names) > 0 || (err != nil && !errors.Is(err, os.ErrNotExist)) {
		return false, nil
	}
	repo, err := git.PlainInit(path, true)
	if err != nil {
		return false, fmt.Errorf("create bare repository %s: %w", path, err)
	}
	head := plumbing.NewSymbolicReference(plumbing.HEAD, plumbing.NewBranchReferenceName(branch))
	if err := repo.Storer.SetReference(head); err != nil {
		return false, fmt.Errorf("set HEAD of %s: %w", path, err)
	}
	return true, nil
}

// fetch makes a shallow in-memory clone of the branch (no worktree, no blobs) and returns
// it with the commit at its tip; the zero hash when the repository or the branch is empty.
func (r *remote) fetch(ctx context.Context) (*memory.Storage, plumbing.Hash, error) {
	st := newPackStorage()
	_, err := git.CloneContext(ctx, st, nil, &git.CloneOptions{
		URL:           r.url,
		Auth:          r.auth,
		ReferenceName: r.ref,
		SingleBranch:  true,
		Depth:         1,
		NoCheckout:    true,
		Tags:          git.NoTags,
	})
	var noMatch git.NoMatchingRefSpecError
	switch {
	case errors.Is(err, transport.ErrEmptyRemoteRepository), errors.As(err, &noMatch),
		errors.Is(err, plumbing.ErrReferenceNotFound):
		return memory.NewStorage(), plumbing.ZeroHash, nil
	case err != nil:
		return nil, plumbing.ZeroHash, fmt.Errorf("fetch %s: %w", r.ref.Short(), err)
	}
	ref, err := st.Reference(r.ref)
	if err != nil {
		return nil, plumbing.ZeroHash, fmt.Errorf("fetch %s: %w", r.ref.Short(), err)
	}
	return st.Storage, ref.Hash(), nil
}

// push sends the objects in out and moves the branch from old to new, only if the remote
// branch still is at old. It returns an error wrapping errRemoteMoved when it is not.
func (r *remote) push(ctx context.Context, old, new plumbing.Hash, out *memory.Storage, objects []plumbing.Hash) (err error) {
	sess, err := r.client.NewReceivePackSession(r.ep, r.auth)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() {
		if cerr := sess.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close session: %w", cerr)
		}
	}()
	req := packp.NewReferenceUpdateRequest()
	cur := plumbing.ZeroHash
	adv, err := sess.AdvertisedReferencesContext(ctx)
	switch {
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
	case err != nil:
		return fmt.Errorf("list refs: %w", err)
	default:
		refs, err := adv.AllReferences()
		if err != nil {
			return fmt.Errorf("list refs: %w", err)
		}
		if ref, ok := refs[r.ref]; ok {
			cur = ref.Hash()
		}
		req = packp.NewReferenceUpdateRequestFromCapabilities(adv.Capabilities)
	}
	if cur != old {
		return fmt.Errorf("%w: it is at %s, expected %s", errRemoteMoved, short(cur), short(old))
	}
	var pack bytes.Buffer
	if _, err := packfile.NewEncoder(&pack, out, false).Encode(objects, 0); err != nil {
		return fmt.Errorf("encode pack: %w", err)
	}
	req.Commands = []*packp.Command{{Name: r.ref, Old: old, New: new}}
	req.Packfile = io.NopCloser(&pack)
	rs, err := sess.ReceivePack(ctx, req)
	if rs != nil && rs.Error() != nil {
		// The server refused the update: most often someone pushed in between.
		return fmt.Errorf("%w: %w", errRemoteMoved, rs.Error())
	}
	if err != nil {
		return fmt.Errorf("send pack: %w", err)
	}
	return nil
}

func short(h plumbing.Hash) string {
	if h.IsZero() {
		return "nothing"
	}
	return h.String()[:12]
}

// RedactURL returns u without user information, so that no credential is ever logged.
func RedactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.User == nil {
		return u
	}
	p.User = nil
	return p.String()
}
