package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"kuberpult/console"
)

// TestWindowsAndTrainsEndToEnd: with a window open on development, CI's release is held by
// it rather than deployed; a person's deploy inside it needs a reason, which reaches the
// commit; the scheduled train of the config is listed and held from the console.
func TestWindowsAndTrainsEndToEnd(t *testing.T) {
	addr := freeAddr(t)
	cfgPath, bare := writeConfig(t, addr)
	extra := `windows:
  - {name: always, environments: [development], schedule: "* * * * *", duration: 2h, override: confirm}
trains:
  - {name: nightly, target: production, schedule: "0 3 * * *", timezone: Europe/Berlin, announce_before: 1h}
`
	f, err := os.OpenFile(cfgPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(extra); err != nil {
		t.Fatal(err)
	}
	f.Close()
	base := "http://" + addr
	ctx, cancel := context.WithCancel(context.Background())
	serveErr := make(chan error, 1)
	go func() { serveErr <- run(ctx, []string{"serve", "--config", cfgPath}, nil, io.Discard, io.Discard) }()
	waitHealthy(t, base, serveErr)
	resp, err := http.DefaultClient.Do(kuberpultCLIRelease(t, base, "checkout", 1, "development", "staging", "production-de", "production-jp"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 || !strings.Contains(string(body), "held by window always") {
		t.Errorf("release inside the window: %d %s", resp.StatusCode, body)
	}
	cancel()
	if err := <-serveErr; err != nil {
		t.Fatalf("serve: %v", err)
	}

	script := strings.Join([]string{
		"status",
		"deploy checkout 1 to development",
		`deploy checkout 1 to development --reason "smoke test before the window ends"`,
		"trains",
		`hold train nightly "migration"`,
		"trains",
	}, "\n")
	var out bytes.Buffer
	err = run(context.Background(), []string{"console", "--config", cfgPath}, stdinFile(t, script), &out, io.Discard)
	if !errors.Is(err, console.ErrFailed) {
		t.Fatalf("console: %v (one deploy needed a reason)\n%s", err, out.String())
	}
	for _, want := range []string{
		"✋",
		"development is in window always until",
		"a deploy inside it needs a reason, e.g. `deploy checkout 1 to development --reason",
		"⏰ Deployed inside (window always until",
		"nightly  production  0 3 * * * Europe/Berlin",
		"✋ Held train nightly",
		"held by Olga Ops",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("console output lacks %q:\n%s", want, out.String())
		}
	}
	if got := git(t, bare, "log", "-1", "--format=%an|%s|%b", "main"); !strings.Contains(got, "Olga Ops|deploy checkout 1 to development|Reason: smoke test before the window ends") {
		t.Errorf("last commit: %q", got)
	}
}
