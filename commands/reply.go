package commands

import "kuberpult/deploy"

// Reply is what a command answers. Text is plain text with `code` spans, readable in a
// terminal and in Slack alike.
type Reply struct {
	Outcome deploy.Outcome
	Text    string
	// Confirm is set when Outcome is OutcomeConfirm: nothing was done, and running
	// Confirm.Command (the same action with --force) does it.
	Confirm *Confirmation
	// Err is the user error of a refused or failed command (nil otherwise), so adapters can
	// map it with errors.Is (deploy.ErrNotFound → HTTP 404, ...).
	Err error
}

// Confirmation asks the actor to confirm an action a lock stands in the way of.
type Confirmation struct {
	Prompt  string
	Command Command
}

// OK reports whether the command did what was asked (or there was nothing to do).
func (r Reply) OK() bool {
	return r.Outcome == deploy.OutcomeDone || r.Outcome == deploy.OutcomeNoop
}
