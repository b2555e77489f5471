-- Rollouts by action, so that other followers (GitHub Deployments) can join them.
ALTER TABLE rollouts ADD COLUMN action_id INTEGER NOT NULL DEFAULT 0;
UPDATE rollouts SET action_id = coalesce(json_extract(body, '$.actionId'), 0);

-- The GitHub Deployment of each pushed (env, app) deployment: what it should show (want) and
-- what GitHub was told (shown); a reporter works on the rows where they differ.
CREATE TABLE github_deployments (
    action_id     INTEGER NOT NULL,
    env           TEXT    NOT NULL,
    app           TEXT    NOT NULL,
    version       INTEGER NOT NULL,
    source_commit TEXT    NOT NULL,
    env_commit    TEXT    NOT NULL,
    github_id     INTEGER NOT NULL DEFAULT 0,
    want          TEXT    NOT NULL,
    shown         TEXT    NOT NULL DEFAULT '',
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_try      TEXT    NOT NULL,
    error         TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (env, app, action_id)
);
CREATE INDEX github_deployments_due ON github_deployments (next_try) WHERE want <> shown;
CREATE INDEX github_deployments_in_progress ON github_deployments (env, app) WHERE want = 'in_progress';
