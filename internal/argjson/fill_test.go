package argjson

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

type editArgs struct {
	Path   string  `json:"path"`
	Offset *int64  `json:"offset"`
	Limit  int     `json:"limit"`
	Ratio  float64 `json:"ratio"`
	Dry    bool    `json:"dry_run"`
	Edits  []struct {
		Old *string `json:"old"`
		New *string `json:"new"`
	} `json:"edits"`
	Params  []any             `json:"params"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
	Any     any               `json:"any"`
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name, raw string
		wantErr   string // "" means it decodes
		check     func(t *testing.T, a *editArgs)
	}{
		{name: "all", raw: `{"path":"a.md","offset":3,"limit":2,"ratio":0.5,"dry_run":true,"edits":[{"old":"x","new":"y"}],"params":[1,"a",null],"headers":{"Accept":"text/plain"},"body":{"k":[1,2]},"any":{"n":1}}`,
			check: func(t *testing.T, a *editArgs) {
				if a.Path != "a.md" || a.Offset == nil || *a.Offset != 3 || a.Limit != 2 || a.Ratio != 0.5 || !a.Dry {
					t.Errorf("scalars = %+v", a)
				}
				if len(a.Edits) != 1 || *a.Edits[0].Old != "x" || *a.Edits[0].New != "y" {
					t.Errorf("edits = %+v", a.Edits)
				}
				if len(a.Params) != 3 || a.Params[1] != "a" || a.Params[2] != nil || a.Headers["Accept"] != "text/plain" {
					t.Errorf("params, headers = %v, %v", a.Params, a.Headers)
				}
				if string(a.Body) != `{"k":[1,2]}` {
					t.Errorf("body = %s", a.Body)
				}
			}},
		{name: "null leaves the zero value", raw: `{"path":null,"offset":null}`, check: func(t *testing.T, a *editArgs) {
			if a.Path != "" || a.Offset != nil {
				t.Errorf("got %+v", a)
			}
		}},
		{name: "empty", raw: ``, check: func(t *testing.T, a *editArgs) {}},
		// encoding/json would match PATH to path: a second spelling of a
		// key must never reach a field.
		{name: "other case", raw: `{"path":"a","PATH":"../x"}`, wantErr: `Unknown argument "PATH"; this tool accepts "any", "body"`},
		{name: "unknown nested", raw: `{"edits":[{"old":"a","new":"b","Old":"c"}]}`, wantErr: `Unknown argument "edits[0].Old"; "edits[0]" accepts "edits[0].new", "edits[0].old"`},
		{name: "repeated", raw: `{"path":"a","path":"../x"}`, wantErr: `the key "path" appears twice`},
		{name: "repeated escaped", raw: `{"path":"a","\u0070ath":"../x"}`, wantErr: `the key "path" appears twice`},
		{name: "trailing data", raw: `{"path":"a"} {}`, wantErr: "not valid JSON"},
		{name: "not an object", raw: `["path"]`, wantErr: "must be a JSON object"},
		{name: "string for int", raw: `{"limit":"3"}`, wantErr: `"limit" must be a whole number, not a string`},
		{name: "fraction", raw: `{"offset":1.5}`, wantErr: `"offset" must be a whole number`},
		{name: "huge", raw: `{"offset":1e300}`, wantErr: `"offset" must be a whole number`},
		{name: "bool for string", raw: `{"path":true}`, wantErr: `"path" must be a string, not true or false`},
		{name: "object for list", raw: `{"edits":{"old":"a"}}`, wantErr: `"edits" must be a list, not an object`},
		{name: "number in map of strings", raw: `{"headers":{"A":1}}`, wantErr: `"headers.A" must be a string`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a editArgs
			err := Decode([]byte(tt.raw), nil, &a)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Decode(%s) = %v, want an error containing %q", tt.raw, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode(%s) = %v", tt.raw, err)
			}
			tt.check(t, &a)
			// The pipeline's already decoded values give the same result.
			var values map[string]any
			if tt.raw != "" {
				if err := json.Unmarshal([]byte(tt.raw), &values); err != nil {
					t.Fatal(err)
				}
			} else {
				values = map[string]any{}
			}
			var b editArgs
			if err := Decode(nil, values, &b); err != nil {
				t.Fatalf("Decode(values of %s) = %v", tt.raw, err)
			}
			tt.check(t, &b)
		})
	}
}

// FuzzDecode: any input either decodes or is refused with a sentence;
// nothing panics, and what decodes names only known fields.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{}`, `{"path":"a","edits":[{"old":"x","new":"y"}]}`, `{"offset":-1}`, `{"headers":{"a":"b"}}`, `{"path":"a","PATH":"b"}`, `{"body":[1,{"a":null}]}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		var a editArgs
		if err := Decode([]byte(raw), nil, &a); err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		keys, err := Keys([]byte(strings.TrimSpace(raw)))
		if err != nil && strings.TrimSpace(raw) != "" {
			t.Fatalf("Decode accepted %q, which Keys refuses: %v", raw, err)
		}
		for _, k := range keys {
			if _, ok := fieldsOf(reflect.TypeOf(editArgs{})).index[k]; !ok {
				t.Fatalf("Decode accepted the unknown key %q", k)
			}
		}
	})
}
