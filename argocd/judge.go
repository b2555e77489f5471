package argocd

import (
	"fmt"
	"time"

	"kuberpult/deploy"
)

// Timing is how long a rollout is given: Soak is how long an Application must stay healthy
// (or unhealthy) at the pushed commit before that counts, Timeout how long after the push
// the rollout may take at all.
type Timing struct {
	Soak    time.Duration
	Timeout time.Duration
}

// Defaults of Timing.
const (
	DefaultSoak           = time.Minute
	DefaultRolloutTimeout = 15 * time.Minute
)

// Judge is the rollout r as Argo CD's Application app shows it at now, by Kuberpult's
// mapping: not yet at the commit → pending; the sync operation at it failed → error;
// out of sync → progressing; degraded or missing → unhealthy once that lasted the soak
// time (progressing before); progressing or suspended → progressing; healthy → successful
// once that lasted the soak time. A rollout that is not over by the timeout times out.
// at reports whether a revision Argo CD reports is r's commit or a later one of the env
// repo (Argo CD reports the branch head it read). A final rollout stays as it is.
func Judge(r deploy.Rollout, app Application, now time.Time, t Timing, at func(revision string) bool) deploy.Rollout {
	if r.State.Final() {
		return r
	}
	before := r.State
	r.Checked = now
	arrived := false
	for _, rev := range app.Revisions() {
		arrived = arrived || at(rev)
	}
	health := app.Status.Health.Status
	switch {
	case !arrived:
		r.State, r.Health, r.Steady = deploy.RolloutPending, "", time.Time{}
		r.Message = fmt.Sprintf("Argo CD runs %s, not yet %s", revisionText(app), short(r.Commit))
	case failedAt(app, r, at):
		r.State, r.Message = deploy.RolloutError, app.Status.OperationState.Message
	case app.Status.Sync.Status == OutOfSync: // health counts only once in sync
		r.State, r.Message, r.Health, r.Steady = deploy.RolloutProgressing, "out of sync", "", time.Time{}
	default:
		if string(health) != r.Health || r.Steady.IsZero() {
			r.Health, r.Steady = string(health), now
		}
		steady := now.Sub(r.Steady)
		switch {
		case health == Degraded || health == Missing:
			r.State, r.Message = deploy.RolloutProgressing, fmt.Sprintf("%s for %s", health, steady.Round(time.Second))
			if steady >= t.Soak {
				r.State = deploy.RolloutUnhealthy
			}
			if m := app.Status.Health.Message; m != "" {
				r.Message += ": " + m
			}
		case health == Progressing || health == Suspended:
			r.State, r.Message = deploy.RolloutProgressing, string(health)
		case health == Healthy:
			r.State, r.Message = deploy.RolloutProgressing, fmt.Sprintf("healthy for %s", steady.Round(time.Second))
			if steady >= t.Soak {
				r.State, r.Message = deploy.RolloutSuccessful, "healthy"
			}
		default:
			r.State, r.Message = deploy.RolloutUnknown, fmt.Sprintf("health %q", health)
		}
	}
	if !r.State.Final() && t.Timeout > 0 && now.Sub(r.Pushed) >= t.Timeout {
		r.State = deploy.RolloutTimeout
		r.Message = fmt.Sprintf("not healthy at %s within %s (last: %s)", short(r.Commit), t.Timeout, r.Message)
	}
	if r.State != before {
		r.Changed = now
	}
	return r
}

// failedAt reports whether Argo CD's last sync operation failed, for r: at its commit (or a
// later one), or started after the push.
func failedAt(app Application, r deploy.Rollout, at func(string) bool) bool {
	op := app.Status.OperationState
	if op == nil || (op.Phase != PhaseFailed && op.Phase != PhaseError) {
		return false
	}
	if !op.StartedAt.IsZero() && !op.StartedAt.Before(r.Pushed) {
		return true
	}
	if res := op.SyncResult; res != nil {
		if at(res.Revision) {
			return true
		}
		for _, rev := range res.Revisions {
			if at(rev) {
				return true
			}
		}
	}
	return false
}

// Unreachable is r when Argo CD could not be asked at now: unknown with the reason, or
// timed out.
func Unreachable(r deploy.Rollout, err error, now time.Time, t Timing) deploy.Rollout {
	if r.State.Final() {
		return r
	}
	before := r.State
	r.Checked, r.State, r.Message = now, deploy.RolloutUnknown, "Argo CD: "+err.Error()
	r.Health, r.Steady = "", time.Time{} // the soak time starts again once Argo CD answers
	if t.Timeout > 0 && now.Sub(r.Pushed) >= t.Timeout {
		r.State = deploy.RolloutTimeout
		r.Message = fmt.Sprintf("no answer from Argo CD within %s: %v", t.Timeout, err)
	}
	if r.State != before {
		r.Changed = now
	}
	return r
}

func revisionText(app Application) string {
	revs := app.Revisions()
	if len(revs) == 0 {
		return "no revision yet"
	}
	return short(revs[0])
}

func short(commit string) string {
	if len(commit) > 7 {
		return commit[:7]
	}
	return commit
}
