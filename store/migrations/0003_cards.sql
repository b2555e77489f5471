-- Chat: the card of each action (channel and ts of its thread root) and what renders it, so
-- that cards are updated and threads continued after a restart; and the reminders sent, so
-- that none is sent twice.
CREATE TABLE cards (
    action_id INTEGER PRIMARY KEY,
    channel   TEXT NOT NULL,
    ts        TEXT NOT NULL,
    body      BLOB NOT NULL,
    at        TEXT NOT NULL
);

CREATE TABLE reminders (
    reminder TEXT PRIMARY KEY, -- the adapter's name for what it reminded of, once
    sent_at  TEXT NOT NULL
);
