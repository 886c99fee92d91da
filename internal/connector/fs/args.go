package fs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/warden-dev/warden/internal/argjson"
	"github.com/warden-dev/warden/internal/core"
)

// decodeArgs decodes a tool's arguments into v strictly: the arguments must
// be one JSON object whose keys are all in allowed (exact case; encoding/json
// alone would match keys case-insensitively) and appear once, with values
// of the right types, and nothing may follow the object. The pipeline has
// validated the arguments against the schema already; this does not rely
// on it.
func decodeArgs(op string, raw json.RawMessage, allowed []string, v any) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		raw = json.RawMessage("{}")
	}
	// The common case costs one pass of encoding/json and one of a byte
	// scanner: a write's content is decoded once here. Anything amiss is
	// explained by the token-by-token pass below.
	if raw[0] == '{' && json.Unmarshal(raw, v) == nil {
		if keys, err := argjson.Keys(raw); err == nil && allIn(keys, allowed) {
			return nil
		}
	}
	return explainArgs(op, raw, allowed, v)
}

// allIn reports whether every key is one of allowed.
func allIn(keys, allowed []string) bool {
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			return false
		}
	}
	return true
}

// explainArgs is decodeArgs token by token, to say exactly what is wrong.
func explainArgs(op string, raw json.RawMessage, allowed []string, v any) error {
	invalid := func(msg string, err error) error {
		return core.E(op, core.KindInvalid, core.ReasonInvalidArguments, msg, err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return invalid("The arguments must be a JSON object.", err)
	}
	seen := make(map[string]bool, len(allowed))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return invalid("The arguments are not valid JSON.", err)
		}
		key := tok.(string) // object keys are always strings
		if !slices.Contains(allowed, key) {
			return invalid(fmt.Sprintf("Unknown argument %s; this tool accepts %s.", quote(key), quoteList(allowed)), nil)
		}
		if seen[key] {
			return invalid(fmt.Sprintf("The argument %s is given twice.", quote(key)), nil)
		}
		seen[key] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return invalid("The arguments are not valid JSON.", err)
		}
	}
	if _, err := dec.Token(); err != nil {
		return invalid("The arguments are not valid JSON.", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalid("Unexpected data after the arguments object.", err)
	}

	strict := json.NewDecoder(bytes.NewReader(raw))
	strict.DisallowUnknownFields()
	if err := strict.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return invalid(fmt.Sprintf("The argument %s has the wrong type (%s); see the tool's input schema.", quote(te.Field), te.Value), err)
		}
		return invalid("The arguments do not fit the tool's input schema.", err)
	}
	return nil
}

func quoteList(names []string) string {
	var b bytes.Buffer
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(n))
	}
	return b.String()
}
