package gitrepo

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"

	"github.com/go-git/go-git/v5/plumbing/format/pktline"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
)

// localConn reaches a repository on this machine by running git-upload-pack and
// git-receive-pack, as go-git's file transport does, with two differences that keep the
// remote usable whatever happens to this process:
//   - git runs in its own process group, so the SIGINT a terminal sends to the whole
//     foreground group on Ctrl-C never reaches it;
//   - a receive-pack is never killed: a cancelled push goes on, and this side keeps
//     reading until git is done. Killing it during the ref update would leave
//     refs/heads/<branch>.lock behind and block every later push. Its stderr goes to a
//     file, not a pipe, and no side band is asked for, so that git never writes to a pipe
//     nobody reads while it holds the lock.
type localConn struct{ path string }

// proc is a running git service.
type proc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr *os.File

	once    sync.Once
	waitErr error
}

func (c *localConn) start(args ...string) (*proc, error) {
	cmd := exec.Command("git", append(args, c.path)...)
	detach(cmd)
	stderr, err := os.CreateTemp("", "gitrepo-stderr-")
	if err != nil {
		return nil, fmt.Errorf("start git %s: %w", args[len(args)-1], err)
	}
	_ = os.Remove(stderr.Name()) // the open file stays readable; nothing is left behind
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err == nil {
		var stdout io.Reader
		if stdout, err = cmd.StdoutPipe(); err == nil {
			if err = cmd.Start(); err == nil {
				return &proc{cmd: cmd, stdin: stdin, stdout: bufio.NewReaderSize(stdout, 64<<10), stderr: stderr}, nil
			}
		}
	}
	_ = stderr.Close()
	return nil, &unreachableError{fmt.Errorf("start git %s: %w", args[len(args)-1], err)}
}

// wait waits for git to exit and returns what it wrote to stderr.
func (p *proc) wait() (string, error) {
	p.once.Do(func() {
		_ = p.stdin.Close()
		_, _ = io.Copy(io.Discard, p.stdout) // read to the end, so git never blocks on a full pipe
		p.waitErr = p.cmd.Wait()
	})
	var msg []byte
	if _, err := p.stderr.Seek(0, io.SeekStart); err == nil {
		msg, _ = io.ReadAll(io.LimitReader(p.stderr, 64<<10))
	}
	_ = p.stderr.Close()
	return string(msg), p.waitErr
}

// advertisement reads the refs and capabilities git announces first.
func (p *proc) advertisement() (*packp.AdvRefs, error) {
	adv := packp.NewAdvRefs()
	err := adv.Decode(p.stdout)
	if errors.Is(err, packp.ErrEmptyAdvRefs) {
		return packp.NewAdvRefs(), nil // an empty repository
	}
	if err != nil {
		msg, _ := p.wait()
		return nil, &unreachableError{fmt.Errorf("read refs: %w%s", err, stderrSuffix(msg))}
	}
	return adv, nil
}

// end ends a session without a request.
func (p *proc) end() {
	_ = pktline.NewEncoder(p.stdin).Flush()
	go func() { _, _ = p.wait() }()
}

func stderrSuffix(msg string) string {
	if msg == "" {
		return ""
	}
	return ": " + remoteLines([]byte(msg))
}

func (c *localConn) uploadPack(ctx context.Context, plan func(*packp.AdvRefs) (*packp.UploadPackRequest, error)) (*packp.UploadPackResponse, error) {
	// The server may filter objects (a clone without blobs); for a local repository that
	// is this process's call.
	p, err := c.start("-c", "uploadpack.allowFilter=true", "upload-pack")
	if err != nil {
		return nil, err
	}
	// upload-pack only reads the repository: stopping it is harmless.
	stop := context.AfterFunc(ctx, func() { _ = p.cmd.Process.Kill() })
	adv, err := p.advertisement()
	if err != nil {
		stop()
		return nil, err
	}
	req, err := plan(adv)
	if err != nil || req == nil {
		stop()
		p.end()
		return nil, err
	}
	e := pktline.NewEncoder(p.stdin)
	err = req.UploadRequest.Encode(p.stdin)
	if err == nil {
		err = req.UploadHaves.Encode(p.stdin, true)
	}
	if err == nil {
		err = e.EncodeString("done\n")
	}
	if err == nil {
		err = p.stdin.Close()
	}
	resp := packp.NewUploadPackResponse(req)
	if err == nil {
		err = resp.Decode(&procReader{p: p, stop: stop})
	}
	if err != nil {
		stop()
		msg, _ := p.wait()
		return nil, &unreachableError{fmt.Errorf("upload-pack: %w%s", err, stderrSuffix(msg))}
	}
	return resp, nil
}

// procReader reads git's output; closing it waits for git.
type procReader struct {
	p    *proc
	stop func() bool
}

func (r *procReader) Read(b []byte) (int, error) { return r.p.stdout.Read(b) }

func (r *procReader) Close() error {
	defer r.stop()
	msg, err := r.p.wait()
	if err != nil {
		return fmt.Errorf("git upload-pack: %w%s", err, stderrSuffix(msg))
	}
	return nil
}

// receivePack pushes. ctx is not used to stop git (see localConn); the caller decides how
// long it waits for the result.
func (c *localConn) receivePack(_ context.Context, plan func(*packp.AdvRefs) (*packp.ReferenceUpdateRequest, error)) (*packp.ReportStatus, string, error) {
	p, err := c.start("receive-pack")
	if err != nil {
		return nil, "", err
	}
	adv, err := p.advertisement()
	if err != nil {
		return nil, "", err
	}
	req, err := plan(adv)
	if err != nil || req == nil {
		p.end()
		return nil, "", err
	}
	err = req.Encode(p.stdin)
	if err == nil {
		err = p.stdin.Close()
	}
	var report *packp.ReportStatus
	if err == nil {
		report = packp.NewReportStatus()
		if err = report.Decode(p.stdout); err != nil {
			report = nil
		}
	}
	msg, werr := p.wait()
	if err == nil && report == nil {
		err = werr
	}
	if err != nil {
		return nil, remoteLines([]byte(msg)), &unreachableError{fmt.Errorf("receive-pack: %w", err)}
	}
	return report, remoteLines([]byte(msg)), nil
}
