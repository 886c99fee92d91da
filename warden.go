// Package warden is the Go library face of Warden: load a policy, list the
// tools an agent may use, and run calls through the same pipeline as the
// MCP server and the CLI (validation, policy, approvals, limits, audit).
//
//	w, err := warden.Open(ctx, "warden.yaml")
//	...
//	defer w.Close()
//	for _, t := range w.Tools("assistant") { ... }       // name, description, JSON schema
//	res := w.Call(ctx, "assistant", "notes_read", json.RawMessage(`{"path":"todo.md"}`))
//	if res.Decision != "allow" { ... }                    // res.Reason, res.Message
//
// Give the tools to your model as function definitions; send its tool calls
// to Call and its result (res.Value, or res.Message for a refusal) back to
// the model.
package warden

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	_ "github.com/warden-dev/warden/internal/connector/all" // the compiled-in connectors
	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/engine"
	"github.com/warden-dev/warden/internal/mcpserver"
	"github.com/warden-dev/warden/internal/policy"
)

// Warden guards the resources of one policy. It is safe for concurrent use.
type Warden struct {
	e *engine.Engine
}

// Open loads a policy file and opens its resources, audit log and approval
// store. An invalid policy returns an error listing every problem with its
// file:line:col.
func Open(ctx context.Context, policyFile string) (*Warden, error) {
	p, err := policy.Load(policyFile)
	if err != nil {
		return nil, err
	}
	return open(ctx, p)
}

// OpenDir opens the zero-configuration policy: dir read-only as resource
// "files" for agent "default", with files that usually hold secrets hidden.
func OpenDir(ctx context.Context, dir string) (*Warden, error) {
	p, err := policy.Default(dir)
	if err != nil {
		return nil, err
	}
	return open(ctx, p)
}

// open opens the engine. Its operator messages (a resource that cannot be
// opened yet, and is retried; a database login that can do more than the
// grants need) go to slog.Default, so an embedding program sees them;
// settings: strict_resources: true makes a resource that cannot be opened
// fail Open instead.
func open(ctx context.Context, p *policy.Policy) (*Warden, error) {
	e, err := engine.New(ctx, p, engine.Options{Logger: slog.Default()})
	if err != nil {
		return nil, err
	}
	return &Warden{e: e}, nil
}

// Close releases everything Open acquired.
func (w *Warden) Close() error { return w.e.Close() }

// Agents returns the policy's agents.
func (w *Warden) Agents() []string { return w.e.Policy().Agents() }

// Tool is one tool an agent may call.
type Tool struct {
	Name        string          // "<resource>_<operation>", a valid MCP and OpenAI tool name
	Description string          // what it does and the agent's scope
	InputSchema json.RawMessage // JSON Schema (draft 2020-12) of the arguments
	ReadOnly    bool
}

// Tools returns the tools the agent holds a grant for.
func (w *Warden) Tools(agent string) []Tool {
	var out []Tool
	for _, t := range w.e.Tools(agent) {
		out = append(out, Tool{Name: t.Name, Description: t.Description, InputSchema: t.InputSchema, ReadOnly: t.Op.ReadOnly})
	}
	return out
}

// Result is the outcome of one call.
type Result struct {
	// Decision is "allow", "deny" or "approval_required".
	Decision string
	// OK reports whether the call ran and succeeded.
	OK bool
	// Reason is a stable code such as "grant", "deny-rule", "not-found".
	Reason string
	// Message is one sentence for the model when the call did not succeed.
	Message string
	// Rule is the policy rule that decided, if any.
	Rule       string
	AuditID    string
	ApprovalID string
	// Value is the tool's JSON result when OK.
	Value json.RawMessage
}

// Call runs one tool call for an agent. It never returns a Go error: every
// failure is a Result the model can read.
func (w *Warden) Call(ctx context.Context, agent, tool string, args json.RawMessage) *Result {
	out := w.e.Call(ctx, core.Call{Agent: agent, Tool: tool, Args: args}, engine.CallOptions{})
	r := &Result{
		Decision:   out.Decision.Effect.String(),
		OK:         out.Status == engine.StatusOK,
		Reason:     string(out.Reason),
		Message:    out.Message,
		Rule:       out.Decision.Rule,
		AuditID:    out.AuditID,
		ApprovalID: out.ApprovalID,
	}
	r.Value = out.JSON()
	return r
}

// MCPServer returns an MCP server exposing the agent's tools, to run on any
// transport of the official Go SDK. For stdio, prefer [Warden.ServeStdio]:
// the SDK's stdio transport ends the session on the first malformed line.
func (w *Warden) MCPServer(agent string) *mcp.Server {
	return mcpserver.NewServer(w.e, agent, mcpserver.Options{})
}

// ServeStdio serves the agent's tools over MCP on newline-delimited JSON
// streams, as "warden serve" does, until in ends or ctx is done. A line
// that is not a JSON-RPC message gets a JSON-RPC error and the session goes
// on; a line longer than the policy's limit is discarded as it is read.
func (w *Warden) ServeStdio(ctx context.Context, agent string, in io.Reader, out io.Writer) error {
	t := &mcpserver.StdioTransport{Reader: in, Writer: out, MaxMessageBytes: mcpserver.MaxMessageBytes(w.e.Policy().Settings())}
	err := t.Run(ctx, w.MCPServer(agent))
	if errors.Is(err, io.EOF) || errors.Is(err, mcp.ErrConnectionClosed) {
		return nil
	}
	return err
}

// Approve decides a pending approval, as "warden approve" does: the agent's
// identical call then runs once.
func (w *Warden) Approve(id string, approve bool, by string) error {
	s := w.e.Approvals()
	if s == nil {
		return os.ErrInvalid
	}
	_, err := s.Decide(id, approve, by, "")
	return err
}
