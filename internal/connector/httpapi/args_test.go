package httpapi

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/warden-dev/warden/internal/connector/connectortest"
	"github.com/warden-dev/warden/internal/core"
)

// The two ways a connector is called: directly (Values nil: the arguments
// are decoded from Args) and by the pipeline, which hands over the values
// it decoded (every number a float64) with the text they came from.
var argModes = []struct {
	name   string
	values func(t *testing.T, raw string) map[string]any
}{
	{"direct", func(*testing.T, string) map[string]any { return nil }},
	{"pipeline", func(t *testing.T, raw string) map[string]any {
		var v map[string]any
		if err := json.Unmarshal([]byte(raw), &v); err != nil {
			t.Fatal(err)
		}
		return v
	}},
}

// callRaw prepares and executes one call with arguments as written.
func callRaw(t *testing.T, c *Connector, op, raw string, values map[string]any) error {
	t.Helper()
	inv := core.Invocation{Op: op, Args: json.RawMessage(raw), Values: values}
	_, stage, err := connectortest.Call(t.Context(), c, inv, allowAll)
	if err != nil {
		return &stageError{stage, err}
	}
	return nil
}

// TestArgumentNamesExact: an argument is named exactly as the schema
// spells it; encoding/json's case-insensitive match took "Method" for
// "method". Any other key is refused too, and nothing is sent.
func TestArgumentNamesExact(t *testing.T) {
	up := newCounter(t, "127.0.0.1:0", nil)
	c := newConn(t, spec(up.URL+"/v1/", nil))
	api := newConn(t, openapiSpec(up.URL+"/v1/", weatherDoc))
	for _, m := range argModes {
		for _, tc := range []struct {
			conn     *Connector
			op, raw  string
			mentions string
		}{
			{c, OpRequest, `{"Method":"GET","path":"x"}`, `"Method"`},
			{c, OpRequest, `{"method":"GET","PATH":"x"}`, `"PATH"`},
			{c, OpRequest, `{"method":"GET","path":"x","extra":1}`, `"extra"`},
			{c, OpRequest, `{"method":"GET","path":"x","Query":{"a":"1"}}`, `"Query"`},
			{api, "get_forecast", `{"City":"x"}`, `"City"`},
			{api, "get_forecast", `{"city":"x","extra":1}`, `"extra"`},
			{api, "create_alert", `{"Body":{"city":"x"}}`, `"Body"`},
		} {
			err := callRaw(t, tc.conn, tc.op, tc.raw, m.values(t, tc.raw))
			if core.KindOf(err) != core.KindInvalid || reasonOf(err) != core.ReasonInvalidArguments {
				t.Errorf("%s %s %s: %v, want invalid-arguments", m.name, tc.op, tc.raw, err)
				continue
			}
			// The model is told which key and what the tool takes.
			if msg := core.MessageOf(err); !strings.Contains(msg, tc.mentions) || !strings.Contains(msg, "accepts") {
				t.Errorf("%s %s %s: message %q does not name %s and the accepted arguments", m.name, tc.op, tc.raw, msg, tc.mentions)
			}
		}
		// Types are checked by the same rule.
		for _, raw := range []string{`{"method":"GET","path":1}`, `{"method":"GET","path":"x","headers":{"Accept":1}}`, `{"method":"GET","path":"x","query":[]}`} {
			err := callRaw(t, c, OpRequest, raw, m.values(t, raw))
			if reasonOf(err) != core.ReasonInvalidArguments || !strings.Contains(core.MessageOf(err), "must be") {
				t.Errorf("%s %s: %v, want a type refusal", m.name, raw, err)
			}
		}
	}
	if n := up.requests.Load(); n != 0 {
		t.Errorf("the upstream saw %d requests, want none", n)
	}
}

// TestSentAsWritten: a JSON body and query numbers reach the API exactly
// as the agent wrote them, 1.0 not 1 and integers beyond 2^53 whole,
// whether the connector decodes the arguments or the pipeline did.
func TestSentAsWritten(t *testing.T) {
	up := newCounter(t, "127.0.0.1:0", nil)
	c := newConn(t, spec(up.URL+"/v1/", nil))
	api := newConn(t, openapiSpec(up.URL+"/v1/", weatherDoc))
	const body = `{"n":1.0,"big":12345678901234567890,"e":1e3,"neg":-0.50,"s":"\u00e9"}`
	for _, m := range argModes {
		for _, tc := range []struct {
			conn      *Connector
			op, raw   string
			wantBody  string
			wantQuery string // RawQuery
		}{
			{c, OpRequest, `{"method":"POST","path":"x","body":` + body + `}`, body, ""},
			{c, OpRequest, `{"method":"POST","path":"x","body": [ 1.0 , 12345678901234567890 ] }`, `[1.0,12345678901234567890]`, ""},
			{c, OpRequest, `{"method":"POST","path":"x","body":1.0}`, `1.0`, ""},
			{c, OpRequest, `{"method":"GET","path":"x","query":{"a":1.0,"b":12345678901234567890,"c":[1.50,-0,2E2,true,"s"]}}`, "", "a=1.0&b=12345678901234567890&c=1.50&c=-0&c=2E2&c=true&c=s"},
			// Keys in the agent's order, not sorted.
			{c, OpRequest, `{"method":"PUT","path":"x","body":{"z":1,"a":{"y":2.0,"b":3}}}`, `{"z":1,"a":{"y":2.0,"b":3}}`, ""},
			{api, "create_alert", `{"body":{"city":"x","level":"high","threshold":1.0,"id":"12345678901234567890"}}`, `{"city":"x","level":"high","threshold":1.0,"id":"12345678901234567890"}`, ""},
			{api, "get_forecast", `{"city":"x","days":3.0}`, "", "city=x&days=3.0"},
			{api, "get_forecast", `{"city":"x","days":12345678901234567890}`, "", "city=x&days=12345678901234567890"},
		} {
			if err := callRaw(t, tc.conn, tc.op, tc.raw, m.values(t, tc.raw)); err != nil {
				t.Errorf("%s %s: %v", m.name, tc.raw, err)
				continue
			}
			r, got := up.last(t)
			if string(got) != tc.wantBody || r.URL.RawQuery != tc.wantQuery {
				t.Errorf("%s %s:\nthe API got body %s query %q\nwant          %s       %q", m.name, tc.raw, got, r.URL.RawQuery, tc.wantBody, tc.wantQuery)
			}
		}
	}
}

// TestArgsValuesDisagree: values that do not match the text they are said
// to come from stop the call (the caller's fault); nothing is sent.
func TestArgsValuesDisagree(t *testing.T) {
	up := newCounter(t, "127.0.0.1:0", nil)
	c := newConn(t, spec(up.URL+"/v1/", nil))
	for _, tc := range []struct {
		raw    string
		values map[string]any
	}{
		{`{"method":"POST","path":"x"}`, map[string]any{"method": "POST", "path": "x", "body": map[string]any{"a": 1.0}}},
		{`{"method":"POST","path":"x","body":"text"}`, map[string]any{"method": "POST", "path": "x", "body": map[string]any{}}},
		{`{"method":"GET","path":"x","query":{"a":1}}`, map[string]any{"method": "GET", "path": "x", "query": map[string]any{"b": 1.0}}},
	} {
		err := callRaw(t, c, OpRequest, tc.raw, tc.values)
		if core.KindOf(err) != core.KindInternal {
			t.Errorf("%s with %v: %v, want an internal error", tc.raw, tc.values, err)
		}
	}
	if n := up.requests.Load(); n != 0 {
		t.Errorf("the upstream saw %d requests, want none", n)
	}
}
