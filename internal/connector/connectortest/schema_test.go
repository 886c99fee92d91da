package connectortest_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/warden-dev/warden/internal/connector/connectortest"
)

func TestCheckInputSchema(t *testing.T) {
	const good = `{"type":"object","properties":{"path":{"type":"string","maxLength":10,"description":"A path."}},"required":["path"],"additionalProperties":false}`
	tests := []struct {
		name    string
		schema  string
		wantErr string // "" for valid
	}{
		{"good", good, ""},
		{"defaults and bounds", `{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{"n":{"type":"integer","minimum":1,"maximum":5,"default":5,"description":"N."},"b":{"type":"boolean","default":false,"description":"B."}},"required":[],"additionalProperties":false}`, ""},
		{"not JSON", `{`, "input schema"},
		{"trailing data", good + `{}`, "trailing"},
		{"not an object", `[]`, "not a JSON object"},
		{"wrong type", `{"type":"array","properties":{},"additionalProperties":false}`, `"type"`},
		{"open object", `{"type":"object","properties":{}}`, "additionalProperties"},
		{"no properties", `{"type":"object","additionalProperties":false}`, "properties"},
		{"undescribed property", `{"type":"object","properties":{"p":{"type":"string"}},"additionalProperties":false}`, "no description"},
		{"untyped property", `{"type":"object","properties":{"p":{"description":"P."}},"additionalProperties":false}`, "no type"},
		{"unknown keyword", `{"type":"object","properties":{"p":{"type":"string","maxlength":3,"description":"P."}},"additionalProperties":false}`, "unknown"},
		{"undeclared required", `{"type":"object","properties":{},"required":["p"],"additionalProperties":false}`, "not declared"},
		{"duplicate required", `{"type":"object","properties":{"p":{"type":"string","description":"P."}},"required":["p","p"],"additionalProperties":false}`, "twice"},
		{"min above max", `{"type":"object","properties":{"n":{"type":"integer","minimum":5,"maximum":1,"description":"N."}},"additionalProperties":false}`, "above"},
		{"default out of bounds", `{"type":"object","properties":{"n":{"type":"integer","maximum":1,"default":2,"description":"N."}},"additionalProperties":false}`, "default"},
		{"default wrong type", `{"type":"object","properties":{"n":{"type":"integer","default":"x","description":"N."}},"additionalProperties":false}`, "default"},
		{"bad pattern", `{"type":"object","properties":{"s":{"type":"string","pattern":"(","description":"S."}},"additionalProperties":false}`, "pattern"},
		{"negative length", `{"type":"object","properties":{"s":{"type":"string","maxLength":-1,"description":"S."}},"additionalProperties":false}`, "non-negative"},
		{"unknown type", `{"type":"object","properties":{"s":{"type":"text","description":"S."}},"additionalProperties":false}`, "unknown type"},
		{"bad format value", `{"type":"object","properties":{"n":{"type":"integer","minimum":"1","description":"N."}},"additionalProperties":false}`, "must be a number"},
		{"ref", `{"type":"object","properties":{"s":{"$ref":"#/$defs/x","type":"string","description":"S."}},"additionalProperties":false}`, "unknown or unsupported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := connectortest.CheckInputSchema(json.RawMessage(tt.schema))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("CheckInputSchema(%s) = %v, want nil", tt.schema, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("CheckInputSchema(%s) = %v, want an error containing %q", tt.schema, err, tt.wantErr)
			}
		})
	}
}
