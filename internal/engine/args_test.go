package engine

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/warden-dev/warden/internal/audit"
	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/policy"
)

// noteSQL is fakeSQL with room for a long statement and a long note.
type noteSQL struct{ fakeSQL }

func (f *noteSQL) Operations() []core.Operation {
	return []core.Operation{{
		Name: "execute", Action: "execute", Summary: "Run a statement.", KeyArgs: []string{"sql"},
		InputSchema: json.RawMessage(`{"type":"object","properties":{"sql":{"type":"string"},"note":{"type":"string"}},"required":["sql"],"additionalProperties":false}`),
	}}
}

const longArgsPolicy = `version: 1
resources:
  db: {kind: sql, driver: sqlite, dsn: ./db.sqlite}
agents:
  approver:
    grants:
      - resource: db
        actions: [execute]
        tables: {orders: "*"}
        approval: required
`

// records returns the audit records of e's log.
func records(t *testing.T, e *Engine) []audit.Record {
	t.Helper()
	var recs []audit.Record
	if err := audit.Read(context.Background(), e.Policy().Settings().StateDir, audit.Filter{}, func(r audit.Record) error {
		recs = append(recs, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return recs
}

// A 1.2 KB statement whose change hides after a long comment: the human
// approving it and the audit log both get every byte.
func TestCall_LongStatementSeenWhole(t *testing.T) {
	fake := &noteSQL{}
	registerFake(t, "sql", fake)
	p, err := policy.Compile([]byte(longArgsPolicy), policy.WithBaseDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(context.Background(), p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })

	sql := "UPDATE orders SET status = 'paid' /* " + strings.Repeat("reviewed by billing; ", 55) + "*/, customer_id = 42 WHERE id = 5"
	note := strings.Repeat("a long note line\n", 300) + "NOTE-END"
	args, _ := json.Marshal(map[string]string{"sql": sql, "note": note})
	out := e.Call(context.Background(), core.Call{Agent: "approver", Tool: "db_execute", Args: args}, CallOptions{})
	if out.Status != StatusPending {
		t.Fatalf("Call = %v/%s %s, want pending", out.Status, out.Reason, out.Message)
	}

	a, err := e.Approvals().Get(out.ApprovalID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(a.Args), "customer_id = 42 WHERE id = 5") {
		t.Errorf("the stored approval hides the change: %s", a.Args)
	}
	full, err := e.Approvals().FullArgs(a)
	if err != nil {
		t.Fatal(err)
	}
	var shown map[string]string
	if err := json.Unmarshal(full, &shown); err != nil {
		t.Fatal(err)
	}
	if shown["sql"] != sql || shown["note"] != note {
		t.Errorf("the approver is not shown every byte:\n%s", full)
	}

	recs := records(t, e)
	last := recs[len(recs)-1]
	var stored map[string]string
	if err := json.Unmarshal(last.Args, &stored); err != nil {
		t.Fatal(err)
	}
	if stored["sql"] != sql {
		t.Errorf("the audit record does not hold the whole statement: %q", stored["sql"])
	}
	if len(last.Blobs) != 1 || last.Blobs[0].Pointer != "/note" {
		t.Fatalf("record blobs = %+v, want the note", last.Blobs)
	}
	back, err := audit.ExpandArgs(e.Policy().Settings().StateDir, last.Args, last.Blobs)
	if err != nil || !strings.Contains(string(back), "NOTE-END") {
		t.Errorf("the record's note cannot be read back: %v", err)
	}
	rep, err := audit.Verify(e.Policy().Settings().StateDir, audit.VerifyOptions{})
	if err != nil || !rep.OK {
		t.Fatalf("Verify = %v, %v", rep, err)
	}
	if n := fake.executed.Load(); n != 0 {
		t.Errorf("executed %d times before approval", n)
	}
}

func TestSummarizeSaysWhenCut(t *testing.T) {
	tool := &Tool{Name: "db_execute", Op: core.Operation{KeyArgs: []string{"sql"}}}
	sql := strings.Repeat("é", 100) + " customer_id = 42"
	s := summarize(tool, map[string]any{"sql": sql})
	if !strings.Contains(s, "(cut; 217 bytes in all)") || strings.Contains(s, "\\x") {
		t.Errorf("summarize = %q, want a clean cut that says so", s)
	}
}

// A statement too long to keep inline (over 1 MiB) is stored whole, in one
// blob; the approval never falls back to the raw arguments.
func TestCall_HugeStatementStoredWhole(t *testing.T) {
	fake := &noteSQL{}
	registerFake(t, "sql", fake)
	src := strings.Replace(longArgsPolicy, "resources:", "settings:\n  limits: {max_argument_bytes: 4194304}\nresources:", 1) +
		"    token: env:TOKEN\n"
	p, err := policy.Compile([]byte(src), policy.WithBaseDir(t.TempDir()), policy.WithLookupEnv(func(k string) (string, bool) {
		return "tok-approver-9d2e7f-secret", k == "TOKEN"
	}))
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(context.Background(), p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })

	sql := "UPDATE orders SET status = 'tok-approver-9d2e7f-secret' /* " + strings.Repeat("x", 1<<20+100) + " */ WHERE id = 5"
	args, _ := json.Marshal(map[string]string{"sql": sql})
	out := e.Call(context.Background(), core.Call{Agent: "approver", Tool: "db_execute", Args: args}, CallOptions{})
	if out.Status != StatusPending {
		t.Fatalf("Call = %v/%s %s, want pending", out.Status, out.Reason, out.Message)
	}
	a, err := e.Approvals().Get(out.ApprovalID)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(a.Args), "secret") || len(a.Blobs) != 1 || a.Blobs[0].Pointer != "" {
		t.Fatalf("approval args = %.100s, blobs %+v; want none inline, one blob of the whole", a.Args, a.Blobs)
	}
	full, err := e.Approvals().FullArgs(a)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.ReplaceAll(sql, "tok-approver-9d2e7f-secret", "[REDACTED]")
	var shown map[string]string
	if err := json.Unmarshal(full, &shown); err != nil || shown["sql"] != want {
		t.Errorf("the approver does not see the whole statement, redacted (%d bytes, %v)", len(full), err)
	}
	recs := records(t, e)
	if last := recs[len(recs)-1]; last.Args != nil || len(last.Blobs) != 1 || last.Blobs[0].SHA256 != a.Blobs[0].SHA256 {
		t.Errorf("record args %.100s blobs %+v; want the approval's one blob", last.Args, last.Blobs)
	}
}
