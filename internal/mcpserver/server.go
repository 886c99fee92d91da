package mcpserver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/warden-dev/warden/internal/approval"
	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/engine"
	"github.com/warden-dev/warden/internal/textsafe"
)

// Options configure the MCP face.
type Options struct {
	// Version is reported as the server's version.
	Version string
	// Logger receives operator messages. Default: discard.
	Logger *slog.Logger
}

// elicitKey names Warden's approval question in a multi-round-trip result.
const elicitKey = "warden_approval"

// NewServer returns an MCP server exposing the tools the agent holds grants
// for. The server is safe to connect to many sessions.
func NewServer(e *engine.Engine, agent string, opts Options) *mcp.Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	s := mcp.NewServer(&mcp.Implementation{Name: "warden", Title: "Warden", Version: opts.Version}, &mcp.ServerOptions{
		Instructions: "Warden guards these tools: every call is checked against a policy and written to an audit log. A refused call returns a reason code and a sentence saying why; do not retry it unchanged.",
		Logger:       opts.Logger,
		// The tool list changes when a resource that could not be opened
		// at the start opens later.
		Capabilities: &mcp.ServerCapabilities{Tools: &mcp.ToolCapabilities{ListChanged: true}},
	})
	h := &handler{e: e, agent: agent, log: opts.Logger}
	ts := &toolSync{s: s, e: e, agent: agent, h: h, have: map[string]bool{}}
	// Subscribed before the first sync, so no change is missed; sync is
	// idempotent. The server lives as long as the engine.
	e.OnToolsChanged(ts.sync)
	ts.sync()
	return s
}

// toolSync keeps an MCP server's tools equal to the engine's tools for one
// agent. The SDK tells connected sessions when they change
// (notifications/tools/list_changed).
type toolSync struct {
	s     *mcp.Server
	e     *engine.Engine
	agent string
	h     *handler
	mu    sync.Mutex
	have  map[string]bool
}

func (ts *toolSync) sync() {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	now := map[string]bool{}
	for _, t := range ts.e.Tools(ts.agent) {
		now[t.Name] = true
		if ts.have[t.Name] {
			continue
		}
		ts.have[t.Name] = true
		readOnly := t.ReadOnly
		ts.s.AddTool(&mcp.Tool{
			Name:        t.Name,
			Title:       t.Name,
			Description: t.Description,
			InputSchema: t.InputSchema,
			Annotations: &mcp.ToolAnnotations{
				ReadOnlyHint:    readOnly,
				DestructiveHint: boolPtr(!readOnly),
				IdempotentHint:  readOnly,
				OpenWorldHint:   boolPtr(t.Op.OpenWorld),
			},
		}, ts.h.callTool)
	}
	var gone []string
	for name := range ts.have {
		if !now[name] {
			gone = append(gone, name)
			delete(ts.have, name)
		}
	}
	if len(gone) > 0 {
		ts.s.RemoveTools(gone...)
	}
}

func boolPtr(b bool) *bool { return &b }

type handler struct {
	e     *engine.Engine
	agent string
	log   *slog.Logger
}

func (h *handler) callTool(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	call := core.Call{Agent: h.agent, Tool: req.Params.Name, Args: req.Params.Arguments}
	// A retry carries the human's answer; it is never asked again, so a
	// dismissed question ends with the pending result instead of a loop.
	retry := req.Params.RequestState != "" && len(req.Params.InputResponses) > 0
	if retry {
		h.applyApproval(call, req)
	}
	out := h.e.Call(ctx, call, engine.CallOptions{})
	if out.Err != nil {
		h.log.Info("call not completed", "tool", call.Tool, "status", out.Status, "reason", out.Reason, "audit_id", out.AuditID, "err", h.e.Redact(out.Err.Error()))
	}
	if out.Status == engine.StatusPending && !retry && h.e.Policy().Settings().Elicitation && supportsElicitation(req) {
		if a, err := h.e.Approvals().Get(out.ApprovalID); err == nil && a.Status == approval.StatusPending {
			return askApproval(h.agent, a, h.e.Approvals()), nil
		}
	}
	return result(out, inlinerFrom(ctx)), nil
}

func supportsElicitation(req *mcp.CallToolRequest) bool {
	caps := req.ClientCapabilities()
	if caps == nil || caps.Elicitation == nil {
		return false
	}
	// Form mode is assumed when neither mode is named.
	return caps.Elicitation.Form != nil || caps.Elicitation.URL == nil
}

// elicitArgBytes bounds the arguments quoted in the question: generous,
// since the human approves every byte; beyond it the question says where
// to read the rest.
const elicitArgBytes = 64 << 10

// askApproval returns a multi-round-trip result asking the human, in the
// client, to approve this exact call. The SDK turns it into an
// elicitation/create request for clients on older protocol versions.
func askApproval(agent string, a *approval.Approval, store *approval.Store) *mcp.CallToolResult {
	return &mcp.CallToolResult{
		InputRequests: mcp.InputRequestMap{
			elicitKey: &mcp.ElicitParams{
				Message:         approvalQuestion(agent, a, store),
				RequestedSchema: json.RawMessage(`{"type":"object","properties":{"decision":{"type":"string","title":"Decision","description":"approve runs this exact call once; deny refuses it","enum":["approve","deny"]}},"required":["decision"]}`),
			},
		},
		RequestState: a.ID,
	}
}

// approvalQuestion shows the call's arguments in full, with the long values
// kept in the blob store put back, up to elicitArgBytes.
func approvalQuestion(agent string, a *approval.Approval, store *approval.Store) string {
	var args string
	full, err := store.FullArgs(a)
	switch {
	case err != nil:
		args = fmt.Sprintf("(cannot be shown: %v; deny, or read them with \"warden approvals show %s\")", err, a.ID)
	case len(full) > elicitArgBytes:
		args = fmt.Sprintf("%s\n(the first %d of %d bytes; \"warden approvals show %s\" prints every byte)", textsafe.Clip(approval.Readable(full, "", ""), elicitArgBytes), elicitArgBytes, len(full), a.ID)
	default:
		args = approval.Readable(full, "", "") + fmt.Sprintf("\n(in full; also \"warden approvals show %s\")", a.ID)
	}
	// Spelled out, the bidirectional controls cannot make the question show
	// a call other than the one approved (JSON already escapes the control
	// characters).
	return textsafe.EscapeBidi(fmt.Sprintf("Warden: agent %q asks to run %s.\nArguments: %s\nApprove this exact call once? (approval %s, expires %s)",
		agent, a.Summary, args, a.ID, a.Expires.UTC().Format("15:04:05 MST")))
}

var approvalID = regexp.MustCompile(`^ap_[a-z2-7]{12}$`)

// applyApproval records the human's answer from the client, but only for the
// approval that belongs to this exact call: the request state comes from the
// client and is not trusted to name any other approval.
func (h *handler) applyApproval(call core.Call, req *mcp.CallToolRequest) {
	id := req.Params.RequestState
	if !approvalID.MatchString(id) {
		return
	}
	store := h.e.Approvals()
	a, err := store.Get(id)
	if err != nil || a.Status != approval.StatusPending || a.Agent != call.Agent || a.Tool != call.Tool {
		return
	}
	canon, err := approval.CanonicalArgs(call.Args)
	if err != nil || approval.CallHash(call.Agent, call.Tool, canon) != a.Hash {
		return
	}
	res, ok := req.Params.InputResponses[elicitKey].(*mcp.ElicitResult)
	if !ok || res == nil {
		return
	}
	switch {
	case res.Action == "accept" && res.Content["decision"] == "approve":
		_, err = store.Decide(id, true, "mcp-elicitation", "")
	case res.Action == "accept" || res.Action == "decline":
		_, err = store.Decide(id, false, "mcp-elicitation", "")
	default: // cancel: the human dismissed the question; it stays pending
		return
	}
	if err != nil {
		// The decision is not made (it could not be audited): the call stays pending.
		h.log.Error("recording the human's answer to an approval failed; the call stays pending", "approval", id, "err", err)
	}
}

// result renders an outcome for the model. A large result is sent once:
//   - a result with a payload (a file's text, a response body) is that
//     payload as the first text block, as it is, then the rest of the
//     result as JSON in a second text block and as structured content;
//   - any other result is its JSON in one text block, with no structured
//     content: the same JSON twice would double the bytes.
//
// in, if set, is the transport's inliner (see inline.go).
func result(out *engine.Outcome, in *inliner) *mcp.CallToolResult {
	if out.Status == engine.StatusOK {
		if c := out.Content; c != nil {
			var encoded []byte
			if !c.JSON {
				encoded = out.ContentJSON
			}
			text := in.text(c.Text, encoded)
			if text != c.Text && c.Release != nil {
				// A placeholder: the text's bytes go out escaped, from
				// their own copy, and nothing refers to the text again.
				c.Release()
			}
			return &mcp.CallToolResult{
				Content: []mcp.Content{
					&mcp.TextContent{Text: text},
					&mcp.TextContent{Text: string(out.Meta)},
				},
				StructuredContent: out.Meta,
			}
		}
		return &mcp.CallToolResult{
			Content: []mcp.Content{&mcp.TextContent{Text: in.text(string(out.Value), nil)}},
		}
	}
	var b strings.Builder
	b.WriteString(out.Message)
	fmt.Fprintf(&b, " (reason: %s", out.Reason)
	if out.ApprovalID != "" {
		fmt.Fprintf(&b, "; approval: %s", out.ApprovalID)
	}
	if out.AuditID != "" {
		fmt.Fprintf(&b, "; audit: %s", out.AuditID)
	}
	b.WriteString(")")
	structured := map[string]any{
		"decision": out.Decision.Effect.String(),
		"reason":   out.Reason,
		"message":  out.Message,
	}
	if out.AuditID != "" {
		structured["audit_id"] = out.AuditID
	}
	if out.ApprovalID != "" {
		structured["approval_id"] = out.ApprovalID
	}
	return &mcp.CallToolResult{
		Content:           []mcp.Content{&mcp.TextContent{Text: b.String()}},
		StructuredContent: structured,
		IsError:           true,
	}
}
