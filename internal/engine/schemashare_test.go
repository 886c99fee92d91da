package engine

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/warden-dev/warden/internal/core"
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
	e := openNoState(t, dir, src)
	one, two := e.Tool("one", "a_read"), e.Tool("two", "a_read")
	if one == nil || two == nil {
		t.Fatal("a_read is missing")
	}
	if one.schema != two.schema {
		t.Error("two agents' a_read resolve the same schema twice")
	}
	if w := e.Tool("one", "a_write"); w == nil || w.schema == one.schema || !slices.Contains(w.argNames(), "content") {
		t.Errorf("a_write shares a_read's schema or lacks its arguments: %+v", w)
	}
	if !slices.Contains(one.argNames(), "path") || !slices.IsSorted(one.argNames()) {
		t.Errorf("a_read's arguments are %v", one.argNames())
	}
	if b := e.Tool("one", "b_read"); b == nil || (string(b.InputSchema) != string(one.InputSchema)) == (b.schema == one.schema) {
		t.Errorf("b_read shares a schema exactly when its text differs from a_read's")
	}
}

// badSchemaSQL is the fake SQL connector with an input schema the
// validator cannot use: its pattern is not a regular expression.
type badSchemaSQL struct{ fakeSQL }

func (f *badSchemaSQL) Operations() []core.Operation {
	ops := f.fakeSQL.Operations()
	ops[0].InputSchema = json.RawMessage(`{"type":"object","properties":{"sql":{"type":"string","pattern":"("}},"required":["sql"],"additionalProperties":false}`)
	return ops
}

// TestToolSchemasResolvedOnFirstUse checks that opening the engine
// resolves no schema, that a call resolves its tool's schema and no other,
// and that a schema the validator cannot use fails the call closed, never
// reaching the resource.
func TestToolSchemasResolvedOnFirstUse(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "r.txt"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := openNoState(t, dir, "version: 1\nresources:\n  a: {kind: fs, root: .}\nagents:\n  one:\n    grants:\n      - {resource: a, actions: [read, write]}\n")
	for _, tool := range e.Tools("one") {
		if tool.schema.resolved != nil {
			t.Errorf("%s: schema resolved when the engine opened", tool.Name)
		}
	}
	out := e.Call(context.Background(), core.Call{Agent: "one", Tool: "a_read", Args: json.RawMessage(`{"path":"r.txt"}`)}, CallOptions{})
	if out.Status != StatusOK {
		t.Fatalf("a_read: %s %s", out.Status, out.Message)
	}
	if e.Tool("one", "a_read").schema.resolved == nil || e.Tool("one", "a_write").schema.resolved != nil {
		t.Error("a call resolved other than its own tool's schema")
	}

	fake := &badSchemaSQL{}
	registerFake(t, "sql", fake)
	p, err := policy.Compile([]byte("version: 1\nresources:\n  db: {kind: sql, driver: sqlite, dsn: ./db.sqlite}\nagents:\n  one:\n    grants:\n      - {resource: db, actions: [query], tables: {t: \"*\"}}\n"), policy.WithBaseDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	bad, err := New(context.Background(), p, Options{NoState: true})
	if err != nil {
		t.Fatalf("an unusable schema stops the engine from opening: %v", err)
	}
	defer bad.Close()
	out = bad.Call(context.Background(), core.Call{Agent: "one", Tool: "db_query", Args: json.RawMessage(`{"sql":"SELECT 1"}`)}, CallOptions{})
	if out.Status != StatusDenied || out.Reason != core.ReasonInternal || fake.executed.Load() != 0 {
		t.Errorf("call with an unusable schema: %s %s %q, executed %d times", out.Status, out.Reason, out.Message, fake.executed.Load())
	}
	if ex := bad.Explain(context.Background(), core.Call{Agent: "one", Tool: "db_query", Args: json.RawMessage(`{"sql":"SELECT 1"}`)}); ex.Outcome == nil || ex.Outcome.Reason != core.ReasonInternal {
		t.Errorf("explain with an unusable schema: %+v", ex.Outcome)
	}
	if !strings.Contains(out.Err.Error(), "db_query") {
		t.Errorf("the error does not name the tool: %v", out.Err)
	}
}
