package engine

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/policy"
)

// TestDenyMessage_SaysWhatIsGranted: a denial the model can act on names
// what the agent's grants allow instead of only "no grant".
func TestDenyMessage_SaysWhatIsGranted(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"notes/docs/a.md", "notes/private/p.md"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	src := `version: 1
resources:
  notes: {kind: fs, root: ./notes}
agents:
  a:
    grants:
      - {resource: notes, actions: [read], paths: ["docs/**", "*.md"]}
      - {resource: notes, actions: [write], paths: ["drafts/**"]}
`
	p, err := policy.Compile([]byte(src), policy.WithBaseDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(context.Background(), p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	tests := []struct{ tool, args, want string }{
		{"notes_read", `{"path":"private/p.md"}`, `Denied by policy: notes_read on "private/p.md" is outside this agent's grants, which allow read docs/**, read *.md.`},
		{"notes_write", `{"path":"docs/b.md","content":"x"}`, `Denied by policy: notes_write on "docs/b.md" is outside this agent's grants, which allow write drafts/**.`},
	}
	for _, tt := range tests {
		out := e.Call(context.Background(), core.Call{Agent: "a", Tool: tt.tool, Args: json.RawMessage(tt.args)}, CallOptions{})
		if out.Status != StatusDenied || out.Message != tt.want {
			t.Errorf("%s %s = %s %q, want denied %q", tt.tool, tt.args, out.Status, out.Message, tt.want)
		}
		if strings.Contains(out.Message, dir) {
			t.Errorf("the message names a host path: %q", out.Message)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "notes", "docs", "b.md")); err == nil {
		t.Error("the denied write created the file")
	}
}
