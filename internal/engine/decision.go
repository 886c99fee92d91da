package engine

import (
	"context"
	"encoding/json"

	"github.com/warden-dev/warden/internal/approval"
	"github.com/warden-dev/warden/internal/audit"
)

// DecisionRecord is the audit record of a human's decision on an approval:
// who decided what, on which call (the approval's hash binds it to the
// exact arguments). Every face that decides writes it before the decision
// takes effect, through approval.Options.Record.
func DecisionRecord(a *approval.Approval) *audit.Record {
	effect := "deny"
	if a.Status == approval.StatusApproved {
		effect = "allow"
	}
	detail := map[string]any{"decided_by": a.DecidedBy, "call_hash": a.Hash}
	if a.Note != "" {
		detail["note"] = a.Note
	}
	return &audit.Record{
		Event: "approval", Agent: a.Agent, Tool: a.Tool, Args: json.RawMessage(a.Args), Blobs: a.Blobs,
		Decision: effect, Rule: a.Rule, ApprovalID: a.ID, Detail: detail,
	}
}

// recordDecision writes a decision's audit record to the engine's log; the
// approval store calls it before saving the decision.
func (e *Engine) recordDecision(a *approval.Approval) (string, error) {
	stored, err := e.appendAudit(context.Background(), DecisionRecord(a))
	if err != nil {
		return "", err
	}
	return stored.ID, nil
}
