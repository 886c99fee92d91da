package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/warden-dev/warden/internal/approval"
	"github.com/warden-dev/warden/internal/argjson"
	"github.com/warden-dev/warden/internal/audit"
	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/diskreserve"
	"github.com/warden-dev/warden/internal/journal"
	"github.com/warden-dev/warden/internal/redact"
	"github.com/warden-dev/warden/internal/textsafe"
)

// Status is how a call ended, as the faces report it.
type Status int

const (
	StatusDenied  Status = iota // refused by policy or a guard; the zero value
	StatusOK                    // allowed and succeeded
	StatusFailed                // allowed, but the tool reported a failure
	StatusPending               // waiting for a human's approval
	StatusInvalid               // the call itself is malformed (unknown tool, bad arguments)
)

func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusFailed:
		return "failed"
	case StatusPending:
		return "pending"
	case StatusInvalid:
		return "invalid"
	}
	return "denied"
}

// Outcome is the result of one call.
type Outcome struct {
	Status   Status
	Decision core.Decision
	// Reason is the most significant reason code: the decision's, or the
	// failure's when an allowed call failed.
	Reason core.Reason
	// Message is one plain sentence for the model. It never contains
	// secrets or host paths.
	Message    string
	AuditID    string
	ApprovalID string
	// Value is the tool's result, encoded as JSON, when Status is
	// StatusOK and the result has no Content; [Outcome.JSON] gives the
	// whole result either way.
	Value json.RawMessage
	// Content is the payload of a result that has one (core.Content),
	// redacted; Meta is the rest of the result, and ContentJSON the
	// payload as it stands in the whole result's JSON (a JSON string, or
	// the JSON document), for faces that write JSON and need not escape it
	// again.
	Content     *core.Content
	ContentJSON json.RawMessage
	Meta        json.RawMessage
	// changed reports that the call changed its resource, as its journal
	// entry records.
	changed   bool
	Truncated bool
	// Err is the internal cause, for operator logs only.
	Err error
}

// CallOptions tune one call.
type CallOptions struct {
	// Approve, if set, is asked when the call needs a human's approval and
	// none is on file yet: it may ask the human right away (for example
	// through MCP elicitation). It returns whether the human approved.
	// Returning an error leaves the approval pending.
	Approve func(ctx context.Context, a *approval.Approval) (bool, error)
}

// shortArgBytes bounds the arguments copied into an audit record when their
// long values cannot be stored as blobs: strings over 256 bytes are then
// replaced by their size and hash.
const shortArgBytes = 1 << 10

// Call runs one tool call through the pipeline.
func (e *Engine) Call(ctx context.Context, call core.Call, opts CallOptions) *Outcome {
	start := e.opts.Now()
	rec := &audit.Record{Event: "call", Agent: call.Agent, Tool: call.Tool, ArgsBytes: len(call.Args)}
	out := e.call(ctx, call, opts, rec, start)
	// A message may quote what an upstream said; it never carries a secret.
	out.Message = e.redactor.String(out.Message)
	rec.Decision = out.Decision.Effect.String()
	rec.Rule = out.Decision.Rule
	for _, r := range out.Decision.Reasons {
		rec.Reasons = append(rec.Reasons, string(r))
	}
	rec.ApprovalID = out.ApprovalID
	switch out.Status {
	case StatusOK:
		rec.Outcome = "ok"
	case StatusFailed:
		rec.Outcome = "error"
		rec.Error = string(out.Reason) + ": " + out.Message
	default:
		rec.Outcome = "not_run"
	}
	if out.Err != nil && rec.Error == "" && out.Status != StatusPending {
		rec.Error = string(out.Reason) + ": " + out.Message
	}
	rec.Truncated = out.Truncated
	rec.DurationMS = float64(e.opts.Now().Sub(start).Microseconds()) / 1000
	if e.audit == nil {
		return out
	}
	stored, err := e.appendAudit(context.WithoutCancel(ctx), rec)
	if err != nil {
		// Fail closed: a call that cannot be recorded does not return data.
		e.log.Error("audit append failed; withholding the result", "tool", call.Tool, "agent", call.Agent, "err", err)
		reason, msg := auditFailure(err, out.changed)
		if out.changed {
			// The change is made (and its intent recorded): say so.
			return &Outcome{Status: StatusFailed, Decision: out.Decision, Reason: reason, Message: msg, Err: err}
		}
		refused := &Outcome{}
		e.failClosed(refused, core.Decision{}, reason, msg, err)
		return refused
	}
	out.AuditID = stored.ID
	return out
}

func (e *Engine) call(ctx context.Context, call core.Call, opts CallOptions, rec *audit.Record, now time.Time) *Outcome {
	if !e.policy.HasAgent(call.Agent) {
		return invalid(core.ReasonUnknownAgent, fmt.Sprintf("Unknown agent %q.", call.Agent), nil)
	}
	tool := e.Tool(call.Agent, call.Tool)
	if tool == nil {
		return e.noTool(call)
	}
	rec.Resource, rec.Action = tool.Resource, tool.Op.Action

	// Validate.
	limit := e.policy.Settings().MaxArgumentBytes
	if int64(len(call.Args)) > limit {
		return invalid(core.ReasonArgumentsTooLarge, fmt.Sprintf("The arguments are %d bytes; the limit is %d. Send less at once.", len(call.Args), limit), nil)
	}
	args, raw, err := decodeArgs(call.Args)
	if err != nil {
		return invalid(core.ReasonInvalidArguments, "The arguments are not valid: "+err.Error()+".", err)
	}
	sum := sha256.Sum256(raw)
	rec.ArgsSHA256 = hex.EncodeToString(sum[:])
	if out := e.recordArgs(rec, tool.Op.KeyArgs, args, raw); out != nil {
		return out
	}
	schema, err := tool.resolvedSchema()
	if err != nil {
		return refused(core.E("engine.call", core.KindInternal, core.ReasonInternal, "", err))
	}
	if err := validateArgs(schema, args); err != nil {
		return invalid(core.ReasonInvalidArguments, schemaMessage(tool, err), err)
	}

	// Normalise.
	inv := &core.Invocation{Op: tool.Op.Name, Args: raw, Values: args}
	defer closeState(inv)
	if err := tool.conn.Prepare(ctx, inv); err != nil {
		return refused(err)
	}
	rec.Path = inv.Path
	action, err := callAction(tool.Op, inv)
	if err != nil {
		return refused(err)
	}
	rec.Action = action

	// Decide.
	req := &core.Request{
		Agent: call.Agent, Resource: tool.Resource, Action: action, Tool: tool.Name,
		Path: inv.Path, Paths: inv.Paths, Detail: inv.Detail, Args: args, Time: now,
	}
	d := e.policy.Evaluate(ctx, req)
	out := &Outcome{Decision: d, Reason: d.Reason()}
	switch d.Effect {
	case core.Deny:
		out.Status = StatusDenied
		out.Message = e.denyMessage(d, tool, req, args)
		return out
	case core.NeedsApproval:
		if !e.approved(ctx, call, tool, inv, raw, args, d, opts, out, rec) {
			return out
		}
	}

	// Limits.
	if !e.withinLimit(call.Agent, d, out) {
		return out
	}

	// A call that may change the resource is recorded before it runs, and
	// keeps what it replaces in the journal.
	var tx *journal.Tx
	if !tool.Op.ReadOnly && !inv.ReadOnly {
		if e.refuseWhenFull(action, d, out) {
			return out
		}
		var ok bool
		if tx, ok = e.beginChange(ctx, call, tool, rec, d, out); !ok {
			return out
		}
		if e.refuseWhenFull(action, d, out) {
			// The intent record took the reserve's space.
			if tx != nil {
				tx.Abort()
			}
			return out
		}
		if tx != nil {
			inv.Journal = tx
		}
	}
	inv.Options = d.Options

	// Execute.
	res, err := tool.conn.Execute(ctx, inv, e.policy.Scope(ctx, req))
	// With a journal (there is one whenever there is an audit log to
	// fail), what the connector recorded says whether anything changed: a
	// dry run did not, a call that failed half-way did.
	out.changed = e.endChange(tx, rec)
	if err != nil {
		out.Status = StatusFailed
		out.Reason = core.ReasonOf(err)
		out.Message = core.MessageOf(err)
		out.Err = err
		if core.KindOf(err) == core.KindDenied {
			// A guard inside the connector refused after the policy allowed:
			// report it as a denial, not a tool failure.
			out.Status = StatusDenied
			out.Decision = core.Decision{Rule: d.Rule, Position: d.Position, Reasons: []core.Reason{out.Reason}}
		}
		return out
	}

	// Encode, redact and bound the result. A resource may hold one of the
	// policy's secrets (a key file inside a directory, an API that echoes a
	// header): it never reaches the agent.
	size, redacted, err := e.encodeResult(res, out)
	if err != nil {
		out.Status = StatusFailed
		out.Reason = core.ReasonInternal
		out.Message = core.MessageOf(nil)
		out.Err = err
		out.Value, out.Meta, out.Content, out.ContentJSON = nil, nil, nil, nil
		return out
	}
	if max := e.policy.Settings().MaxResultBytes; int64(size) > max {
		out.Status = StatusFailed
		out.Reason = core.ReasonTooLarge
		out.Message = fmt.Sprintf("The result is %d bytes, over the %d-byte limit. Ask for less (a smaller length, limit or narrower path).", size, max)
		out.Value, out.Meta, out.Content, out.ContentJSON = nil, nil, nil, nil
		return out
	}
	if redacted {
		setDetail(rec, "result_redacted", true)
	}
	rec.ResultBytes = res.Bytes
	out.Status = StatusOK
	out.Truncated = res.Truncated
	return out
}

// preview adds to an approval's summary what the call would change, for
// connectors that can tell without changing anything (a sql dry run).
func (e *Engine) preview(ctx context.Context, tool *Tool, inv *core.Invocation, summary string) string {
	p, ok := tool.conn.(core.Previewer)
	if !ok {
		return summary
	}
	s, err := p.Preview(ctx, inv)
	switch {
	case err != nil:
		return summary + "; the dry run failed: " + core.MessageOf(err)
	case s != "":
		return summary + "; " + string(e.redactor.Bytes([]byte(s)))
	}
	return summary
}

// withinLimit counts the call against the agent's rate limit, and fills in
// out with the refusal if it is over the limit or cannot be counted.
func (e *Engine) withinLimit(agent string, d core.Decision, out *Outcome) bool {
	l := e.limiters[agent]
	if l == nil {
		return true
	}
	ok, err := l.allow(e.opts.Now())
	switch {
	case err != nil:
		// Fail closed: a limit that cannot be counted is not passed.
		out.Reason = core.ReasonInternal
		out.Message = "The call was stopped because Warden could not count it against the agent's rate limit; nothing was run."
		out.Err = err
	case !ok:
		out.Reason = core.ReasonRateLimited
		out.Message = fmt.Sprintf("Rate limit reached: this agent may make %d calls a minute. Wait before calling again.", e.policy.AgentLimits(agent).CallsPerMinute)
	default:
		return true
	}
	out.Status = StatusDenied
	out.Decision = core.Decision{Rule: d.Rule, Position: d.Position, Reasons: []core.Reason{out.Reason}}
	return false
}

// approved handles a call that needs a human: it proceeds only with an
// approval of this exact call, and reports why not otherwise.
func (e *Engine) approved(ctx context.Context, call core.Call, tool *Tool, inv *core.Invocation, raw []byte, args map[string]any, d core.Decision, opts CallOptions, out *Outcome, rec *audit.Record) bool {
	if e.approvals == nil {
		out.Status = StatusPending
		out.Message = "This call needs a human's approval."
		return false
	}
	a, outcome, err := e.approvals.Request(approval.NewRequest{
		Agent: call.Agent, Tool: tool.Name, Args: raw,
		// What the human sees is what the audit log keeps: every byte,
		// long values in blobs.
		Display: displayArgs(e.redactor, rec), Blobs: rec.Blobs,
		Summary: e.preview(ctx, tool, inv, summarize(tool, args)), Rule: d.Rule,
	})
	if errors.Is(err, approval.ErrForged) {
		// Someone without the audit key wrote or edited an approval of
		// this call: never run it on that, and tell the operator.
		e.log.Error("refusing a call: an approval on file for it was forged or edited outside Warden", "tool", call.Tool, "agent", call.Agent, "err", err)
		e.failClosed(out, d, core.ReasonApprovalInvalid, "The call was refused: an approval on file for it failed Warden's integrity check (forged or edited); nothing was run. Tell the operator.", err)
		return false
	}
	if err != nil {
		out.Status = StatusDenied
		out.Reason = core.ReasonInternal
		out.Decision = core.Decision{Rule: d.Rule, Position: d.Position, Reasons: []core.Reason{core.ReasonInternal}}
		out.Message = "The call needs approval, but the approval store is unavailable; nothing was run."
		out.Err = err
		return false
	}
	out.ApprovalID = a.ID
	if (outcome == approval.Created || outcome == approval.Pending) && opts.Approve != nil {
		ok, err := opts.Approve(ctx, a)
		switch {
		case err != nil:
			e.log.Info("asking for approval in the client failed; it stays pending", "approval", a.ID, "err", err)
		default:
			if _, derr := e.approvals.Decide(a.ID, ok, "mcp-elicitation", ""); derr != nil {
				// Not recorded, so not made: the approval stays pending
				// and the Consume below does not let the call run.
				e.log.Error("recording the client's decision failed; the call does not run", "approval", a.ID, "err", derr)
			}
			if _, cerr := e.approvals.Consume(a.ID, a.Hash); cerr == nil {
				outcome = approval.Proceed
			} else if errors.Is(cerr, approval.ErrDenied) {
				outcome = approval.Refused
			}
		}
	}
	switch outcome {
	case approval.Proceed:
		out.Decision = core.Decision{Effect: core.Allow, Rule: d.Rule, Position: d.Position, Reasons: []core.Reason{core.ReasonApproved}}
		out.Reason = core.ReasonApproved
		return true
	case approval.Refused:
		out.Status = StatusDenied
		out.Decision = core.Decision{Rule: d.Rule, Position: d.Position, Reasons: []core.Reason{core.ReasonApprovalDenied}}
		out.Reason = core.ReasonApprovalDenied
		out.Message = fmt.Sprintf("A human refused this call (approval %s). Do not repeat it unchanged.", a.ID)
		return false
	}
	out.Status = StatusPending
	out.Message = fmt.Sprintf("This call needs a human's approval (approval %s, valid until %s). Ask the user to run \"warden approve %s\", then make exactly the same call again.", a.ID, a.Expires.UTC().Format(time.RFC3339), a.ID)
	return false
}

func (e *Engine) unknownToolMessage(call core.Call) string {
	tools := e.set().order[call.Agent]
	names := make([]string, 0, len(tools))
	for _, t := range tools {
		names = append(names, t.Name)
	}
	if len(names) == 0 {
		return fmt.Sprintf("Unknown tool %q: this agent has no tools.", call.Tool)
	}
	return fmt.Sprintf("Unknown tool %q. Available tools: %s.", call.Tool, strings.Join(names, ", "))
}

func invalid(reason core.Reason, msg string, err error) *Outcome {
	return &Outcome{
		Status:   StatusInvalid,
		Decision: core.Decision{Reasons: []core.Reason{reason}},
		Reason:   reason,
		Message:  msg,
		Err:      err,
	}
}

// refused turns a Prepare failure into a denial: the call never reached the
// policy, so nothing ran.
func refused(err error) *Outcome {
	reason := core.ReasonOf(err)
	status := StatusDenied
	if core.KindOf(err) == core.KindInvalid && reason == core.ReasonInvalidArguments {
		status = StatusInvalid
	}
	return &Outcome{
		Status:   status,
		Decision: core.Decision{Reasons: []core.Reason{reason}},
		Reason:   reason,
		Message:  core.MessageOf(err),
		Err:      err,
	}
}

// callAction is the policy action of a prepared call: the operation's, or
// the one Prepare chose among the operation's candidates. A connector that
// picks anything else has a bug; the call fails closed.
func callAction(op core.Operation, inv *core.Invocation) (string, error) {
	if op.Action != "" {
		return op.Action, nil
	}
	if inv.Action != "" && slices.Contains(op.Actions, inv.Action) {
		return inv.Action, nil
	}
	return "", core.E("engine.call", core.KindInternal, core.ReasonInternal, "", fmt.Errorf("operation %s: prepare chose action %q, not one of %v", op.Name, inv.Action, op.Actions))
}

func closeState(inv *core.Invocation) {
	if c, ok := inv.State.(io.Closer); ok {
		_ = c.Close()
	}
}

// decodeArgs parses the arguments as one JSON object without duplicate keys
// (a parser differential between validation and use is a classic bypass).
// Empty and null arguments mean {}.
func decodeArgs(raw json.RawMessage) (map[string]any, []byte, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return map[string]any{}, []byte("{}"), nil
	}
	if trimmed[0] != '{' {
		return nil, nil, errors.New("they must be a JSON object, such as {\"path\": \"notes.txt\"}")
	}
	if !utf8.Valid(trimmed) {
		// encoding/json would turn each invalid byte into U+FFFD, merging
		// distinct keys and values; refuse instead.
		return nil, nil, errors.New("they must be valid UTF-8")
	}
	var args map[string]any
	if err := json.Unmarshal(trimmed, &args); err != nil {
		return nil, nil, fmt.Errorf("malformed JSON: %v", err)
	}
	if err := argjson.CheckDuplicateKeys(trimmed); err != nil {
		return nil, nil, err
	}
	return args, trimmed, nil
}

// recordArgs puts the arguments in the audit record: whole when small,
// otherwise long values in blobs the record references. If the blobs
// cannot be stored, the record keeps a shortened form and the call is
// stopped: a call whose arguments cannot be recorded does not run.
//
// keys name the arguments that say what the call does (the operation's
// KeyArgs): they stay whole, never moved to a blob nor shortened (up to the
// bound on a record's inline arguments).
func (e *Engine) recordArgs(rec *audit.Record, keys []string, args map[string]any, raw []byte) *Outcome {
	if e.audit == nil {
		rec.Args = raw
		return nil
	}
	keep := func(k string) bool { return slices.Contains(keys, k) }
	// args are raw decoded, checked for UTF-8 and repeated keys: the
	// split need not parse them again.
	inline, blobs, err := e.audit.SplitDecoded(raw, args, keep)
	// A full disk must not stop reads with long arguments: the reserve
	// makes room once, and a write is then refused as disk-full anyway.
	if err != nil && diskreserve.Full(err) && e.reserve != nil && e.reserve.Release() {
		inline, blobs, err = e.audit.SplitDecoded(raw, args, keep)
	}
	if err == nil {
		rec.Args, rec.Blobs = inline, blobs
		return nil
	}
	rec.Args = auditArgs(keys, args, raw)
	setDetail(rec, "args_shortened", true)
	e.log.Error("storing the call's arguments failed; refusing the call", "tool", rec.Tool, "agent", rec.Agent, "err", err)
	reason, msg := auditFailure(err, false)
	out := &Outcome{}
	e.failClosed(out, core.Decision{}, reason, msg, err)
	return out
}

// displayArgs is what an approval stores of the call's arguments: the
// record's, redacted. Never nil, since a nil display would store the raw
// arguments (when they are all in one blob, the record holds none inline).
func displayArgs(r *redact.Redactor, rec *audit.Record) json.RawMessage {
	if rec.Args == nil {
		return json.RawMessage(`{}`)
	}
	return json.RawMessage(r.Bytes(rec.Args))
}

// auditArgs returns the arguments shortened: as given when small,
// otherwise with long strings replaced by their size and hash, except the
// values that say what the call does.
func auditArgs(keys []string, args map[string]any, raw []byte) json.RawMessage {
	if len(raw) <= shortArgBytes {
		return raw
	}
	short := make(map[string]any, len(args))
	for k, v := range args {
		if s, ok := v.(string); ok && slices.Contains(keys, k) && len(s) <= 64<<10 {
			short[k] = s
			continue
		}
		short[k] = shorten(v)
	}
	b, err := json.Marshal(short)
	if err != nil {
		return json.RawMessage(`{}`)
	}
	return b
}

func shorten(v any) any {
	switch x := v.(type) {
	case string:
		if len(x) > 256 {
			sum := sha256.Sum256([]byte(x))
			return fmt.Sprintf("[%d bytes, sha256 %s]", len(x), hex.EncodeToString(sum[:8]))
		}
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[k] = shorten(val)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = shorten(val)
		}
		return out
	}
	return v
}

// summaryBytes bounds each value quoted in an approval's one-line summary;
// the approval itself holds every byte ("warden approvals show ID").
const summaryBytes = 120

// summarize describes a call in one line for the human who approves it.
func summarize(tool *Tool, args map[string]any) string {
	var parts []string
	for _, k := range tool.Op.KeyArgs {
		if v, ok := args[k].(string); ok {
			part := fmt.Sprintf("%s=%q", k, textsafe.Clip(v, summaryBytes))
			if len(v) > summaryBytes {
				// Say so: the whole text is in the approval.
				part += fmt.Sprintf(" (cut; %d bytes in all)", len(v))
			}
			parts = append(parts, part)
		}
	}
	return tool.Name + " " + strings.Join(parts, " ")
}

// denyMessage explains a denial in one sentence, naming only what the agent
// supplied and what its grants already told it (the tool descriptions
// state their scope): the deny rule, what the closest grant does not
// cover, or what the agent's grants allow instead.
func (e *Engine) denyMessage(d core.Decision, tool *Tool, req *core.Request, args map[string]any) string {
	target := ""
	if p, ok := args[tool.Op.TargetArg].(string); ok && tool.Op.TargetArg != "" {
		target = fmt.Sprintf(" on %q", p)
	}
	switch d.Reason() {
	case core.ReasonDenyRule:
		return fmt.Sprintf("Denied by policy: %s%s is forbidden for this agent.", tool.Name, target)
	case core.ReasonSensitivePath:
		return fmt.Sprintf("Denied: %s%s targets a file that usually holds secrets, and no grant names it explicitly.", tool.Name, target)
	case core.ReasonCondition:
		return fmt.Sprintf("Denied by policy: %s%s is allowed only under conditions that this call does not meet.", tool.Name, target)
	case core.ReasonConditionError:
		return fmt.Sprintf("Denied: a policy condition for %s%s could not be evaluated, so the call was refused.", tool.Name, target)
	}
	if d.Why != "" {
		// A grant came close: say what it does not cover.
		return fmt.Sprintf("Denied by policy: %s%s: %s.", tool.Name, target, strings.TrimSuffix(d.Why, "."))
	}
	if scope := e.grantedScope(req); scope != "" {
		return fmt.Sprintf("Denied by policy: %s%s is outside this agent's grants, which allow %s.", tool.Name, target, scope)
	}
	return fmt.Sprintf("Denied by policy: this agent has no grant for %s%s.", tool.Name, target)
}

// maxScopeItems bounds the grants a denial lists.
const maxScopeItems = 8

// grantedScope says what the agent's grants on the request's resource
// allow: for the request's action if any grant covers it ("/v1/forecast,
// /v1/stations/{id}"), else by action ("GET /v1/forecast; POST
// /v1/reports"). Grants with conditions or approval count too.
func (e *Engine) grantedScope(req *core.Request) string {
	var same, other []string
	for _, g := range e.policy.Grants(req.Agent, req.Resource) {
		paths := g.Paths
		if len(paths) == 0 {
			paths = []string{"everything"}
		}
		if slices.Contains(g.Actions, req.Action) {
			for _, p := range paths {
				if !slices.Contains(same, p) {
					same = append(same, p)
				}
			}
			continue
		}
		for _, p := range paths {
			if item := strings.Join(g.Actions, "/") + " " + p; !slices.Contains(other, item) {
				other = append(other, item)
			}
		}
	}
	list := other
	if len(same) > 0 {
		list = same
		for i := range list {
			list[i] = req.Action + " " + list[i]
		}
	}
	if len(list) > maxScopeItems {
		list = append(list[:maxScopeItems], fmt.Sprintf("%d more", len(list)-maxScopeItems))
	}
	return strings.Join(list, ", ")
}
