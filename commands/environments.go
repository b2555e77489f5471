package commands

import (
	"context"
	"fmt"

	"kuberpult/deploy"
)

// SyncEnvironments queues a write of every environment's config.json and Argo CD file, so
// the env repo follows the configuration (for example after an environment was added or its
// sync windows changed). The git writer makes no commit when nothing differs.
func (h *Handler) SyncEnvironments(ctx context.Context, via deploy.Via) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	st, err := h.store.State(ctx)
	if err != nil {
		return fmt.Errorf("sync environments: %w", err)
	}
	now := h.now().UTC()
	repo := &deploy.RepoChange{Message: "update environment configuration\n\nWritten from the Kuberpult configuration file.\n",
		Author: deploy.System, Time: now}
	for _, env := range h.envs.Names() {
		repo.Envs = append(repo.Envs, deploy.EnvFiles{Env: env, Config: h.envs[env], Apps: st.ArgoApps(env)})
	}
	change := deploy.Change{Repo: repo, Audit: deploy.AuditEntry{Time: now, Actor: deploy.System, Via: via,
		Command: "sync environments", Outcome: deploy.OutcomeDone, Detail: fmt.Sprintf("%d environments", len(repo.Envs))}}
	if _, err := h.store.Apply(ctx, change); err != nil {
		return fmt.Errorf("sync environments: %w", err)
	}
	h.notify()
	return nil
}
