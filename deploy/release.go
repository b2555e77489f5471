package deploy

import "time"

// Release is an immutable version of an app with one manifest per environment.
type Release struct {
	App              App            `json:"app"`
	Version          Version        `json:"version"`
	DisplayVersion   string         `json:"displayVersion,omitempty"`
	Team             Team           `json:"team,omitempty"`
	SourceCommitID   string         `json:"sourceCommitId,omitempty"`
	PreviousCommitID string         `json:"previousCommitId,omitempty"`
	SourceAuthor     string         `json:"sourceAuthor,omitempty"`
	SourceMessage    string         `json:"sourceMessage,omitempty"`
	CILink           string         `json:"ciLink,omitempty"`
	Manifests        map[Env]string `json:"manifests,omitempty"`
	CreatedAt        time.Time      `json:"createdAt"`
	CreatedBy        Actor          `json:"createdBy"`
	// Undeploy marks an app's undeploy version: an empty manifest for every environment;
	// deploying it removes the app there.
	Undeploy bool `json:"undeploy,omitempty"`
}

// Label is how the release is shown: "42" or "42 (v1.4.2)".
func (r Release) Label() string {
	if r.DisplayVersion != "" {
		return r.Version.String() + " (" + r.DisplayVersion + ")"
	}
	return r.Version.String()
}

// AppInfo is what is known of an app across its releases.
type AppInfo struct {
	App    App     `json:"app"`
	Team   Team    `json:"team,omitempty"` // team of the newest release that named one
	Latest Version `json:"latest"`         // newest release
	// Undeploying: the newest release is the app's undeploy version. Running nowhere too,
	// the app is deleted (undeploy --confirm), until a new release.
	Undeploying bool `json:"undeploying,omitempty"`
}
