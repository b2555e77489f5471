package commands

import (
	"context"
	"strings"
	"time"

	"kuberpult/deploy"
)

// The command language of scheduled trains:
//
//	hold train <name> ["<reason>"] [--slot <time>]       the next departure does not run
//	hold <app> for train <name> ["<reason>"] [--slot …]  the app stays out of it
//	unhold train <name> | unhold <app> for train <name>
//	approve train <name> [--slot <time>]
//	trains
//
// --slot names one departure by its time (RFC 3339, as the announcement's buttons carry it).

// trainRef reads `train <name>` or `<app> for train <name>` and what follows.
func trainRef(verb string, pos []word) (app deploy.App, name string, rest []word, err error) {
	if len(pos) >= 3 && pos[1].is("for") && pos[2].is("train") {
		if app, err = appName(pos[0].text); err != nil {
			return "", "", nil, err
		}
		pos = pos[2:]
	}
	if len(pos) == 0 || !pos[0].is("train") {
		return "", "", nil, deploy.Invalidf("%s needs `train <name>` or `<app> for train <name>`", verb)
	}
	if len(pos) < 2 {
		return "", "", nil, deploy.Invalidf("which train? `%s train <name>`; `trains` lists them", verb)
	}
	if err := deploy.ValidateTrain(pos[1].text); err != nil {
		return "", "", nil, err
	}
	return app, pos[1].text, pos[2:], nil
}

func parseSlot(flags map[string]string) (time.Time, error) {
	v, ok := flags["slot"]
	if !ok {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, deploy.Invalidf("--slot %q is not a time such as 2026-12-01T10:30:00Z", v)
	}
	return t.UTC(), nil
}

func parseHold(args []word) (Command, error) {
	pos, flags, err := splitFlags(args, flagSpec{"slot": true})
	if err != nil {
		return nil, err
	}
	c := Hold{}
	var rest []word
	if c.App, c.Train, rest, err = trainRef("hold", pos); err != nil {
		return nil, err
	}
	if len(rest) > 1 {
		return nil, extra(rest[1:])
	}
	if len(rest) == 1 {
		c.Reason = strings.TrimSpace(rest[0].text)
	}
	c.Slot, err = parseSlot(flags)
	return c, err
}

func parseUnhold(args []word) (Command, error) {
	pos, flags, err := splitFlags(args, flagSpec{"slot": true})
	if err != nil {
		return nil, err
	}
	c := Unhold{}
	var rest []word
	if c.App, c.Train, rest, err = trainRef("unhold", pos); err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, extra(rest)
	}
	c.Slot, err = parseSlot(flags)
	return c, err
}

func parseApprove(args []word) (Command, error) {
	pos, flags, err := splitFlags(args, flagSpec{"slot": true})
	if err != nil {
		return nil, err
	}
	if len(pos) == 1 && !pos[0].is("train") && len(flags) == 0 {
		id, err := approvalID(pos[0].text)
		if err != nil {
			return nil, err
		}
		return Approve{ID: id}, nil
	}
	app, name, rest, err := trainRef("approve", pos)
	if err != nil {
		return nil, err
	}
	if app != "" {
		return nil, deploy.Invalidf("a departure is approved as a whole: `approve train %s`", name)
	}
	if len(rest) > 0 {
		return nil, extra(rest)
	}
	c := Approve{Train: name}
	c.Slot, err = parseSlot(flags)
	return c, err
}

func parseTrains(args []word) (Command, error) {
	if len(args) > 0 {
		return nil, extra(args)
	}
	return Trains{}, nil
}

// formatTrainRef writes what trainRef reads.
func formatTrainRef(add func(...string), app deploy.App, trainName string) {
	if app != "" {
		add(name(string(app)), "for")
	}
	add("train", trainName)
}

func formatSlot(add func(...string), slot time.Time) {
	if !slot.IsZero() {
		add("--slot", slot.UTC().Format(time.RFC3339))
	}
}

// listTrains answers `trains`: each schedule, its next departure and what is recorded of it,
// and how the latest one ended.
func (a *action) listTrains(ctx context.Context, v deploy.View) (Result, error) {
	rows := make([]TrainRow, 0, len(a.h.trains))
	for _, t := range a.h.trains {
		row := TrainRow{Name: t.Name, Target: t.Target, Team: t.Team, Schedule: t.Schedule.String(),
			Zone: t.Schedule.Location().String(), Before: t.AnnounceBefore, Approval: t.Approval}
		recent, err := v.Departures(ctx, t.Name, 3)
		if err != nil {
			return Result{}, err
		}
		// The next departure is the first one after now, unless one that is due is still
		// on its way (announced, not yet over).
		row.Next = t.Schedule.Next(a.now).UTC()
		for i := range recent {
			d := recent[i]
			switch {
			case !d.State.Final() && !d.Slot.After(a.now) && !a.now.After(d.Slot.Add(t.CatchUp())):
				row.Next, row.Upcoming = d.Slot, &d
			case !d.State.Final() && d.Slot.Equal(row.Next):
				row.Upcoming = &d
			case d.State.Final() && row.Last == nil:
				row.Last = &d
			}
		}
		rows = append(rows, row)
	}
	return Result{Outcome: deploy.OutcomeDone, Trains: rows}, nil
}
