package argocd

import (
	"strings"
	"time"

	"kuberpult/deploy"
)

// Application is an Argo CD Application as the API returns it, trimmed to what Kuberpult
// reads. The JSON names are Argo CD's.
type Application struct {
	Metadata Metadata `json:"metadata"`
	Spec     Spec     `json:"spec"`
	Status   Status   `json:"status"`
}

// Metadata is the part of Kubernetes' object metadata we read.
type Metadata struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Spec is the desired state of an Application.
type Spec struct {
	Project     string      `json:"project"`
	Destination Destination `json:"destination"`
	// Sources are the sources of a multi-source Application (Kuberpult writes these);
	// Source is the single source of the others.
	Sources []Source `json:"sources,omitempty"`
	Source  *Source  `json:"source,omitempty"`
}

// Destination is the cluster (by server URL or name) and namespace an Application deploys to.
type Destination struct {
	Server    string `json:"server,omitempty"`
	Name      string `json:"name,omitempty"`
	Namespace string `json:"namespace,omitempty"`
}

// Source is where an Application's manifests come from.
type Source struct {
	RepoURL        string `json:"repoURL"`
	Path           string `json:"path,omitempty"`
	TargetRevision string `json:"targetRevision,omitempty"`
}

// Status is the observed state of an Application.
type Status struct {
	Sync           SyncStatus      `json:"sync"`
	Health         HealthStatus    `json:"health"`
	OperationState *OperationState `json:"operationState,omitempty"`
	// ReconciledAt is when Argo CD last compared the Application with git.
	ReconciledAt time.Time `json:"reconciledAt,omitzero"`
}

// SyncStatusCode says whether the live state matches git.
type SyncStatusCode string

const (
	Synced      SyncStatusCode = "Synced"
	OutOfSync   SyncStatusCode = "OutOfSync"
	SyncUnknown SyncStatusCode = "Unknown"
)

// SyncStatus is the result of Argo CD's last comparison with git. Revision is the commit
// of a single-source Application, Revisions those of a multi-source one (one per source).
type SyncStatus struct {
	Status    SyncStatusCode `json:"status"`
	Revision  string         `json:"revision,omitempty"`
	Revisions []string       `json:"revisions,omitempty"`
}

// HealthStatusCode is the health of an Application's resources.
type HealthStatusCode string

const (
	Healthy       HealthStatusCode = "Healthy"
	Progressing   HealthStatusCode = "Progressing"
	Degraded      HealthStatusCode = "Degraded"
	Suspended     HealthStatusCode = "Suspended"
	Missing       HealthStatusCode = "Missing"
	HealthUnknown HealthStatusCode = "Unknown"
)

// HealthStatus is an Application's health, with Argo CD's message if there is one.
type HealthStatus struct {
	Status  HealthStatusCode `json:"status,omitempty"`
	Message string           `json:"message,omitempty"`
}

// OperationPhase is where an operation (a sync) stands.
type OperationPhase string

const (
	PhaseRunning     OperationPhase = "Running"
	PhaseTerminating OperationPhase = "Terminating"
	PhaseSucceeded   OperationPhase = "Succeeded"
	PhaseFailed      OperationPhase = "Failed"
	PhaseError       OperationPhase = "Error"
)

// OperationState is the last or running operation of an Application.
type OperationState struct {
	Phase      OperationPhase `json:"phase"`
	Message    string         `json:"message,omitempty"`
	StartedAt  time.Time      `json:"startedAt,omitzero"`
	FinishedAt time.Time      `json:"finishedAt,omitzero"`
	SyncResult *SyncResult    `json:"syncResult,omitempty"`
}

// SyncResult is the result of a sync operation: the revision(s) it synced to.
type SyncResult struct {
	Revision  string   `json:"revision"`
	Revisions []string `json:"revisions,omitempty"`
}

// Revisions returns the commits Argo CD reports for the Application: those of its last
// comparison with git, then those of its last sync operation; each once, none empty.
// Argo CD reports the head of the branch it read, which may already be newer than a
// given commit.
func (a Application) Revisions() []string {
	var out []string
	add := func(r string) {
		if r == "" {
			return
		}
		for _, x := range out {
			if x == r {
				return
			}
		}
		out = append(out, r)
	}
	add(a.Status.Sync.Revision)
	for _, r := range a.Status.Sync.Revisions {
		add(r)
	}
	if op := a.Status.OperationState; op != nil && op.SyncResult != nil {
		add(op.SyncResult.Revision)
		for _, r := range op.SyncResult.Revisions {
			add(r)
		}
	}
	return out
}

// MinCommitPrefix is the shortest abbreviated commit id HasRevision accepts.
const MinCommitPrefix = 7

// HasRevision reports whether one of Revisions is commit: the same id, or one that starts
// with commit if commit has at least MinCommitPrefix characters. Case does not matter.
func (a Application) HasRevision(commit string) bool {
	commit = strings.ToLower(strings.TrimSpace(commit))
	if commit == "" {
		return false
	}
	for _, r := range a.Revisions() {
		r = strings.ToLower(r)
		if r == commit || (len(commit) >= MinCommitPrefix && strings.HasPrefix(r, commit)) {
			return true
		}
	}
	return false
}

// AppName is the name of the Argo CD Application of app on env, as Kuberpult's Argo CD
// files name it. Its project is the environment's name.
func AppName(env deploy.Env, app deploy.App) string {
	return string(env) + "-" + string(app)
}

// EventType is the kind of change a watch event reports.
type EventType string

const (
	Added    EventType = "ADDED"
	Modified EventType = "MODIFIED"
	Deleted  EventType = "DELETED"
)

// Event is one change of an Application on the watch stream. For Deleted, Application is
// its last state.
type Event struct {
	Type        EventType   `json:"type"`
	Application Application `json:"application"`
}
