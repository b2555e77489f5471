package deploy

import (
	"errors"
	"time"
)

// ErrUnknownCommit: the source repository's host does not know a commit.
var ErrUnknownCommit = errors.New("unknown commit")

// Changelog is what changes in the source repository between the commit running now (Base)
// and the one about to run (Head): its commits, grouped by pull request, newest first.
type Changelog struct {
	Base, Head string
	// Back: Head is older than Base (a rollback); the commits are the ones taken out.
	Back bool `json:"back,omitempty"`
	// Total is the number of commits between the two, Shown how many of them Groups holds.
	Total, Shown int
	Groups       []ChangeGroup
	CompareURL   string // GitHub's page of the whole comparison
}

// ChangeGroup is a pull request and its commits, or (PR 0) commits that belong to none.
type ChangeGroup struct {
	PR      int
	Title   string
	URL     string
	Author  string // the pull request author's login
	Commits []SourceCommit
}

// SourceCommit is one commit of the source repository.
type SourceCommit struct {
	SHA         string
	Subject     string // the first line of the message
	AuthorName  string
	AuthorEmail string
	AuthorLogin string // "" when the email belongs to no GitHub user
	URL         string
}

// GitHubState is the state a GitHub Deployment shows.
type GitHubState string

const (
	GitHubInProgress GitHubState = "in_progress" // pushed; Argo CD is rolling it out
	GitHubSuccess    GitHubState = "success"
	GitHubFailure    GitHubState = "failure"
	GitHubInactive   GitHubState = "inactive" // replaced by a newer deployment
)

// GitHubDeployment is the GitHub Deployment of one pushed (env, app, version): Want is what it
// should show, Shown what GitHub was told last. A reporter creates it (GitHubID) and posts
// statuses until Shown is Want, retrying at NextTry.
type GitHubDeployment struct {
	ActionID     int64
	Env          Env
	App          App
	Version      Version
	SourceCommit string // the release's source commit: the deployment's ref
	EnvCommit    string // the env-repo commit that carried it
	GitHubID     int64  // 0 until created
	Want, Shown  GitHubState
	Attempts     int
	NextTry      time.Time
	Error        string // why the last attempt failed
}
