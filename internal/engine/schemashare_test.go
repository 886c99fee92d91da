package engine

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/warden-dev/warden/internal/policy"
)

// TestToolSchemasShared checks that a schema declared by tools of several
// agents is resolved once and shared, and that each tool still gets its
// own schema: a resource whose limits differ declares other schemas.
func TestToolSchemasShared(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"a", "b"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	pol := filepath.Join(dir, "warden.yaml")
	src := `version: 1
resources:
  a: {kind: fs, root: ./a}
  b: {kind: fs, root: ./b, description: other}
agents:
  one:
    grants:
      - {resource: a, actions: [read, write]}
      - {resource: b, actions: [read]}
  two:
    grants:
      - {resource: a, actions: [read]}
`
	if err := os.WriteFile(pol, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := policy.Load(pol)
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(context.Background(), p, Options{NoState: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	one, two := e.Tool("one", "a_read"), e.Tool("two", "a_read")
	if one == nil || two == nil {
		t.Fatal("a_read is missing")
	}
	if one.schema != two.schema {
		t.Error("two agents' a_read resolve the same schema twice")
	}
	if w := e.Tool("one", "a_write"); w == nil || w.schema == one.schema || !slices.Contains(w.args, "content") {
		t.Errorf("a_write shares a_read's schema or lacks its arguments: %+v", w)
	}
	if !slices.Contains(one.args, "path") || !slices.IsSorted(one.args) {
		t.Errorf("a_read's arguments are %v", one.args)
	}
	if b := e.Tool("one", "b_read"); b == nil || (string(b.InputSchema) != string(one.InputSchema)) == (b.schema == one.schema) {
		t.Errorf("b_read shares a schema exactly when its text differs from a_read's")
	}
}
