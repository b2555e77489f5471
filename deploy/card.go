package deploy

import "time"

// Card is where a chat adapter posted the message that follows one action (the root of its
// thread), with what it needs to render the message again, so that the message is updated
// and its thread continued after a restart.
type Card struct {
	ActionID int64     `json:"actionId"`
	Channel  string    `json:"channel"`
	TS       string    `json:"ts"`   // the message's timestamp: its id within the channel
	Body     []byte    `json:"body"` // the adapter's own encoding
	At       time.Time `json:"at"`
}
