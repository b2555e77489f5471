-- Approval requests: a person's command that a window holds until someone else approves it.
CREATE TABLE approvals (
    id    TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    body  BLOB NOT NULL -- the approval as JSON
);
