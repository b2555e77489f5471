-- Argo CD rollouts of pushed deployments: the latest of each (environment, app), so that a
-- restart resumes those in flight and status shows the last known state.
CREATE TABLE rollouts (
    env   TEXT NOT NULL,
    app   TEXT NOT NULL,
    state TEXT NOT NULL,
    body  BLOB NOT NULL, -- the rollout as JSON
    PRIMARY KEY (env, app)
);
