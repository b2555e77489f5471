// Package console is the terminal adapter: it reads commands line by line, runs them
// through the commands Handler as the configured user, and prints the replies. On a
// terminal it asks for confirmation where a lock stands in the way; when reading a script
// it runs every line and reports whether any command failed.
package console

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"kuberpult/commands"
	"kuberpult/deploy"
	"kuberpult/reply"
)

// Executor runs commands; *commands.Handler implements it.
type Executor interface {
	Execute(ctx context.Context, r commands.Request) commands.Result
	Run(ctx context.Context, r commands.Request, cmd commands.Command) commands.Result
}

// Options configure a console session.
type Options struct {
	Exec  Executor
	Actor deploy.Actor
	In    io.Reader
	Out   io.Writer
	// Interactive shows a prompt and asks questions; otherwise every line is a command and
	// a question is answered "no".
	Interactive bool
	// AfterCommand, if set, runs after every command (the demo lets the git writer catch up).
	AfterCommand func(ctx context.Context)
	// Interrupts, when set, gets a value for every Ctrl-C at the terminal (the caller turns
	// SIGINT into them). As in a shell: at the prompt it drops the line being typed, twice
	// in a row it stops the session ("stopping…"); at a question it cancels the question.
	// Without it, Ctrl-C ends ctx and the session with it.
	Interrupts <-chan struct{}
}

// errInterrupted is what reading a line returns when Ctrl-C came instead.
var errInterrupted = errors.New("interrupted")

// ErrFailed is returned by Run when at least one command did not do what it asked.
var ErrFailed = errors.New("one or more commands failed")

// IsTerminal reports whether f is a terminal (a character device).
func IsTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Run reads commands until the input ends, "exit" or "quit", or ctx is done (Ctrl-C: it
// stops at once, also while waiting for a line). Every line is one request with its own
// idempotency key, and so is every answer to a question.
func Run(ctx context.Context, o Options) error {
	readCtx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	in := readLines(readCtx, o.In)
	failed := 0
	prompt := func() {
		if o.Interactive {
			fmt.Fprint(o.Out, "kuberpult> ")
		}
	}
	prompt()
	interrupted := false // the last thing at the prompt was a Ctrl-C
	for {
		raw, ok, err := in.nextOr(ctx, o.Interrupts)
		if errors.Is(err, errInterrupted) {
			if interrupted {
				fmt.Fprintln(o.Out, "\nstopping…")
				return nil
			}
			interrupted = true
			fmt.Fprintln(o.Out, "\n(Ctrl-C again, `exit` or Ctrl-D to stop)")
			prompt()
			continue
		}
		interrupted = false
		if err != nil {
			return fmt.Errorf("read commands: %w", err)
		}
		if !ok {
			if ctx.Err() != nil && o.Interactive {
				fmt.Fprintln(o.Out)
			}
			if o.Interactive {
				if ctx.Err() == nil {
					fmt.Fprintln(o.Out) // Ctrl-D: end the prompt's line
				}
				return nil // a person's session: mistakes are not an exit status
			}
			return result(failed)
		}
		line := strings.TrimSpace(raw)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			prompt()
			continue
		case line == "exit" || line == "quit":
			if o.Interactive {
				return nil
			}
			return result(failed)
		}
		if !o.Interactive {
			fmt.Fprintf(o.Out, "> %s\n", line)
		}
		res := o.Exec.Execute(ctx, o.request(line))
		if res.Confirm != nil || res.Choice != nil {
			res = ask(ctx, o, in, res)
		} else {
			fmt.Fprintln(o.Out, reply.Text(res))
			if res.Verb == "help" && res.HelpVerb == "" {
				fmt.Fprintln(o.Out, "In the console, `exit` (or `quit`, or Ctrl-D) ends the session.")
			}
		}
		if !res.OK() && !(o.Interactive && ctx.Err() != nil) {
			// A command cut short by Ctrl-C at the terminal is what the person asked for; a
			// script that was interrupted did not do what it says, and fails.
			failed++
		}
		if o.AfterCommand != nil {
			o.AfterCommand(ctx)
		}
		prompt()
	}
}

// lines hands out the lines of the input as they are read, so that a reader waiting for one
// can stop when ctx is done.
type lines struct {
	ch  chan string
	err error // set before ch is closed
}

func readLines(ctx context.Context, r io.Reader) *lines {
	l := &lines{ch: make(chan string)}
	go func() {
		defer close(l.ch)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			select {
			case l.ch <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		l.err = sc.Err()
	}()
	return l
}

// nextOr returns the next line; false at the end of the input or when ctx is done, and
// errInterrupted when interrupts (nil: never) gets a value first.
func (l *lines) nextOr(ctx context.Context, interrupts <-chan struct{}) (string, bool, error) {
	select {
	case <-ctx.Done():
		return "", false, nil
	case <-interrupts:
		return "", false, errInterrupted
	case line, ok := <-l.ch:
		if !ok {
			return "", false, l.err
		}
		return line, true, nil
	}
}

func (o Options) request(text string) commands.Request {
	return commands.Request{Actor: o.Actor, Via: deploy.ViaConsole, Text: text, Key: newKey()}
}

// ask puts the question of a result and, on a yes (or a choice), runs the command that does
// it: the confirmed command carries the state it was asked about, so it does nothing if
// someone changed that state meanwhile.
func ask(ctx context.Context, o Options, in *lines, res commands.Result) commands.Result {
	if !o.Interactive {
		fmt.Fprintln(o.Out, reply.Text(res))
		fmt.Fprintln(o.Out, "Not confirmed (input is not a terminal): nothing was done.")
		return res
	}
	var options []commands.Command
	question := " [y/N] "
	if res.Confirm != nil {
		options = []commands.Command{res.Confirm.Command}
	} else {
		for _, opt := range res.Choice.Options {
			options = append(options, opt.Command)
		}
		question = fmt.Sprintf("\nAnswer 1-%d, or n for neither: ", len(options))
	}
	fmt.Fprintf(o.Out, "%s%s", reply.Prompt(res), question)
	answer, ok, err := in.nextOr(ctx, o.Interrupts)
	if errors.Is(err, errInterrupted) {
		fmt.Fprintln(o.Out, "\nCancelled: nothing was done.")
		return commands.Result{Outcome: deploy.OutcomeNoop}
	}
	if !ok {
		fmt.Fprintln(o.Out)
		return res
	}
	cmd := chosen(strings.ToLower(strings.TrimSpace(answer)), options, res.Confirm != nil)
	if cmd == nil {
		fmt.Fprintln(o.Out, "Cancelled: nothing was done.")
		return commands.Result{Outcome: deploy.OutcomeNoop}
	}
	text := commands.Format(cmd)
	if res.Confirm != nil {
		text = commands.ConfirmedText(cmd)
	}
	done := o.Exec.Run(ctx, o.request(text), cmd)
	fmt.Fprintln(o.Out, reply.Text(done))
	return done
}

// chosen maps an answer to the command it picks, or nil.
func chosen(answer string, options []commands.Command, yesNo bool) commands.Command {
	if yesNo {
		if answer == "y" || answer == "yes" {
			return options[0]
		}
		return nil
	}
	n, err := strconv.Atoi(answer)
	if err != nil || n < 1 || n > len(options) {
		return nil
	}
	return options[n-1]
}

// newKey makes the idempotency key of one console request.
func newKey() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func result(failed int) error {
	if failed > 0 {
		return fmt.Errorf("%w: %d", ErrFailed, failed)
	}
	return nil
}
