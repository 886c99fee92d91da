package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

const approvalPolicy = `version: 1
resources:
  notes: {kind: fs, root: ./notes}
agents:
  assistant:
    grants:
      - resource: notes
        actions: [read]
        paths: ["docs/**"]
        approval: required
`

// elicitor answers Warden's approval question and counts the questions.
func elicitor(decision string, asked *atomic.Int32, message *atomic.Value) *mcp.ClientOptions {
	return &mcp.ClientOptions{ElicitationHandler: func(_ context.Context, req *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
		asked.Add(1)
		message.Store(req.Params.Message)
		if decision == "cancel" {
			return &mcp.ElicitResult{Action: "cancel"}, nil
		}
		return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"decision": decision}}, nil
	}}
}

func TestApproval_Elicitation(t *testing.T) {
	for _, transport := range []string{"stdio", "http"} {
		t.Run(transport, func(t *testing.T) {
			tests := []struct {
				decision   string
				wantErr    bool
				wantReason string
			}{
				{"approve", false, ""},
				{"deny", true, "approval-denied"},
				{"cancel", true, "approval-required"},
			}
			for _, tt := range tests {
				t.Run(tt.decision, func(t *testing.T) {
					base, _ := fixture(t)
					writePolicy(t, base, approvalPolicy)
					var asked atomic.Int32
					var message atomic.Value
					opts := elicitor(tt.decision, &asked, &message)
					var cs *mcp.ClientSession
					if transport == "stdio" {
						cs = connectStdio(t, base, nil, opts)
					} else {
						var err error
						if cs, err = connectHTTP(t, startHTTP(t, base, nil), "", opts); err != nil {
							t.Fatal(err)
						}
					}
					res := callTool(t, cs, "notes_read", map[string]any{"path": "docs/a.md"})
					if asked.Load() != 1 {
						t.Fatalf("the human was asked %d times, want 1", asked.Load())
					}
					if msg, _ := message.Load().(string); !strings.Contains(msg, "notes_read") || !strings.Contains(msg, "docs/a.md") {
						t.Errorf("the question does not show the call: %q", msg)
					}
					if res.IsError != tt.wantErr {
						t.Fatalf("isError = %v, want %v: %s", res.IsError, tt.wantErr, text(res))
					}
					if tt.wantErr {
						if r := structured(t, res)["reason"]; r != tt.wantReason {
							t.Errorf("reason = %v, want %s", r, tt.wantReason)
						}
						return
					}
					if !strings.Contains(text(res), "hello from a") {
						t.Errorf("approved call result: %s", text(res))
					}
				})
			}
		})
	}
}

// TestApproval_CLI covers a client without elicitation: the call returns
// the approval ID, the human approves on the command line, and the same call
// then runs exactly once, even across a server restart.
func TestApproval_CLI(t *testing.T) {
	base, _ := fixture(t)
	writePolicy(t, base, approvalPolicy)
	cs := connectStdio(t, base, nil, nil)
	args := map[string]any{"path": "docs/a.md"}

	res := callTool(t, cs, "notes_read", args)
	s := structured(t, res)
	id, _ := s["approval_id"].(string)
	if !res.IsError || s["decision"] != "approval_required" || id == "" || !strings.Contains(text(res), "warden approve "+id) {
		t.Fatalf("first call = %s", text(res))
	}
	if strings.Contains(text(res), "hello from a") {
		t.Fatal("a call waiting for approval returned the file")
	}
	// The same call again does not create a second approval.
	if again := structured(t, callTool(t, cs, "notes_read", args)); again["approval_id"] != id {
		t.Errorf("repeated call got approval %v, want the pending %s", again["approval_id"], id)
	}

	out, err := warden(t, base, nil, "approvals", "--json").Output()
	if err != nil {
		t.Fatal(err)
	}
	var pending []map[string]any
	if err := json.Unmarshal(out, &pending); err != nil || len(pending) != 1 || pending[0]["id"] != id {
		t.Fatalf("warden approvals = %s (%v)", out, err)
	}
	// Restart the server between the approval and the retry.
	cs.Close()
	if out, err := warden(t, base, nil, "approve", id).CombinedOutput(); err != nil {
		t.Fatalf("warden approve: %v %s", err, out)
	}
	cs = connectStdio(t, base, nil, nil)

	// A different call is not covered by the approval.
	other := callTool(t, cs, "notes_read", map[string]any{"path": "docs/nested/deep.txt"})
	if structured(t, other)["decision"] != "approval_required" {
		t.Errorf("another call ran on someone else's approval: %s", text(other))
	}
	res = callTool(t, cs, "notes_read", args)
	if res.IsError || !strings.Contains(text(res), "hello from a") {
		t.Fatalf("approved call = %s", text(res))
	}
	res = callTool(t, cs, "notes_read", args)
	if s := structured(t, res); s["decision"] != "approval_required" || s["approval_id"] == id {
		t.Errorf("the approval was used twice: %s", text(res))
	}

	// Deny from the CLI: the agent hears it once.
	id2, _ := structured(t, res)["approval_id"].(string)
	if out, err := warden(t, base, nil, "deny", id2).CombinedOutput(); err != nil {
		t.Fatalf("warden deny: %v %s", err, out)
	}
	if s := structured(t, callTool(t, cs, "notes_read", args)); s["reason"] != "approval-denied" {
		t.Errorf("after deny: %v", s)
	}
	if out, err := warden(t, base, nil, "approve", "ap_aaaaaaaaaaaa").CombinedOutput(); exitCode(err) != 2 {
		t.Errorf("approving an unknown id: exit %d %s", exitCode(err), out)
	}
	if out, err := warden(t, base, nil, "audit", "verify").CombinedOutput(); err != nil {
		t.Errorf("audit verify after approvals: %v %s", err, out)
	}
}
