// Package policy decides who may do what: Kuberpult's role-based permissions (a policy.csv
// of "p" permission lines and "g" binding lines, loadable as is) and, optionally, team
// ownership of apps. It is pure: callers read the files and pass their text in, and every
// decision is a function of the loaded Policy, the acting Subject, the Action and its Scope.
//
// A permission line allows a role one action on a scope:
//
//	p, role:Developer, DeployRelease, production:production-de, checkout, allow
//	p, role:Developer, CreateRelease, production:*, *, allow
//
// The scope is <group>:<env> and an app; each part is a name or *. CreateRelease,
// CreateUndeploy and DeployUndeploy do not depend on the environment and are written
// <group>:*. A binding line gives a role to a subject: a Slack user id, a Slack user-group
// handle, an email, an API token or * (everyone):
//
//	g, U024BE7LH, role:Developer
//	g, @platform, role:Admin
//	g, jane@example.com, role:Developer
//	g, token:ci, role:CI
//
// A subject's roles are those bound to any of its identities plus those bound to *. An
// action is allowed if one of the roles has a line for it on {group,*} x {env,*} x {app,*}.
// SubjectOf builds the identities of an actor; an API client is only its token, never the
// person named in its request headers.
//
// With team permissions on, actions on an app (or on a team's lock) also need membership
// of the owning team, or of team *; an app without a team needs team *. This is Kuberpult's
// team.csv check.
//
// A nil *Policy allows everything, as Kuberpult does without authentication.
package policy
