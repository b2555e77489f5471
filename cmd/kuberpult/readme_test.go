package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"kuberpult/commands"
)

// readmeBlocks returns the lines of the README's fenced code blocks.
func readmeBlocks(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	in := false
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "```") {
			in = !in
			continue
		}
		if in {
			out = append(out, l)
		}
	}
	if len(out) < 100 {
		t.Fatalf("only %d lines in the README's code blocks", len(out))
	}
	return out
}

var trailingComment = regexp.MustCompile(`\s{2,}#.*$`)

// readmeCommands are the example commands of the README (lines "> …" and "kuberpult> …").
func readmeCommands(t *testing.T) []string {
	var out []string
	for _, l := range readmeBlocks(t) {
		for _, p := range []string{"kuberpult> ", "> "} {
			if c, ok := strings.CutPrefix(l, p); ok {
				out = append(out, strings.TrimSpace(trailingComment.ReplaceAllString(c, "")))
				break
			}
		}
	}
	return out
}

// TestREADMECommandsParse: every example command in the README is a command as written.
func TestREADMECommandsParse(t *testing.T) {
	cmds := readmeCommands(t)
	if len(cmds) < 15 {
		t.Fatalf("found only %d example commands: %q", len(cmds), cmds)
	}
	for _, c := range cmds {
		if _, err := commands.Parse(c); err != nil {
			t.Errorf("README example %q: %v", c, err)
		}
	}
}

// TestREADMEInvocations: every `kuberpult <command> --flag …` line of the README names a
// command and flags that exist (each is run with -h added, which stops after the flags).
func TestREADMEInvocations(t *testing.T) {
	re := regexp.MustCompile(`(?:^|\s|/)kuberpult ((?:serve|console|check-config|demo|version)(?: --?[a-z-]+(?: [^\s<|#-][^\s<|]*)?)*)`)
	seen := 0
	for _, l := range readmeBlocks(t) {
		for _, m := range re.FindAllStringSubmatch(l, -1) {
			args := strings.Fields(m[1])
			if args[0] == "version" {
				continue
			}
			seen++
			err := run(context.Background(), append(args, "-h"), nil, io.Discard, io.Discard)
			if !errors.Is(err, flag.ErrHelp) {
				t.Errorf("README line %q: kuberpult %s: %v", strings.TrimSpace(l), strings.Join(args, " "), err)
			}
		}
	}
	if seen < 5 {
		t.Fatalf("found only %d invocations", seen)
	}
}

// TestREADMEConsoleTour: the README's console tour runs in the demo as written: every line is
// understood (nothing answers with a usage or "unknown command").
func TestREADMEConsoleTour(t *testing.T) {
	var tour []string
	for _, l := range readmeBlocks(t) {
		if c, ok := strings.CutPrefix(l, "kuberpult> "); ok {
			tour = append(tour, strings.TrimSpace(trailingComment.ReplaceAllString(c, "")))
		}
	}
	if len(tour) < 5 {
		t.Fatalf("the tour has %d lines", len(tour))
	}
	p := start(t, strings.Join(tour, "\n")+"\nexit\n", "demo", "--data", t.TempDir(), "--listen", freeAddr(t))
	// Not a terminal: the deploy that asks is not confirmed and counts as failed, so the
	// demo's exit status says "a command failed"; what matters is how each was answered.
	_ = p.wait(t)
	out := p.logs.String()
	for _, bad := range []string{"Usage:", "unknown command", "internal error"} {
		if strings.Contains(out, bad) {
			t.Errorf("the tour's output has %q:\n%s", bad, out)
		}
	}
	if n := strings.Count(out, "\n> "); n != len(tour) {
		t.Errorf("%d commands answered, want %d:\n%s", n, len(tour), out)
	}
}

// readmeCurls returns the README's curl command lines (continuations joined), as a shell
// runs them.
func readmeCurls(t *testing.T) []string {
	var out []string
	lines := readmeBlocks(t)
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(l, "curl ") {
			continue
		}
		cmd := l
		for strings.HasSuffix(cmd, `\`) && i+1 < len(lines) {
			i++
			cmd = strings.TrimSuffix(cmd, `\`) + " " + strings.TrimSpace(lines[i])
		}
		out = append(out, cmd)
	}
	return out
}

// TestREADMECurlExamples runs every curl command of the README, as written, from the
// repository's root against a running serve (the README's 127.0.0.1:8080 and
// localhost:8080 become its address): each must succeed, with -f added so that an HTTP
// error fails it too.
func TestREADMECurlExamples(t *testing.T) {
	cmds := readmeCurls(t)
	if len(cmds) < 6 {
		t.Fatalf("found only %d curl commands: %q", len(cmds), cmds)
	}
	addr := freeAddr(t)
	cfgPath, bare := writeConfig(t, addr)
	p := start(t, "", "serve", "--config", cfgPath)
	base := "http://" + addr
	waitReady(t, base, p)
	curl := regexp.MustCompile(`(^|[;|&]\s*)curl `)
	for _, c := range cmds {
		sh := strings.NewReplacer("http://127.0.0.1:8080", base, "localhost:8080", addr).Replace(c)
		sh = curl.ReplaceAllString(sh, "${1}curl -f ")
		cmd := exec.Command("sh", "-c", sh)
		cmd.Dir = "../.."
		cmd.Env = append(os.Environ(), "KUBERPULT="+base, "TOKEN=ci-token", "KUBERPULT_DEX_ACCESS_TOKEN=ci-token")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("README: %s\n%v\n%s", c, err, out)
		}
	}
	// The release example did what it says: checkout 4 is deployed to development.
	waitFor(t, "the README's release to be pushed", func() bool {
		out, err := exec.Command("git", "--git-dir", bare, "log", "--format=%s", "main").Output()
		return err == nil && strings.Contains(string(out), "deploy checkout 4 to development")
	})
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.wait(t); err != nil {
		t.Errorf("serve: %v\n%s", err, p.logs)
	}
}
