package argjson

import (
	"bytes"
	"encoding/json"
	"io"
	"slices"
	"testing"
	"unicode/utf8"
)

func TestCheckDuplicateKeys(t *testing.T) {
	tests := []struct {
		in      string
		wantErr bool
	}{
		{`{}`, false},
		{`{"a":1,"b":2}`, false},
		{`{"a":1,"a":2}`, true},
		{`{"path":"x","\u0070ath":"../y"}`, true},
		{`{"a":{"b":1,"b":2}}`, true},
		{`{"a":[{"b":1},{"b":2}]}`, false},
		{`{"a":[{"b":1,"b":2}]}`, true},
		{`{"a":"{\"a\":1,\"a\":2}"}`, false},
		{`{"a":"x\\","b":"y"}`, false},
		{`{"a":["a","a"]}`, false},
		{`{"a":1,"b":{"a":1}}`, false},
		{`{"":1,"":2}`, true},
		{`{"a\"":1,"a":2}`, false},
	}
	for _, tt := range tests {
		err := CheckDuplicateKeys([]byte(tt.in))
		if (err != nil) != tt.wantErr {
			t.Errorf("CheckDuplicateKeys(%s) = %v, want error %v", tt.in, err, tt.wantErr)
		}
	}
}

// tokenDuplicate is a slow reference: the token stream of encoding/json.
func tokenDuplicate(raw []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(raw))
	type frame struct {
		obj  bool
		keys map[string]bool
		key  bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err == io.EOF || err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.obj && top.key {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				continue
			}
			k, _ := tok.(string)
			if top.keys[k] {
				return true
			}
			top.keys[k] = true
			top.key = false
			continue
		}
		if top != nil && top.obj {
			top.key = true
		}
		switch d, _ := tok.(json.Delim); d {
		case '{':
			stack = append(stack, &frame{obj: true, keys: map[string]bool{}, key: true})
		case '[':
			stack = append(stack, &frame{})
		case ']', '}':
			stack = stack[:len(stack)-1]
		}
	}
}

func FuzzCheckDuplicateKeys(f *testing.F) {
	for _, s := range []string{`{"a":1,"a":2}`, `{"a":[{"b":1,"b":2}]}`, `{"p":"\"","\u0070":1,"p":2}`, `{"a":{"x":[1,{"y":2,"y":3}]}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var v map[string]any
		if !utf8.Valid(raw) || json.Unmarshal(raw, &v) != nil {
			return // only decoded objects reach the check
		}
		got := CheckDuplicateKeys(raw) != nil
		want := tokenDuplicate(raw)
		if got != want {
			t.Fatalf("CheckDuplicateKeys(%q) = %v, token reference says %v", raw, got, want)
		}
		if keys, err := Keys(raw); !want && (err != nil || !slices.Equal(keys, tokenKeys(raw))) {
			t.Fatalf("Keys(%q) = %q, %v; token reference says %q", raw, keys, err, tokenKeys(raw))
		}
	})
}

// tokenKeys is a slow reference for Keys: the keys of the outermost object
// in the token stream of encoding/json.
func tokenKeys(raw []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil
		}
	}
	return keys
}

func TestKeys(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{`{}`, nil},
		{` {"path":"x","Mode":{"a":1,"b":[{"c":2}]},"\u0063ontent":"{\"z\":1}"} `, []string{"path", "Mode", "content"}},
		{`{"a\"b":1,"":2}`, []string{`a"b`, ""}},
		{`[{"a":1}]`, nil},
	}
	for _, tt := range tests {
		got, err := Keys([]byte(tt.in))
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("Keys(%s) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := Keys([]byte(`{"a":{"b":1,"b":2}}`)); err == nil {
		t.Error("Keys accepted a repeated key in an inner object")
	}
}
