// Command kuberpult is the release manager: `serve` runs the HTTP API and the git writer,
// `console` runs the command language in a terminal, `check-config` validates a
// configuration file, `migrate-state` copies the state from SQLite to PostgreSQL, and `demo`
// starts everything on embedded defaults.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"

	"kuberpult/config"
	"kuberpult/console"
)

const usageText = `kuberpult: release manager for Kubernetes environments run by Argo CD

Usage:
  kuberpult demo [--data DIR] [--listen H:P] start on embedded defaults, in a console
  kuberpult serve --config FILE            run the HTTP API and the env-repo writer
  kuberpult console --config FILE [--as S] run commands in a terminal (or from stdin)
  kuberpult check-config --config FILE     validate a configuration file
  kuberpult migrate-state --from FILE --to DSN
                                           copy the state from a SQLite file into an empty PostgreSQL database
  kuberpult version                        print the version and the commit it was built from

Run "kuberpult <command> -h" for the options of a command.
`

// defaultMemoryLimit is the soft limit of the Go heap unless GOMEMLIMIT says otherwise: the
// garbage collector works harder as the heap nears it, instead of letting it grow to twice
// what is live (the git writer's trees of a big env repo make short-lived garbage fast).
const defaultMemoryLimit = 128 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	ctx, cancel := context.WithCancel(ctx)
	// Ctrl-C (SIGINT) stops the program, except in a session at a terminal (the demo, an
	// interactive console), which handles it like a shell does (console.Options.Interrupts).
	sigint := make(chan os.Signal, 1)
	signal.Notify(sigint, os.Interrupt)
	atTerminal := len(os.Args) > 1 && (os.Args[1] == "demo" || os.Args[1] == "console") && console.IsTerminal(os.Stdin)
	ctrlC := make(chan struct{}, 1)
	if atTerminal {
		interrupts = ctrlC
	}
	go func() {
		for range sigint {
			if !atTerminal {
				cancel()
				continue
			}
			select {
			case ctrlC <- struct{}{}:
			default: // one unread Ctrl-C is enough
			}
		}
	}()
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	signal.Stop(sigint)
	cancel()
	stop()
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return // -h: the help was asked for and printed
		}
		if !errors.Is(err, console.ErrFailed) {
			fmt.Fprintln(os.Stderr, "kuberpult:", err)
		}
		os.Exit(1)
	}
}

// interrupts gets a value for every Ctrl-C while a terminal session runs (set by main; nil
// in tests and non-interactive runs, where Ctrl-C ends the context instead).
var interrupts <-chan struct{}

// commandAbout says what each command does, for its -h.
var commandAbout = map[string]string{
	"demo":          "start on embedded defaults (SQLite, a local env repo, the HTTP API) in a console",
	"serve":         "run the HTTP API, the Slack bot (with slack tokens), the scheduler and the env-repo writer",
	"console":       "run commands in a terminal, or from stdin as a script (exit status 1 when one failed)",
	"check-config":  "validate a configuration file: every problem with its line, then warnings",
	"migrate-state": "copy the whole state from a SQLite file into an empty PostgreSQL database, in one transaction, and verify it",
}

func run(ctx context.Context, args []string, stdin *os.File, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usageText)
		return nil
	}
	cmd, rest := args[0], args[1:]
	if cmd == "version" || cmd == "--version" {
		fmt.Fprintln(stdout, versionText())
		return nil
	}
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "kuberpult %s: %s\n\nOptions:\n", cmd, commandAbout[cmd])
		fs.PrintDefaults()
	}
	var configPath *string
	as := ""
	switch cmd {
	case "serve", "console", "check-config":
		configPath = fs.String("config", "", "configuration file (YAML)")
		if cmd == "console" {
			fs.StringVar(&as, "as", "", "act as this subject (Slack user id, @group, email, token:<name>) to try a policy")
		}
	case "demo":
		dataDir := fs.String("data", "./data", "directory for the demo's SQLite file and env repo")
		listen := fs.String("listen", "", "host:port of the demo's HTTP API (default 127.0.0.1:8080)")
		if err := fs.Parse(rest); err != nil {
			return err
		}
		return runDemo(ctx, *dataDir, *listen, stdin, stdout, stderr)
	case "migrate-state":
		return runMigrateState(ctx, fs, rest, stdout)
	default:
		fmt.Fprint(stderr, usageText)
		return fmt.Errorf("unknown command %q", cmd)
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if *configPath == "" {
		return fmt.Errorf("%s needs --config FILE (see config.example.yaml)", cmd)
	}
	cfg, err := config.Load(*configPath)
	if err != nil {
		return err
	}
	// Each command needs the secrets of the parts it starts: a console writes the env repo,
	// serve runs everything.
	need := []string(nil)
	if cmd == "console" {
		need = []string{"git."}
	}
	if err := cfg.NeedSecrets(need...); err != nil {
		return err
	}
	switch cmd {
	case "check-config":
		if _, err := buildPolicy(cfg); err != nil {
			return err
		}
		for _, w := range cfg.Warnings() {
			fmt.Fprintf(stdout, "warning: %s\n", w)
		}
		fmt.Fprintf(stdout, "%s: ok (%d environments)\n", *configPath, len(cfg.Environments))
		return nil
	case "serve":
		return serve(ctx, cfg, newLogger(stderr, slog.LevelInfo))
	default:
		log := newLogger(stderr, slog.LevelWarn)
		if console.IsTerminal(stdin) {
			// At a terminal, logs go to a file next to the database, never over the prompt.
			path := filepath.Join(filepath.Dir(cfg.State.SQLite), "kuberpult-console.log")
			f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
			if err != nil {
				return fmt.Errorf("console log: %w", err)
			}
			defer f.Close()
			log = newLogger(f, slog.LevelInfo)
			fmt.Fprintf(stdout, "Logs: %s\n", path)
		}
		return runConsole(ctx, cfg, as, stdin, stdout, log)
	}
}

func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// versionText is the module version and the commit the binary was built from, as Go records
// them in the build (a `go build` in a git checkout records the commit and whether the
// tree had changes).
func versionText() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "kuberpult (no build information)"
	}
	version, commit, dirty := info.Main.Version, "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	out := "kuberpult " + version
	if commit != "" {
		out += " (commit " + commit
		if dirty {
			out += ", with local changes"
		}
		out += ")"
	}
	return out + " " + info.GoVersion
}
