package sqldb

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/warden-dev/warden/internal/argjson"
	"github.com/warden-dev/warden/internal/core"
)

// maxParams bounds the parameters of one call.
const maxParams = 1000

// args are a call's decoded arguments.
type args struct {
	op     string
	SQL    string
	Params []any // nil, bool, int64, float64 or string
	DryRun bool
}

// sqlArgs are the arguments of query, execute and ddl.
type sqlArgs struct {
	SQL    *string `json:"sql"`
	Params []any   `json:"params"`
	DryRun bool    `json:"dry_run"`
}

// decodeArgs decodes and checks a call's arguments by the rule every kind
// shares (argjson.Decode): exact names, no other key, each value of its
// field's type. Parameters are scalars only: they are bound, never
// spliced into the text.
func decodeArgs(inv *core.Invocation) (*args, error) {
	const where = "sql.args"
	bad := func(format string, v ...any) error {
		return core.Errorf(where, core.KindInvalid, core.ReasonInvalidArguments, format, v...)
	}
	op := inv.Op
	if op == OpSchema {
		if err := argjson.Decode(inv.Args, inv.Values, &struct{}{}); err != nil {
			return nil, core.E(where, core.KindInvalid, core.ReasonInvalidArguments, err.Error(), err)
		}
		return &args{op: op}, nil
	}
	var in sqlArgs
	if err := argjson.Decode(inv.Args, inv.Values, &in); err != nil {
		return nil, core.E(where, core.KindInvalid, core.ReasonInvalidArguments, err.Error(), err)
	}
	a := &args{op: op, DryRun: in.DryRun}
	if in.SQL == nil || strings.TrimSpace(*in.SQL) == "" {
		return nil, bad("Give the statement in sql.")
	}
	if !utf8.ValidString(*in.SQL) || strings.ContainsRune(*in.SQL, 0) {
		return nil, bad("sql must be valid UTF-8 text without NUL characters.")
	}
	a.SQL = *in.SQL
	if op == OpDDL && len(in.Params) > 0 {
		return nil, bad("%s takes no params: DDL has no placeholders.", OpDDL)
	}
	if len(in.Params) > maxParams {
		return nil, bad("At most %d params are allowed; this call has %d.", maxParams, len(in.Params))
	}
	if len(in.Params) == 0 {
		return a, nil
	}
	// The decoded values hold numbers as float64, which cannot tell 1 from
	// 1.0 nor keep an integer beyond 2^53: a parameter is bound as written,
	// so the parameters alone are read from the JSON text.
	var exact struct {
		Params []json.RawMessage `json:"params"`
	}
	if err := json.Unmarshal(inv.Args, &exact); err != nil || len(exact.Params) != len(in.Params) {
		return nil, bad("The params are not valid JSON.")
	}
	for i, p := range exact.Params {
		v, err := scalar(p)
		if err != nil {
			return nil, bad("params[%d]: %v.", i, err)
		}
		a.Params = append(a.Params, v)
	}
	return a, nil
}

// scalar decodes one parameter: a string, number, boolean or null.
func scalar(raw json.RawMessage) (any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	switch x := v.(type) {
	case nil, bool, string:
		return x, nil
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, nil
		}
		f, err := x.Float64()
		if err != nil || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%s is not a number a database can take", x)
		}
		return f, nil
	}
	return nil, fmt.Errorf("a parameter must be a string, number, boolean or null, not %s", kindOfJSON(v))
}

func kindOfJSON(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	}
	return fmt.Sprintf("%T", v)
}
