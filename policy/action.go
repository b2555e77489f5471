package policy

import "strings"

// Action is what a permission allows, with Kuberpult's names.
type Action string

// The actions a policy line may name. Approve (approving another person's pending action)
// is ours; the others are Kuberpult's.
const (
	CreateLock                   Action = "CreateLock"
	DeleteLock                   Action = "DeleteLock"
	CreateRelease                Action = "CreateRelease"
	DeployRelease                Action = "DeployRelease"
	DeployReleaseTrain           Action = "DeployReleaseTrain"
	CreateUndeploy               Action = "CreateUndeploy"
	DeployUndeploy               Action = "DeployUndeploy"
	CreateEnvironment            Action = "CreateEnvironment"
	DeleteEnvironment            Action = "DeleteEnvironment"
	DeleteEnvironmentApplication Action = "DeleteEnvironmentApplication"
	Approve                      Action = "Approve"
)

var actions = []Action{
	CreateLock, DeleteLock, CreateRelease, DeployRelease, DeployReleaseTrain, CreateUndeploy,
	DeployUndeploy, CreateEnvironment, DeleteEnvironment, DeleteEnvironmentApplication, Approve,
}

// kuberpultOnly are actions Kuberpult's policies may name that mean nothing here (its event
// queue). Lines with them load, so a Kuberpult policy.csv works as is, and are ignored.
var kuberpultOnly = map[string]bool{"SkipEslEvent": true, "RetryFailedEvent": true}

// Actions returns every action, in the order of the constants.
func Actions() []Action { return append([]Action(nil), actions...) }

// Valid reports whether a is one of the actions.
func (a Action) Valid() bool {
	for _, b := range actions {
		if a == b {
			return true
		}
	}
	return false
}

// EnvIndependent reports whether a does not depend on the environment: its policy lines are
// written <group>:* and it is checked with env *.
func (a Action) EnvIndependent() bool {
	switch a {
	case CreateRelease, CreateUndeploy, DeployUndeploy:
		return true
	}
	return false
}

func (a Action) String() string { return string(a) }

func actionList() string {
	names := make([]string, len(actions))
	for i, a := range actions {
		names[i] = string(a)
	}
	return strings.Join(names, ", ")
}
