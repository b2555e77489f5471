package gitrepo

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"

	"kuberpult/deploy"
)

// refGate is a reference-transaction hook that holds a ref update in its "prepared"
// state, with refs/heads/main.lock taken, until the test lets it go on. The hook and the
// test talk through FIFOs, which the test keeps open for reading and writing from the
// start: opening them never blocks, and a FIFO keeps what was written to it only while
// someone has it open. Every wait of the hook is bounded, so a failing test never hangs git.
type refGate struct {
	entered, committed *bufio.Reader
	release            *os.File
}

func slowRefUpdate(t *testing.T, bare string) *refGate {
	t.Helper()
	dir := t.TempDir()
	paths := []string{filepath.Join(dir, "entered"), filepath.Join(dir, "release"), filepath.Join(dir, "committed")}
	var files []*os.File
	for _, p := range paths {
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		files = append(files, f)
	}
	installHook(t, bare, "reference-transaction", fmt.Sprintf(`#!/bin/bash
case "$1" in
prepared)
  timeout 60 bash -c 'echo entered > %s'
  timeout 60 bash -c 'read line < %s'
  ;;
committed)
  timeout 60 bash -c 'echo committed > %s'
  ;;
esac
`, paths[0], paths[1], paths[2]))
	return &refGate{entered: bufio.NewReader(files[0]), release: files[1], committed: bufio.NewReader(files[2])}
}

// wait waits for the hook to say something on r.
func (g *refGate) wait(t *testing.T, r *bufio.Reader) {
	t.Helper()
	if _, err := r.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
}

// let lets the held ref update go on.
func (g *refGate) let(t *testing.T) {
	t.Helper()
	if _, err := g.release.WriteString("go\n"); err != nil {
		t.Fatal(err)
	}
}

func TestStopDuringSlowRefUpdate(t *testing.T) {
	bare := newBare(t)
	g := slowRefUpdate(t, bare)
	logs := newLogHandler()
	w := openWriter(t, bare, func(o *Options) { o.Logger = slogFor(logs) })
	ob := newFakeOutbox()
	id := ob.add(deployChange("dev", "checkout", 1, "v: 1\n"))[0]
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- w.Run(ctx, ob) }()

	g.wait(t, g.entered) // the ref update is under way and holds the lock
	cancel()
	logs.waitFor(t, "stopping; waiting for the push in flight")
	g.let(t)
	if err := <-stopped; err != nil {
		t.Errorf("run returned %v", err)
	}
	head := run(t, bare, "rev-parse", "main")
	if got := ob.pushed()[id]; got != head {
		t.Errorf("after the stop the entry is marked %q; main is at %s", got, head)
	}
	if l := locks(t, bare); len(l) > 0 {
		t.Errorf("lock files left in the remote: %v", l)
	}
	if h := ob.holder(); h != "" {
		t.Errorf("the lease is still held by %q", h)
	}
}

func TestStopTimeoutShorterThanTheRefUpdate(t *testing.T) {
	bare := newBare(t)
	g := slowRefUpdate(t, bare)
	w := openWriter(t, bare, func(o *Options) { o.StopTimeout = 50 * time.Millisecond })
	ob := newFakeOutbox()
	id := ob.add(deployChange("dev", "checkout", 1, "v: 1\n"))[0]
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- w.Run(ctx, ob) }()

	g.wait(t, g.entered)
	cancel()
	if err := <-stopped; err != nil { // returns while git still holds the ref update
		t.Errorf("run returned %v", err)
	}
	if got := ob.pushed(); len(got) != 0 {
		t.Errorf("marked before the push landed: %v", got)
	}
	g.let(t)
	g.wait(t, g.committed) // git was not killed: the push completes after Run returned
	build := ob.builds(id)
	if len(build) != 1 || build[0].Commit != run(t, bare, "rev-parse", "main") {
		t.Fatalf("main is at %s, the recorded builds are %v", run(t, bare, "rev-parse", "main"), build)
	}
	if l := locks(t, bare); len(l) > 0 {
		t.Errorf("lock files left in the remote: %v", l)
	}
	// The next writer finds the entry on the remote and marks it; it makes no commit.
	installHook(t, bare, "reference-transaction", "#!/bin/sh\n")
	flush(t, openWriter(t, bare), ob)
	if got := ob.pushed()[id]; got != build[0].Commit {
		t.Errorf("entry marked %q, want %s", got, build[0].Commit)
	}
	if got := run(t, bare, "rev-list", "--count", "main"); got != "1" {
		t.Errorf("%s commits, want 1", got)
	}
}

// TestInterruptTheProcessGroup sends SIGINT to the process group of a writer, as Ctrl-C in
// a terminal does, while its push waits in the remote's ref update. With its own
// transport git does not get the signal: the entry lands, is marked before the process
// exits, and no lock is left. With go-git's file transport (the control) git is in the
// group and dies with it, and the entry does not land.
func TestInterruptTheProcessGroup(t *testing.T) {
	for _, tr := range []string{"own", "go-git"} {
		t.Run(tr, func(t *testing.T) {
			bare := newBare(t)
			g := slowRefUpdate(t, bare)
			cmd := exec.Command(os.Args[0], "-test.run=^TestWriterProcess$", "-test.count=1")
			cmd.Env = append(os.Environ(), "GITREPO_WRITER_PROCESS="+bare, "GITREPO_TRANSPORT="+tr)
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // a foreground job of its own
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			g.wait(t, g.entered)
			if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			g.let(t)
			var lines []string
			for sc := bufio.NewScanner(out); sc.Scan(); {
				lines = append(lines, sc.Text())
			}
			werr := cmd.Wait()
			head := run(t, bare, "for-each-ref", "--format=%(objectname)", "refs/heads/main")
			landed := head != "" && strings.Contains(strings.Join(lines, "\n"), "pushed 1 "+head)
			l := locks(t, bare)
			t.Logf("%s transport: exit %v, output %q, main at %q, locks %v", tr, werr, lines, head, l)
			switch tr {
			case "own":
				if werr != nil || !landed || len(l) > 0 {
					t.Errorf("after SIGINT: exit %v, output %q, main at %q, locks %v; want the entry pushed and marked, no lock", werr, lines, head, l)
				}
			default:
				if landed && len(l) == 0 {
					t.Errorf("go-git's file transport survived SIGINT to the group: this test would not notice a broken transport")
				}
			}
		})
	}
}

// TestWriterProcess is the writer process of TestInterruptTheProcessGroup; it does nothing
// unless that test started it.
func TestWriterProcess(t *testing.T) {
	bare := os.Getenv("GITREPO_WRITER_PROCESS")
	if bare == "" {
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	w := openWriter(t, bare, func(o *Options) {
		o.OnPush = func(e deploy.PushEvent) { fmt.Printf("pushed %d %s\n", e.ActionID, e.Commit) }
	})
	if os.Getenv("GITREPO_TRANSPORT") == "go-git" {
		ep, err := transport.NewEndpoint("file://" + bare)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := client.NewClient(ep)
		if err != nil {
			t.Fatal(err)
		}
		w.remote.conn = &gogitConn{tr: tr, ep: ep}
	}
	ob := newFakeOutbox()
	ob.add(deployChange("dev", "checkout", 1, "v: 1\n"))
	if err := w.Run(ctx, ob); err != nil {
		t.Fatal(err)
	}
	fmt.Println("stopped")
}
