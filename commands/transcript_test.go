package commands_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"kuberpult/reply"
)

// TestTranscript runs a session through every verb and compares the replies with a golden file.
func TestTranscript(t *testing.T) {
	f := newFixture(t)
	f.mustRelease("checkout", "shop", 1)
	f.mustRelease("checkout", "shop", 2)
	f.mustRelease("payments", "pay", 1)
	script := []string{
		"help", "help lock", "envs", "status",
		"deploy checkout 1 to staging", "deploy checkout to production --reason 'first prod'",
		`lock production "peak hours" --for 2h`, "deploy payments to production",
		"deploy payments to production --force", "locks", "status checkout", "history checkout",
		"unlock production", "rollback checkout on production-de", "history checkout on production-de", "releases checkout",
		"status", "audit --since 20m --env production-de",
	}
	checkTranscript(t, f, script, "transcript.golden")
}

// checkTranscript runs script line by line and compares the outcomes and replies with the
// golden file testdata/<golden> (regenerated with -update).
func checkTranscript(t *testing.T, f *fixture, script []string, golden string) {
	t.Helper()
	var b strings.Builder
	for _, line := range script {
		rep := f.exec(line)
		fmt.Fprintf(&b, "> %s\n[%s]\n%s\n\n", line, rep.Outcome, reply.Text(rep))
	}
	checkGolden(t, b.String(), golden)
}

// checkGolden compares got with the golden file testdata/<golden> (rewritten with -update).
func checkGolden(t *testing.T, got, golden string) {
	t.Helper()
	golden = filepath.Join("testdata", golden)
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./commands -run %s -update)", err, t.Name())
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("transcript (-want +got):\n%s", diff)
	}
}
