package train

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"kuberpult/deploy"
	"kuberpult/policy"
	"kuberpult/schedule"
)

// runScheduler runs a scheduler on a fake clock that starts at start, until it has run for
// d, and returns the events it fired, each with the clock's time when it was fired.
func runScheduler(t *testing.T, trains []Scheduled, start time.Time, d time.Duration) []string {
	t.Helper()
	var got []string
	synctest.Test(t, func(t *testing.T) {
		bubble := time.Now()
		now := func() time.Time { return start.Add(time.Since(bubble)) }
		ctx, cancel := context.WithTimeout(t.Context(), d)
		defer cancel()
		s := &Scheduler{Trains: trains, Now: now, Fire: func(ctx context.Context, e Event) {
			loc := trains[0].Schedule.Location()
			got = append(got, fmt.Sprintf("%s %s %s slot %s", now().In(loc).Format("01-02 15:04 MST"), e.Kind, e.Train, e.Slot.In(loc).Format("01-02 15:04 MST")))
		}}
		if err := s.Run(ctx); err != nil {
			t.Errorf("Run = %v", err)
		}
	})
	return got
}

func scheduled(t *testing.T, name, spec string, before time.Duration) Scheduled {
	t.Helper()
	s, err := schedule.Parse(spec, "Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return Scheduled{Name: name, Target: "production", Schedule: s, AnnounceBefore: before}
}

func TestSchedulerFiresAtTheirTimes(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	at := func(m time.Month, d, h, min int) time.Time { return time.Date(2026, m, d, h, min, 0, 0, berlin) }
	tests := []struct {
		name   string
		trains []Scheduled
		start  time.Time
		run    time.Duration
		want   []string
	}{
		{"weekdays: announced half an hour before, over a weekend",
			[]Scheduled{scheduled(t, "daily", "30 11 * * MON-FRI", 30*time.Minute)}, at(12, 4, 12, 0), 4 * 24 * time.Hour,
			[]string{
				"12-04 12:00 CET depart daily slot 12-04 11:30 CET",
				"12-07 11:00 CET announce daily slot 12-07 11:30 CET", "12-07 11:30 CET depart daily slot 12-07 11:30 CET",
				"12-08 11:00 CET announce daily slot 12-08 11:30 CET", "12-08 11:30 CET depart daily slot 12-08 11:30 CET",
			}},
		{"started after a departure: it is handed over at once (its handler runs or reports it as missed)",
			[]Scheduled{scheduled(t, "daily", "30 11 * * *", 30*time.Minute)}, at(12, 1, 11, 40), 24 * time.Hour,
			[]string{
				"12-01 11:40 CET depart daily slot 12-01 11:30 CET",
				"12-02 11:00 CET announce daily slot 12-02 11:30 CET", "12-02 11:30 CET depart daily slot 12-02 11:30 CET",
			}},
		{"started between announcement and departure: announced at once",
			[]Scheduled{scheduled(t, "daily", "30 11 * * *", 30*time.Minute)}, at(12, 1, 11, 10), time.Hour,
			[]string{
				"12-01 11:10 CET depart daily slot 11-30 11:30 CET",
				"12-01 11:10 CET announce daily slot 12-01 11:30 CET", "12-01 11:30 CET depart daily slot 12-01 11:30 CET",
			}},
		{"spring forward: 02:30 does not exist and departs once at 03:00",
			[]Scheduled{scheduled(t, "night", "30 2 * * *", 20*time.Minute)}, at(3, 28, 12, 0), 24 * time.Hour,
			[]string{
				"03-28 12:00 CET depart night slot 03-28 02:30 CET",
				"03-29 01:40 CET announce night slot 03-29 03:00 CEST", "03-29 03:00 CEST depart night slot 03-29 03:00 CEST",
			}},
		{"fall back: 02:30 happens twice and departs once",
			[]Scheduled{scheduled(t, "night", "30 2 * * *", 20*time.Minute)}, at(10, 24, 12, 0), 24 * time.Hour,
			[]string{
				"10-24 12:00 CEST depart night slot 10-24 02:30 CEST",
				"10-25 02:10 CEST announce night slot 10-25 02:30 CEST", "10-25 02:30 CEST depart night slot 10-25 02:30 CEST",
			}},
		{"two trains interleave",
			[]Scheduled{scheduled(t, "a", "0 10 * * *", time.Hour), scheduled(t, "b", "30 9 * * *", 0)}, at(12, 1, 8, 0), 3 * time.Hour,
			[]string{
				"12-01 08:00 CET depart a slot 11-30 10:00 CET", "12-01 08:00 CET depart b slot 11-30 09:30 CET",
				"12-01 09:00 CET announce a slot 12-01 10:00 CET",
				"12-01 09:30 CET announce b slot 12-01 09:30 CET", "12-01 09:30 CET depart b slot 12-01 09:30 CET",
				"12-01 10:00 CET depart a slot 12-01 10:00 CET",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runScheduler(t, tt.trains, tt.start, tt.run)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSchedulerFollowsAJumpingClock: a wall clock that jumps forward (a suspended machine)
// is noticed within the wake interval, and the due departure is handed over.
func TestSchedulerFollowsAJumpingClock(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, berlin)
	tr := scheduled(t, "daily", "30 11 * * *", 30*time.Minute)
	var got []string
	synctest.Test(t, func(t *testing.T) {
		bubble := time.Now()
		var jump atomic.Int64 // the clock step, set while the scheduler waits
		now := func() time.Time { return start.Add(time.Since(bubble) + time.Duration(jump.Load())) }
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
		defer cancel()
		s := &Scheduler{Trains: []Scheduled{tr}, Now: now, Wake: time.Minute, Fire: func(ctx context.Context, e Event) {
			got = append(got, fmt.Sprintf("%s %s", now().In(berlin).Format("15:04"), e.Kind))
		}}
		done := make(chan struct{})
		go func() { _ = s.Run(ctx); close(done) }()
		time.Sleep(30 * time.Second) // fake time: the scheduler waits for its next wake-up
		synctest.Wait()
		jump.Store(int64(3 * time.Hour)) // the machine slept from 09:00:30 to 12:00:30
		<-done
	})
	want := []string{"09:00 depart", "12:01 announce", "12:01 depart"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

// TestSchedulerWaitsForWindows: a departure that falls into a window open on its target
// leaves when the window closes (announced at its usual time); every window's closing is
// an event, and a start hands over whatever closed while Kuberpult was down ("*").
func TestSchedulerWaitsForWindows(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	at := func(d, h, min int) time.Time { return time.Date(2026, 12, d, h, min, 0, 0, berlin) }
	peakStart, err := schedule.Parse("0 11 * * *", "Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	envs := deploy.Environments{"staging": {}, "production-de": {Group: "production"}, "production-jp": {Group: "production"}}
	ws := policy.Windows{{Name: "peak", Targets: []string{"production-jp"}, Start: peakStart, Duration: time.Hour, Override: policy.OverrideDeny}}
	tr := scheduled(t, "daily", "30 11 * * *", 30*time.Minute)
	var got []string
	synctest.Test(t, func(t *testing.T) {
		bubble := time.Now()
		now := func() time.Time { return at(1, 10, 0).Add(time.Since(bubble)) }
		ctx, cancel := context.WithTimeout(t.Context(), 4*time.Hour)
		defer cancel()
		s := &Scheduler{Trains: []Scheduled{tr}, Windows: ws, Envs: envs, Now: now, Lookback: time.Hour, Fire: func(ctx context.Context, e Event) {
			got = append(got, fmt.Sprintf("%s %s %s%s slot %s", now().In(berlin).Format("15:04"), e.Kind, e.Train, e.Window, e.Slot.In(berlin).Format("15:04")))
		}}
		if err := s.Run(ctx); err != nil {
			t.Error(err)
		}
	})
	want := []string{
		"10:00 window-closed * slot 10:00",
		"11:00 announce daily slot 11:30",
		"12:00 depart daily slot 11:30",
		"12:00 window-closed peak slot 12:00",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if got := Leaves(tr, ws, envs, at(1, 11, 30)); !got.Equal(at(1, 12, 0)) {
		t.Errorf("Leaves = %v, want 12:00", got)
	}
}
