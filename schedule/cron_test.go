package schedule

import (
	"testing"
	"time"
)

func TestCronNext(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	at := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, berlin) }
	utc := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, time.UTC) }
	tests := []struct {
		name  string
		spec  string
		from  time.Time
		wants []time.Time // the next departures, in order
	}{
		{"weekdays at 11:30 over a weekend", "30 11 * * MON-FRI", at(2026, 12, 4, 12, 0),
			[]time.Time{at(2026, 12, 7, 11, 30), at(2026, 12, 8, 11, 30)}},
		{"spring forward: 02:30 does not exist, departs once at 03:00", "30 2 * * *", at(2026, 3, 28, 12, 0),
			[]time.Time{at(2026, 3, 29, 3, 0), at(2026, 3, 30, 2, 30)}},
		{"spring forward: every 20 minutes of the skipped hour are one departure", "*/20 2 * * *", at(2026, 3, 29, 1, 50),
			[]time.Time{utc(2026, 3, 29, 1, 0), at(2026, 3, 30, 2, 0)}},
		{"fall back: 02:30 happens twice, departs once", "30 2 * * *", at(2026, 10, 24, 12, 0),
			[]time.Time{utc(2026, 10, 25, 0, 30), at(2026, 10, 26, 2, 30)}},
		{"fall back: from between the two 02:30s, the next is a day later", "30 2 * * *", utc(2026, 10, 25, 0, 45),
			[]time.Time{at(2026, 10, 26, 2, 30)}},
		{"an ordinary time on a change day", "30 11 * * *", at(2026, 10, 25, 0, 0),
			[]time.Time{at(2026, 10, 25, 11, 30)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse(tt.spec, "Europe/Berlin")
			if err != nil {
				t.Fatal(err)
			}
			from := tt.from
			for i, want := range tt.wants {
				got := s.Next(from)
				if !got.Equal(want) {
					t.Fatalf("departure %d after %s = %s (%s UTC), want %s (%s UTC)", i+1, from, got, got.UTC(), want.In(berlin), want.UTC())
				}
				from = got
			}
		})
	}
	for _, bad := range [][2]string{{"30 11 * *", "UTC"}, {"61 * * * *", "UTC"}, {"30 11 * * *", "Mars/Olympus"}} {
		if _, err := Parse(bad[0], bad[1]); err == nil {
			t.Errorf("Parse(%q, %q) succeeded", bad[0], bad[1])
		}
	}
}
