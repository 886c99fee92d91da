package approval

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/warden-dev/warden/internal/audit"
)

// Status is where an approval is in its lifecycle. Only the values below are
// valid; a file holding any other status is treated as corrupt.
type Status string

const (
	StatusPending  Status = "pending"  // waiting for a human
	StatusApproved Status = "approved" // a human approved; the call may run once
	StatusDenied   Status = "denied"   // a human refused
	StatusUsed     Status = "used"     // approved and the call has run
	StatusExpired  Status = "expired"  // the TTL passed before the approval was decided or used
)

// finished reports whether s can never change again.
func (s Status) finished() bool {
	return s == StatusDenied || s == StatusUsed || s == StatusExpired
}

func (s Status) valid() bool {
	switch s {
	case StatusPending, StatusApproved, StatusDenied, StatusUsed, StatusExpired:
		return true
	}
	return false
}

// Approval is one request for a human to approve one exact call. It is also
// the on-disk format: fields are only ever added, never renamed or reused.
type Approval struct {
	// ID is "ap_" and 12 random characters of the lowercase base32 alphabet.
	ID    string `json:"id"`
	Agent string `json:"agent"`
	Tool  string `json:"tool"`
	// Args are the arguments shown to the human, already redacted by the
	// caller. They are not what the hash covers; see [NewRequest].
	Args json.RawMessage `json:"args"`
	// Blobs are the long argument values kept in the audit log's blob
	// store rather than in Args; [Store.FullArgs] puts them back.
	Blobs []audit.Blob `json:"blobs,omitempty"`
	// Hash is CallHash(Agent, Tool, CanonicalArgs(exact arguments)).
	Hash string `json:"hash"`
	// Summary is one line for humans, such as "write drafts/a.md (12 bytes)".
	Summary string `json:"summary,omitempty"`
	// Rule is the policy rule that required approval.
	Rule    string    `json:"rule,omitempty"`
	AuditID string    `json:"audit_id,omitempty"`
	Status  Status    `json:"status"`
	Created time.Time `json:"created"`
	// Expires is Created plus the store's TTL. Deciding does not extend it:
	// an approved call must run before then.
	Expires time.Time `json:"expires"`
	// DecidedBy names who decided: "cli:<user>", "mcp-elicitation", ...
	DecidedBy string    `json:"decided_by,omitempty"`
	DecidedAt time.Time `json:"decided_at,omitzero"`
	Note      string    `json:"note,omitempty"`
	UsedAt    time.Time `json:"used_at,omitzero"`
	// Reported reports whether a denial has been returned to the agent once.
	// A reported denial no longer matches new calls.
	Reported bool `json:"reported,omitempty"`
	// DecisionAuditID is the audit record of the decision, written before
	// the decision took effect (see Options.Record).
	DecisionAuditID string `json:"decision_audit_id,omitempty"`
}

// NewRequest describes a call that needs approval.
type NewRequest struct {
	Agent string
	Tool  string
	// Args are the exact arguments the call will run with. Only their hash
	// is kept, so the approval covers every byte even when Display hides
	// some of them.
	Args json.RawMessage
	// Display is what is stored and shown to the human: Args with secrets
	// redacted and long values moved to Blobs. When nil, Args is stored as
	// is, so callers must set Display whenever Args may hold a secret.
	Display json.RawMessage
	// Blobs reference the values of Display kept in the audit log's blob
	// store (see [audit.Log.SplitArgs]).
	Blobs   []audit.Blob
	Summary string
	Rule    string
	AuditID string
}

// Outcome tells the caller of [Store.Request] what to do with the call.
// Only [Proceed] lets it run; the zero value is [Pending], which does not.
type Outcome int

const (
	// Pending: an identical call is already waiting for a human. Do not run.
	Pending Outcome = iota
	// Created: a new pending approval was created; notify the human and
	// audit it. Do not run.
	Created
	// Refused: a human denied this call. Tell the agent; do not run. The
	// denial is reported only once.
	Refused
	// Proceed: a human approved this exact call and the approval is now
	// used. Run the call exactly once.
	Proceed
)

// String returns "pending", "created", "refused" or "proceed".
func (o Outcome) String() string {
	switch o {
	case Pending:
		return "pending"
	case Created:
		return "created"
	case Refused:
		return "refused"
	case Proceed:
		return "proceed"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// Errors returned by [Store] methods, wrapped with the operation, the ID and
// what a human should do next. Test for them with errors.Is.
var (
	ErrNotFound     = errors.New("no such approval")
	ErrNotPending   = errors.New("approval already decided")
	ErrExpired      = errors.New("approval expired")
	ErrPending      = errors.New("approval still pending")
	ErrDenied       = errors.New("approval denied")
	ErrUsed         = errors.New("approval already used")
	ErrHashMismatch = errors.New("approval is for a different call")
	ErrCorrupt      = errors.New("approval file unreadable")
	// ErrForged: under a key, the file's seal is missing or wrong, so it
	// was written or edited by someone without the key. Such an error also
	// wraps ErrCorrupt.
	ErrForged = errors.New("approval file not sealed with the audit key")
)
