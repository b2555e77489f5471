package schedule

import (
	"fmt"
	"time"
	_ "time/tzdata" // time zones work in minimal images without /usr/share/zoneinfo

	"github.com/robfig/cron/v3"
)

// Cron is a schedule (of train departures, of window starts): a cron spec (minute hour
// day-of-month month day-of-week, e.g. "30 11 * * MON-FRI") read on the wall clock of a time
// zone. On the days the clocks change it fires once: a time that does not exist that day
// (spring forward) fires at the first valid time after it, and a time that happens twice
// (fall back) at its first occurrence. robfig/cron alone would skip the first and fire the
// second twice.
type Cron struct {
	spec cron.Schedule
	loc  *time.Location
	text string
}

var specParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)

// Parse reads a cron spec in the time zone tz (an IANA name such as Europe/Berlin;
// "" is UTC).
func Parse(spec, tz string) (Cron, error) {
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return Cron{}, fmt.Errorf("time zone %q: %w", tz, err)
	}
	s, err := specParser.Parse(spec)
	if err != nil {
		return Cron{}, fmt.Errorf("schedule %q: %w", spec, err)
	}
	return Cron{spec: s, loc: loc, text: spec}, nil
}

// String is the cron spec as written.
func (s Cron) String() string { return s.text }

// Location is the time zone the spec is read in.
func (s Cron) Location() *time.Location {
	if s.loc == nil {
		return time.UTC
	}
	return s.loc
}

// Next returns the first time after t.
func (s Cron) Next(after time.Time) time.Time {
	w := wall(after.In(s.loc))
	for i := 0; i < 10000; i++ {
		w = s.spec.Next(w) // on a wall clock without changes: UTC
		if w.IsZero() {
			return time.Time{} // a spec that never matches (say, 30 February)
		}
		if t := s.instant(w); t.After(after) {
			return t
		}
	}
	return time.Time{}
}

// wall is t's wall-clock reading, as a UTC time.
func wall(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// instant is the first moment the clocks of s's zone show w, or, when they never do (w
// lies in the hour skipped in spring), the moment the clocks jump past it.
func (s Cron) instant(w time.Time) time.Time {
	t := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), s.loc)
	if !wall(t).Equal(w) {
		start, _ := t.ZoneBounds() // w was skipped: the zone t is in began when the clocks jumped
		return start
	}
	// A time shown twice: time.Date may pick either; take the earlier.
	for _, back := range []time.Duration{time.Hour, 30 * time.Minute, 2 * time.Hour} {
		if e := t.Add(-back); wall(e).Equal(w) {
			return e
		}
	}
	return t
}
