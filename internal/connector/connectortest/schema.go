package connectortest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"
)

// CheckInputSchema reports whether schema is a usable tool input schema: a
// JSON Schema (draft 2020-12) object with "type": "object",
// "additionalProperties": false and a description on every property, whose
// keywords are all known and well-formed (bounds are numbers, min ≤ max,
// patterns compile, defaults satisfy their own schema, required names are
// declared).
//
// On top of that strict structural check ("$ref" and unknown keywords are
// rejected rather than ignored, so a typo such as "maxlength" fails), the
// schema must compile with the validator the pipeline uses
// (github.com/google/jsonschema-go), defaults included.
func CheckInputSchema(schema json.RawMessage) error {
	if err := checkStructure(schema); err != nil {
		return err
	}
	_, err := compile(schema)
	return err
}

// compile resolves schema with the pipeline's validator.
func compile(schema json.RawMessage) (*jsonschema.Resolved, error) {
	var s jsonschema.Schema
	if err := json.Unmarshal(schema, &s); err != nil {
		return nil, fmt.Errorf("input schema does not compile: %w", err)
	}
	rs, err := s.Resolve(&jsonschema.ResolveOptions{ValidateDefaults: true})
	if err != nil {
		return nil, fmt.Errorf("input schema does not compile: %w", err)
	}
	return rs, nil
}

// checkArgs validates tool arguments against schema, as the pipeline does
// before Prepare.
func checkArgs(schema, args json.RawMessage) error {
	rs, err := compile(schema)
	if err != nil {
		return err
	}
	var v any
	if err := json.Unmarshal(args, &v); err != nil {
		return err
	}
	return rs.Validate(v)
}

func checkStructure(schema json.RawMessage) error {
	v, err := decodeJSON(schema)
	if err != nil {
		return fmt.Errorf("input schema: %w", err)
	}
	top, ok := v.(map[string]any)
	if !ok {
		return errors.New("input schema: not a JSON object")
	}
	if top["type"] != "object" {
		return fmt.Errorf(`input schema: "type" is %v, want "object"`, top["type"])
	}
	if top["additionalProperties"] != false {
		return errors.New(`input schema: "additionalProperties" must be false`)
	}
	props, ok := top["properties"].(map[string]any)
	if !ok {
		return errors.New(`input schema: "properties" must be an object`)
	}
	for name, p := range props {
		ps, ok := p.(map[string]any)
		if !ok {
			return fmt.Errorf("input schema: property %q is not a schema object", name)
		}
		if d, _ := ps["description"].(string); strings.TrimSpace(d) == "" {
			return fmt.Errorf("input schema: property %q has no description", name)
		}
		if _, ok := ps["type"]; !ok {
			return fmt.Errorf("input schema: property %q has no type", name)
		}
	}
	return checkNode(top, "#")
}

// decodeJSON decodes one JSON value with numbers kept exact and rejects
// trailing data.
func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("trailing data after the JSON value")
	}
	return v, nil
}

var knownTypes = []string{"object", "array", "string", "integer", "number", "boolean", "null"}

// checkNode checks one schema (an object or a boolean) at JSON pointer at.
func checkNode(v any, at string) error {
	if _, ok := v.(bool); ok {
		return nil
	}
	s, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("%s: a schema must be an object or a boolean", at)
	}
	for k, kv := range s {
		kat := at + "/" + k
		switch k {
		case "$schema", "$id", "$comment", "title", "description", "format",
			"contentEncoding", "contentMediaType":
			if _, ok := kv.(string); !ok {
				return fmt.Errorf("%s: must be a string", kat)
			}
		case "deprecated", "readOnly", "writeOnly", "uniqueItems":
			if _, ok := kv.(bool); !ok {
				return fmt.Errorf("%s: must be a boolean", kat)
			}
		case "type":
			if err := checkType(kv, kat); err != nil {
				return err
			}
		case "properties", "$defs":
			m, ok := kv.(map[string]any)
			if !ok {
				return fmt.Errorf("%s: must be an object", kat)
			}
			for name, sub := range m {
				if err := checkNode(sub, kat+"/"+name); err != nil {
					return err
				}
			}
		case "additionalProperties", "items", "not":
			if err := checkNode(kv, kat); err != nil {
				return err
			}
		case "anyOf", "oneOf", "allOf":
			list, ok := kv.([]any)
			if !ok || len(list) == 0 {
				return fmt.Errorf("%s: must be a non-empty array", kat)
			}
			for i, sub := range list {
				if err := checkNode(sub, fmt.Sprintf("%s/%d", kat, i)); err != nil {
					return err
				}
			}
		case "required":
			list, ok := kv.([]any)
			if !ok {
				return fmt.Errorf("%s: must be an array", kat)
			}
			seen := map[string]bool{}
			for _, r := range list {
				name, ok := r.(string)
				if !ok {
					return fmt.Errorf("%s: must hold strings", kat)
				}
				if seen[name] {
					return fmt.Errorf("%s: %q listed twice", kat, name)
				}
				seen[name] = true
				if props, ok := s["properties"].(map[string]any); ok && s["additionalProperties"] == false {
					if _, ok := props[name]; !ok {
						return fmt.Errorf("%s: %q is required but not declared in properties", kat, name)
					}
				}
			}
		case "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf":
			if _, err := number(kv); err != nil {
				return fmt.Errorf("%s: %w", kat, err)
			}
		case "minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties":
			f, err := number(kv)
			if err != nil || f < 0 || f != math.Trunc(f) {
				return fmt.Errorf("%s: must be a non-negative integer", kat)
			}
		case "pattern":
			p, ok := kv.(string)
			if !ok {
				return fmt.Errorf("%s: must be a string", kat)
			}
			if _, err := regexp.Compile(p); err != nil {
				return fmt.Errorf("%s: %w", kat, err)
			}
		case "enum", "examples":
			if list, ok := kv.([]any); !ok || len(list) == 0 {
				return fmt.Errorf("%s: must be a non-empty array", kat)
			}
		case "const", "default":
			// Checked against the schema below.
		default:
			return fmt.Errorf("%s: unknown or unsupported keyword", kat)
		}
	}
	for _, pair := range [][2]string{{"minimum", "maximum"}, {"minLength", "maxLength"}, {"minItems", "maxItems"}, {"minProperties", "maxProperties"}} {
		lo, okLo := s[pair[0]]
		hi, okHi := s[pair[1]]
		if okLo && okHi {
			l, _ := number(lo)
			h, _ := number(hi)
			if l > h {
				return fmt.Errorf("%s: %s %v is above %s %v", at, pair[0], l, pair[1], h)
			}
		}
	}
	if d, ok := s["default"]; ok {
		if err := checkInstance(s, d); err != nil {
			return fmt.Errorf("%s/default: %w", at, err)
		}
	}
	if e, ok := s["enum"].([]any); ok {
		for i, x := range e {
			if err := checkInstance(s, x); err != nil {
				return fmt.Errorf("%s/enum/%d: %w", at, i, err)
			}
		}
	}
	return nil
}

func checkType(v any, at string) error {
	switch t := v.(type) {
	case string:
		if !slices.Contains(knownTypes, t) {
			return fmt.Errorf("%s: unknown type %q", at, t)
		}
		return nil
	case []any:
		if len(t) == 0 {
			return fmt.Errorf("%s: empty type list", at)
		}
		seen := map[string]bool{}
		for _, x := range t {
			name, ok := x.(string)
			if !ok || !slices.Contains(knownTypes, name) || seen[name] {
				return fmt.Errorf("%s: bad type list %v", at, t)
			}
			seen[name] = true
		}
		return nil
	}
	return fmt.Errorf("%s: must be a string or an array of strings", at)
}

func number(v any) (float64, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, errors.New("must be a number")
	}
	return n.Float64()
}

// checkInstance checks a value (a default or an enum member) against the
// simple keywords of s: type, bounds, lengths, pattern and enum.
func checkInstance(s map[string]any, v any) error {
	if t, ok := s["type"]; ok {
		var types []string
		switch t := t.(type) {
		case string:
			types = []string{t}
		case []any:
			for _, x := range t {
				types = append(types, x.(string))
			}
		}
		if !slices.ContainsFunc(types, func(t string) bool { return hasType(v, t) }) {
			return fmt.Errorf("value %v is not of type %v", v, t)
		}
	}
	if n, ok := v.(json.Number); ok {
		f, _ := n.Float64()
		if lo, ok := s["minimum"]; ok {
			if l, _ := number(lo); f < l {
				return fmt.Errorf("value %v is below minimum %v", f, l)
			}
		}
		if hi, ok := s["maximum"]; ok {
			if h, _ := number(hi); f > h {
				return fmt.Errorf("value %v is above maximum %v", f, h)
			}
		}
	}
	if str, ok := v.(string); ok {
		n := float64(len([]rune(str)))
		if lo, ok := s["minLength"]; ok {
			if l, _ := number(lo); n < l {
				return fmt.Errorf("value %q is shorter than minLength %v", str, l)
			}
		}
		if hi, ok := s["maxLength"]; ok {
			if h, _ := number(hi); n > h {
				return fmt.Errorf("value %q is longer than maxLength %v", str, h)
			}
		}
		if p, ok := s["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(str) {
			return fmt.Errorf("value %q does not match pattern %q", str, p)
		}
	}
	return nil
}

func hasType(v any, t string) bool {
	switch t {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "null":
		return v == nil
	case "number":
		_, ok := v.(json.Number)
		return ok
	case "integer":
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		f, err := n.Float64()
		return err == nil && f == math.Trunc(f)
	}
	return false
}
