// Package connectortest is the contract suite every Warden connector passes.
//
// A connector's tests describe it with a [Contract] and call [Run]:
//
//	func TestContract(t *testing.T) {
//		connectortest.Run(t, connectortest.Contract{
//			New:     newOpenedConnector,
//			Valid:   core.Invocation{Op: "read", Args: json.RawMessage(`{"path":"hello.txt"}`)},
//			Missing: core.Invocation{Op: "read", Args: json.RawMessage(`{"path":"missing.txt"}`)},
//			Invalid: []core.Invocation{{Op: "read", Args: json.RawMessage(`{"path":"/etc/passwd"}`)}},
//		})
//	}
//
// Run checks what the pipeline relies on, whatever the resource kind:
// operation names; input schemas (strict structure, compiled with the
// pipeline's validator, and passed by the Valid and Missing arguments);
// the Prepare → Execute flow, the
// NotFound and Invalid mappings, that a cancelled context fails instead of
// hanging, that Open and Close are idempotent, that a closed connector
// refuses calls, and that concurrent calls are race-free (run the suite
// with -race).
package connectortest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/warden-dev/warden/internal/core"
)

// Contract describes one connector under test.
type Contract struct {
	// New returns an opened connector ready for calls. Run calls it once
	// per check; New should register its own cleanup (Close, temp files).
	New func(t *testing.T) core.Connector
	// Valid is a call that succeeds.
	Valid core.Invocation
	// Missing is a call on a target that does not exist. It must fail with
	// Kind NotFound and Reason not-found, from Prepare or from Execute.
	// A kind whose missing targets must look like ungranted ones (sql: a
	// table not in scope) leaves it empty.
	Missing core.Invocation
	// Invalid are argument sets that Prepare must refuse with KindInvalid.
	Invalid []core.Invocation
	// Scope is passed to Execute. Nil means every target is visible.
	Scope core.Scope
	// CompileSchema, if set, is an extra check of every input schema, run
	// after [CheckInputSchema].
	CompileSchema func(schema json.RawMessage) error
}

// opName is the rule for operation names: tools are "<resource>_<op>", so
// an op must be a short lowercase identifier.
var opName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// callTimeout bounds every call the suite makes, so a connector that hangs
// fails the test instead of stalling it.
const callTimeout = 10 * time.Second

// Run runs the contract suite against c.
func Run(t *testing.T, c Contract) {
	t.Helper()
	if c.New == nil {
		t.Fatal("connectortest.Run: Contract.New is nil")
	}
	scope := c.Scope
	if scope == nil {
		scope = core.ScopeFunc(func(string) bool { return true })
	}

	t.Run("Operations", func(t *testing.T) {
		conn := c.New(t)
		ops := conn.Operations()
		if len(ops) == 0 {
			t.Fatal("Operations() is empty")
		}
		seen := map[string]bool{}
		for _, op := range ops {
			if !opName.MatchString(op.Name) {
				t.Errorf("operation name %q does not match %s", op.Name, opName)
			}
			if seen[op.Name] {
				t.Errorf("operation %q is listed twice", op.Name)
			}
			seen[op.Name] = true
			if op.Action == "" && len(op.Actions) == 0 {
				t.Errorf("operation %q has neither an Action nor candidate Actions", op.Name)
			}
			if op.Action != "" && len(op.Actions) > 0 {
				t.Errorf("operation %q has both an Action and candidate Actions", op.Name)
			}
			if op.Summary == "" {
				t.Errorf("operation %q has an empty Summary", op.Name)
			}
			if err := CheckInputSchema(op.InputSchema); err != nil {
				t.Errorf("operation %q: %v", op.Name, err)
			}
			if c.CompileSchema != nil {
				if err := c.CompileSchema(op.InputSchema); err != nil {
					t.Errorf("operation %q: schema does not compile: %v", op.Name, err)
				}
			}
		}
		again := conn.Operations()
		if len(again) != len(ops) {
			t.Errorf("Operations() returned %d operations, then %d; want a stable list", len(ops), len(again))
		}
		for i := range min(len(ops), len(again)) {
			if ops[i].Name != again[i].Name {
				t.Errorf("Operations()[%d] is %q, then %q; want a stable order", i, ops[i].Name, again[i].Name)
			}
		}
		schemas := map[string]json.RawMessage{}
		for _, op := range ops {
			schemas[op.Name] = op.InputSchema
		}
		// The calls that must reach the connector must also pass the
		// schema, as the pipeline validates before Prepare.
		for _, inv := range []core.Invocation{c.Valid, c.Missing} {
			if inv.Op == "" && inv.Args == nil {
				continue // no Missing call
			}
			schema, ok := schemas[inv.Op]
			if !ok {
				t.Errorf("contract invocation names op %q, which Operations() does not list", inv.Op)
				continue
			}
			if err := checkArgs(schema, inv.Args); err != nil {
				t.Errorf("arguments %s of %q do not pass its input schema: %v", inv.Args, inv.Op, err)
			}
		}
	})

	t.Run("Valid", func(t *testing.T) {
		conn := c.New(t)
		inv := c.Valid
		err := prepare(context.Background(), conn, &inv)
		if err != nil {
			t.Fatalf("Prepare(%s %s) error: %v", inv.Op, inv.Args, err)
		}
		for _, op := range conn.Operations() {
			if op.Name == inv.Op && op.Action == "" && !slices.Contains(op.Actions, inv.Action) {
				t.Errorf("Prepare(%s %s) chose action %q, not one of the operation's %v", inv.Op, inv.Args, inv.Action, op.Actions)
			}
		}
		res, err := conn.Execute(context.Background(), &inv, scope)
		closeState(t, &inv)
		if err != nil {
			t.Fatalf("Execute(%s %s) error: %v", inv.Op, inv.Args, err)
		}
		if res == nil {
			t.Fatalf("Execute(%s %s) = nil result and nil error", c.Valid.Op, c.Valid.Args)
		}
		if _, err := json.Marshal(res.Value); err != nil {
			t.Errorf("Execute(%s %s) result does not encode as JSON: %v", c.Valid.Op, c.Valid.Args, err)
		}
	})

	t.Run("Missing", func(t *testing.T) {
		if c.Missing.Op == "" {
			t.Skip("this kind reports missing targets as out of scope")
		}
		conn := c.New(t)
		_, stage, err := Call(context.Background(), conn, c.Missing, scope)
		if err == nil {
			t.Fatalf("call(%s %s) succeeded, want a not-found error", c.Missing.Op, c.Missing.Args)
		}
		if k, r := core.KindOf(err), core.ReasonOf(err); k != core.KindNotFound || r != core.ReasonNotFound {
			t.Errorf("%s(%s %s) error kind/reason = %v/%s, want %v/%s (error: %v)",
				stage, c.Missing.Op, c.Missing.Args, k, r, core.KindNotFound, core.ReasonNotFound, err)
		}
	})

	t.Run("Invalid", func(t *testing.T) {
		conn := c.New(t)
		for _, inv := range c.Invalid {
			t.Run(inv.Op+" "+string(inv.Args), func(t *testing.T) {
				err := prepare(context.Background(), conn, &inv)
				closeState(t, &inv)
				if err == nil {
					t.Fatalf("Prepare(%s %s) succeeded (Path %q), want a KindInvalid error", inv.Op, inv.Args, inv.Path)
				}
				if k := core.KindOf(err); k != core.KindInvalid {
					t.Errorf("Prepare(%s %s) error kind = %v, want %v (error: %v)", inv.Op, inv.Args, k, core.KindInvalid, err)
				}
			})
		}
	})

	t.Run("CancelledContext", func(t *testing.T) {
		conn := c.New(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, stage, err := Call(ctx, conn, c.Valid, scope)
		if err == nil {
			t.Errorf("call(%s %s) with a cancelled context succeeded, want an error", c.Valid.Op, c.Valid.Args)
		} else if k := core.KindOf(err); k == core.KindOther || k == core.KindInternal {
			t.Errorf("%s(%s %s) with a cancelled context: error kind %v, want a classified kind (error: %v)", stage, c.Valid.Op, c.Valid.Args, k, err)
		}
	})

	t.Run("OpenClose", func(t *testing.T) {
		conn := c.New(t)
		if o, ok := conn.(core.Opener); ok {
			if err := o.Open(context.Background()); err != nil {
				t.Errorf("second Open() error: %v, want nil (Open must be idempotent)", err)
			}
			if _, _, err := Call(context.Background(), conn, c.Valid, scope); err != nil {
				t.Errorf("call after a second Open() error: %v", err)
			}
		}
		cl, ok := conn.(io.Closer)
		if !ok {
			t.Skip("connector is not an io.Closer")
		}
		if err := cl.Close(); err != nil {
			t.Errorf("Close() error: %v", err)
		}
		if err := cl.Close(); err != nil {
			t.Errorf("second Close() error: %v, want nil (Close must be idempotent)", err)
		}
		if _, _, err := Call(context.Background(), conn, c.Valid, scope); err == nil {
			t.Errorf("call(%s %s) after Close succeeded, want an error", c.Valid.Op, c.Valid.Args)
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		conn := c.New(t)
		const workers, rounds = 8, 20
		var wg sync.WaitGroup
		errs := make(chan error, workers*rounds*2)
		for w := range workers {
			wg.Go(func() {
				for r := range rounds {
					valid := (w+r)%3 != 0 || c.Missing.Op == ""
					inv := c.Valid
					if !valid {
						inv = c.Missing
					}
					_, stage, err := Call(context.Background(), conn, inv, scope)
					switch {
					case valid && err != nil:
						errs <- fmt.Errorf("%s(%s %s): %w", stage, inv.Op, inv.Args, err)
					case !valid && core.KindOf(err) != core.KindNotFound:
						errs <- fmt.Errorf("%s(%s %s) = %v, want a not-found error", stage, inv.Op, inv.Args, err)
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
}

// Call runs inv through Prepare and Execute the way the pipeline does,
// without a policy: it closes inv's State afterwards and reports which
// stage ("Prepare" or "Execute") failed. The call is bounded by a generous
// timeout; a call that does not return in time yields an error.
func Call(ctx context.Context, c core.Connector, inv core.Invocation, scope core.Scope) (res *core.Result, stage string, err error) {
	type outcome struct {
		res   *core.Result
		stage string
		err   error
	}
	done := make(chan outcome, 1)
	go func() {
		var o outcome
		defer func() {
			if p := recover(); p != nil {
				o.err = fmt.Errorf("panic in %s: %v", o.stage, p)
			}
			if cl, ok := inv.State.(io.Closer); ok {
				_ = cl.Close()
			}
			done <- o
		}()
		o.stage = "Prepare"
		if o.err = c.Prepare(ctx, &inv); o.err != nil {
			return
		}
		o.stage = "Execute"
		o.res, o.err = c.Execute(ctx, &inv, scope)
	}()
	select {
	case o := <-done:
		return o.res, o.stage, o.err
	case <-time.After(callTimeout):
		return nil, "call", fmt.Errorf("no answer within %v", callTimeout)
	}
}

// prepare runs Prepare, turning a panic into an error.
func prepare(ctx context.Context, c core.Connector, inv *core.Invocation) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic in Prepare: %v", p)
		}
	}()
	return c.Prepare(ctx, inv)
}

// closeState closes inv.State if it holds resources, twice, because the
// pipeline may close it on several paths and closing must be idempotent.
func closeState(t *testing.T, inv *core.Invocation) {
	t.Helper()
	cl, ok := inv.State.(io.Closer)
	if !ok {
		return
	}
	if err := cl.Close(); err != nil {
		t.Errorf("closing the State of %s %s: %v", inv.Op, inv.Args, err)
	}
	if err := cl.Close(); err != nil {
		t.Errorf("closing the State of %s %s a second time: %v", inv.Op, inv.Args, err)
	}
}
