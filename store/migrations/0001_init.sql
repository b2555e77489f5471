-- Releases, deployments, held attempts, locks, the git outbox and the audit log.
-- Times are UTC text of fixed width (2006-01-02T15:04:05.000000000Z), so they sort as text.
-- Actors are four columns: kind, id, name, email.

CREATE TABLE releases (
    app                TEXT    NOT NULL,
    version            INTEGER NOT NULL,
    display_version    TEXT    NOT NULL DEFAULT '',
    team               TEXT    NOT NULL DEFAULT '',
    source_commit_id   TEXT    NOT NULL DEFAULT '',
    previous_commit_id TEXT    NOT NULL DEFAULT '',
    source_author      TEXT    NOT NULL DEFAULT '',
    source_message     TEXT    NOT NULL DEFAULT '',
    ci_link            TEXT    NOT NULL DEFAULT '',
    created_at         TEXT    NOT NULL,
    created_by_kind    TEXT    NOT NULL,
    created_by_id      TEXT    NOT NULL,
    created_by_name    TEXT    NOT NULL,
    created_by_email   TEXT    NOT NULL,
    PRIMARY KEY (app, version)
);

CREATE TABLE release_manifests (
    app     TEXT    NOT NULL,
    version INTEGER NOT NULL,
    env     TEXT    NOT NULL,
    content TEXT    NOT NULL,
    PRIMARY KEY (app, version, env),
    FOREIGN KEY (app, version) REFERENCES releases (app, version) ON DELETE CASCADE
);

-- One row per accepted env-repo change, drained in id order by the git writer.
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    repo_change TEXT    NOT NULL, -- JSON of deploy.RepoChange
    created_at  TEXT    NOT NULL,
    done        INTEGER NOT NULL DEFAULT 0,
    commit_hash TEXT    NOT NULL DEFAULT ''
);

CREATE INDEX outbox_pending ON outbox (id) WHERE done = 0;

-- The current deployment of each (env, app).
CREATE TABLE deployments (
    env         TEXT    NOT NULL,
    app         TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    how         TEXT    NOT NULL,
    actor_kind  TEXT    NOT NULL,
    actor_id    TEXT    NOT NULL,
    actor_name  TEXT    NOT NULL,
    actor_email TEXT    NOT NULL,
    deployed_at TEXT    NOT NULL,
    reason      TEXT    NOT NULL DEFAULT '',
    commit_hash TEXT    NOT NULL DEFAULT '',
    outbox_id   INTEGER REFERENCES outbox (id),
    PRIMARY KEY (env, app)
);

CREATE INDEX deployments_outbox ON deployments (outbox_id);

-- Every deployment ever made, in the order they were made.
CREATE TABLE deployment_history (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    env         TEXT    NOT NULL,
    app         TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    how         TEXT    NOT NULL,
    actor_kind  TEXT    NOT NULL,
    actor_id    TEXT    NOT NULL,
    actor_name  TEXT    NOT NULL,
    actor_email TEXT    NOT NULL,
    deployed_at TEXT    NOT NULL,
    reason      TEXT    NOT NULL DEFAULT '',
    commit_hash TEXT    NOT NULL DEFAULT '',
    outbox_id   INTEGER REFERENCES outbox (id)
);

CREATE INDEX deployment_history_app ON deployment_history (app, id);
CREATE INDEX deployment_history_outbox ON deployment_history (outbox_id);

-- Automated deployments a lock stopped: at most one per (env, app).
CREATE TABLE held (
    env      TEXT    NOT NULL,
    app      TEXT    NOT NULL,
    version  INTEGER NOT NULL,
    how      TEXT    NOT NULL,
    reason   TEXT    NOT NULL DEFAULT '',
    lock_ids TEXT    NOT NULL DEFAULT '', -- JSON array, '' for none
    held_at  TEXT    NOT NULL,
    PRIMARY KEY (env, app)
);

-- The locks in force. app and team are '' where the kind does not use them.
CREATE TABLE locks (
    kind               TEXT NOT NULL,
    lock_id            TEXT NOT NULL,
    env                TEXT NOT NULL,
    app                TEXT NOT NULL DEFAULT '',
    team               TEXT NOT NULL DEFAULT '',
    message            TEXT NOT NULL DEFAULT '',
    suggested_lifetime TEXT NOT NULL DEFAULT '',
    author_kind        TEXT NOT NULL,
    author_id          TEXT NOT NULL,
    author_name        TEXT NOT NULL,
    author_email       TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    PRIMARY KEY (kind, env, lock_id, app, team)
);

-- Every lock ever created; deleted_* are set when it was deleted or replaced.
CREATE TABLE lock_history (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    kind               TEXT NOT NULL,
    lock_id            TEXT NOT NULL,
    env                TEXT NOT NULL,
    app                TEXT NOT NULL DEFAULT '',
    team               TEXT NOT NULL DEFAULT '',
    message            TEXT NOT NULL DEFAULT '',
    suggested_lifetime TEXT NOT NULL DEFAULT '',
    author_kind        TEXT NOT NULL,
    author_id          TEXT NOT NULL,
    author_name        TEXT NOT NULL,
    author_email       TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    deleted_by_kind    TEXT,
    deleted_by_id      TEXT,
    deleted_by_name    TEXT,
    deleted_by_email   TEXT,
    deleted_at         TEXT
);

CREATE INDEX lock_history_env ON lock_history (env, id);
CREATE INDEX lock_history_key ON lock_history (kind, env, lock_id, app, team);

-- Every command, click and API call with its outcome.
CREATE TABLE audit (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT    NOT NULL,
    actor_kind  TEXT    NOT NULL,
    actor_id    TEXT    NOT NULL,
    actor_name  TEXT    NOT NULL,
    actor_email TEXT    NOT NULL,
    via         TEXT    NOT NULL DEFAULT '',
    command     TEXT    NOT NULL DEFAULT '',
    env         TEXT    NOT NULL DEFAULT '',
    app         TEXT    NOT NULL DEFAULT '',
    outcome     TEXT    NOT NULL DEFAULT '',
    detail      TEXT    NOT NULL DEFAULT '',
    commit_hash TEXT    NOT NULL DEFAULT '',
    outbox_id   INTEGER REFERENCES outbox (id)
);

CREATE INDEX audit_at ON audit (at);
CREATE INDEX audit_outbox ON audit (outbox_id);
