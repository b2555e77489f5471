-- Releases by their source commit (Kuberpult's commit-deployments endpoint).
CREATE INDEX releases_by_commit ON releases (source_commit_id);
