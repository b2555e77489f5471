package commands

import (
	"context"
	"fmt"

	"kuberpult/deploy"
)

// SyncEnvironments records every environment's configuration and queues a write of its
// config.json, so the env repo follows the configuration (for example after an environment
// was added or its sync windows changed). The git writer renders the Argo CD files of these
// environments again from what its tree holds, and makes no commit when nothing differs.
func (h *Handler) SyncEnvironments(ctx context.Context, via deploy.Via) error {
	r := Request{Actor: deploy.System, Via: via, Text: "sync environments"}
	res := h.act(ctx, r, "sync", "", func(ctx context.Context, a *action, v deploy.View) (Result, deploy.Change, error) {
		rc := &deploy.RepoChange{Message: "update environment configuration\n\nWritten from the Kuberpult configuration file.\n",
			Author: deploy.System, Time: a.now}
		for _, env := range h.envs.Names() {
			rc.Configs = append(rc.Configs, deploy.EnvConfigChange{Env: env, Config: h.envs[env]})
		}
		return Result{Outcome: deploy.OutcomeDone, Targets: h.envs.Names()},
			deploy.Change{EnvConfigs: rc.Configs, Repo: rc}, nil
	})
	if res.Problem != nil {
		return fmt.Errorf("sync environments: %w", res.Err)
	}
	return nil
}
