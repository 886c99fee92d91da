package audit

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
)

func TestAppendFields_matchesEncodingJSON(t *testing.T) {
	tests := []struct {
		name string
		f    fields
	}{
		{"empty", fields{}},
		{"typical", fieldsOf(callRecord(0))},
		{"all", fields{
			Event: "call", Agent: "a", Tool: "t", Resource: "r", Action: "read", Path: "p/q",
			Args: json.RawMessage(" { \"a\" : [1, 2, \"<&>\u2028\"] } "), ArgsSHA256: "ab", ArgsBytes: 12,
			Decision: "deny", Rule: "rules[0]", Reasons: []string{"x", "y"}, ApprovalID: "ap",
			Outcome: "error", Error: "boom", ResultBytes: -5, Truncated: true, DurationMS: 1.5,
			Detail: map[string]any{"b": 1, "a": "<x>", "n": nil},
		}},
		{"escapes", fields{Event: "\"\\\b\f\n\r\t\x00\x1f<>&\u2028\u2029\x7f é 😀 \xff\xfe"}},
		{"empty-reasons", fields{Event: "e", Reasons: []string{}}},
		{"empty-detail", fields{Event: "e", Detail: map[string]any{}}},
		{"detail-kinds", fields{Event: "e", Detail: map[string]any{
			"s": "<warden undo>\u2028", "t": true, "f": false, "i": -3, "i64": int64(1 << 60), "x": 0.000001, "y": 1e21,
			"z": 2.5, "nil": nil, "é": "k", "\"q\"": "", "B": "upper", "a<": "key escaped",
		}}},
		{"detail-nested", fields{Event: "e", Detail: map[string]any{"b": map[string]any{"z": 1, "a": []any{"x"}}, "a": "s"}}},
		{"detail-many", fields{Event: "e", Detail: map[string]any{
			"k1": 1, "k2": 2, "k3": 3, "k4": 4, "k5": 5, "k6": 6, "k7": 7, "k8": 8, "k9": 9, "k10": 10, "k11": "eleven",
		}}},
		{"tiny-float", fields{Event: "e", DurationMS: 1e-9}},
		{"huge-float", fields{Event: "e", DurationMS: 1e22}},
		{"negative-float", fields{Event: "e", DurationMS: -0.000001}},
	}
	var scratch bytes.Buffer
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := json.Marshal(&tt.f) // the reference

			if err != nil {
				t.Fatal(err)
			}
			got, err := appendFields(nil, &tt.f, &scratch)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("appendFields(%+v) = %s, %v\nwant %s", tt.f, got, err, want)
			}
		})
	}
}

func TestAppendFields_errors(t *testing.T) {
	tests := []struct {
		name string
		f    fields
	}{
		{"invalid-args", fields{Event: "e", Args: json.RawMessage(`{"a":`)}},
		{"nan", fields{Event: "e", DurationMS: math.NaN()}},
		{"inf", fields{Event: "e", DurationMS: math.Inf(1)}},
		{"bad-detail", fields{Event: "e", Detail: map[string]any{"f": func() {}}}},
		{"nan-detail", fields{Event: "e", Detail: map[string]any{"f": math.NaN()}}},
	}
	var scratch bytes.Buffer
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := appendFields(nil, &tt.f, &scratch); err == nil {
				t.Errorf("appendFields(%s) = nil error, want an error", tt.name)
			}
		})
	}
}

func FuzzAppendFields(f *testing.F) {
	f.Add("call", "alice", `{"path":"a<b"}`, "reason", 1.25, int64(7))
	f.Add("\xff\u2028", "", ` [ 1 , "\u2029" ] `, "", 1e-7, int64(-1))
	f.Fuzz(func(t *testing.T, event, agent, args, reason string, dur float64, n int64) {
		fl := fields{Event: event, Agent: agent, Args: json.RawMessage(args), Reasons: []string{reason},
			DurationMS: dur, ResultBytes: n, Error: reason + agent}
		want, werr := json.Marshal(&fl)
		var scratch bytes.Buffer
		got, gerr := appendFields(nil, &fl, &scratch)
		if (werr != nil) != (gerr != nil) {
			t.Fatalf("appendFields error %v, json.Marshal error %v", gerr, werr)
		}
		if werr == nil && !bytes.Equal(got, want) {
			t.Fatalf("appendFields = %s\njson.Marshal = %s", got, want)
		}
	})
}
