package deploy

import "time"

// ApprovalState is where an approval request stands.
type ApprovalState string

const (
	ApprovalPending  ApprovalState = "pending"
	ApprovalApproved ApprovalState = "approved" // approved, and the command ran
	ApprovalRejected ApprovalState = "rejected" // rejected by an approver, or withdrawn by the requester
	ApprovalExpired  ApprovalState = "expired"
)

// Approval is a request for someone else's approval: a person's command that a window
// (override approval) holds until a holder of the Approvers role approves it. It runs then,
// under the requester's name, with the approver recorded.
type Approval struct {
	ID          string        `json:"id"`
	Command     string        `json:"command"` // what runs on approval, in the command language
	Env         Env           `json:"env"`     // the environment or group it deploys to
	RequestedBy Actor         `json:"requestedBy"`
	Groups      []string      `json:"groups,omitempty"` // the requester's Slack user groups, for the policy
	RequestedAt time.Time     `json:"requestedAt"`
	Expires     time.Time     `json:"expires"`
	Approvers   string        `json:"approvers"`      // the role that approves
	Windows     []string      `json:"windows"`        // the windows that asked for it
	Until       time.Time     `json:"until,omitzero"` // when the first of them closes (a deploy then needs no approval)
	State       ApprovalState `json:"state"`
	DecidedBy   *Actor        `json:"decidedBy,omitempty"`
	DecidedAt   time.Time     `json:"decidedAt,omitzero"`
	// Requested is the action id of the request; Decided the one of the approval (which ran
	// the command) or the rejection. A change that records a pending approval with Requested
	// 0, or a decided one with Decided 0, sets it to the change's action id.
	Requested int64  `json:"requested,omitempty"`
	Decided   int64  `json:"decided,omitempty"`
	Note      string `json:"note,omitempty"`
}
