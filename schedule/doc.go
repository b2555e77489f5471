// Package schedule reads cron specs on the wall clock of a time zone, with one rule for the
// days the clocks change. It is the only package that imports robfig/cron: train departures
// and window starts are computed with it.
package schedule
