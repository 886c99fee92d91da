package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/warden-dev/warden/internal/audit"
	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/journal"
)

// beginChange prepares a call that may change its resource: it names the
// call's audit record, writes an intent record ahead of any change (so a
// crash mid-write still leaves a trace), and opens the journal entry that
// keeps what the call replaces. It returns the journal transaction, or nil
// without a journal; on failure it fills in out and the call must not run.
func (e *Engine) beginChange(ctx context.Context, call core.Call, tool *Tool, rec *audit.Record, d core.Decision, out *Outcome) (*journal.Tx, bool) {
	rec.ID = audit.NewID()
	if e.audit != nil {
		intent := &audit.Record{
			Event: "intent", Agent: call.Agent, Tool: tool.Name, Resource: tool.Resource, Action: rec.Action,
			Path: rec.Path, ArgsSHA256: rec.ArgsSHA256, ArgsBytes: rec.ArgsBytes, // the outcome record holds the arguments
			Decision: d.Effect.String(), Rule: d.Rule, Reasons: reasonStrings(d.Reasons),
			Detail: map[string]any{"call_id": rec.ID},
		}
		if _, err := e.appendAudit(context.WithoutCancel(ctx), intent); err != nil {
			reason, _ := auditFailure(err, false)
			e.failClosed(out, d, reason, "The call was stopped because Warden could not write its audit log; nothing was changed. Tell the operator.", err)
			return nil, false
		}
	}
	if e.journal == nil {
		return nil, true
	}
	tx, err := e.journal.Begin(core.JournalEntry{ID: rec.ID, Time: e.opts.Now(), Agent: call.Agent, Tool: tool.Name, Resource: tool.Resource})
	if err != nil {
		e.failClosed(out, d, core.ReasonInternal, "The call was stopped because Warden could not open its undo journal; nothing was changed. Tell the operator.", err)
		return nil, false
	}
	return tx, true
}

// endChange commits or discards the journal entry of a call that ran, and
// reports whether the call changed anything (the connector recorded every
// change it made). A failed call that still changed something (a recursive
// delete stopped half-way) keeps its entry, so what it did can be undone.
func (e *Engine) endChange(tx *journal.Tx, rec *audit.Record) (changed bool) {
	if tx == nil {
		return false
	}
	if tx.Len() == 0 {
		tx.Abort() // nothing changed: nothing to undo
		return false
	}
	if err := tx.Commit(); err != nil {
		// The change is made; only its undo record is missing. Say so in
		// the audit record rather than pretend the call failed.
		e.log.Error("journal commit failed; the call cannot be undone", "call", rec.ID, "err", err)
		setDetail(rec, "journal_error", "the undo record could not be saved")
		return true
	}
	setDetail(rec, "undo", "warden undo "+rec.ID)
	return true
}

// setDetail sets one detail of an audit record.
func setDetail(rec *audit.Record, key string, value any) {
	if rec.Detail == nil {
		rec.Detail = map[string]any{}
	}
	rec.Detail[key] = value
}

func (e *Engine) failClosed(out *Outcome, d core.Decision, reason core.Reason, msg string, err error) {
	out.Status = StatusDenied
	out.Decision = core.Decision{Rule: d.Rule, Position: d.Position, Reasons: []core.Reason{reason}}
	out.Reason = reason
	out.Message = msg
	out.Err = err
}

func reasonStrings(rs []core.Reason) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r)
	}
	return out
}

// ErrNoJournal reports an engine opened without state.
var ErrNoJournal = errors.New("engine: no journal (opened without a state directory)")

// Undo reverses what the call with the given audit ID changed. It is an
// operator's action, not an agent's: no grant is needed, but it is audited
// and journaled like a call, so an undo can be undone too. Unless force is
// set, it refuses when any path changed after the call.
func (e *Engine) Undo(ctx context.Context, id, by string, force bool) *Outcome {
	start := e.opts.Now()
	out := &Outcome{Decision: core.Decision{Effect: core.Allow, Reasons: []core.Reason{core.ReasonGrant}}}
	if e.journal == nil {
		out.Status, out.Reason, out.Message, out.Err = StatusFailed, core.ReasonInternal, "There is no journal to undo from.", ErrNoJournal
		return out
	}
	entry, err := e.journal.Entry(id)
	if err != nil {
		out.Status, out.Reason = StatusInvalid, core.ReasonNotFound
		out.Message = fmt.Sprintf("No journal entry for %q: the call changed nothing, was never made, or its entry was pruned.", id)
		out.Err = err
		return out
	}
	rec := &audit.Record{ID: audit.NewID(), Event: "undo", Agent: entry.Agent, Tool: entry.Tool, Resource: entry.Resource,
		Detail: map[string]any{"undoes": id, "by": by, "force": force}}
	undoer, ok := e.conn(entry.Resource).(core.Undoer)
	if re := e.set().down[entry.Resource]; !ok && re != nil {
		out.Status, out.Reason, out.Err = StatusFailed, core.ReasonResourceUnavailable, re
		out.Message = fmt.Sprintf("Resource %q is not available now: Warden could not open it. Try again later.", entry.Resource)
		return e.finishUndo(ctx, out, rec, start)
	}
	if !ok {
		out.Status, out.Reason = StatusFailed, core.ReasonInternal
		out.Message = fmt.Sprintf("Resource %q cannot undo changes in this build.", entry.Resource)
		return e.finishUndo(ctx, out, rec, start)
	}
	tx, err := e.journal.Begin(core.JournalEntry{ID: rec.ID, Time: start, Agent: entry.Agent, Tool: entry.Tool, Resource: entry.Resource, Undoes: id})
	if err != nil {
		out.Status, out.Reason, out.Message, out.Err = StatusFailed, core.ReasonInternal, "The undo journal could not be opened; nothing was changed.", err
		return e.finishUndo(ctx, out, rec, start)
	}
	res, err := undoer.Undo(ctx, entry, e.journal, tx, force)
	e.endChange(tx, rec)
	if err != nil {
		out.Status, out.Reason, out.Message, out.Err = StatusFailed, core.ReasonOf(err), core.MessageOf(err), err
		if core.KindOf(err) == core.KindDenied || core.KindOf(err) == core.KindConflict {
			// Refused (the files changed since): say so as a denial.
			out.Status = StatusDenied
			out.Decision = core.Decision{Reasons: []core.Reason{out.Reason}}
		}
		return e.finishUndo(ctx, out, rec, start)
	}
	out.Status = StatusOK
	if encoded, err := json.Marshal(res.Value); err == nil {
		out.Value = e.redactor.Bytes(encoded)
	}
	return e.finishUndo(ctx, out, rec, start)
}

// finishUndo audits an undo.
func (e *Engine) finishUndo(ctx context.Context, out *Outcome, rec *audit.Record, start time.Time) *Outcome {
	rec.Decision = out.Decision.Effect.String()
	rec.Reasons = reasonStrings(out.Decision.Reasons)
	if out.Status == StatusOK {
		rec.Outcome = "ok"
	} else {
		rec.Outcome = "error"
		rec.Error = string(out.Reason) + ": " + out.Message
	}
	rec.DurationMS = float64(e.opts.Now().Sub(start).Microseconds()) / 1000
	if e.audit != nil {
		stored, err := e.appendAudit(context.WithoutCancel(ctx), rec)
		if err != nil {
			// The files are already restored; the operator must know the
			// record is missing.
			e.log.Error("audit append failed for an undo", "undo", rec.ID, "err", err)
			out.Message = strings.TrimSpace(out.Message + " Warning: the undo could not be written to the audit log.")
			return out
		}
		out.AuditID = stored.ID
	}
	return out
}

// History lists the journaled changes of a path in a resource, newest
// first.
func (e *Engine) History(resource, p string) ([]*core.JournalEntry, error) {
	if e.journal == nil {
		return nil, ErrNoJournal
	}
	clean := path.Clean(strings.TrimPrefix(p, "./"))
	return e.journal.History(resource, clean)
}
