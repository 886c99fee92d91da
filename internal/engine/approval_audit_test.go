package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ncruces/go-sqlite3"

	"github.com/warden-dev/warden/internal/approval"
	"github.com/warden-dev/warden/internal/audit"
	_ "github.com/warden-dev/warden/internal/connector/all"
	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/engine"
	"github.com/warden-dev/warden/internal/policy"
)

const auditKey = "k-0123456789abcdef0123456789abcdef"

// keyedPolicy has a real directory and a real SQLite database, both
// written only with a human's approval, and an audit key.
const keyedPolicy = `version: 1
settings:
  audit: {key: env:AUDIT_KEY}
  landlock: false
resources:
  notes: {kind: fs, root: ./notes}
  shop: {kind: sql, driver: sqlite, dsn: ./shop.db}
agents:
  bot:
    grants:
      - {resource: notes, actions: [write], approval: required}
      - {resource: shop, actions: [execute], tables: {orders: [id, status]}, approval: required}
`

// keyedEngine opens an engine on keyedPolicy in a new directory holding
// notes/a.txt and shop.db with one order; it returns the directory.
func keyedEngine(t *testing.T) (*engine.Engine, string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "notes"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes", "a.txt"), []byte("original\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := sqlite3.Open(filepath.Join(dir, "shop.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Exec(`CREATE TABLE orders (id INTEGER PRIMARY KEY, status TEXT); INSERT INTO orders VALUES (1, 'new')`); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	p, err := policy.Compile([]byte(keyedPolicy), policy.WithBaseDir(dir), policy.WithLookupEnv(func(k string) (string, bool) {
		return auditKey, k == "AUDIT_KEY"
	}))
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(context.Background(), p, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e, dir
}

// sideEffect is a call that changes something, and how to observe it.
type sideEffect struct {
	name, tool, args string
	// state returns what the call would change.
	state func(t *testing.T, dir string) string
}

var sideEffects = []sideEffect{
	{name: "fs write", tool: "notes_write", args: `{"path":"a.txt","content":"forged\n","mode":"overwrite"}`, state: func(t *testing.T, dir string) string {
		b, err := os.ReadFile(filepath.Join(dir, "notes", "a.txt"))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}},
	{name: "sql update", tool: "shop_execute", args: `{"sql":"UPDATE orders SET status = 'paid' WHERE id = 1"}`, state: func(t *testing.T, dir string) string {
		db, err := sqlite3.Open(filepath.Join(dir, "shop.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		st, _, err := db.Prepare(`SELECT status FROM orders WHERE id = 1`)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if !st.Step() {
			t.Fatalf("no order 1: %v", st.Err())
		}
		return st.ColumnText(0)
	}},
}

func run(e *engine.Engine, tool, args string, opts engine.CallOptions) *engine.Outcome {
	return e.Call(context.Background(), core.Call{Agent: "bot", Tool: tool, Args: json.RawMessage(args)}, opts)
}

// records returns the audit log's records, after checking it verifies.
func records(t *testing.T, dir string) []audit.Record {
	t.Helper()
	state := filepath.Join(dir, ".warden")
	rep, err := audit.Verify(state, audit.VerifyOptions{Key: []byte(auditKey)})
	if err != nil || !rep.OK {
		t.Fatalf("audit verify = %v, %v", rep, err)
	}
	var recs []audit.Record
	if err := audit.Read(context.Background(), state, audit.Filter{}, func(r audit.Record) error {
		recs = append(recs, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return recs
}

// TestCall_ForgedApprovalRefused: with audit.key set, an approval file
// written by someone who can write the state directory but does not hold
// the key does not let the call run, and the refusal is in the audit log.
func TestCall_ForgedApprovalRefused(t *testing.T) {
	for _, se := range sideEffects {
		t.Run(se.name, func(t *testing.T) {
			e, dir := keyedEngine(t)
			before := se.state(t, dir)

			canon, err := approval.CanonicalArgs(json.RawMessage(se.args))
			if err != nil {
				t.Fatal(err)
			}
			now := time.Now().UTC()
			forged, err := json.Marshal(approval.Approval{
				ID: "ap_forgedforged", Agent: "bot", Tool: se.tool, Args: json.RawMessage(se.args),
				Hash: approval.CallHash("bot", se.tool, canon), Status: approval.StatusApproved,
				Created: now, Expires: now.Add(time.Hour), DecidedBy: "cli:alice", DecidedAt: now,
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, ".warden", "approvals", "ap_forgedforged.json"), append(forged, '\n'), 0o600); err != nil {
				t.Fatal(err)
			}

			out := run(e, se.tool, se.args, engine.CallOptions{})
			if out.Status == engine.StatusOK || out.Reason != "approval-invalid" {
				t.Fatalf("call on a forged approval = %v/%s %q, want refused with approval-invalid", out.Status, out.Reason, out.Message)
			}
			if after := se.state(t, dir); after != before {
				t.Errorf("the call ran on a forged approval: %q became %q", before, after)
			}
			recs := records(t, dir)
			last := recs[len(recs)-1]
			if last.Event != "call" || last.Tool != se.tool || last.Decision != "deny" || !slices.Contains(last.Reasons, "approval-invalid") || last.Outcome != "not_run" {
				t.Errorf("last audit record = %+v, want the refused call (deny, approval-invalid, not_run)", last)
			}
			// Still refused the next time: the file stays until an operator
			// removes it.
			if out := run(e, se.tool, se.args, engine.CallOptions{}); out.Reason != "approval-invalid" {
				t.Errorf("second call = %v/%s, want approval-invalid", out.Status, out.Reason)
			}
		})
	}
}

// TestCall_DecisionAuditedBeforeCallRuns: every decision, from the Go API
// or from the client (elicitation), is in the audit log before the call it
// approves, and bound to it by the approval's hash.
func TestCall_DecisionAuditedBeforeCallRuns(t *testing.T) {
	for _, via := range []string{"go-api", "elicitation"} {
		t.Run(via, func(t *testing.T) {
			se := sideEffects[0]
			e, dir := keyedEngine(t)
			var opts engine.CallOptions
			var id string
			if via == "go-api" {
				out := run(e, se.tool, se.args, opts)
				if out.Status != engine.StatusPending {
					t.Fatalf("first call = %v/%s", out.Status, out.Reason)
				}
				id = out.ApprovalID
				if _, err := e.Approvals().Decide(id, true, "api:test", "looks right"); err != nil {
					t.Fatal(err)
				}
			} else {
				opts.Approve = func(_ context.Context, a *approval.Approval) (bool, error) { id = a.ID; return true, nil }
			}
			if out := run(e, se.tool, se.args, opts); out.Status != engine.StatusOK {
				t.Fatalf("approved call = %v/%s %q", out.Status, out.Reason, out.Message)
			}
			var decision, intent = -1, -1
			recs := records(t, dir)
			for i, r := range recs {
				switch {
				case r.Event == "approval" && r.ApprovalID == id:
					decision = i
					if r.Decision != "allow" || r.Agent != "bot" || r.Tool != se.tool || r.Detail["call_hash"] == nil {
						t.Errorf("decision record = %+v", r)
					}
				case r.Event == "intent" && r.Tool == se.tool:
					intent = i
				}
			}
			if decision < 0 || intent < 0 || decision > intent {
				var events []string
				for _, r := range recs {
					events = append(events, r.Event+"/"+r.Decision)
				}
				t.Fatalf("decision record at %d, the call's intent at %d; want the decision first: %v", decision, intent, events)
			}
			a, err := e.Approvals().Get(id)
			if err != nil || a.DecisionAuditID != recs[decision].ID {
				t.Errorf("approval %s names decision record %q (%v), want %s", id, a.DecisionAuditID, err, recs[decision].ID)
			}
		})
	}
}

// TestCall_UnauditedDecisionDoesNotRun: a decision whose audit record
// cannot be written is not made, so the call it would approve never runs,
// even after the log works again.
func TestCall_UnauditedDecisionDoesNotRun(t *testing.T) {
	for _, via := range []string{"go-api", "elicitation"} {
		t.Run(via, func(t *testing.T) {
			se := sideEffects[1]
			e, dir := keyedEngine(t)
			before := se.state(t, dir)
			logPath := filepath.Join(dir, ".warden", audit.LogFile)
			// breakLog makes appends fail (the log is shorter than its
			// head says) and returns a function that repairs it.
			breakLog := func() func() {
				saved, err := os.ReadFile(logPath)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.Truncate(logPath, int64(len(saved)-1)); err != nil {
					t.Fatal(err)
				}
				return func() {
					if err := os.WriteFile(logPath, saved, 0o600); err != nil {
						t.Fatal(err)
					}
				}
			}

			out := run(e, se.tool, se.args, engine.CallOptions{})
			if out.Status != engine.StatusPending {
				t.Fatalf("first call = %v/%s", out.Status, out.Reason)
			}
			var opts engine.CallOptions
			repair := func() {}
			if via == "go-api" {
				repair := breakLog()
				if _, err := e.Approvals().Decide(out.ApprovalID, true, "api:test", ""); !errors.Is(err, audit.ErrTampered) {
					t.Errorf("Decide() with the audit log failing = %v, want its error", err)
				}
				repair()
			} else {
				opts.Approve = func(context.Context, *approval.Approval) (bool, error) {
					// The log fails while the decision is recorded.
					repair = breakLog()
					return true, nil
				}
			}
			got := run(e, se.tool, se.args, opts)
			if got.Status == engine.StatusOK {
				t.Errorf("the call ran on a decision that was never audited: %+v", got)
			}
			repair()
			if after := se.state(t, dir); after != before {
				t.Errorf("the order changed from %q to %q without an audited decision", before, after)
			}
			if a, err := e.Approvals().Get(out.ApprovalID); err != nil || a.Status != approval.StatusPending {
				t.Errorf("approval after an unaudited decision = %+v, %v; want still pending", a, err)
			}
			if again := run(e, se.tool, se.args, engine.CallOptions{}); again.Status != engine.StatusPending {
				t.Errorf("call after the log works again = %v/%s, want still pending", again.Status, again.Reason)
			}
			if after := se.state(t, dir); after != before {
				t.Errorf("the order changed from %q to %q without an audited decision", before, after)
			}
		})
	}
}
