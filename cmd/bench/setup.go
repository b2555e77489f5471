package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"kuberpult/deploy"
)

// setup generates the env repo, seeds the database, starts serve and waits until its
// initial environment sync is pushed.
func (b *bench) setup(ctx context.Context, bin, dir string, history int, withCLI bool, s *setupResult) error {
	t := time.Now()
	tip, err := generate(ctx, b.remote, b.w, deploy.Version(history), b.o.commits, b.rng)
	if err != nil {
		return err
	}
	s.GenerateSeconds, s.RepoMB = time.Since(t).Seconds(), dirMB(b.remote)
	if n, err := git(ctx, b.remote, "rev-list", "--count", "main"); err == nil {
		fmt.Sscan(n, &s.Commits)
	}
	state := stateConfig{sqlite: filepath.Join(dir, "state.sqlite")}
	t = time.Now()
	if b.pg != nil {
		state = stateConfig{postgres: b.pg.dsn}
		if b.db, err = b.pg.openStore(ctx); err != nil {
			return err
		}
		if err := seedDB(ctx, b.db, b.w, history, tip); err != nil {
			return err
		}
		s.SeedSeconds, s.DBMB = time.Since(t).Seconds(), b.pg.sizeMB(ctx)
		t = time.Now()
		if err := b.pg.analyze(ctx); err != nil {
			return err
		}
		s.AnalyzeSeconds = time.Since(t).Seconds()
	} else {
		if err := seed(ctx, state.sqlite, b.w, history, tip); err != nil {
			return err
		}
		s.SeedSeconds, s.DBMB = time.Since(t).Seconds(), fileMB(state.sqlite)+fileMB(state.sqlite+"-wal")
	}
	// One config file per replica, the same but for api.listen.
	cfgs, addrs, logs := make([]string, b.o.replicas), make([]string, b.o.replicas), make([]string, b.o.replicas)
	for i := range cfgs {
		if addrs[i], err = freeAddr(); err != nil {
			return err
		}
		cfgs[i], logs[i] = filepath.Join(dir, "config.yaml"), filepath.Join(dir, "serve.log")
		if b.o.replicas > 1 {
			cfgs[i], logs[i] = filepath.Join(dir, fmt.Sprintf("config-%d.yaml", i+1)), filepath.Join(dir, fmt.Sprintf("serve-%d.log", i+1))
		}
		if err := writeConfigState(cfgs[i], state, b.remote, addrs[i], b.w); err != nil {
			return err
		}
	}
	t = time.Now()
	for i := range cfgs {
		srv, err := startServe(bin, cfgs[i], logs[i], addrs[i])
		if err != nil {
			return err
		}
		b.srvs = append(b.srvs, srv)
	}
	b.srv = b.srvs[0]
	for i, srv := range b.srvs {
		if err := srv.waitReady(ctx, 2*time.Minute); err != nil {
			return fmt.Errorf("%w (see %s)", err, logs[i])
		}
	}
	s.StartSeconds = time.Since(t).Seconds()
	pushed, err := b.waitSync(ctx, tip, t)
	if err != nil {
		return err
	}
	s.SyncSeconds = -1
	if pushed {
		s.SyncSeconds = time.Since(t).Seconds()
	}
	s.Serve, s.Replicas = b.usage(ctx)
	if withCLI {
		b.cli, err = cloneForCLI(ctx, b.remote, filepath.Join(dir, "cli-clone"))
	}
	return err
}

// waitSync waits until serve's initial environment sync is pushed: the outbox empty and
// the branch moved off the generated tip (the generated repo has no Argo CD files, so the
// sync has something to write). When the outbox stays empty for 10 s and the branch does
// not move, the sync pushed nothing: waitSync returns false, and the end-state check after
// the setup says what the remote lacks.
func (b *bench) waitSync(ctx context.Context, tip string, start time.Time) (bool, error) {
	var idle time.Time // since when the outbox is empty
	for {
		ref, err := readRef(b.remote, "main")
		if err != nil {
			return false, err
		}
		n, err := b.pending(ctx)
		switch {
		case err == nil && n == 0 && ref != tip:
			return true, nil
		case err == nil && n == 0 && idle.IsZero():
			idle = time.Now()
		case err == nil && n == 0 && time.Since(idle) > 10*time.Second:
			return false, nil
		case err != nil || n > 0:
			idle = time.Time{}
		}
		if err := b.alive(); err != nil {
			return false, err
		}
		if time.Since(start) > b.o.syncTimeout {
			return false, fmt.Errorf("serve's initial sync not pushed after %s", b.o.syncTimeout)
		}
		if err := pause(ctx, 20*time.Millisecond); err != nil {
			return false, err
		}
	}
}

// dirMB is the size of the files under dir.
func dirMB(dir string) float64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return float64(n) / (1 << 20)
}

func fileMB(path string) float64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return float64(fi.Size()) / (1 << 20)
}
