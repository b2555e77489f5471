-- Scheduled release trains: one row per departure (train and slot, the time it is due) from
-- its announcement on, with who held or approved it and how it ended.
CREATE TABLE departures (
    train TEXT NOT NULL,
    slot  TEXT NOT NULL,
    state TEXT NOT NULL,
    body  BLOB NOT NULL, -- the departure as JSON
    PRIMARY KEY (train, slot)
);

CREATE INDEX departures_by_slot ON departures (slot);
