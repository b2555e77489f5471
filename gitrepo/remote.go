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
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/sideband"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
)

// conn is one way of talking to the environment repository: an upload-pack (fetch) or a
// receive-pack (push) exchange. plan sees the server's advertisement and returns the
// request, or nil to end the exchange without one.
type conn interface {
	uploadPack(ctx context.Context, plan func(*packp.AdvRefs) (*packp.UploadPackRequest, error)) (*packp.UploadPackResponse, error)
	// receivePack returns the report and the remote's messages ("remote: ..." lines).
	receivePack(ctx context.Context, plan func(*packp.AdvRefs) (*packp.ReferenceUpdateRequest, error)) (*packp.ReportStatus, string, error)
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

// newConn returns the connection for a URL: our own for local paths and file:// (git runs
// in its own process group, so a Ctrl-C in a terminal never reaches it), go-git's client
// for http(s) and ssh.
func newConn(opts Options) (conn, error) {
	u := opts.URL
	if p, ok := strings.CutPrefix(u, "file://"); ok {
		return &localConn{path: p}, nil
	}
	if isLocalPath(u) {
		abs, err := filepath.Abs(u)
		if err != nil {
			return nil, fmt.Errorf("git url: %w", err)
		}
		return &localConn{path: abs}, nil
	}
	ep, err := transport.NewEndpoint(u)
	if err != nil {
		return nil, fmt.Errorf("git url %s: %w", RedactURL(u), err)
	}
	c := &gogitConn{ep: ep}
	switch ep.Protocol {
	case "https", "http":
		if opts.Token != "" {
			c.auth = &githttp.BasicAuth{Username: "x-access-token", Password: opts.Token}
		}
	case "ssh":
		user := ep.User
		if user == "" {
			user = gitssh.DefaultUsername
		}
		if opts.SSHKeyFile != "" {
			c.auth, err = gitssh.NewPublicKeysFromFile(user, opts.SSHKeyFile, "")
		} else {
			c.auth, err = gitssh.NewSSHAgentAuth(user)
		}
		if err != nil {
			return nil, fmt.Errorf("ssh auth for %s: %w", RedactURL(u), err)
		}
	default:
		return nil, fmt.Errorf("git url %s: unsupported protocol %q", RedactURL(u), ep.Protocol)
	}
	if c.tr, err = client.NewClient(ep); err != nil {
		return nil, fmt.Errorf("git url %s: %w", RedactURL(u), err)
	}
	return c, nil
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

// gogitConn talks to a remote with go-git's http or ssh client.
type gogitConn struct {
	tr   transport.Transport
	ep   *transport.Endpoint
	auth transport.AuthMethod
}

func (c *gogitConn) uploadPack(ctx context.Context, plan func(*packp.AdvRefs) (*packp.UploadPackRequest, error)) (*packp.UploadPackResponse, error) {
	s, err := c.tr.NewUploadPackSession(c.ep, c.auth)
	if err != nil {
		return nil, &unreachableError{err}
	}
	adv, err := s.AdvertisedReferencesContext(ctx)
	if errors.Is(err, transport.ErrEmptyRemoteRepository) {
		adv, err = packp.NewAdvRefs(), nil
	}
	if err != nil {
		_ = s.Close()
		return nil, &unreachableError{err}
	}
	req, err := plan(adv)
	if err != nil || req == nil {
		_ = s.Close()
		return nil, err
	}
	resp, err := s.UploadPack(ctx, req)
	if err != nil {
		_ = s.Close()
		return nil, &unreachableError{err}
	}
	return resp, nil // closing the response ends the session
}

func (c *gogitConn) receivePack(ctx context.Context, plan func(*packp.AdvRefs) (*packp.ReferenceUpdateRequest, error)) (*packp.ReportStatus, string, error) {
	s, err := c.tr.NewReceivePackSession(c.ep, c.auth)
	if err != nil {
		return nil, "", &unreachableError{err}
	}
	defer func() { _ = s.Close() }()
	adv, err := s.AdvertisedReferencesContext(ctx)
	if errors.Is(err, transport.ErrEmptyRemoteRepository) {
		adv, err = packp.NewAdvRefs(), nil
	}
	if err != nil {
		return nil, "", &unreachableError{err}
	}
	req, err := plan(adv)
	if err != nil || req == nil {
		return nil, "", err
	}
	if adv.Capabilities.Supports(capability.Sideband64k) {
		_ = req.Capabilities.Set(capability.Sideband64k) // the remote's messages come on it
	}
	var msgs bytes.Buffer
	req.Progress = &msgs
	report, err := s.ReceivePack(ctx, req)
	if report != nil && report.UnpackStatus != "" {
		err = nil // the report says how it went
	}
	return report, remoteLines(msgs.Bytes()), err
}

// remoteLines formats what the server said as git shows it: "remote: " before each line.
func remoteLines(b []byte) string {
	text := strings.TrimRight(strings.ReplaceAll(string(b), "\r", "\n"), "\n")
	if text == "" {
		return ""
	}
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, "remote: "+l)
		}
	}
	return strings.Join(out, "\n")
}

// unreachableError is a failure to reach the remote or to talk to it.
type unreachableError struct{ err error }

func (e *unreachableError) Error() string { return e.err.Error() }
func (e *unreachableError) Unwrap() error { return e.err }

// readPack reads the pack of an upload-pack response, with the side band if one was asked for.
func readPack(resp *packp.UploadPackResponse, muxed bool) ([]byte, error) {
	defer func() { _ = resp.Close() }()
	var r io.Reader = resp
	if muxed {
		r = sideband.NewDemuxer(sideband.Sideband64k, resp)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, &unreachableError{fmt.Errorf("read pack: %w", err)}
	}
	return b, nil
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
