package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// These tests run the real binary as separate processes: serve and console on one
// database, a stop or a kill while the remote's ref update is slow.

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// binary builds the kuberpult binary once per test run.
func binary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kuberpult-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "kuberpult")
		// The flags of the Dockerfile's build step: the tests run what the image ships, and
		// TestDockerfileBuildStep finds the packages built.
		out, err := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// proc is a running kuberpult process.
type proc struct {
	cmd  *exec.Cmd
	logs *bytes.Buffer
	done chan error
}

func start(t *testing.T, stdin string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	p := &proc{cmd: cmd, logs: &bytes.Buffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	cmd.Stdin = strings.NewReader(stdin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // a signal for it never reaches the test
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// wait waits for the process to end (at most a minute) and returns its error.
func (p *proc) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-p.done:
		return err
	case <-time.After(time.Minute):
		t.Fatalf("process did not stop; output:\n%s", p.logs)
		return nil
	}
}

func post(t *testing.T, req *http.Request) int {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// waitFor polls cond (a real process and a real remote change in their own time).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// slowRefUpdates installs a reference-transaction hook in the bare remote that, while the
// branch is locked ("prepared"), creates marker and sleeps.
func slowRefUpdates(t *testing.T, bare, marker string, seconds int) {
	t.Helper()
	hook := fmt.Sprintf("#!/bin/sh\nif [ \"$1\" = prepared ]; then touch %q; sleep %d; fi\nexit 0\n", marker, seconds)
	if err := os.MkdirAll(filepath.Join(bare, "hooks"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bare, "hooks", "reference-transaction"), []byte(hook), 0o755); err != nil {
		t.Fatal(err)
	}
}

func lockFiles(t *testing.T, bare string) []string {
	t.Helper()
	var out []string
	filepath.Walk(filepath.Join(bare, "refs"), func(p string, info os.FileInfo, err error) error {
		if err == nil && strings.HasSuffix(p, ".lock") {
			out = append(out, p)
		}
		return nil
	})
	if _, err := os.Stat(filepath.Join(bare, "packed-refs.lock")); err == nil {
		out = append(out, "packed-refs.lock")
	}
	return out
}

// initRemote starts serve once so the remote exists with the environments' files, then stops it.
func initRemote(t *testing.T, cfgPath, addr string) {
	t.Helper()
	p := start(t, "", "serve", "--config", cfgPath)
	waitReady(t, "http://"+addr, p)
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.wait(t); err != nil {
		t.Fatalf("serve: %v\n%s", err, p.logs)
	}
}

func waitReady(t *testing.T, base string, p *proc) {
	t.Helper()
	waitFor(t, "serve to be ready", func() bool {
		select {
		case err := <-p.done:
			t.Fatalf("serve stopped: %v\n%s", err, p.logs)
		default:
		}
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// TestStopDuringSlowRefUpdate: SIGTERM while the remote holds the branch lock. serve must
// let the push finish, leave no lock file, and have the entry on the remote and marked.
func TestStopDuringSlowRefUpdate(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			addr := freeAddr(t)
			cfgPath, bare := writeConfig(t, addr)
			initRemote(t, cfgPath, addr)
			marker := filepath.Join(t.TempDir(), "in-ref-update")
			slowRefUpdates(t, bare, marker, 2)

			p := start(t, "", "serve", "--config", cfgPath)
			base := "http://" + addr
			waitReady(t, base, p)
			if st := post(t, kuberpultCLIRelease(t, base, "checkout", 1, "development")); st != http.StatusCreated {
				t.Fatalf("release: %d", st)
			}
			waitFor(t, "the push to reach the ref update", func() bool { _, err := os.Stat(marker); return err == nil })
			// The whole process group gets the signal, as a terminal's Ctrl-C would send it.
			syscall.Kill(-p.cmd.Process.Pid, sig)
			if err := p.wait(t); err != nil {
				t.Fatalf("serve exited with %v\n%s", err, p.logs)
			}
			if locks := lockFiles(t, bare); len(locks) > 0 {
				t.Fatalf("lock files left in the remote: %v", locks)
			}
			if got := git(t, bare, "log", "-1", "--format=%s", "main"); got != "deploy checkout 1 to development" {
				t.Fatalf("remote tip = %q, want the release's commit (pushed before exit)", got)
			}
			// Everyone can push to the remote afterwards, and the database knows the commit.
			os.Remove(filepath.Join(bare, "hooks", "reference-transaction"))
			var out bytes.Buffer
			if err := run(context.Background(), []string{"console", "--config", cfgPath}, stdinFile(t, "status checkout"), &out, io.Discard); err != nil {
				t.Fatalf("console: %v\n%s", err, out.String())
			}
			if want := "commit " + git(t, bare, "rev-parse", "--short=7", "main"); !strings.Contains(out.String(), want) {
				t.Errorf("status does not show %s:\n%s", want, out.String())
			}
		})
	}
}

// TestKillDuringPush: SIGKILL of the writing process (a console) while the remote holds the
// branch lock. git-receive-pack runs in its own process group and finishes; serve, started
// next, takes the writer lease over at once and finds the entry on the remote: it is there
// exactly once, recorded with its real commit.
func TestKillDuringPush(t *testing.T) {
	addr := freeAddr(t)
	cfgPath, bare := writeConfig(t, addr)
	base := "http://" + addr
	p := start(t, "", "serve", "--config", cfgPath)
	waitReady(t, base, p)
	if st := post(t, kuberpultCLIRelease(t, base, "checkout", 1, "development", "staging")); st != http.StatusCreated {
		t.Fatalf("release: %d", st)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.wait(t); err != nil {
		t.Fatalf("serve: %v\n%s", err, p.logs)
	}
	marker := filepath.Join(t.TempDir(), "in-ref-update")
	slowRefUpdates(t, bare, marker, 2)

	c := start(t, "deploy checkout 1 to staging\n", "console", "--config", cfgPath)
	waitFor(t, "the console's push to reach the ref update", func() bool { _, err := os.Stat(marker); return err == nil })
	c.cmd.Process.Kill()
	c.wait(t)
	waitFor(t, "the remote's ref update to finish", func() bool { return len(lockFiles(t, bare)) == 0 })
	os.Remove(filepath.Join(bare, "hooks", "reference-transaction"))

	p = start(t, "", "serve", "--config", cfgPath)
	waitReady(t, base, p)
	tip := git(t, bare, "rev-parse", "main")
	waitFor(t, "serve to record the commit", func() bool {
		resp, err := http.Get(base + "/api/applications")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(b), `"env":"staging","version":1,"how":"manual","actor":"Olga Ops","time":`) &&
			strings.Contains(string(b), `"commit":"`+tip+`"`)
	})
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.wait(t); err != nil {
		t.Fatalf("serve: %v\n%s", err, p.logs)
	}
	if got := git(t, bare, "log", "--format=%s", "main"); strings.Count(got, "deploy checkout 1 to staging") != 1 {
		t.Errorf("the deploy's commit is not on the remote exactly once:\n%s", got)
	}
	if got := git(t, bare, "log", "-1", "--format=%s", "main"); got != "deploy checkout 1 to staging" {
		t.Errorf("remote tip %q: something was committed after the recovered push", got)
	}
	checkGitEqualsState(t, cfgPath, bare)
}

// TestServeAndConsoleOnOneDatabase: releases stream into serve while console processes on
// the same database and remote deploy and lock. Nothing may be lost, doubled or moved back,
// and at the end git holds exactly what the database says.
func TestServeAndConsoleOnOneDatabase(t *testing.T) {
	addr := freeAddr(t)
	cfgPath, bare := writeConfig(t, addr)
	initRemote(t, cfgPath, addr)
	p := start(t, "", "serve", "--config", cfgPath)
	base := "http://" + addr
	waitReady(t, base, p)
	all := []string{"development", "staging", "production-de", "production-jp"}
	for i := 0; i < 3; i++ {
		for v := 1; v <= 2; v++ {
			if st := post(t, kuberpultCLIRelease(t, base, fmt.Sprintf("shop-%d", i), v, all...)); st != http.StatusCreated {
				t.Fatalf("release: %d", st)
			}
		}
	}
	var wg sync.WaitGroup
	const apps, versions = 4, 25
	for a := 0; a < apps; a++ {
		wg.Add(1)
		go func(a int) {
			defer wg.Done()
			for v := 1; v <= versions; v++ {
				if st := post(t, kuberpultCLIRelease(t, base, fmt.Sprintf("app-%d", a), v, "development", "staging")); st != http.StatusCreated {
					t.Errorf("release app-%d %d: %d", a, v, st)
				}
			}
		}(a)
	}
	var consoles []*proc
	for i := 0; i < 3; i++ {
		script := fmt.Sprintf("deploy shop-%d 1 to staging\nlock production \"c%d\" --id c%d\ndeploy shop-%d 2 to production --force\nunlock production --id c%d\ndeploy shop-%d 2 to staging\n", i, i, i, i, i, i)
		consoles = append(consoles, start(t, script, "console", "--config", cfgPath))
	}
	wg.Wait()
	for _, c := range consoles {
		if err := c.wait(t); err != nil {
			t.Errorf("console: %v\n%s", err, c.logs)
		}
		if !strings.Contains(c.logs.String(), "this console leaves the pushing to it") {
			t.Errorf("the console did not say serve writes the env repo:\n%s", c.logs)
		}
	}
	waitFor(t, "the outbox to drain", func() bool {
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(b), "\nkuberpult_outbox_pending 0\n")
	})
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.wait(t); err != nil {
		t.Fatalf("serve: %v\n%s", err, p.logs)
	}

	subjects := strings.Split(git(t, bare, "log", "--format=%s", "main"), "\n")
	seen := map[string]bool{}
	for _, s := range subjects {
		if seen[s] {
			t.Errorf("commit %q is on the remote twice", s)
		}
		seen[s] = true
	}
	for a := 0; a < apps; a++ {
		log := git(t, bare, "log", "--reverse", "--format=%s", "main", "--", fmt.Sprintf("environments/development/applications/app-%d", a))
		last := 0
		for _, s := range strings.Split(log, "\n") {
			var v int
			if _, err := fmt.Sscanf(s, "deploy app-%d %d to", new(int), &v); err != nil {
				t.Fatalf("subject %q", s)
			}
			if v <= last {
				t.Errorf("app-%d on development went from %d to %d", a, last, v)
			}
			last = v
		}
		if last != versions {
			t.Errorf("app-%d ends at %d on development, want %d", a, last, versions)
		}
	}
	checkGitEqualsState(t, cfgPath, bare)
}
