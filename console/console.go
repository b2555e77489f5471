// Package console is the terminal adapter: it reads commands line by line, runs them
// through the commands Handler as the configured user, and prints the replies. On a
// terminal it asks for confirmation where a lock stands in the way; when reading a script
// it runs every line and reports whether any command failed.
package console

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"kuberpult/commands"
	"kuberpult/deploy"
)

// Executor runs commands; *commands.Handler implements it.
type Executor interface {
	Execute(ctx context.Context, r commands.Request) commands.Reply
	Run(ctx context.Context, r commands.Request, cmd commands.Command) commands.Reply
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
}

// ErrFailed is returned by Run when at least one command did not do what it asked.
var ErrFailed = errors.New("one or more commands failed")

// IsTerminal reports whether f is a terminal (a character device).
func IsTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Run reads commands until the input ends, "exit" or "quit", or ctx is done.
func Run(ctx context.Context, o Options) error {
	in := bufio.NewScanner(o.In)
	in.Buffer(make([]byte, 64*1024), 1024*1024)
	failed := 0
	prompt := func() {
		if o.Interactive {
			fmt.Fprint(o.Out, "kuberpult> ")
		}
	}
	prompt()
	for in.Scan() {
		if ctx.Err() != nil {
			break
		}
		line := strings.TrimSpace(in.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			prompt()
			continue
		case line == "exit" || line == "quit":
			return result(failed)
		}
		if !o.Interactive {
			fmt.Fprintf(o.Out, "> %s\n", line)
		}
		req := commands.Request{Actor: o.Actor, Via: deploy.ViaConsole, Text: line}
		rep := o.Exec.Execute(ctx, req)
		if rep.Confirm != nil {
			rep = confirm(ctx, o, in, rep)
		} else {
			fmt.Fprintln(o.Out, rep.Text)
		}
		if !rep.OK() {
			failed++
		}
		if o.AfterCommand != nil {
			o.AfterCommand(ctx)
		}
		prompt()
	}
	if err := in.Err(); err != nil {
		return fmt.Errorf("read commands: %w", err)
	}
	return result(failed)
}

// confirm asks the question of a reply and, if the answer is yes, runs the confirmed command.
func confirm(ctx context.Context, o Options, in *bufio.Scanner, rep commands.Reply) commands.Reply {
	if !o.Interactive {
		fmt.Fprintln(o.Out, rep.Text)
		fmt.Fprintln(o.Out, "Not confirmed (input is not a terminal): nothing was done.")
		return rep
	}
	fmt.Fprintf(o.Out, "%s [y/N] ", rep.Confirm.Prompt)
	if !in.Scan() {
		fmt.Fprintln(o.Out)
		return rep
	}
	answer := strings.ToLower(strings.TrimSpace(in.Text()))
	if answer != "y" && answer != "yes" {
		fmt.Fprintln(o.Out, "Cancelled: nothing was done.")
		return commands.Reply{Outcome: deploy.OutcomeNoop, Text: "cancelled"}
	}
	req := commands.Request{Actor: o.Actor, Via: deploy.ViaConsole, Text: commands.Format(rep.Confirm.Command)}
	done := o.Exec.Run(ctx, req, rep.Confirm.Command)
	fmt.Fprintln(o.Out, done.Text)
	return done
}

func result(failed int) error {
	if failed > 0 {
		return fmt.Errorf("%w: %d", ErrFailed, failed)
	}
	return nil
}
