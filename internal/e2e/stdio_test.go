package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

const notesPolicy = `version: 1
resources:
  notes: {kind: fs, root: ./notes}
agents:
  assistant:
    grants:
      - resource: notes
        actions: [read, list, search]
    deny:
      - resource: notes
        paths: ["private/**"]
`

// TestStdio_ZeroConfig is the README's main job: warden serve with no policy
// file exposes the working directory read-only, secrets hidden.
func TestStdio_ZeroConfig(t *testing.T) {
	_, root := fixture(t)
	cs := connectStdio(t, root, nil, nil)
	ctx := context.Background()
	tools, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range tools.Tools {
		names = append(names, tool.Name)
		if tool.InputSchema == nil || !strings.Contains(tool.Description, "Scope:") {
			t.Errorf("tool %s lacks a schema or a scope description: %q", tool.Name, tool.Description)
		}
		if tool.Annotations == nil || !tool.Annotations.ReadOnlyHint {
			t.Errorf("tool %s is not marked read-only", tool.Name)
		}
	}
	want := []string{"files_read", "files_list", "files_search", "files_stat"}
	slices.Sort(names)
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Fatalf("tools = %v, want %v", names, want)
	}

	res := callTool(t, cs, "files_read", map[string]any{"path": "docs/a.md"})
	if res.IsError || firstText(res) != "hello from a" {
		t.Fatalf("files_read docs/a.md = %s", text(res))
	}
	// Secrets are hidden in the zero-configuration policy.
	res = callTool(t, cs, "files_read", map[string]any{"path": ".env"})
	if !res.IsError || structured(t, res)["reason"] != "sensitive-path" || strings.Contains(text(res), "WARDEN-ENV-VALUE") {
		t.Fatalf("files_read .env = %s", text(res))
	}
	res = callTool(t, cs, "files_list", map[string]any{"path": "."})
	if res.IsError || strings.Contains(text(res), ".env") || strings.Contains(text(res), ".warden") {
		t.Fatalf("files_list . shows hidden entries: %s", text(res))
	}
}

func TestStdio_PolicyDecisions(t *testing.T) {
	base, _ := fixture(t)
	writePolicy(t, base, notesPolicy)
	cs := connectStdio(t, base, nil, nil)
	tests := []struct {
		name       string
		tool       string
		args       map[string]any
		wantErr    bool
		wantReason string
		wantText   string
	}{
		{"read allowed", "notes_read", map[string]any{"path": "docs/a.md"}, false, "", "hello from a"},
		{"deny rule", "notes_read", map[string]any{"path": "private/secret.txt"}, true, "deny-rule", ""},
		{"symlink into denied dir", "notes_read", map[string]any{"path": "link-private"}, true, "deny-rule", ""},
		{"symlink out of the root", "notes_read", map[string]any{"path": "link-out"}, true, "path-escapes-root", ""},
		{"dot-dot escape", "notes_read", map[string]any{"path": "../sentinel.txt"}, true, "path-escapes-root", ""},
		{"absolute path", "notes_read", map[string]any{"path": "/etc/passwd"}, true, "invalid-path", ""},
		{"missing file", "notes_read", map[string]any{"path": "docs/nope.md"}, true, "not-found", ""},
		{"missing file in denied dir reveals nothing", "notes_read", map[string]any{"path": "private/nope.md"}, true, "deny-rule", ""},
		{"wrong type", "notes_read", map[string]any{"path": 123}, true, "invalid-arguments", ""},
		{"missing path", "notes_read", map[string]any{}, true, "invalid-arguments", ""},
		{"unknown argument", "notes_read", map[string]any{"path": "docs/a.md", "mode": "x"}, true, "invalid-arguments", ""},
		{"negative offset", "notes_read", map[string]any{"path": "docs/a.md", "offset": -1}, true, "invalid-arguments", ""},
		{"search allowed", "notes_search", map[string]any{"path": ".", "text": "hello"}, false, "", "docs/a.md"},
		{"search never shows denied files", "notes_search", map[string]any{"path": ".", "text": "WARDEN"}, false, "", ""},
		{"list hides denied dir", "notes_list", map[string]any{"path": ".", "recursive": true}, false, "", "docs/nested/deep.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := callTool(t, cs, tt.tool, tt.args)
			got := text(res)
			if res.IsError != tt.wantErr {
				t.Fatalf("%s(%v): isError = %v, want %v: %s", tt.tool, tt.args, res.IsError, tt.wantErr, got)
			}
			if tt.wantErr {
				s := structured(t, res)
				if s["reason"] != tt.wantReason {
					t.Errorf("%s(%v): reason = %v, want %s (%s)", tt.tool, tt.args, s["reason"], tt.wantReason, got)
				}
				if id, _ := s["audit_id"].(string); id == "" {
					t.Errorf("%s(%v): no audit_id in %v", tt.tool, tt.args, s)
				}
			}
			if tt.wantText != "" && !strings.Contains(got, tt.wantText) {
				t.Errorf("%s(%v) = %s, want it to contain %q", tt.tool, tt.args, got, tt.wantText)
			}
			// Nothing from outside the root or under the denied directory
			// ever reaches the model.
			for _, marker := range []string{"WARDEN-SENTINEL", "WARDEN-PRIVATE", "WARDEN-ENV", "private/secret.txt"} {
				if strings.Contains(got, marker) && !(tt.name == "deny rule" && marker == "private/secret.txt") {
					t.Errorf("%s(%v) leaked %q: %s", tt.tool, tt.args, marker, got)
				}
			}
		})
	}

	// Protocol faults are JSON-RPC errors, not tool results.
	_, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "notes_write", Arguments: map[string]any{"path": "x"}})
	if err == nil || !strings.Contains(err.Error(), "notes_write") {
		t.Errorf("calling an unknown tool: err = %v, want a JSON-RPC error naming the tool", err)
	}

	// Every call above was audited, and the log verifies.
	out, err := warden(t, base, nil, "audit", "verify").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "ok: ") {
		t.Fatalf("warden audit verify: %v\n%s", err, out)
	}
	log, err := os.ReadFile(filepath.Join(base, ".warden", "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(log), "\n"); n < len(tests) {
		t.Errorf("audit log has %d records, want at least %d", n, len(tests))
	}
	if strings.Contains(string(log), "WARDEN-PRIVATE") || strings.Contains(string(log), "WARDEN-SENTINEL") {
		t.Errorf("the audit log holds file content from a denied or outside file")
	}
}

// TestStdio_RawProtocol sends malformed JSON-RPC and checks Warden answers
// with JSON-RPC errors and keeps serving.
func TestStdio_RawProtocol(t *testing.T) {
	base, _ := fixture(t)
	writePolicy(t, base, notesPolicy)
	cmd := warden(t, base, nil, "serve")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); _ = cmd.Wait() }()
	lines := bufio.NewScanner(stdout)
	lines.Buffer(make([]byte, 1<<20), 1<<20)
	send := func(s string) map[string]any {
		t.Helper()
		if _, err := fmt.Fprintln(stdin, s); err != nil {
			t.Fatal(err)
		}
		done := make(chan bool, 1)
		go func() { done <- lines.Scan() }()
		select {
		case ok := <-done:
			if !ok {
				t.Fatalf("no reply to %s: %v", s, lines.Err())
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no reply to %s", s)
		}
		var m map[string]any
		if err := json.Unmarshal(lines.Bytes(), &m); err != nil {
			t.Fatalf("reply %s: %v", lines.Bytes(), err)
		}
		return m
	}
	init := send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}`)
	if init["result"] == nil {
		t.Fatalf("initialize: %v", init)
	}
	fmt.Fprintln(stdin, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	if m := send(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"notes_read","arguments":{"path":"docs/a.md","path":"../sentinel.txt"}}}`); m["result"] == nil || !strings.Contains(fmt.Sprint(m["result"]), "appears twice") {
		t.Errorf("duplicate keys: %v", m)
	}
	if m := send(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"nope","arguments":{}}}`); m["error"] == nil {
		t.Errorf("unknown tool: want a JSON-RPC error, got %v", m)
	}
	if m := send(`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"notes_read","arguments":"not an object"}}`); m["error"] == nil && !strings.Contains(fmt.Sprint(m["result"]), "invalid") {
		t.Errorf("non-object arguments: %v", m)
	}
	if m := send(`{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"notes_read","arguments":{"path":"docs/a.md"}}}`); !strings.Contains(fmt.Sprint(m["result"]), "hello from a") {
		t.Errorf("a good call after bad ones: %v", m)
	}
}
