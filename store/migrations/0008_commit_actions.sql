-- The actions by the env-repo commit that carried them, so that the Argo CD tracker can tell
-- whether a commit Argo CD reports is at or after the one it waits for, also after a restart.
CREATE INDEX audit_by_commit ON audit (commit_hash);
