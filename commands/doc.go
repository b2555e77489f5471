// Package commands is Kuberpult's command language and the one Handler every entry point
// goes through: the console, the HTTP API and (later) Slack and the scheduler. Parse turns
// text into a Command without any I/O; the Handler reads a snapshot of the state, decides,
// commits state, audit entry and env-repo change in one transaction, and returns a Reply.
package commands
