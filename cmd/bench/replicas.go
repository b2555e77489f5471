package main

import (
	"context"
	"fmt"
	"strings"
)

// The helpers here see every replica (-replicas) and, on PostgreSQL, the database itself:
// the leader pushes everything, but any replica may have accepted what it pushes, so the
// backlog comes from the store, counters are summed and every replica is measured.

// alive fails when a replica exited.
func (b *bench) alive() error {
	for i, s := range b.srvs {
		if err := s.alive(); err != nil {
			if len(b.srvs) > 1 {
				return fmt.Errorf("replica %d: %w", i+1, err)
			}
			return err
		}
	}
	return nil
}

// pending is the outbox backlog: from the store on PostgreSQL, from serve's
// kuberpult_outbox_pending (which reads the same table) on SQLite.
func (b *bench) pending(ctx context.Context) (int, error) {
	if b.db != nil {
		return dbPending(ctx, b.db)
	}
	return b.srv.pending(ctx)
}

// serverFor is the replica request i goes to: each in turn.
func (b *bench) serverFor(i int) (int, *server) {
	n := i % len(b.srvs)
	return n, b.srvs[n]
}

// counters reads /metrics of every replica and sums the samples, for counters that count
// what one of them did (commits and pushes: the leader's, whoever that was).
func (b *bench) counters(ctx context.Context) (map[string]float64, error) {
	sum := map[string]float64{}
	for i, s := range b.srvs {
		m, err := s.metrics(ctx)
		if err != nil {
			return nil, fmt.Errorf("replica %d: %w", i+1, err)
		}
		for k, v := range m {
			if _, ok := sum[k]; ok || i == 0 {
				sum[k] += v
			}
		}
	}
	return sum, nil
}

// usage reads /proc for every replica and starts the next phase's figures: the first
// replica's, and with several replicas each one's (nil with one), marked with whether it
// held the writer lease (kuberpult_git_writer_holding) at the end of the phase.
func (b *bench) usage(ctx context.Context) (usage, []usage) {
	all := make([]usage, len(b.srvs))
	for i, s := range b.srvs {
		all[i] = s.usageNow()
	}
	if len(all) == 1 {
		return all[0], nil
	}
	for i, s := range b.srvs {
		if m, err := s.metrics(ctx); err == nil {
			all[i].Leader = m["kuberpult_git_writer_holding"] == 1
		}
	}
	return all[0], all
}

// memLines formats the figures of one replica (mem), or of each.
func memLines(one usage, replicas []usage) []string {
	if len(replicas) == 0 {
		return []string{mem(one)}
	}
	lines := make([]string, len(replicas))
	for i, u := range replicas {
		role := "follower"
		if u.Leader {
			role = "leader"
		}
		lines[i] = fmt.Sprintf("replica %d (%s) %s", i+1, role, strings.TrimPrefix(mem(u), "serve: "))
	}
	return lines
}

// pgCPU reads the CPU time of the PostgreSQL backends (nil on SQLite).
func (b *bench) pgCPU(ctx context.Context) map[int]float64 {
	if b.pg == nil {
		return nil
	}
	return b.pg.backendCPU(ctx)
}

// pgCPUSince is the CPU time the PostgreSQL backends used since before (pgCPU); 0 on SQLite.
func (b *bench) pgCPUSince(ctx context.Context, before map[int]float64) float64 {
	if b.pg == nil {
		return 0
	}
	return cpuSince(before, b.pg.backendCPU(ctx))
}
