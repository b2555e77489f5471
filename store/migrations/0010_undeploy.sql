-- Undeploy versions: a release marked as one has an empty manifest for every environment,
-- and deploying it removes the app there.
ALTER TABLE releases ADD COLUMN undeploy INTEGER NOT NULL DEFAULT 0;
