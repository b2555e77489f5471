package main

import (
	"context"
	"fmt"
	"strings"

	"golang.org/x/sync/errgroup"

	"kuberpult/deploy"
)

// A singleton is a part of serve that runs on one replica only, the leader.
type singleton struct {
	name string
	run  func(ctx context.Context, lease func() deploy.Lease) error
}

// runSingletons runs the singletons while this replica leads (until ctx ends: the writer
// lost or gave up the lease, or serve stops). It returns the first error of one that failed.
func (a *app) runSingletons(ctx context.Context, lease func() deploy.Lease, singles []singleton) error {
	names := make([]string, len(singles))
	for i, s := range singles {
		names[i] = s.name
	}
	a.log.Info("leading the replicas", "epoch", lease().Epoch, "runs", strings.Join(names, ", "))
	g, gctx := errgroup.WithContext(ctx)
	for _, s := range singles {
		g.Go(func() error {
			if err := s.run(gctx, lease); err != nil && ctx.Err() == nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			return nil
		})
	}
	err := g.Wait()
	a.log.Info("not leading any more", "epoch", lease().Epoch)
	return err
}
