package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/warden-dev/warden/internal/argjson"
	"github.com/warden-dev/warden/internal/core"
)

// Arguments are decoded by the rule every kind shares (argjson.Decode):
// exact names, no other key, each value of its field's type, from the
// values the pipeline already decoded. Those hold every number as a
// float64, which cannot tell 1.0 from 1 nor keep an integer beyond 2^53;
// an API receives what the agent wrote, so the parts sent as written (a
// JSON body, a JSON-content parameter, a parameter holding a number) are
// read again from the JSON text, each alone, and only when they are there.

// decodeArgs fills dst from a call's arguments by argjson.Decode, as a
// refusal the model can act on.
func decodeArgs(inv *core.Invocation, dst any) error {
	if err := argjson.Decode(inv.Args, inv.Values, dst); err != nil {
		return core.E("http.prepare", core.KindInvalid, core.ReasonInvalidArguments, err.Error(), err)
	}
	return nil
}

// errNotExact says the JSON text does not hold what the decoded values
// say: the pipeline handed a connector Args and Values that disagree.
var errNotExact = errors.New("the arguments' text and values disagree")

// members returns the JSON text of the outermost object's members named
// in want, as written. Keys are compared decoded ("\u0062ody" is body),
// as the decoded values have them.
func members(raw []byte, want ...string) (map[string]json.RawMessage, error) {
	if len(want) == 0 {
		return nil, nil // nothing to read as written: no second pass
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		return nil, errNotExact
	}
	out := make(map[string]json.RawMessage, len(want))
	for d.More() {
		tok, err := d.Token()
		key, ok := tok.(string)
		if err != nil || !ok {
			return nil, errNotExact
		}
		var v json.RawMessage
		if err := d.Decode(&v); err != nil {
			return nil, errNotExact
		}
		for _, w := range want {
			if w == key {
				out[key] = v
			}
		}
	}
	return out, nil
}

// exactValue decodes one member's text with its numbers as written
// (json.Number), after checking it is the same kind of value as v, the
// member as the pipeline decoded it.
func exactValue(raw json.RawMessage, v any) (any, error) {
	if !sameKind(raw, v) {
		return nil, errNotExact
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var out any
	if err := d.Decode(&out); err != nil {
		return nil, errNotExact
	}
	return out, nil
}

// compactJSON is a member's text without insignificant space: keys in the
// agent's order, numbers as written.
func compactJSON(raw json.RawMessage, v any) ([]byte, error) {
	if !sameKind(raw, v) {
		return nil, errNotExact
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, errNotExact
	}
	return buf.Bytes(), nil
}

// sameKind reports whether the JSON text raw holds the kind of value v is.
func sameKind(raw json.RawMessage, v any) bool {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return false
	}
	c := raw[0]
	switch v.(type) {
	case map[string]any:
		return c == '{'
	case []any:
		return c == '['
	case string:
		return c == '"'
	case bool:
		return c == 't' || c == 'f'
	case float64, json.Number:
		return c == '-' || c >= '0' && c <= '9'
	case nil:
		return c == 'n'
	}
	return false
}

// hasNumber reports whether a decoded value holds a number anywhere.
func hasNumber(v any) bool {
	switch x := v.(type) {
	case float64, json.Number:
		return true
	case []any:
		for _, e := range x {
			if hasNumber(e) {
				return true
			}
		}
	case map[string]any:
		for _, e := range x {
			if hasNumber(e) {
				return true
			}
		}
	}
	return false
}

// scalarText is a scalar's text on the wire: a number as written (a
// json.Number from exactValue; a float64 never gets here).
func scalarText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		if x {
			return "true", true
		}
		return "false", true
	}
	return "", false
}

// notExact is Prepare's answer when the text and the values disagree: a
// fault of the caller, not of the agent's arguments.
func notExact(err error) error {
	return core.E("http.prepare", core.KindInternal, core.ReasonInternal, "", fmt.Errorf("arguments: %w", err))
}
