package deploy

import "time"

// How says how a deployment came about.
type How string

const (
	HowManual   How = "manual"
	HowAuto     How = "auto"
	HowRollback How = "rollback"
	HowTrain    How = "train"
)

// Deployment says "app X on env Y should run release N": the should state.
type Deployment struct {
	Env     Env       `json:"env"`
	App     App       `json:"app"`
	Version Version   `json:"version"`
	How     How       `json:"how"`
	Actor   Actor     `json:"actor"`
	Time    time.Time `json:"time"`
	Reason  string    `json:"reason,omitempty"`
	// Commit is the env-repo commit that carried the deployment; empty until pushed,
	// or when the repo already held exactly this content.
	Commit string `json:"commit,omitempty"`
	// Pending is true while the change waits in the git outbox.
	Pending bool `json:"pending,omitempty"`
}

// Held is an automated deployment that a lock stopped. It is recorded and shown, never
// replayed by itself.
type Held struct {
	Env     Env       `json:"env"`
	App     App       `json:"app"`
	Version Version   `json:"version"`
	How     How       `json:"how"`
	Reason  string    `json:"reason"`            // "held by lock L (message)"
	LockIDs []string  `json:"lockIds,omitempty"` // the locks that held it
	Time    time.Time `json:"time"`
}
