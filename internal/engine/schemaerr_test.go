package engine

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestSchemaMessage(t *testing.T) {
	raw := `{"type":"object","properties":{"path":{"type":"string","minLength":1,"maxLength":4},"n":{"type":"integer","minimum":1,"maximum":5},"flag":{"type":"boolean"}},"required":["path"],"additionalProperties":false}`
	tool := &Tool{Name: "x_tool", schema: &toolSchema{raw: json.RawMessage(raw)}}
	rs, err := tool.resolvedSchema()
	if err != nil {
		t.Fatal(err)
	}
	if got := tool.argNames(); !slices.Equal(got, []string{"flag", "n", "path"}) {
		t.Errorf("argument names %v", got)
	}
	tests := []struct {
		args string
		want string
	}{
		{`{}`, `The arguments do not fit x_tool: missing the required argument "path". See the tool's input schema.`},
		{`{"path":"a","zap":1}`, `The arguments do not fit x_tool: unknown argument "zap"; x_tool accepts flag, n, path. See the tool's input schema.`},
		{`{"path":1}`, `The arguments do not fit x_tool: the argument "path" must be a string, not an integer. See the tool's input schema.`},
		{`{"path":"a","n":0}`, `The arguments do not fit x_tool: the argument "n" must be at least 1. See the tool's input schema.`},
		{`{"path":"a","n":9}`, `The arguments do not fit x_tool: the argument "n" must be at most 5. See the tool's input schema.`},
		{`{"path":""}`, `The arguments do not fit x_tool: the argument "path" must not be empty. See the tool's input schema.`},
		{`{"path":"abcdef"}`, `The arguments do not fit x_tool: the argument "path" must be at most 4 characters long. See the tool's input schema.`},
		{`{"path":"a","flag":"yes"}`, `The arguments do not fit x_tool: the argument "flag" must be a boolean, not a string. See the tool's input schema.`},
	}
	for _, tt := range tests {
		var v map[string]any
		if err := json.Unmarshal([]byte(tt.args), &v); err != nil {
			t.Fatal(err)
		}
		err := rs.Validate(v)
		if err == nil {
			t.Fatalf("Validate(%s) succeeded", tt.args)
		}
		if got := schemaMessage(tool, err); got != tt.want {
			t.Errorf("schemaMessage(%s) = %q, want %q", tt.args, got, tt.want)
		}
	}
}
