package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"regexp"
	"strings"
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
