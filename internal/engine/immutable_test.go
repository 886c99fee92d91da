package engine

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/policy"
)

// TestNew_LeavesPolicyUnchanged: the compiled policy is immutable. The
// engine once appended its state directory to the fs resource's reserved
// paths through the spec the policy handed out, so a second engine (or
// the policy's own users) saw a changed resource.
func TestNew_LeavesPolicyUnchanged(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "notes"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes", "a.txt"), []byte("a"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := `version: 1
settings: {state_dir: ./notes/.warden}
resources:
  notes: {kind: fs, root: ./notes}
agents:
  a:
    grants:
      - {resource: notes, actions: [read, write]}
`
	p, err := policy.Compile([]byte(src), policy.WithBaseDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	snapshot := func() string {
		var specs []any
		for _, s := range p.Resources() {
			specs = append(specs, struct {
				Spec   core.ResourceSpec
				Config any
			}{*s, s.Config})
		}
		b, err := json.Marshal(specs)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	before := snapshot()
	for range 2 {
		e, err := New(context.Background(), p, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if out := e.Call(context.Background(), core.Call{Agent: "a", Tool: "notes_read", Args: json.RawMessage(`{"path":"a.txt"}`)}, CallOptions{}); out.Status != StatusOK {
			t.Fatalf("notes_read = %+v", out)
		}
		// The state directory stays unreachable through the resource.
		if out := e.Call(context.Background(), core.Call{Agent: "a", Tool: "notes_write", Args: json.RawMessage(`{"path":".warden/x","content":"x"}`)}, CallOptions{}); out.Status == StatusOK {
			t.Fatalf("notes_write into the state directory = %+v, want it refused", out)
		}
		e.Close()
	}
	if after := snapshot(); after != before {
		t.Errorf("the compiled policy changed under the engine:\nbefore %s\nafter  %s", before, after)
	}
}
