package commands

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"kuberpult/deploy"
)

func TestParse(t *testing.T) {
	tests := []struct {
		line string
		want Command
	}{
		{"deploy checkout 42 to staging", Deploy{App: "checkout", Version: 42, Target: "staging"}},
		{"deploy checkout to production", Deploy{App: "checkout", Target: "production"}},
		{"deploy checkout latest to production --force", Deploy{App: "checkout", Target: "production", Force: true}},
		{`deploy checkout 7 to staging --lock "hotfix, keep" --reason=incident`, Deploy{App: "checkout", Version: 7, Target: "staging", Lock: "hotfix, keep", Reason: "incident"}},
		{"DEPLOY checkout 7 to staging —force", Deploy{App: "checkout", Version: 7, Target: "staging", Force: true}},
		{"deploy Checkout 3 to Staging", Deploy{App: "checkout", Version: 3, Target: "staging"}},
		{"deploy checkout v1.2.0 to staging", Deploy{App: "checkout", Display: "v1.2.0", Target: "staging"}},
		{"rollback checkout on staging to v1.1.0", Rollback{App: "checkout", Env: "staging", Display: "v1.1.0"}},
		{`lock staging "x" --for 30M`, Lock{Kind: deploy.LockEnv, Target: "staging", Message: "x", Lifetime: "30m"}},
		{"rollback checkout on staging --force", Rollback{App: "checkout", Env: "staging", Force: true}},
		{"rollback checkout on staging", Rollback{App: "checkout", Env: "staging"}},
		{`rollback checkout on staging to 40 --reason "bad cache"`, Rollback{App: "checkout", Env: "staging", To: 40, Reason: "bad cache"}},
		{`lock staging "db migration"`, Lock{Kind: deploy.LockEnv, Target: "staging", Message: "db migration"}},
		{`lock production “freeze” --for 4h`, Lock{Kind: deploy.LockEnv, Target: "production", Message: "freeze", Lifetime: "4h"}},
		{`lock checkout on staging 'broken build' --for 1d`, Lock{Kind: deploy.LockApp, Target: "staging", App: "checkout", Message: "broken build", Lifetime: "1d"}},
		{`lock team payments on production "audit"`, Lock{Kind: deploy.LockTeam, Target: "production", Team: "payments", Message: "audit"}},
		{"unlock lk-abc123", Unlock{Target: "lk-abc123"}},
		{"unlock staging", Unlock{Target: "staging"}},
		{"unlock checkout on staging", Unlock{Kind: deploy.LockApp, App: "checkout", Target: "staging"}},
		{"unlock team payments on production", Unlock{Kind: deploy.LockTeam, Team: "payments", Target: "production"}},
		{"locks", Locks{}},
		{"locks production", Locks{Target: "production"}},
		{"status", Status{}},
		{"status checkout", Status{App: "checkout"}},
		{"envs", Envs{}},
		{"history checkout", History{App: "checkout"}},
		{"history checkout on staging", History{App: "checkout", Env: "staging"}},
		{`lock staging "x" --id freeze-1`, Lock{Kind: deploy.LockEnv, Target: "staging", Message: "x", ID: "freeze-1"}},
		{"audit", Audit{}},
		{`audit --since 1d --actor "Alice A" --env staging`, Audit{Since: "1d", Actor: "Alice A", Env: "staging"}},
		{"help", Help{}},
		{"help deploy", Help{Verb: "deploy"}},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			got, err := Parse(tt.line)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.line, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse(%q) (-want +got):\n%s", tt.line, diff)
			}
			// Formatting and parsing again gives the same command.
			again, err := Parse(Format(got))
			if err != nil {
				t.Fatalf("Parse(Format(...)) = %q: %v", Format(got), err)
			}
			if diff := cmp.Diff(got, again); diff != "" {
				t.Errorf("round trip through %q (-want +got):\n%s", Format(got), diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		line string
		want []string // substrings of the message
	}{
		{"", []string{"empty command"}},
		{"deplyo checkout to staging", []string{"unknown command `deplyo`", "did you mean `deploy`", "Usage: deploy <app>"}},
		{"frobnicate", []string{"unknown command", "commands: deploy, rollback"}},
		{"deploy checkout", []string{"deploy needs a target: `deploy checkout to <env|group>`", "Usage: deploy"}},
		{"deploy to staging checkout 3", []string{"the app comes first: did you mean `deploy checkout 3 to staging`?"}},
		{"deploy staging checkout 3", []string{"did you mean `deploy checkout 3 to staging`?"}},
		{"deploy checkout 0 to staging", []string{"version \"0\" is not a positive integer"}},
		{"deploy checkout x1234567890abcdef to staging", []string{"version \"x1234567890abcdef\""}},
		{"deploy Check_out 1 to staging", []string{"application name \"Check_out\" is not valid"}},
		{"deploy checkout 1 to ../etc", []string{"environment name \"../etc\" is not valid"}},
		{"deploy checkout 1 to staging --forse", []string{"unknown option `--forse`", "did you mean `--force`"}},
		{"deploy checkout 1 to staging --lock", []string{"`--lock` needs a value"}},
		{"deploy checkout 1 to staging --force=yes", []string{"takes no value"}},
		{"deploy checkout 1 to staging now", []string{"unexpected `now`"}},
		{`lock staging`, []string{"needs a message"}},
		{`lock staging db migration`, []string{"put the lock message in quotes"}},
		{`lock staging "x" --for 4s`, []string{"lock lifetime \"4s\" is not valid: use a number followed by m, h, d or w"}},
		{`lock staging "unterminated`, []string{"unterminated quote"}},
		{"unlock", []string{"needs a lock id"}},
		{"unlock a/b", []string{"lock id \"a/b\""}},
		{"rollback checkout staging", []string{"rollback needs `<app> on <env>`"}},
		{"history", []string{"history needs an app"}},
		{"help deplo", []string{"did you mean `deploy`"}},
		{"envs now", []string{"unexpected `now`"}},
		{"audit --since 3x", []string{`"3x" is not a duration`}},
		{`lock staging "x" --id a/b`, []string{`lock id "a/b"`}},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			_, err := Parse(tt.line)
			if err == nil {
				t.Fatalf("Parse(%q) succeeded, want error", tt.line)
			}
			msg, ok := deploy.UserMessage(err)
			if !ok {
				t.Fatalf("Parse(%q) error %v is not a user error", tt.line, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("Parse(%q) = %q, want it to contain %q", tt.line, msg, w)
				}
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"deploy checkout 42 to staging --force", `lock team a on b "c d" --for 2w`, "unlock x", `rollback a on b to 3 --reason "\"x\""`, "status"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		cmd, err := Parse(line)
		if err != nil {
			if _, ok := deploy.UserMessage(err); !ok {
				t.Fatalf("Parse(%q) returned a non-user error: %v", line, err)
			}
			return
		}
		again, err := Parse(Format(cmd))
		if err != nil {
			t.Fatalf("Parse(Format(Parse(%q))) = %q: %v", line, Format(cmd), err)
		}
		if diff := cmp.Diff(cmd, again); diff != "" {
			t.Fatalf("round trip of %q (-want +got):\n%s", line, diff)
		}
	})
}

func TestApostrophesAndTeamLocks(t *testing.T) {
	for line, want := range map[string]Command{
		`lock staging it’s broken`:   nil,
		`lock staging "it’s broken"`: Lock{Kind: deploy.LockEnv, Target: "staging", Message: "it’s broken"},
		`lock staging don't`:         Lock{Kind: deploy.LockEnv, Target: "staging", Message: "don't"},
		`lock staging it’s`:          Lock{Kind: deploy.LockEnv, Target: "staging", Message: "it’s"},
	} {
		got, err := Parse(line)
		if want == nil {
			if err == nil {
				t.Errorf("Parse(%q) = %#v, want an error (two words)", line, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", line, err)
			continue
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Parse(%q) (-want +got):\n%s", line, diff)
		}
	}
	if _, err := Parse(`lock team on staging "x"`); err == nil || !strings.Contains(err.Error(), "a team lock names the team: `lock team <team> on <env|group>") {
		t.Errorf("lock team on staging: %v", err)
	}
}
