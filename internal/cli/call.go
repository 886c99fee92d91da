package cli

import (
	"encoding/json"
	"fmt"

	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/engine"
)

const callHelp = `Runs one tool call through the same pipeline as MCP (validation, policy,
approval, limits, audit) and prints one JSON object:

  {"decision": "allow"|"deny"|"approval_required", "reason": "...",
   "message": "...", "audit_id": "...", "approval_id": "...", "result": {...}}

Exit codes: 0 allowed and succeeded, 1 allowed but the tool failed (or
its resource cannot be opened now), 2 usage (bad flags, unknown tool or
agent, arguments that do not fit), 3 denied, 4 awaiting approval,
5 configuration (the policy or the state directory cannot be used; with
--strict, a resource that cannot be opened). ARGS defaults to {}; "-"
reads it from stdin.`

// callOutput is the JSON object warden call prints. Field names are stable.
type callOutput struct {
	Decision   string `json:"decision"`
	Reason     string `json:"reason,omitempty"`
	Message    string `json:"message,omitempty"`
	Rule       string `json:"rule,omitempty"`
	AuditID    string `json:"audit_id,omitempty"`
	ApprovalID string `json:"approval_id,omitempty"`
	Truncated  bool   `json:"truncated,omitempty"`
	Result     any    `json:"result,omitempty"`
}

func runCall(e *env, args []string) int {
	fs := newFlags(e, "call", "call [--policy FILE] [--agent NAME] TOOL ['ARGS-JSON']", callHelp)
	var pf policyFlags
	pf.register(fs, true)
	pf.registerStrict(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return ExitUsage
	}
	if len(pos) < 1 || len(pos) > 2 {
		fs.Usage()
		return ExitUsage
	}
	tool, raw := pos[0], "{}"
	if len(pos) == 2 {
		raw = pos[1]
	}
	if raw == "-" {
		b, err := readLimited(e.stdin, 64<<20)
		if err != nil {
			return usageErr(e, "reading arguments from stdin: %v", err)
		}
		raw = string(b)
	}
	eng, agent, code := openAgentEngine(e, &pf, true, false, nil)
	if eng == nil {
		return code
	}
	defer eng.Close()
	if _, err := confine(eng.Policy()); err != nil {
		return fail(e, &configError{err})
	}
	out := eng.Call(e.ctx, core.Call{Agent: agent, Tool: tool, Args: json.RawMessage(raw)}, engine.CallOptions{})
	printJSON(e, outputOf(out))
	// The tool of a resource that cannot be opened: the operator gets
	// the cause (the model's sentence is in the JSON).
	reportUnavailable(e, eng, out)
	return exitCode(out.Status)
}

func outputOf(out *engine.Outcome) callOutput {
	o := callOutput{
		Decision:   out.Decision.Effect.String(),
		Reason:     string(out.Reason),
		Rule:       out.Decision.Rule,
		AuditID:    out.AuditID,
		ApprovalID: out.ApprovalID,
		Truncated:  out.Truncated,
	}
	if out.Status == engine.StatusOK {
		o.Result = out.JSON()
	} else {
		o.Message = out.Message
	}
	return o
}

func exitCode(s engine.Status) int {
	switch s {
	case engine.StatusOK:
		return ExitOK
	case engine.StatusFailed:
		return ExitToolFailed
	case engine.StatusPending:
		return ExitPending
	case engine.StatusInvalid:
		return ExitUsage
	}
	return ExitDenied
}

func printJSON(e *env, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		fmt.Fprintf(e.stderr, "warden: encoding output: %v\n", err)
		return
	}
	fmt.Fprintf(e.stdout, "%s\n", b)
}
