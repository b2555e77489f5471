-- One transaction per action: every row an action writes carries its action id (the id of its
-- audit entry), the outbox holds deltas keyed by action id and is pruned once pushed, and new
-- tables hold apps, environment configs, idempotency records, the writer lease and the
-- commits the git writer built. Existing data is carried over:
--   * apps from the releases (latest version; team of the newest release naming one);
--   * deployments and their history get the action id of the outbox entry they linked to;
--   * pushed outbox entries leave their commit on the deployments, history and audit rows
--     that referenced them and are deleted; pending ones are renumbered to their action id and
--     rewritten as deltas (each manifest with the version its action deployed, each env's
--     config; the env's app list is dropped: the writer derives it from its tree);
--   * held attempts keep their rows; their lock ids become "held by" entries.
-- Tables that referenced outbox(id) are rebuilt without that column, so pruning is never
-- stopped by a foreign key.

CREATE TABLE apps (
    app    TEXT    PRIMARY KEY,
    team   TEXT    NOT NULL DEFAULT '',
    latest INTEGER NOT NULL
);

INSERT INTO apps (app, team, latest)
SELECT r.app,
       coalesce((SELECT t.team FROM releases t WHERE t.app = r.app AND t.team <> ''
                 ORDER BY t.version DESC LIMIT 1), ''),
       max(r.version)
FROM releases r GROUP BY r.app;

-- The configuration of each environment, as the git writer renders its Argo CD files.
CREATE TABLE env_configs (
    env    TEXT PRIMARY KEY,
    config TEXT NOT NULL -- JSON of deploy.EnvConfig
);

-- Idempotency: the first outcome of each request key.
CREATE TABLE requests (
    request_key TEXT    PRIMARY KEY,
    fingerprint TEXT    NOT NULL,
    action_id   INTEGER NOT NULL,
    result      BLOB    NOT NULL,
    at          TEXT    NOT NULL
);

CREATE INDEX requests_at ON requests (at);

-- Who may write the env repo; epoch grows with every new holder and fences stale writers.
CREATE TABLE leases (
    name       TEXT    PRIMARY KEY,
    holder     TEXT    NOT NULL, -- '' once released
    priority   INTEGER NOT NULL,
    epoch      INTEGER NOT NULL,
    expires_at TEXT    NOT NULL
);

-- Commits the git writer built for outbox entries before pushing them; pruned with the entry.
CREATE TABLE outbox_builds (
    id          INTEGER PRIMARY KEY,
    outbox_id   INTEGER NOT NULL,
    commit_hash TEXT    NOT NULL,
    base        TEXT    NOT NULL,
    epoch       INTEGER NOT NULL
);

CREATE INDEX outbox_builds_entry ON outbox_builds (outbox_id, id);

-- Old outbox entries and the actions (audit entries) that made them. Every old entry has one;
-- should one not, an audit entry is made for it so that it keeps its place in the queue.
INSERT INTO audit (at, actor_kind, actor_id, actor_name, actor_email, via, command, outcome, outbox_id)
SELECT o.created_at, 'system', 'kuberpult', 'kuberpult', 'kuberpult@localhost', '',
       'outbox entry ' || o.id || ' (migrated)', 'done', o.id
FROM outbox o
WHERE o.done = 0 AND NOT EXISTS (SELECT 1 FROM audit a WHERE a.outbox_id = o.id)
ORDER BY o.id;

CREATE TEMP TABLE outbox_action (
    outbox_id   INTEGER PRIMARY KEY,
    action_id   INTEGER NOT NULL,
    done        INTEGER NOT NULL,
    commit_hash TEXT    NOT NULL
);

INSERT INTO outbox_action (outbox_id, action_id, done, commit_hash)
SELECT o.id, (SELECT min(a.id) FROM audit a WHERE a.outbox_id = o.id), o.done, o.commit_hash
FROM outbox o
WHERE EXISTS (SELECT 1 FROM audit a WHERE a.outbox_id = o.id);

-- The current deployment of each (env, app).
CREATE TABLE deployments_new (
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
    action_id   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (env, app)
);

INSERT INTO deployments_new (env, app, version, how, actor_kind, actor_id, actor_name, actor_email,
    deployed_at, reason, commit_hash, action_id)
SELECT d.env, d.app, d.version, d.how, d.actor_kind, d.actor_id, d.actor_name, d.actor_email,
       d.deployed_at, d.reason,
       CASE WHEN m.done = 1 AND m.commit_hash <> '' THEN m.commit_hash ELSE d.commit_hash END,
       coalesce(m.action_id, 0)
FROM deployments d LEFT JOIN outbox_action m ON m.outbox_id = d.outbox_id;

DROP TABLE deployments;
ALTER TABLE deployments_new RENAME TO deployments;
CREATE INDEX deployments_action ON deployments (action_id);
CREATE INDEX deployments_app ON deployments (app);

-- Every deployment ever made, in the order they were made.
CREATE TABLE deployment_history_new (
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
    action_id   INTEGER NOT NULL DEFAULT 0
);

INSERT INTO deployment_history_new (id, env, app, version, how, actor_kind, actor_id, actor_name,
    actor_email, deployed_at, reason, commit_hash, action_id)
SELECT d.id, d.env, d.app, d.version, d.how, d.actor_kind, d.actor_id, d.actor_name, d.actor_email,
       d.deployed_at, d.reason,
       CASE WHEN m.done = 1 AND m.commit_hash <> '' THEN m.commit_hash ELSE d.commit_hash END,
       coalesce(m.action_id, 0)
FROM deployment_history d LEFT JOIN outbox_action m ON m.outbox_id = d.outbox_id
ORDER BY d.id;

DROP TABLE deployment_history;
ALTER TABLE deployment_history_new RENAME TO deployment_history;
CREATE INDEX deployment_history_app ON deployment_history (app, id);
CREATE INDEX deployment_history_app_env ON deployment_history (app, env, id);
CREATE INDEX deployment_history_action ON deployment_history (action_id);

-- Every command, click and API call with its outcome. Its id is the action id.
CREATE TABLE audit_new (
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
    commit_hash TEXT    NOT NULL DEFAULT ''
);

INSERT INTO audit_new (id, at, actor_kind, actor_id, actor_name, actor_email, via, command, env,
    app, outcome, detail, commit_hash)
SELECT a.id, a.at, a.actor_kind, a.actor_id, a.actor_name, a.actor_email, a.via, a.command, a.env,
       a.app, a.outcome, a.detail,
       CASE WHEN m.done = 1 AND m.commit_hash <> '' THEN m.commit_hash ELSE a.commit_hash END
FROM audit a LEFT JOIN outbox_action m ON m.outbox_id = a.outbox_id
ORDER BY a.id;

DROP TABLE audit;
ALTER TABLE audit_new RENAME TO audit;
CREATE INDEX audit_at ON audit (at);
CREATE INDEX audit_env ON audit (env, id);

-- Automated deployments a lock or a window stopped: at most one per (env, app).
CREATE TABLE held_new (
    env      TEXT    NOT NULL,
    app      TEXT    NOT NULL,
    version  INTEGER NOT NULL,
    how      TEXT    NOT NULL,
    reason   TEXT    NOT NULL DEFAULT '',
    held_by  TEXT    NOT NULL DEFAULT 'null', -- JSON of []deploy.HeldBy
    held_at  TEXT    NOT NULL,
    PRIMARY KEY (env, app)
);

-- An old row knows only the ids of its locks: a lock in force with that id on that env gives
-- the kind (the one that applies to the app first), else it is taken for an env lock.
INSERT INTO held_new (env, app, version, how, reason, held_by, held_at)
SELECT h.env, h.app, h.version, h.how, h.reason,
       CASE WHEN h.lock_ids IN ('', 'null', '[]') OR NOT json_valid(h.lock_ids)
                 OR json_type(h.lock_ids) <> 'array' THEN 'null'
       ELSE (SELECT json_group_array(json_object('kind', 'lock', 'lock', json(coalesce(
                (SELECT json_object('kind', l.kind, 'id', l.lock_id, 'env', l.env, 'app', l.app, 'team', l.team)
                 FROM locks l
                 WHERE l.env = h.env AND l.lock_id = j.value
                 ORDER BY CASE WHEN l.kind = 'env' OR (l.kind = 'app' AND l.app = h.app)
                                    OR (l.kind = 'team' AND l.team = (SELECT p.team FROM apps p WHERE p.app = h.app))
                               THEN 0 ELSE 1 END,
                          CASE l.kind WHEN 'env' THEN 0 WHEN 'app' THEN 1 ELSE 2 END, l.app, l.team
                 LIMIT 1),
                json_object('kind', 'env', 'id', j.value, 'env', h.env)))) ORDER BY j.key)
             FROM json_each(h.lock_ids) j WHERE j.type = 'text')
       END,
       h.held_at
FROM held h;

DROP TABLE held;
ALTER TABLE held_new RENAME TO held;

CREATE INDEX locks_env ON locks (env);

-- One row per accepted env-repo change that is not pushed yet: pending, or set aside as
-- failed. Its id is the action id; the git writer drains pending rows in id order.
CREATE TABLE outbox_new (
    id            INTEGER PRIMARY KEY,
    repo_change   TEXT    NOT NULL, -- JSON of deploy.RepoChange
    created_at    TEXT    NOT NULL,
    state         TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'failed')),
    failed_reason TEXT    NOT NULL DEFAULT '',
    failed_at     TEXT    NOT NULL DEFAULT ''
);

INSERT INTO outbox_new (id, repo_change, created_at)
SELECT m.action_id,
       CASE WHEN json_valid(o.repo_change) AND json_type(o.repo_change) = 'object'
                 AND coalesce(json_type(o.repo_change, '$.envs'), 'null') IN ('array', 'null') THEN json_object(
           'message', coalesce(o.repo_change ->> '$.message', ''),
           'author', json(coalesce(o.repo_change -> '$.author', '{}')),
           'time', o.repo_change ->> '$.time',
           'manifests', json((SELECT nullif(json_group_array(json_object(
                    'env', e.value ->> '$.env',
                    'app', f.value ->> '$.app',
                    'version', CASE WHEN f.value ->> '$.remove' THEN 0 ELSE coalesce(
                        (SELECT h.version FROM deployment_history h
                         WHERE h.action_id = m.action_id AND h.env = e.value ->> '$.env'
                               AND h.app = f.value ->> '$.app'
                         ORDER BY h.id DESC LIMIT 1), 0) END,
                    'manifest', coalesce(f.value ->> '$.manifest', ''),
                    'remove', json(CASE WHEN f.value ->> '$.remove' THEN 'true' ELSE 'false' END))
                    ORDER BY e.key, f.key), '[]')
                FROM json_each(o.repo_change, '$.envs') e, json_each(e.value, '$.manifests') f
                WHERE e.type = 'object' AND f.type = 'object')),
           'configs', json((SELECT nullif(json_group_array(json_object(
                    'env', e.value ->> '$.env',
                    'config', json(coalesce(e.value -> '$.config', '{}'))) ORDER BY e.key), '[]')
                FROM json_each(o.repo_change, '$.envs') e WHERE e.type = 'object')))
       ELSE o.repo_change END,
       o.created_at
FROM outbox o JOIN outbox_action m ON m.outbox_id = o.id
WHERE o.done = 0
ORDER BY o.id;

DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_pending ON outbox (id) WHERE state = 'pending';
CREATE INDEX outbox_failed ON outbox (id) WHERE state = 'failed';

DROP TABLE outbox_action;
