package deploy

import "time"

// DepartureState is where a scheduled departure of a release train stands.
type DepartureState string

const (
	DepartureScheduled DepartureState = "scheduled" // not announced yet (someone held or approved it early)
	DepartureAnnounced DepartureState = "announced" // announced, not yet due (held or approved say more)
	DepartureDeparted  DepartureState = "departed"  // the train ran (it may have deployed nothing)
	DepartureNotRun    DepartureState = "not-run"   // due, but held or not approved: it did not run
	DepartureMissed    DepartureState = "missed"    // Kuberpult was down at its time and past catching up
)

// Final reports whether the departure is over: it ran, did not run, or was missed.
func (s DepartureState) Final() bool {
	return s == DepartureDeparted || s == DepartureNotRun || s == DepartureMissed
}

// Departure is one scheduled departure of a release train, known from its announcement on:
// the slot (the time it is due), what people did about it and how it ended.
type Departure struct {
	Train string         `json:"train"`
	Slot  time.Time      `json:"slot"` // when it is due (UTC)
	State DepartureState `json:"state"`
	// Announced is the action id of the announcement (0: not announced); Action the action id
	// of the departure itself once it is over. Writing a change whose departure has one of
	// them 0 while announcing (state announced) or ending it (a final state) sets it to that
	// change's action id.
	Announced int64 `json:"announced,omitempty"`
	Action    int64 `json:"action,omitempty"`
	// HeldBy holds the train (nil: not held); the train does not run while it is held.
	HeldBy     *Actor    `json:"heldBy,omitempty"`
	HeldAt     time.Time `json:"heldAt,omitzero"`
	HoldReason string    `json:"holdReason,omitempty"`
	// ApprovedBy approved the departure (trains that need an approval run only then).
	ApprovedBy *Actor    `json:"approvedBy,omitempty"`
	ApprovedAt time.Time `json:"approvedAt,omitzero"`
	// Approval is the id of the approval request of a train that needs one (recorded with
	// the announcement): `approve <id>` approves the departure like `approve train <name>`.
	Approval string `json:"approval,omitempty"`
	// HeldApps are apps held out of this departure ("hold my app"): an app lock each, with
	// this id, on the target's environments, which the departure removes.
	HeldApps []HeldApp `json:"heldApps,omitempty"`
	Note     string    `json:"note,omitempty"` // why it did not run, or what it did
}

// HeldApp is an app someone held out of one departure.
type HeldApp struct {
	App  App       `json:"app"`
	By   Actor     `json:"by"`
	At   time.Time `json:"at"`
	Lock string    `json:"lock"` // the lock id
}
