package engine

import (
	"context"
	"fmt"

	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/policy"
)

// Explanation is what the policy would decide for a call, and why, without
// running it.
type Explanation struct {
	Outcome *Outcome
	Request *core.Request // nil when the call failed before the decision
	Steps   []policy.Step
}

// Explain validates and normalises a call and decides it, but never
// executes it, asks for approval or writes the audit log. Normalising may
// read metadata (to resolve symlinks) but changes nothing.
func (e *Engine) Explain(ctx context.Context, call core.Call) *Explanation {
	if !e.policy.HasAgent(call.Agent) {
		return &Explanation{Outcome: invalid(core.ReasonUnknownAgent, fmt.Sprintf("Unknown agent %q.", call.Agent), nil)}
	}
	tool := e.Tool(call.Agent, call.Tool)
	if tool == nil {
		return &Explanation{Outcome: e.noTool(call)}
	}
	args, raw, err := decodeArgs(call.Args)
	if err != nil {
		return &Explanation{Outcome: invalid(core.ReasonInvalidArguments, "The arguments are not valid: "+err.Error()+".", err)}
	}
	schema, err := tool.resolvedSchema()
	if err != nil {
		return &Explanation{Outcome: refused(core.E("engine.explain", core.KindInternal, core.ReasonInternal, "", err))}
	}
	if err := schema.Validate(args); err != nil {
		return &Explanation{Outcome: invalid(core.ReasonInvalidArguments, schemaMessage(tool, err), err)}
	}
	inv := &core.Invocation{Op: tool.Op.Name, Args: raw, Values: args}
	defer closeState(inv)
	if err := tool.conn.Prepare(ctx, inv); err != nil {
		return &Explanation{Outcome: refused(err)}
	}
	action, err := callAction(tool.Op, inv)
	if err != nil {
		return &Explanation{Outcome: refused(err)}
	}
	req := &core.Request{
		Agent: call.Agent, Resource: tool.Resource, Action: action, Tool: tool.Name,
		Path: inv.Path, Paths: inv.Paths, Detail: inv.Detail, Args: args, Time: e.opts.Now(),
	}
	d, steps := e.policy.Explain(ctx, req)
	out := &Outcome{Decision: d, Reason: d.Reason()}
	switch d.Effect {
	case core.Allow:
		out.Status = StatusOK
		out.Message = fmt.Sprintf("Allowed by %s (%s).", d.Rule, d.Position)
	case core.NeedsApproval:
		out.Status = StatusPending
		out.Message = fmt.Sprintf("Allowed by %s (%s) once a human approves the exact call.", d.Rule, d.Position)
	default:
		out.Status = StatusDenied
		out.Message = e.denyMessage(d, tool, req, args)
	}
	return &Explanation{Outcome: out, Request: req, Steps: steps}
}
