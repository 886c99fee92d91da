package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/warden-dev/warden/internal/audit"
	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/diskreserve"
)

// reserveFile is the reserve's name in the state directory (see
// diskreserve): space kept so the audit log and the journal go on once the
// file system is full.
const reserveFile = "space.reserve"

// errDiskFull is the operator's side of a write refused on a full disk.
var errDiskFull = errors.New("the file system holding the state directory is full (ENOSPC): writes are refused until space is freed")

// diskFullMessage is what the model is told when a write is refused.
const diskFullMessage = "The disk is full, so Warden refuses writes until space is freed; nothing was changed. Reads and deletes still work: delete files that are no longer needed, then try again."

// appendAudit appends rec to the audit log. When the file system is full
// it releases the reserve and appends once more: the call is recorded
// whatever it was, and the reserve, now released, makes later writes be
// refused. An append cut short by the full disk left at most a partial
// line, which the next append cuts off.
func (e *Engine) appendAudit(ctx context.Context, rec *audit.Record) (audit.Record, error) {
	stored, err := e.audit.Append(ctx, rec)
	if err != nil && diskreserve.Full(err) && e.reserve != nil && e.reserve.Release() {
		stored, err = e.audit.Append(ctx, rec)
	}
	if err != nil && diskreserve.Full(err) && e.reserve != nil {
		err = fmt.Errorf("%w; the reserve %s is used up too: %w", errDiskFull, e.reserve.Path(), err)
	}
	return stored, err
}

// refuseWhenFull refuses a call that would add data while the reserve is
// released, and reports whether it did: the space left is for the audit
// records of the calls that free space (deletes) and of reads. A delete
// is always let through.
func (e *Engine) refuseWhenFull(action string, d core.Decision, out *Outcome) bool {
	if e.reserve == nil || action == "delete" || !e.reserve.Low() {
		return false
	}
	e.failClosed(out, d, core.ReasonDiskFull, diskFullMessage, fmt.Errorf("%w (the reserve %s is released)", errDiskFull, e.reserve.Path()))
	return true
}

// auditFailure returns the reason and the model's sentence for a call
// stopped because its audit record could not be written.
func auditFailure(err error, changed bool) (core.Reason, string) {
	switch {
	case diskreserve.Full(err) && changed:
		return core.ReasonDiskFull, "The change was made, but the disk is full and Warden could not record its outcome in the audit log; tell the operator."
	case diskreserve.Full(err):
		return core.ReasonDiskFull, "The call was stopped because the disk holding Warden's audit log is full; nothing was changed. Tell the operator."
	case changed:
		return core.ReasonAuditUnavailable, "The change was made, but Warden could not record its outcome in the audit log; tell the operator."
	}
	return core.ReasonAuditUnavailable, "The call was stopped because Warden could not write its audit log; tell the operator."
}
