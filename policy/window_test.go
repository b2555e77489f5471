package policy

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"kuberpult/deploy"
	"kuberpult/schedule"
)

var berlin, _ = time.LoadLocation("Europe/Berlin")

func bt(m time.Month, d, h, min int) time.Time { return time.Date(2026, m, d, h, min, 0, 0, berlin) }

func weekly(t *testing.T, name, spec string, d time.Duration, o Override, targets ...string) Window {
	t.Helper()
	c, err := schedule.Parse(spec, "Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return Window{Name: name, Targets: targets, Start: c, Duration: d, Override: o}
}

func TestWindowOpen(t *testing.T) {
	peak := weekly(t, "peak", "0 9 * * MON-FRI", 2*time.Hour, OverrideDeny, "production")
	night := weekly(t, "night", "30 2 * * *", time.Hour, OverrideConfirm, "*")
	freeze := Window{Name: "xmas", Targets: []string{"production"}, From: bt(12, 23, 0, 0), Until: bt(1, 3, 0, 0).AddDate(1, 0, 0), Override: OverrideApproval}
	chained := weekly(t, "chain", "0 * * * *", 90*time.Minute, OverrideConfirm, "*") // every hour, 90 minutes long
	tests := []struct {
		name  string
		w     Window
		at    time.Time
		open  bool
		until time.Time
	}{
		{"before the start", peak, bt(12, 1, 8, 59), false, time.Time{}},
		{"the start is inside", peak, bt(12, 1, 9, 0), true, bt(12, 1, 11, 0)},
		{"inside", peak, bt(12, 1, 10, 59), true, bt(12, 1, 11, 0)},
		{"the end is outside", peak, bt(12, 1, 11, 0), false, time.Time{}},
		{"not on a Saturday", peak, bt(12, 5, 10, 0), false, time.Time{}},
		{"spring forward: 02:30 does not exist, the window opens at 03:00 for an hour", night, bt(3, 29, 3, 30), true, bt(3, 29, 4, 0)},
		{"spring forward: not open before the jump", night, bt(3, 29, 1, 59), false, time.Time{}},
		{"fall back: opens at the first 02:30, an hour long", night, time.Date(2026, 10, 25, 0, 45, 0, 0, time.UTC), true, time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC)},
		{"fall back: closed an hour later (the second 02:30 opens nothing)", night, time.Date(2026, 10, 25, 1, 45, 0, 0, time.UTC), false, time.Time{}},
		{"freeze: the first day", freeze, bt(12, 23, 0, 0), true, time.Date(2027, 1, 3, 0, 0, 0, 0, berlin)},
		{"freeze: the day before", freeze, bt(12, 22, 23, 59), false, time.Time{}},
		{"freeze: after the last day", freeze, time.Date(2027, 1, 3, 0, 0, 0, 0, berlin), false, time.Time{}},
		{"overlapping openings chain", chained, bt(12, 1, 10, 10), true, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			until, open := tt.w.Open(tt.at)
			if open != tt.open {
				t.Fatalf("Open(%v) = %v, want %v", tt.at, open, tt.open)
			}
			if tt.w.Name == "chain" {
				if !until.IsZero() && until.Sub(tt.at) < 24*time.Hour {
					t.Errorf("a window chained every hour closes at %v", until)
				}
				return
			}
			if open && !until.Equal(tt.until) {
				t.Errorf("until = %v, want %v", until, tt.until)
			}
		})
	}
}

func TestWindowsAtAndClosedFrom(t *testing.T) {
	envs := deploy.Environments{
		"staging":       {},
		"production-de": {Group: "production"},
		"production-jp": {Group: "production"},
	}
	ws := Windows{
		weekly(t, "peak", "0 9 * * MON-FRI", 2*time.Hour, OverrideConfirm, "production"),
		weekly(t, "deploy-freeze-jp", "30 10 * * MON-FRI", time.Hour, OverrideDeny, "production-jp"),
		weekly(t, "everything", "0 12 * * *", 30*time.Minute, OverrideConfirm, "*"),
	}
	at := bt(12, 1, 10, 45)
	if diff := cmp.Diff([]OpenWindow{
		{Name: "deploy-freeze-jp", Override: OverrideDeny, Until: bt(12, 1, 11, 30), Zone: "Europe/Berlin"},
		{Name: "peak", Override: OverrideConfirm, Until: bt(12, 1, 11, 0), Zone: "Europe/Berlin"},
	}, ws.At(envs, "production-jp", at)); diff != "" {
		t.Errorf("At production-jp (-want +got):\n%s", diff)
	}
	if got := ws.At(envs, "staging", at); len(got) != 0 {
		t.Errorf("staging is in %v", got)
	}
	if got := ws.At(envs, "staging", bt(12, 1, 12, 0)); len(got) != 1 || got[0].Name != "everything" {
		t.Errorf("staging at noon: %v", got)
	}
	tests := []struct {
		envs []deploy.Env
		at   time.Time
		want time.Time
	}{
		{[]deploy.Env{"production-de"}, at, bt(12, 1, 11, 0)},
		{[]deploy.Env{"production-de", "production-jp"}, at, bt(12, 1, 11, 30)},
		{[]deploy.Env{"staging"}, at, at},
		{[]deploy.Env{"production-de"}, bt(12, 1, 11, 0), bt(12, 1, 11, 0)},
	}
	for _, tt := range tests {
		if got := ws.ClosedFrom(envs, tt.envs, tt.at); !got.Equal(tt.want) {
			t.Errorf("ClosedFrom(%v, %v) = %v, want %v", tt.envs, tt.at, got, tt.want)
		}
	}
	if from, until := ws[0].Next(at); !from.Equal(bt(12, 2, 9, 0)) || !until.Equal(bt(12, 2, 11, 0)) {
		t.Errorf("next opening of peak: %v – %v", from, until)
	}
}
