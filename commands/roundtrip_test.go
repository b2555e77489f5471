package commands

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"kuberpult/deploy"
)

// gen builds command values from fuzz bytes: every command Parse can return, with names,
// messages and versions drawn from sets that include the awkward cases (keywords as names,
// quotes of every kind, dashes, backslashes, the largest version).
type gen struct{ b []byte }

func (g *gen) next() int {
	if len(g.b) == 0 {
		return 0
	}
	v := int(g.b[0])
	g.b = g.b[1:]
	return v
}

func (g *gen) pick(options ...string) string { return options[g.next()%len(options)] }
func (g *gen) flag() bool                    { return g.next()%2 == 1 }

func (g *gen) name() string {
	return g.pick("checkout", "staging", "to", "on", "team", "env", "latest", "a", "production-de", "x-1-y", "for", "train")
}

func (g *gen) version() deploy.Version {
	return []deploy.Version{1, 2, 42, deploy.MaxVersion, 1000}[g.next()%5]
}

func (g *gen) text() string {
	return g.pick("hotfix", "db migration", `say "hi"`, "it’s “quoted”", "--force", "-x", `back\slash`,
		"tab\there", "line\nbreak", "a—b", "—dash", "'single'", "on", "ünïcode ✅", " padded ")
}

func (g *gen) lockID() string { return g.pick("lk-7fq2xm", "freeze", "staging", "Ui.v2_x", "on") }

func (g *gen) command() Command {
	switch g.next() % 14 {
	case 0:
		c := Deploy{App: deploy.App(g.name()), Target: g.name(), Force: g.flag()}
		if g.flag() {
			c.Version = g.version()
		} else if g.flag() {
			c.Display = g.pick("v1.2.0", "1.0.0-rc1")
		}
		if g.flag() {
			c.Lock = g.text()
		}
		if g.flag() {
			c.Reason = g.text()
		}
		for i := g.next() % 3; i > 0; i-- {
			env := deploy.Env(g.pick("staging", "production-de", "on", "to"))
			dup := false
			for _, f := range c.From {
				dup = dup || f.Env == env
			}
			if !dup {
				ev := EnvVersion{Env: env}
				if g.flag() {
					ev.Version = g.version()
				}
				c.From = append(c.From, ev)
			}
		}
		return c
	case 1:
		c := Rollback{App: deploy.App(g.name()), Env: deploy.Env(g.name())}
		if g.flag() {
			c.To = g.version()
		} else if g.flag() {
			c.Display = g.pick("v1.2.0", "1.0.0-rc1")
		}
		if g.flag() {
			c.Reason = g.text()
		}
		if g.flag() {
			c.From = g.version()
		}
		c.Force = g.flag()
		return c
	case 2:
		c := Lock{Kind: deploy.LockEnv, Target: g.name(), Message: g.text()}
		switch g.next() % 3 {
		case 1:
			c.Kind, c.App = deploy.LockApp, deploy.App(g.name())
		case 2:
			c.Kind, c.Team = deploy.LockTeam, deploy.Team(g.name())
		}
		if g.flag() {
			c.Lifetime = g.pick("4h", "2d", "1w", "12h")
		}
		if g.flag() {
			c.ID = g.lockID()
		}
		return c
	case 3:
		switch g.next() % 5 {
		case 0:
			return Unlock{Target: g.lockID()}
		case 1:
			return Unlock{ID: g.lockID()}
		case 2:
			c := Unlock{Kind: deploy.LockEnv, Target: g.name()}
			if g.flag() {
				c.ID = g.lockID()
			}
			return c
		case 3:
			c := Unlock{Kind: deploy.LockApp, App: deploy.App(g.name()), Target: g.name()}
			if g.flag() {
				c.ID = g.lockID()
			}
			return c
		}
		c := Unlock{Kind: deploy.LockTeam, Team: deploy.Team(g.name()), Target: g.name()}
		if g.flag() {
			c.ID = g.lockID()
		}
		return c
	case 4:
		if g.flag() {
			return Locks{Target: g.name()}
		}
		return Locks{}
	case 5:
		if g.flag() {
			return Status{App: deploy.App(g.name())}
		}
		return Status{}
	case 6:
		return Envs{}
	case 7:
		c := History{App: deploy.App(g.name())}
		if g.flag() {
			c.Env = deploy.Env(g.name())
		}
		return c
	case 8:
		c := Audit{}
		if g.flag() {
			c.Since = g.pick("30m", "4h", "1d", "521w")
		}
		if g.flag() {
			c.Actor = g.text()
		}
		if g.flag() {
			c.Env = deploy.Env(g.name())
		}
		return c
	case 10:
		slot := time.Time{}
		if g.flag() {
			slot = time.Date(2026, 12, 1, 10, 30, 0, 0, time.UTC)
		}
		switch g.next() % 4 {
		case 0:
			c := Hold{Train: g.pick("daily", "nightly-prod"), Slot: slot}
			if g.flag() {
				c.App = deploy.App(g.name())
			}
			if g.flag() {
				c.Reason = g.text()
			}
			return c
		case 1:
			c := Unhold{Train: g.pick("daily", "nightly-prod"), Slot: slot}
			if g.flag() {
				c.App = deploy.App(g.name())
			}
			return c
		case 2:
			return Approve{Train: g.pick("daily", "nightly-prod"), Slot: slot}
		}
		return Approve{ID: g.pick("k3f9qa", "ap0001")}
	case 11:
		if g.flag() {
			return Reject{ID: g.pick("k3f9qa", "ap0001")}
		}
		return Releases{App: deploy.App(g.name())}
	case 12:
		if g.flag() {
			return Trains{}
		}
		return Windows{}
	}
	if g.flag() {
		return Help{Verb: g.pick("deploy", "unlock", "audit")}
	}
	return Help{}
}

// valid reports whether c is a command Parse may return (messages with text in them).
func valid(c Command) bool {
	switch c := c.(type) {
	case Deploy:
		return c.Lock == "" || strings.TrimSpace(c.Lock) != ""
	case Lock:
		return strings.TrimSpace(c.Message) != ""
	case Hold:
		return c.Reason == "" || strings.TrimSpace(c.Reason) == c.Reason && c.Reason != ""
	}
	return true
}

// FuzzFormatParse checks Parse(Format(c)) == c for command values, not only for values
// that came from parsing text.
func FuzzFormatParse(f *testing.F) {
	for _, seed := range [][]byte{{0}, {1, 1, 1, 1}, {2, 1, 3, 5, 1, 1}, {3, 2, 1, 4, 1}, {3, 1, 2}, {0, 2, 1, 4, 1, 3, 1, 5, 2, 1, 1, 2, 0, 1, 3}} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c := (&gen{b: b}).command()
		if !valid(c) {
			return
		}
		text := Format(c)
		got, err := Parse(text)
		if err != nil {
			t.Fatalf("Parse(Format(%#v)) = Parse(%q): %v", c, text, err)
		}
		if diff := cmp.Diff(c, got); diff != "" {
			t.Fatalf("round trip through %q (-want +got):\n%s", text, diff)
		}
	})
}

// TestFormatParseEveryShape walks the generator over many inputs, so the round trip is
// checked in every test run, not only when fuzzing.
func TestFormatParseEveryShape(t *testing.T) {
	for i := 0; i < 20000; i++ {
		b := []byte{byte(i), byte(i >> 3), byte(i >> 5), byte(i * 7), byte(i * 13), byte(i >> 2), byte(i * 3), byte(i >> 7), byte(i * 11), byte(i >> 1), byte(i * 5), byte(i >> 4)}
		c := (&gen{b: b}).command()
		if !valid(c) {
			continue
		}
		got, err := Parse(Format(c))
		if err != nil {
			t.Fatalf("Parse(%q): %v (from %#v)", Format(c), err, c)
		}
		if diff := cmp.Diff(c, got); diff != "" {
			t.Fatalf("round trip through %q (-want +got):\n%s", Format(c), diff)
		}
	}
}
