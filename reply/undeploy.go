package reply

import (
	"fmt"
	"strings"

	"kuberpult/commands"
	"kuberpult/deploy"
)

// undeployText answers both steps of undeploy.
func undeployText(r commands.Result) string {
	if r.Release != nil { // the first step: the undeploy version
		var b strings.Builder
		fmt.Fprintf(&b, "🗑️ Prepared the undeploy version of %s: %s. Deploying it removes %s from an environment (its directory and Argo CD Application).", r.App, r.Label, r.App)
		if len(r.Deployed) > 0 {
			fmt.Fprintf(&b, "\nRemoved from %s at once (upstream latest).", joinEnvs(envsOfDeployed(r.Deployed)))
		}
		for _, h := range r.Held {
			fmt.Fprintf(&b, "\nHeld: %s", h.Reason)
		}
		fmt.Fprintf(&b, "\nTrains take it downstream like any release. Once it runs everywhere, `undeploy %s --confirm` deletes %s.", r.App, r.App)
		return b.String()
	}
	if r.Outcome == deploy.OutcomeNoop {
		if len(r.Removed) == 0 && r.Label != "" {
			return fmt.Sprintf("%s's undeploy version %s is prepared already; once it runs everywhere, `undeploy %s --confirm` deletes it.", r.App, r.Label, r.App)
		}
		return fmt.Sprintf("%s runs nowhere and has no locks: there is nothing left to delete.", r.App)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "🗑️ Deleted %s", r.App)
	if len(r.Removed) > 0 {
		fmt.Fprintf(&b, " from %s", joinEnvs(r.Removed))
	}
	b.WriteString(".")
	if len(r.Unlocked) > 0 {
		fmt.Fprintf(&b, "\nRemoved its locks:\n%s", lockLines(r.Unlocked, r.At))
	}
	fmt.Fprintf(&b, "\n`history %s` still shows what ran where; a new release brings it back.", r.App)
	return b.String()
}

func removeText(r commands.Result) string {
	if r.Outcome == deploy.OutcomeNoop {
		return fmt.Sprintf("%s does not run on %s: there is nothing to remove.", r.App, joinEnvs(r.Targets))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "🗑️ Removed %s (was %s) from %s: its directory and Argo CD Application are gone.", r.App, r.Label, joinEnvs(r.Removed))
	if len(r.Ignored) > 0 {
		fmt.Fprintf(&b, "\nIgnored locks:\n%s", lockLines(r.Ignored, r.At))
	}
	b.WriteString(insideText(r))
	fmt.Fprintf(&b, "\nIts releases no longer have a manifest for %s, so no train or auto-deploy brings it back; a newer release with one does.", joinEnvs(r.Removed))
	return b.String()
}

// undeployPrompt is the question of a destructive step: what will disappear.
func undeployPrompt(r commands.Result) (string, bool) {
	c := r.Confirm
	switch cmd := c.Command.(type) {
	case commands.Undeploy:
		s := fmt.Sprintf("⚠️ This deletes %s", cmd.App)
		if len(c.Envs) > 0 {
			s += fmt.Sprintf(": its directories and Argo CD Applications on %s (Argo CD deletes what they run), its deployments", joinEnvs(c.Envs))
		}
		if len(c.Locks) > 0 {
			s += fmt.Sprintf(", and its locks:\n%s\n", lockLines(c.Locks, r.At))
		} else {
			s += ". "
		}
		return s + fmt.Sprintf("Its history stays. Delete %s?", cmd.App), true
	case commands.Remove:
		s := fmt.Sprintf("⚠️ This removes %s %s from %s: its directory and Argo CD Application (Argo CD deletes what it runs there).", cmd.App, r.Label, cmd.Env)
		if len(c.Locks) > 0 {
			s += fmt.Sprintf("\nLocks stand in the way:\n%s", lockLines(c.Locks, r.At))
		}
		return s + fmt.Sprintf("\nRemove %s from %s?", cmd.App, cmd.Env), true
	}
	return "", false
}

func envsOfDeployed(ds []commands.Deployed) []deploy.Env {
	out := make([]deploy.Env, len(ds))
	for i, d := range ds {
		out[i] = d.Env
	}
	return out
}
