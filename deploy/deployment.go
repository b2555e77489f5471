package deploy

import (
	"fmt"
	"time"
)

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
	// ActionID is the action that made the deployment.
	ActionID int64 `json:"actionId,omitempty"`
	// Commit is the env-repo commit that carries the deployment; empty until pushed.
	Commit string `json:"commit,omitempty"`
	// Pending is true while the change waits in the git outbox.
	Pending bool `json:"pending,omitempty"`
	// Failed is true when the git writer could not apply the change (see the outbox).
	Failed bool `json:"failed,omitempty"`
	// Undeploy: Version is the app's undeploy version; the app is gone from Env.
	Undeploy bool `json:"undeploy,omitempty"`
}

// HeldByKind is what holds an automated deployment back.
type HeldByKind string

const (
	// HeldByLock: a lock. Never replayed by itself: unlocking never deploys.
	HeldByLock HeldByKind = "lock"
	// HeldByWindow: a time window. Replayed when the window closes.
	HeldByWindow HeldByKind = "window"
)

// HeldBy is one thing that holds an automated deployment back.
type HeldBy struct {
	Kind    HeldByKind `json:"kind"`
	Lock    *LockKey   `json:"lock,omitempty"`    // HeldByLock
	Message string     `json:"message,omitempty"` // the lock's message, when it held
	Window  string     `json:"window,omitempty"`  // HeldByWindow: the window's name
	Until   time.Time  `json:"until,omitempty"`   // HeldByWindow: when it closes
}

// Held is an automated deployment that a lock (or a window) stopped. It is recorded and
// shown; one held by a lock is never replayed by itself.
type Held struct {
	Env     Env       `json:"env"`
	App     App       `json:"app"`
	Version Version   `json:"version"`
	How     How       `json:"how"`
	By      []HeldBy  `json:"by"`
	Reason  string    `json:"reason"` // "auto-deploy of checkout 2 to staging held by env lock `x` (\"msg\")"
	Time    time.Time `json:"time"`
}

// HeldByLocks records that locks stopped an automated deployment of app version v to env.
// ls must not be empty; the first lock is named in the reason.
func HeldByLocks(env Env, app App, v Version, how How, ls []Lock, now time.Time) Held {
	h := Held{Env: env, App: app, Version: v, How: how, Time: now}
	for _, l := range ls {
		k := l.Key()
		h.By = append(h.By, HeldBy{Kind: HeldByLock, Lock: &k, Message: l.Message})
	}
	if len(ls) > 0 {
		h.Reason = fmt.Sprintf("%s of %s %s to %s held by %s lock `%s` (%q)", howWord(how), app, v, env, ls[0].Kind, ls[0].ID, ls[0].Message)
	}
	return h
}

// LockIDs returns the ids of the locks that held it, in order.
func (h Held) LockIDs() []string {
	var out []string
	for _, b := range h.By {
		if b.Kind == HeldByLock && b.Lock != nil {
			out = append(out, b.Lock.ID)
		}
	}
	return out
}

func howWord(h How) string {
	switch h {
	case HowAuto:
		return "auto-deploy"
	case HowTrain:
		return "release train deployment"
	}
	return string(h) + " deployment"
}
