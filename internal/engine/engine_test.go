package engine

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/warden-dev/warden/internal/approval"
	"github.com/warden-dev/warden/internal/audit"
	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/policy"
)

// fakeSQL is a connector for kind "sql" that counts executions, so tests can
// assert that refused calls never reach the resource.
type fakeSQL struct {
	executed   atomic.Int32
	resultSize int
	prepareErr error
	executeErr error
}

func (f *fakeSQL) Operations() []core.Operation {
	return []core.Operation{{
		Name: "query", Action: "query", Summary: "Run a query.", ReadOnly: true, KeyArgs: []string{"sql"},
		InputSchema: json.RawMessage(`{"type":"object","properties":{"sql":{"type":"string","maxLength":1000}},"required":["sql"],"additionalProperties":false}`),
	}}
}

func (f *fakeSQL) Prepare(_ context.Context, inv *core.Invocation) error { return f.prepareErr }

func (f *fakeSQL) Execute(_ context.Context, inv *core.Invocation, _ core.Scope) (*core.Result, error) {
	f.executed.Add(1)
	if f.executeErr != nil {
		return nil, f.executeErr
	}
	return &core.Result{Value: map[string]any{"rows": strings.Repeat("x", f.resultSize)}, Bytes: int64(f.resultSize)}, nil
}

// newEngine compiles src in a temp dir with the fake SQL connector.
func newEngine(t *testing.T, src string, fake *fakeSQL, env map[string]string) (*Engine, string) {
	t.Helper()
	dir := t.TempDir()
	registerFake(t, "sql", fake)
	p, err := policy.Compile([]byte(src), policy.WithBaseDir(dir), policy.WithLookupEnv(func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}))
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(context.Background(), p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e, dir
}

// openNoState compiles src with dir as the policy's directory and opens an
// engine on it without state (no audit log, no approvals), closed when the
// test ends.
func openNoState(t *testing.T, dir, src string, opts ...policy.Option) *Engine {
	t.Helper()
	p, err := policy.Compile([]byte(src), append([]policy.Option{policy.WithBaseDir(dir)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(context.Background(), p, Options{NoState: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

const dbPolicy = `version: 1
settings:
  limits: {max_argument_bytes: 2048, max_result_bytes: 4096}
resources:
  db: {kind: sql, driver: sqlite, dsn: ./db.sqlite}
agents:
  analyst:
    token: env:ANALYST_TOKEN
    limits: {calls_per_minute: 5}
    grants:
      - resource: db
        actions: [query]
        tables: {t: "*"}
        when: '!args.sql.contains("secret")'
  approver:
    grants:
      - resource: db
        actions: [query]
        tables: {t: "*"}
        approval: required
  nobody:
    grants: []
`

var dbEnv = map[string]string{"ANALYST_TOKEN": "tok-analyst-5f3a9c-value"}

func call(e *Engine, agent, args string) *Outcome {
	return e.Call(context.Background(), core.Call{Agent: agent, Tool: "db_query", Args: json.RawMessage(args)}, CallOptions{})
}

func TestCall_Statuses(t *testing.T) {
	tests := []struct {
		name       string
		agent      string
		args       string
		wantStatus Status
		wantReason core.Reason
		executes   bool
	}{
		{"allowed", "analyst", `{"sql":"select 1"}`, StatusOK, core.ReasonGrant, true},
		{"condition false", "analyst", `{"sql":"select secret"}`, StatusDenied, core.ReasonCondition, false},
		{"no grant", "nobody", `{"sql":"select 1"}`, StatusInvalid, core.ReasonUnknownTool, false},
		{"unknown agent", "mallory", `{"sql":"select 1"}`, StatusInvalid, core.ReasonUnknownAgent, false},
		{"schema: wrong type", "analyst", `{"sql":1}`, StatusInvalid, core.ReasonInvalidArguments, false},
		{"schema: extra key", "analyst", `{"sql":"x","drop":true}`, StatusInvalid, core.ReasonInvalidArguments, false},
		{"duplicate keys", "analyst", `{"sql":"select 1","sql":"select secret"}`, StatusInvalid, core.ReasonInvalidArguments, false},
		{"nested duplicate keys", "analyst", `{"sql":"x","o":{"a":1,"a":2}}`, StatusInvalid, core.ReasonInvalidArguments, false},
		{"not an object", "analyst", `["select 1"]`, StatusInvalid, core.ReasonInvalidArguments, false},
		{"malformed JSON", "analyst", `{"sql":`, StatusInvalid, core.ReasonInvalidArguments, false},
		{"trailing data", "analyst", `{"sql":"x"} {}`, StatusInvalid, core.ReasonInvalidArguments, false},
		{"invalid UTF-8", "analyst", "{\"sql\":\"\xff\"}", StatusInvalid, core.ReasonInvalidArguments, false},
		{"too large", "analyst", `{"sql":"` + strings.Repeat("a", 3000) + `"}`, StatusInvalid, core.ReasonArgumentsTooLarge, false},
		{"needs approval", "approver", `{"sql":"select 1"}`, StatusPending, core.ReasonApprovalRequired, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeSQL{resultSize: 10}
			e, _ := newEngine(t, dbPolicy, fake, dbEnv)
			out := call(e, tt.agent, tt.args)
			if out.Status != tt.wantStatus || out.Reason != tt.wantReason {
				t.Errorf("Call(%s, %s) = %v/%s (%s), want %v/%s", tt.agent, tt.args, out.Status, out.Reason, out.Message, tt.wantStatus, tt.wantReason)
			}
			if got := fake.executed.Load() > 0; got != tt.executes {
				t.Errorf("Call(%s, %s) executed = %v, want %v", tt.agent, tt.args, got, tt.executes)
			}
			if out.AuditID == "" {
				t.Errorf("Call(%s, %s) has no audit id", tt.agent, tt.args)
			}
			if out.Status != StatusOK && out.Message == "" {
				t.Errorf("Call(%s, %s) refused without a message", tt.agent, tt.args)
			}
		})
	}
}

func TestCall_RateLimit(t *testing.T) {
	fake := &fakeSQL{}
	e, _ := newEngine(t, dbPolicy, fake, dbEnv)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e.opts.Now = func() time.Time { return now }
	for i := 0; i < 5; i++ {
		if out := call(e, "analyst", `{"sql":"select 1"}`); out.Status != StatusOK {
			t.Fatalf("call %d: %v %s", i, out.Status, out.Message)
		}
	}
	if out := call(e, "analyst", `{"sql":"select 1"}`); out.Reason != core.ReasonRateLimited || out.Status != StatusDenied {
		t.Fatalf("6th call in a minute = %v/%s, want rate-limited", out.Status, out.Reason)
	}
	if n := fake.executed.Load(); n != 5 {
		t.Errorf("executed %d calls, want 5", n)
	}
	now = now.Add(61 * time.Second)
	if out := call(e, "analyst", `{"sql":"select 1"}`); out.Status != StatusOK {
		t.Errorf("after a minute: %v %s", out.Status, out.Message)
	}
}

func TestCall_ResultBound(t *testing.T) {
	fake := &fakeSQL{resultSize: 10_000}
	e, _ := newEngine(t, dbPolicy, fake, dbEnv)
	out := call(e, "analyst", `{"sql":"select 1"}`)
	if out.Status != StatusFailed || out.Reason != core.ReasonTooLarge || out.JSON() != nil {
		t.Errorf("oversized result = %v/%s value=%v", out.Status, out.Reason, out.JSON() != nil)
	}
}

func TestCall_ConnectorErrors(t *testing.T) {
	tests := []struct {
		name       string
		prepare    error
		execute    error
		wantStatus Status
		wantReason core.Reason
	}{
		{"prepare denies", core.E("fake", core.KindDenied, core.ReasonPathEscapes, "escapes", nil), nil, StatusDenied, core.ReasonPathEscapes},
		{"prepare invalid", core.E("fake", core.KindInvalid, core.ReasonInvalidArguments, "bad", nil), nil, StatusInvalid, core.ReasonInvalidArguments},
		{"prepare internal", errors.New("disk on fire"), nil, StatusDenied, core.ReasonInternal},
		{"execute not found", nil, core.E("fake", core.KindNotFound, core.ReasonNotFound, "no such table", nil), StatusFailed, core.ReasonNotFound},
		{"execute guard", nil, core.E("fake", core.KindDenied, core.ReasonNotRegularFile, "a fifo", nil), StatusDenied, core.ReasonNotRegularFile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeSQL{prepareErr: tt.prepare, executeErr: tt.execute}
			e, _ := newEngine(t, dbPolicy, fake, dbEnv)
			out := call(e, "analyst", `{"sql":"select 1"}`)
			if out.Status != tt.wantStatus || out.Reason != tt.wantReason {
				t.Errorf("got %v/%s (%s), want %v/%s", out.Status, out.Reason, out.Message, tt.wantStatus, tt.wantReason)
			}
			if strings.Contains(out.Message, "disk on fire") {
				t.Errorf("an internal error reached the model: %q", out.Message)
			}
		})
	}
}

// TestCall_AuditFailureWithholdsResult: a call whose record cannot be
// written returns nothing.
func TestCall_AuditFailureWithholdsResult(t *testing.T) {
	fake := &fakeSQL{resultSize: 10}
	e, dir := newEngine(t, dbPolicy, fake, dbEnv)
	if out := call(e, "analyst", `{"sql":"select 1"}`); out.Status != StatusOK {
		t.Fatal(out.Message)
	}
	// Truncate the log behind Warden's back: appending now fails closed.
	if err := os.Truncate(filepath.Join(dir, ".warden", audit.LogFile), 0); err != nil {
		t.Fatal(err)
	}
	out := call(e, "analyst", `{"sql":"select 1"}`)
	if out.Status != StatusDenied || out.Reason != core.ReasonAuditUnavailable || out.JSON() != nil {
		t.Errorf("with a broken audit log: %v/%s value=%v", out.Status, out.Reason, out.JSON())
	}
}

// TestCall_SecretsRedactedFromAudit: a secret value an agent puts in its
// arguments is stored redacted.
func TestCall_SecretsRedactedFromAudit(t *testing.T) {
	fake := &fakeSQL{resultSize: 10}
	e, dir := newEngine(t, dbPolicy, fake, dbEnv)
	secret := dbEnv["ANALYST_TOKEN"]
	call(e, "analyst", `{"sql":"select '`+secret+`'"}`)
	e.Close()
	log, err := os.ReadFile(filepath.Join(dir, ".warden", audit.LogFile))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(log), secret) {
		t.Errorf("the audit log holds the secret: %s", log)
	}
	if !strings.Contains(string(log), "[REDACTED]") {
		t.Errorf("the audit log does not show the redaction: %s", log)
	}
	rep, err := audit.Verify(filepath.Join(dir, ".warden"), audit.VerifyOptions{})
	if err != nil || !rep.OK {
		t.Errorf("Verify = %+v, %v", rep, err)
	}
}

func TestCall_ApprovalRunsOnce(t *testing.T) {
	fake := &fakeSQL{resultSize: 10}
	e, _ := newEngine(t, dbPolicy, fake, dbEnv)
	out := call(e, "approver", `{"sql":"select 1"}`)
	if out.Status != StatusPending || out.ApprovalID == "" {
		t.Fatalf("first call = %v %s", out.Status, out.Message)
	}
	if _, err := e.Approvals().Decide(out.ApprovalID, true, "test", ""); err != nil {
		t.Fatal(err)
	}
	// Key order and whitespace do not matter; the value does.
	if o := call(e, "approver", `{"sql":"select 2"}`); o.Status != StatusPending {
		t.Errorf("a different query ran on the approval: %v", o.Status)
	}
	if o := call(e, "approver", ` { "sql" : "select 1" } `); o.Status != StatusOK || o.Reason != core.ReasonApproved {
		t.Fatalf("approved call = %v/%s %s", o.Status, o.Reason, o.Message)
	}
	if o := call(e, "approver", `{"sql":"select 1"}`); o.Status != StatusPending {
		t.Errorf("second identical call = %v, want pending", o.Status)
	}
	if n := fake.executed.Load(); n != 1 {
		t.Errorf("executed %d times, want exactly once", n)
	}
}

func TestCall_ApproveHook(t *testing.T) {
	for _, approve := range []bool{true, false} {
		fake := &fakeSQL{resultSize: 10}
		e, _ := newEngine(t, dbPolicy, fake, dbEnv)
		out := e.Call(context.Background(), core.Call{Agent: "approver", Tool: "db_query", Args: json.RawMessage(`{"sql":"select 1"}`)},
			CallOptions{Approve: func(context.Context, *approval.Approval) (bool, error) { return approve, nil }})
		want := StatusOK
		if !approve {
			want = StatusDenied
		}
		if out.Status != want || (fake.executed.Load() == 1) != approve {
			t.Errorf("Approve hook %v: status %v executed %d", approve, out.Status, fake.executed.Load())
		}
	}
}

func TestTools_DescribeScope(t *testing.T) {
	e, _ := newEngine(t, dbPolicy, &fakeSQL{}, dbEnv)
	tools := e.Tools("approver")
	if len(tools) != 1 || tools[0].Name != "db_query" {
		t.Fatalf("Tools(approver) = %v", tools)
	}
	if d := tools[0].Description; !strings.Contains(d, "needs a human's approval") {
		t.Errorf("description does not state the approval: %q", d)
	}
	if d := e.Tools("analyst")[0].Description; !strings.Contains(d, `when !args.sql.contains("secret")`) {
		t.Errorf("description does not state the condition: %q", d)
	}
	if len(e.Tools("nobody")) != 0 {
		t.Errorf("an agent without grants has tools")
	}
}

func TestLimiter(t *testing.T) {
	for _, kind := range []string{"memory", "file"} {
		t.Run(kind, func(t *testing.T) {
			var l limiter = newMemLimiter(2, time.Minute)
			if kind == "file" {
				l = newFileLimiter(t.TempDir(), "a", 2, time.Minute)
			}
			t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			steps := []struct {
				at   time.Duration
				want bool
			}{{0, true}, {time.Second, true}, {2 * time.Second, false}, {59 * time.Second, false}, {60 * time.Second, true}, {61 * time.Second, true}, {62 * time.Second, false}}
			for _, s := range steps {
				got, err := l.allow(t0.Add(s.at))
				if err != nil || got != s.want {
					t.Errorf("allow(+%v) = %v, %v, want %v", s.at, got, err, s.want)
				}
			}
		})
	}
}

// TestFileLimiterShared: limiters on the same state directory, as separate
// processes have, count the agent's calls together.
func TestFileLimiterShared(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a, b := newFileLimiter(dir, "bot", 3, time.Minute), newFileLimiter(dir, "bot", 3, time.Minute)
	other := newFileLimiter(dir, "other", 3, time.Minute)
	var allowed int
	for i := 0; i < 10; i++ {
		l := a
		if i%2 == 1 {
			l = b
		}
		if ok, err := l.allow(now.Add(time.Duration(i) * time.Second)); err != nil {
			t.Fatal(err)
		} else if ok {
			allowed++
		}
	}
	if allowed != 3 {
		t.Errorf("two limiters on one directory allowed %d calls, want 3", allowed)
	}
	if ok, _ := other.allow(now); !ok {
		t.Errorf("another agent's count was affected")
	}
	// A broken limit file fails closed.
	if err := os.RemoveAll(filepath.Join(dir, "limits")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "limits"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if ok, err := a.allow(now.Add(time.Hour)); ok || err == nil {
		t.Errorf("with an unusable limits directory: allow = %v, %v; want refused with an error", ok, err)
	}
}

// TestCall_SecretsNeverReturned: a secret the policy references never
// reaches the agent, even when a granted file holds it, and the file a
// file: reference names is never readable through a resource.
func TestCall_SecretsNeverReturned(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "files")
	const secret = "sk-live-7f3a9c0d2e1b"
	for name, content := range map[string]string{
		"key.txt":    secret + "\n",
		"config.txt": "api_key=" + secret + "\nother=1\n",
	} {
		if err := os.MkdirAll(root, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	src := `version: 1
resources:
  files: {kind: fs, root: ./files}
agents:
  bot:
    token: file:./files/key.txt
    grants:
      - {resource: files, actions: [read, list, search]}
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
	run := func(tool, args string) *Outcome {
		return e.Call(context.Background(), core.Call{Agent: "bot", Tool: tool, Args: json.RawMessage(args)}, CallOptions{})
	}
	out := run("files_read", `{"path":"config.txt"}`)
	if out.Status != StatusOK || strings.Contains(string(out.JSON()), secret) || !strings.Contains(string(out.JSON()), "[REDACTED]") {
		t.Errorf("read config.txt = %v %s", out.Status, out.JSON())
	}
	// What the MCP face sends apart: the metadata and the payload.
	if out.Content == nil || strings.Contains(string(out.Meta), secret) || strings.Contains(out.Content.Text, secret) || strings.Contains(string(out.ContentJSON), secret) {
		t.Errorf("the parts of the result sent apart hold the secret: %s %+v", out.Meta, out.Content)
	}
	if out := run("files_read", `{"path":"key.txt"}`); out.Status != StatusDenied || out.Reason != core.ReasonReservedPath {
		t.Errorf("read key.txt = %v/%s %s", out.Status, out.Reason, out.JSON())
	}
	if out := run("files_list", `{"path":"."}`); strings.Contains(string(out.JSON()), "key.txt") {
		t.Errorf("list shows the secret file: %s", out.Value)
	}
	if out := run("files_search", `{"path":".","text":"sk-live"}`); strings.Contains(string(out.JSON()), secret) {
		t.Errorf("search returned the secret: %s", out.Value)
	}
	e.Close()
	log, err := os.ReadFile(filepath.Join(dir, ".warden", audit.LogFile))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(log), secret) {
		t.Errorf("the audit log holds the secret")
	}
}
