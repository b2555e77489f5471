package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"kuberpult/store"
)

// migrateStateNotes follow the options in `kuberpult migrate-state -h`.
const migrateStateNotes = `
Every table is copied (releases and manifests, deployments and their history, held
attempts, locks and their history, approvals, train departures, the git outbox and its
builds, Slack cards and reminders, request keys, rollouts, GitHub deployments, the audit
log, environments, app owners, the writer lease) with its ids, in one transaction on the
target. A target with any row in any of these tables is refused, and nothing is written.
Before the commit the row count of every table is checked against the source's. The
writer lease is copied released: the next serve takes it with a higher epoch.

Stop every kuberpult serve and console that uses the SQLite file first: what they write
after the copy started is not copied. Then point state.postgres.dsn of the configuration
at the database and start serve again.

Leave the password out of the DSN (it would show in the process list and the shell's
history) and set PGPASSWORD, or use ~/.pgpass:

  PGPASSWORD=... kuberpult migrate-state --from /data/kuberpult.db \
    --to 'postgres://kuberpult@db.example.com:5432/kuberpult?sslmode=require'
`

// runMigrateState is `kuberpult migrate-state --from FILE --to DSN`: it copies the state of
// a SQLite file into an empty PostgreSQL database (store.CopyState) and prints the rows of
// every table.
func runMigrateState(ctx context.Context, flags *flag.FlagSet, args []string, stdout io.Writer) error {
	from := flags.String("from", "", "the SQLite `FILE` to copy from (state.sqlite of the configuration); it is migrated to this version first")
	to := flags.String("to", "", "the PostgreSQL database to copy into, as a `DSN` (postgres://USER@HOST:5432/DB?sslmode=require, or key=value pairs); without a password in it, PGPASSWORD or ~/.pgpass gives it")
	usage := flags.Usage
	flags.Usage = func() {
		usage()
		fmt.Fprint(flags.Output(), migrateStateNotes)
	}
	if err := flags.Parse(args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("migrate-state: unexpected argument %q (the options are --from FILE and --to DSN)", flags.Arg(0))
	}
	var missing []string
	if *from == "" {
		missing = append(missing, "--from FILE (the SQLite file to copy from)")
	}
	if *to == "" {
		missing = append(missing, "--to DSN (the PostgreSQL database to copy into)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("migrate-state needs %s", strings.Join(missing, " and "))
	}
	if err := checkSQLiteFile(*from); err != nil {
		return err
	}
	src, err := store.Open(ctx, *from)
	if err != nil {
		return fmt.Errorf("migrate-state: %w", err)
	}
	defer src.Close()
	// A process that holds the writer lease is running on the file (or died less than a
	// lease ago): what it writes during the copy would be lost.
	if l, ok, err := src.Lease(ctx, leaseName); err != nil {
		return fmt.Errorf("migrate-state: %w", err)
	} else if ok && l.Holder != "" && l.Expires.After(time.Now()) {
		return fmt.Errorf("migrate-state: %s holds the env-repo writer lease of %s (until %s): stop every kuberpult serve and console on it first; nothing was copied",
			l.Holder, *from, l.Expires.UTC().Format(time.RFC3339))
	}
	dst, err := store.OpenPostgres(ctx, *to)
	if err != nil {
		return fmt.Errorf("migrate-state: %w", err)
	}
	defer dst.Close()
	counts, err := store.CopyState(ctx, src, dst)
	if err != nil {
		return fmt.Errorf("migrate-state: %w", err)
	}
	var total int64
	for _, t := range store.StateTables() {
		fmt.Fprintf(stdout, "%-20s %8d\n", t, counts[t])
		total += counts[t]
	}
	fmt.Fprintf(stdout, "copied %d rows from %s to PostgreSQL; verified\n", total, *from)
	return nil
}

// sqliteHeader starts every SQLite database file.
var sqliteHeader = []byte("SQLite format 3\x00")

// checkSQLiteFile refuses a --from that is not an existing SQLite file: store.Open would
// create an empty database there, and the copy would be of nothing.
func checkSQLiteFile(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("migrate-state: --from %s: no such file", path)
	}
	if err != nil {
		return fmt.Errorf("migrate-state: --from: %w", err)
	}
	defer f.Close()
	head := make([]byte, len(sqliteHeader))
	if _, err := io.ReadFull(f, head); err != nil || !bytes.Equal(head, sqliteHeader) {
		if info, serr := f.Stat(); serr == nil && info.IsDir() {
			return fmt.Errorf("migrate-state: --from %s is a directory, not a SQLite file", path)
		}
		return fmt.Errorf("migrate-state: --from %s is not a SQLite database", path)
	}
	return nil
}
