package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"kuberpult/deploy"
)

var (
	qDeparture     = stmt(`SELECT body FROM departures WHERE train = ? AND slot = ?`)
	qDepartures    = stmt(`SELECT body FROM departures ORDER BY slot DESC, train LIMIT ?`)
	qDeparturesOf  = stmt(`SELECT body FROM departures WHERE train = ? ORDER BY slot DESC LIMIT ?`)
	qSaveDeparture = stmt(`INSERT INTO departures (train, slot, state, body) VALUES (?, ?, ?, ?)
		ON CONFLICT (train, slot) DO UPDATE SET state = excluded.state, body = excluded.body`)
)

func (v *view) Departure(ctx context.Context, train string, slot time.Time) (deploy.Departure, bool, error) {
	var body []byte
	err := v.r.queryRow(ctx, qDeparture, train, fmtTime(slot)).Scan(&body)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return deploy.Departure{}, false, nil
	case err != nil:
		return deploy.Departure{}, false, fmt.Errorf("read departure of train %s at %s: %w", train, fmtTime(slot), err)
	}
	d, err := decodeDeparture(body)
	if err != nil {
		return deploy.Departure{}, false, err
	}
	return d, true, nil
}

func (v *view) Departures(ctx context.Context, train string, limit int) ([]deploy.Departure, error) {
	var (
		rows *sql.Rows
		err  error
	)
	if train == "" {
		rows, err = v.r.query(ctx, qDepartures, limitArg(limit))
	} else {
		rows, err = v.r.query(ctx, qDeparturesOf, train, limitArg(limit))
	}
	if err != nil {
		return nil, fmt.Errorf("read departures: %w", err)
	}
	defer rows.Close()
	var out []deploy.Departure
	for rows.Next() {
		var body []byte
		if err := rows.Scan(&body); err != nil {
			return nil, fmt.Errorf("read departures: %w", err)
		}
		d, err := decodeDeparture(body)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read departures: %w", err)
	}
	return out, nil
}

func decodeDeparture(body []byte) (deploy.Departure, error) {
	var d deploy.Departure
	if err := json.Unmarshal(body, &d); err != nil {
		return deploy.Departure{}, fmt.Errorf("decode departure: %w", err)
	}
	return d, nil
}

// saveDeparture records d; an announcement or an end without an action id gets id.
func saveDeparture(ctx context.Context, r runner, d deploy.Departure, id int64) error {
	if d.Train == "" || d.Slot.IsZero() || d.State == "" {
		return fmt.Errorf("record departure: train %q, slot %v, state %q: all are needed", d.Train, d.Slot, d.State)
	}
	d.Slot = d.Slot.UTC()
	if d.State == deploy.DepartureAnnounced && d.Announced == 0 {
		d.Announced = id
	}
	if d.State.Final() && d.Action == 0 {
		d.Action = id
	}
	body, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("encode departure: %w", err)
	}
	if _, err := r.exec(ctx, qSaveDeparture, d.Train, fmtTime(d.Slot), string(d.State), body); err != nil {
		return fmt.Errorf("record departure of train %s at %s: %w", d.Train, fmtTime(d.Slot), err)
	}
	return nil
}
