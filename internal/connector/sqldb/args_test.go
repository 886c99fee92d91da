package sqldb

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/warden-dev/warden/internal/core"
)

// engineCall is a call as the engine makes it: the raw arguments and the
// values it decoded from them (numbers as float64).
func engineCall(t *testing.T, op, raw string) *core.Invocation {
	t.Helper()
	var values map[string]any
	if err := json.Unmarshal([]byte(raw), &values); err != nil {
		t.Fatal(err)
	}
	return &core.Invocation{Op: op, Args: json.RawMessage(raw), Values: values}
}

// TestArgsExactNames: an argument is known only by its exact name, as in
// every kind; encoding/json alone would take "SQL" for sql.
func TestArgsExactNames(t *testing.T) {
	c := openSQLite(t, shopFile(t), Limits{})
	for _, raw := range []string{
		`{"SQL":"SELECT 1"}`,
		`{"sql":"SELECT 1","Params":[1]}`,
		`{"sql":"SELECT 1","limit":5}`,
	} {
		for _, inv := range []*core.Invocation{engineCall(t, OpQuery, raw), {Op: OpQuery, Args: json.RawMessage(raw)}} {
			err := c.Prepare(context.Background(), inv)
			if core.KindOf(err) != core.KindInvalid || core.ReasonOf(err) != core.ReasonInvalidArguments {
				t.Errorf("%s (values %v): %v; want invalid arguments", raw, inv.Values != nil, err)
			}
		}
	}
	if err := c.Prepare(context.Background(), engineCall(t, OpSchema, `{"sql":"SELECT 1"}`)); core.KindOf(err) != core.KindInvalid {
		t.Errorf("schema with sql: %v; want invalid arguments", err)
	}
}

// TestArgsNumbersAsWritten: a parameter is bound as the call wrote it,
// though the engine's decoded values hold numbers as float64: 1.0 stays a
// real, and an integer beyond 2^53 stays exact.
func TestArgsNumbersAsWritten(t *testing.T) {
	c := openSQLite(t, shopFile(t), Limits{})
	inv := engineCall(t, OpQuery, `{"sql":"SELECT typeof(?), typeof(?), CAST(? AS TEXT)","params":[1.0, 1, 9007199254740993]}`)
	if err := c.Prepare(context.Background(), inv); err != nil {
		t.Fatal(err)
	}
	res, err := c.Execute(context.Background(), inv, core.ScopeFunc(func(string) bool { return true }))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(res.Value.(*table).Rows)
	if want := `[["real","integer","9007199254740993"]]`; string(got) != want {
		t.Errorf("rows = %s, want %s", got, want)
	}
}
