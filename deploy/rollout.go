package deploy

import "time"

// RolloutState is how Argo CD's rollout of a pushed deployment stands, in Kuberpult's terms.
type RolloutState string

const (
	RolloutPending     RolloutState = "pending"     // Argo CD does not run the pushed commit yet
	RolloutProgressing RolloutState = "progressing" // syncing, or not healthy yet
	RolloutSuccessful  RolloutState = "successful"  // healthy at the commit for the soak time
	RolloutError       RolloutState = "error"       // Argo CD's sync operation failed
	RolloutUnhealthy   RolloutState = "unhealthy"   // degraded or missing at the commit for the soak time
	RolloutTimeout     RolloutState = "timeout"     // none of the above within the timeout
	RolloutSuperseded  RolloutState = "superseded"  // a newer deployment of the same app and environment
	RolloutUnknown     RolloutState = "unknown"     // Argo CD could not be asked; Message says why
)

// Final reports whether the rollout is over: nothing it does later changes the state.
func (s RolloutState) Final() bool {
	switch s {
	case RolloutSuccessful, RolloutError, RolloutUnhealthy, RolloutTimeout, RolloutSuperseded:
		return true
	}
	return false
}

// Rollout follows one pushed deployment (app version on env, carried by commit in action
// ActionID) until Argo CD runs it healthily, fails, or the time is up.
type Rollout struct {
	Env      Env          `json:"env"`
	App      App          `json:"app"`
	Version  Version      `json:"version"`
	Commit   string       `json:"commit"`
	ActionID int64        `json:"actionId"`
	State    RolloutState `json:"state"`
	Message  string       `json:"message,omitempty"` // Argo CD's words, or why it could not be asked
	Pushed   time.Time    `json:"pushed"`            // when the commit was pushed: the timeout counts from here
	Checked  time.Time    `json:"checked,omitzero"`  // when Argo CD was last asked
	Changed  time.Time    `json:"changed,omitzero"`  // when State last changed
	// Health is the health Argo CD last reported at the commit, and Steady since when it has
	// reported it without a change: the soak time counts from there.
	Health string    `json:"health,omitempty"`
	Steady time.Time `json:"steady,omitzero"`
}
