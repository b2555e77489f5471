package main

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"kuberpult/gitrepo"
)

func TestThrottle(t *testing.T) {
	tests := []struct {
		name    string
		status  func(now time.Time) gitrepo.Status
		lagFor  time.Duration // the first change in line is old until then
		waitFor time.Duration // how long wait should hold the action
	}{
		{"nothing waits", pushing, 0, 0},
		{"the writer lags: wait until it catches up", pushing, 700 * time.Millisecond, 700 * time.Millisecond},
		{"never longer than maxAdmitWait", pushing, time.Hour, maxAdmitWait},
		{"git unreachable: accept and queue", func(now time.Time) gitrepo.Status {
			s := pushing(now)
			s.Reachable = false
			return s
		}, time.Hour, 0},
		{"another process writes: do not wait for it", func(now time.Time) gitrepo.Status {
			s := pushing(now)
			s.Holding = false
			return s
		}, time.Hour, 0},
		{"nothing pushed for a while: waiting would not help", func(now time.Time) gitrepo.Status {
			s := pushing(now)
			s.Stats.LastPushTime = now.Add(-time.Minute)
			return s
		}, time.Hour, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				th := &throttle{
					now:    time.Now,
					status: func() gitrepo.Status { return tt.status(time.Now()) },
					waiting: func(_ context.Context, after int64) (time.Time, error) {
						if after != claimed {
							t.Errorf("asked for what waits after %d, want after the claim %d", after, claimed)
						}
						if time.Since(start) < tt.lagFor {
							return start.Add(-5 * time.Second), nil // accepted long ago
						}
						return time.Now(), nil // just accepted
					},
				}
				th.wait(context.Background())
				got := time.Since(start)
				if got < tt.waitFor || got > tt.waitFor+2*outboxFresh {
					t.Errorf("waited %s, want %s", got, tt.waitFor)
				}
			})
		})
	}
}

const claimed = 42 // the last entry of the writer's batches

func pushing(now time.Time) gitrepo.Status {
	return gitrepo.Status{Holding: true, Reachable: true, Claimed: claimed, Stats: gitrepo.Stats{LastPushTime: now.Add(-time.Second)}}
}
