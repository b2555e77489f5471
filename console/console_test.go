package console_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"kuberpult/commands"
	"kuberpult/console"
	"kuberpult/deploy"
	"kuberpult/store"
)

func newHandler(t *testing.T) (*commands.Handler, *store.DB) {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	envs := deploy.Environments{"development": {Upstream: &deploy.Upstream{Latest: true}}, "staging": {Upstream: &deploy.Upstream{Environment: "development"}}}
	h := commands.New(commands.Options{Store: db, Environments: envs})
	for _, v := range []string{"1", "2"} {
		res := h.CreateRelease(context.Background(), commands.Request{Actor: deploy.Actor{Kind: deploy.ActorAPI, Name: "CI"}, Via: deploy.ViaAPI}, commands.ReleaseRequest{
			Application: "checkout", Version: v, Manifests: map[string]string{"development": "a: " + v, "staging": "a: " + v}})
		if !res.OK() {
			t.Fatal(res.Problem)
		}
	}
	return h, db
}

var olga = deploy.Actor{Kind: deploy.ActorUser, ID: "olga@example.com", Name: "Olga", Email: "olga@example.com"}

func staging(t *testing.T, h *commands.Handler) deploy.Version {
	t.Helper()
	st, err := h.State(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st.Deployments["staging"]["checkout"].Version
}

func TestInteractiveConfirmation(t *testing.T) {
	for _, tt := range []struct {
		answer string
		want   deploy.Version
		text   string
	}{
		{"y", 2, "✅ Deployed checkout 2 to staging"},
		{"n", 0, "Cancelled: nothing was done."},
		{"", 0, "Cancelled: nothing was done."},
	} {
		t.Run("answer "+tt.answer, func(t *testing.T) {
			h, _ := newHandler(t)
			var out bytes.Buffer
			in := strings.NewReader("lock staging \"tests\"\ndeploy checkout to staging\n" + tt.answer + "\n")
			err := console.Run(context.Background(), console.Options{Exec: h, Actor: olga, In: in, Out: &out, Interactive: true})
			if err != nil {
				t.Fatalf("Run: %v\n%s", err, out.String())
			}
			if !strings.Contains(out.String(), "anyway? [y/N] ") || !strings.Contains(out.String(), tt.text) {
				t.Errorf("output:\n%s\nwant the question and %q", out.String(), tt.text)
			}
			if got := staging(t, h); got != tt.want {
				t.Errorf("staging runs %d, want %d", got, tt.want)
			}
		})
	}
}

func TestScriptReportsFailures(t *testing.T) {
	h, _ := newHandler(t)
	var out bytes.Buffer
	script := "# promote\n\nstatus\ndeploy checkout 1 to staging\ndeploy chekout 1 to staging\nexit\ndeploy checkout 2 to staging\n"
	err := console.Run(context.Background(), console.Options{Exec: h, Actor: olga, In: strings.NewReader(script), Out: &out})
	if !errors.Is(err, console.ErrFailed) {
		t.Fatalf("Run = %v, want ErrFailed", err)
	}
	for _, want := range []string{"> status\n", "> deploy checkout 1 to staging\n✅ Deployed checkout 1 to staging", "did you mean `checkout`?"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "deploy checkout 2") {
		t.Error("commands after exit ran")
	}
	if got := staging(t, h); got != 1 {
		t.Errorf("staging runs %d, want 1", got)
	}
	if err := console.Run(context.Background(), console.Options{Exec: h, Actor: olga, In: strings.NewReader("status\n"), Out: &out}); err != nil {
		t.Errorf("a script without failures returned %v", err)
	}
}

// TestInterruptStopsAtOnce: Ctrl-C (the context ending) stops the console while it waits
// for a line, not only at the next one.
func TestInterruptStopsAtOnce(t *testing.T) {
	h, _ := newHandler(t)
	pr, pw := io.Pipe() // a terminal that never sends another line
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out bytes.Buffer
	go func() {
		done <- console.Run(ctx, console.Options{Exec: h, Actor: olga, In: pr, Out: &out, Interactive: true})
	}()
	if _, err := io.WriteString(pw, "status\n"); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run after an interrupt = %v", err)
	}
}

func TestHelpNamesExit(t *testing.T) {
	h, _ := newHandler(t)
	var out bytes.Buffer
	if err := console.Run(context.Background(), console.Options{Exec: h, Actor: olga, In: strings.NewReader("help\n"), Out: &out}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "`exit` (or `quit`, or Ctrl-D) ends the session") {
		t.Errorf("help:\n%s", out.String())
	}
}

// TestConfirmedDeployIsAuditedAsConfirmed: the answer to the question is recorded as the
// command that was asked, confirmed, not as the --force form that carries it out.
func TestConfirmedDeployIsAuditedAsConfirmed(t *testing.T) {
	h, _ := newHandler(t)
	var out bytes.Buffer
	in := strings.NewReader("lock staging \"tests\"\ndeploy checkout to staging\ny\n")
	if err := console.Run(context.Background(), console.Options{Exec: h, Actor: olga, In: in, Out: &out, Interactive: true}); err != nil {
		t.Fatal(err)
	}
	var audit bytes.Buffer
	if err := console.Run(context.Background(), console.Options{Exec: h, Actor: olga, In: strings.NewReader("audit\n"), Out: &audit}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(audit.String(), "deploy checkout 2 to staging (confirmed)") || strings.Contains(audit.String(), "--force") {
		t.Errorf("audit:\n%s", audit.String())
	}
}

// TestCtrlCLikeAShell: at the prompt a Ctrl-C drops the line and says how to stop, a second
// one in a row stops the session; at a question it cancels the question; an interactive
// session ends with status 0 whatever mistakes were made.
func TestCtrlCLikeAShell(t *testing.T) {
	h, _ := newHandler(t)
	pr, pw := io.Pipe()
	defer pw.Close()
	ints := make(chan struct{})
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- console.Run(context.Background(), console.Options{Exec: h, Actor: olga, In: pr, Out: &out, Interactive: true, Interrupts: ints})
	}()
	send := func(line string) {
		if _, err := io.WriteString(pw, line+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	waitOut := func(want string) {
		t.Helper()
		for i := 0; i < 1000 && !strings.Contains(out.String(), want); i++ {
			<-time.After(5 * time.Millisecond) // polls the output of another goroutine, not a timing assertion
		}
		if !strings.Contains(out.String(), want) {
			t.Fatalf("output lacks %q:\n%s", want, out.String())
		}
	}
	send("deploy chekout to staging") // a mistake
	waitOut("did you mean `checkout`?")
	ints <- struct{}{}
	waitOut("(Ctrl-C again, `exit` or Ctrl-D to stop)")
	send(`lock staging "tests"`)
	waitOut("Locked staging")
	send("deploy checkout to staging")
	waitOut("anyway? [y/N]")
	ints <- struct{}{}
	waitOut("Cancelled: nothing was done.")
	if got := staging(t, h); got != 0 {
		t.Errorf("the cancelled question deployed %d", got)
	}
	ints <- struct{}{}
	ints <- struct{}{}
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil (a person's session)", err)
	}
	if !strings.Contains(out.String(), "stopping…") {
		t.Errorf("output:\n%s", out.String())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }
