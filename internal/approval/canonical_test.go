package approval

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCanonicalArgs(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr bool
	}{
		{name: "empty", in: "", want: `{}`},
		{name: "whitespace only", in: " \n\t", want: `{}`},
		{name: "null", in: "null", want: `{}`},
		{name: "null padded", in: " null ", want: `{}`},
		{name: "empty object", in: "{ }", want: `{}`},
		{name: "sorted keys", in: `{"b":1,"a":2}`, want: `{"a":2,"b":1}`},
		{name: "whitespace removed", in: "{\n  \"a\" : [ 1 , 2 ] ,\r\n\t\"b\":true }", want: `{"a":[1,2],"b":true}`},
		{name: "nested objects sorted", in: `{"z":{"y":{"b":null,"a":false}},"a":[{"d":1,"c":2}]}`, want: `{"a":[{"c":2,"d":1}],"z":{"y":{"a":false,"b":null}}}`},
		{name: "array order kept", in: `[3,1,2]`, want: `[3,1,2]`},
		{name: "integer kept", in: `{"n":1}`, want: `{"n":1}`},
		{name: "decimal kept distinct from integer", in: `{"n":1.0}`, want: `{"n":1.0}`},
		{name: "exponent kept", in: `{"n":1e2}`, want: `{"n":1e2}`},
		{name: "negative zero kept", in: `{"n":-0}`, want: `{"n":-0}`},
		{name: "big integer exact", in: `{"n":123456789012345678901234567890}`, want: `{"n":123456789012345678901234567890}`},
		{name: "int64 overflow exact", in: `{"n":9007199254740993}`, want: `{"n":9007199254740993}`},
		{name: "unicode kept", in: `{"名前":"こんにちは","emoji":"😀"}`, want: `{"emoji":"😀","名前":"こんにちは"}`},
		{name: "escape decoded", in: `{"\u0061":"\u00e9"}`, want: `{"a":"é"}`},
		{name: "surrogate pair decoded", in: `"\ud83d\ude00"`, want: `"😀"`},
		{name: "escaped backslash before u", in: `"\\ud800"`, want: `"\\ud800"`},
		{name: "html characters escaped", in: `"<a&b>"`, want: `"\u003ca\u0026b\u003e"`},
		{name: "keys sorted by bytes", in: `{"é":1,"z":2,"Z":3}`, want: `{"Z":3,"z":2,"é":1}`},
		{name: "scalar top level", in: `"x"`, want: `"x"`},
		{name: "nested null kept", in: `{"a":null}`, want: `{"a":null}`},

		{name: "invalid JSON", in: `{"a":}`, wantErr: true},
		{name: "trailing data", in: `{} {}`, wantErr: true},
		{name: "trailing comma", in: `{"a":1,}`, wantErr: true},
		{name: "single quotes", in: `{'a':1}`, wantErr: true},
		{name: "invalid UTF-8", in: "{\"a\":\"\xff\"}", wantErr: true},
		{name: "duplicate key", in: `{"a":1,"a":2}`, wantErr: true},
		{name: "duplicate key by escape", in: `{"a":1,"\u0061":1}`, wantErr: true},
		{name: "nested duplicate key", in: `{"x":[{"k":1,"k":1}]}`, wantErr: true},
		{name: "lone high surrogate", in: `"\ud800"`, wantErr: true},
		{name: "lone low surrogate", in: `"\udc00"`, wantErr: true},
		{name: "high surrogate then non-surrogate", in: `"\ud800\u0041"`, wantErr: true},
		{name: "vertical tab is not JSON whitespace", in: "\v{}", wantErr: true},
		{name: "bare word", in: `nul`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CanonicalArgs(json.RawMessage(tt.in))
			if tt.wantErr {
				if err == nil {
					t.Errorf("CanonicalArgs(%q) = %s, want error", tt.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("CanonicalArgs(%q) error: %v", tt.in, err)
			}
			if string(got) != tt.want {
				t.Errorf("CanonicalArgs(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestCanonicalArgs_equality(t *testing.T) {
	tests := []struct {
		name  string
		a, b  string
		equal bool
	}{
		{name: "key order", a: `{"a":1,"b":[1,{"x":1,"y":2}]}`, b: `{"b":[1,{"y":2,"x":1}],"a":1}`, equal: true},
		{name: "whitespace", a: `{"a": 1}`, b: "{\n\"a\"\t:1\n}", equal: true},
		{name: "escapes", a: `{"path":"a/b"}`, b: `{"path":"a\/b"}`, equal: true},
		{name: "empty forms", a: ``, b: `{}`, equal: true},
		{name: "value changed", a: `{"a":1}`, b: `{"a":2}`},
		{name: "1 and 1.0", a: `{"a":1}`, b: `{"a":1.0}`},
		{name: "number and string", a: `{"a":1}`, b: `{"a":"1"}`},
		{name: "null and missing", a: `{"a":null}`, b: `{}`},
		{name: "false and null", a: `{"a":false}`, b: `{"a":null}`},
		{name: "array order", a: `[1,2]`, b: `[2,1]`},
		{name: "nesting", a: `[[1],2]`, b: `[1,[2]]`},
		{name: "replacement character and escape text", a: `"\ufffd"`, b: `"\\ufffd"`},
		{name: "big integers one apart", a: `{"n":9007199254740992}`, b: `{"n":9007199254740993}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ca := mustCanonical(t, tt.a)
			cb := mustCanonical(t, tt.b)
			if got := bytes.Equal(ca, cb); got != tt.equal {
				t.Errorf("CanonicalArgs(%q) = %s, CanonicalArgs(%q) = %s; equal = %v, want %v", tt.a, ca, tt.b, cb, got, tt.equal)
			}
		})
	}
}

func mustCanonical(tb testing.TB, s string) []byte {
	tb.Helper()
	c, err := CanonicalArgs(json.RawMessage(s))
	if err != nil {
		tb.Fatalf("CanonicalArgs(%q) error: %v", s, err)
	}
	return c
}

func TestCallHash(t *testing.T) {
	args := []byte(`{}`)
	tests := []struct {
		name      string
		a, b      [3]string
		wantEqual bool
	}{
		{name: "same call", a: [3]string{"a", "t", `{}`}, b: [3]string{"a", "t", `{}`}, wantEqual: true},
		{name: "agent and tool boundary", a: [3]string{"a", "bc", `{}`}, b: [3]string{"ab", "c", `{}`}},
		{name: "tool and args boundary", a: [3]string{"a", "t{", `}`}, b: [3]string{"a", "t", `{}`}},
		{name: "different agent", a: [3]string{"alice", "t", `{}`}, b: [3]string{"bob", "t", `{}`}},
		{name: "different tool", a: [3]string{"a", "fs_read", `{}`}, b: [3]string{"a", "fs_write", `{}`}},
		{name: "different args", a: [3]string{"a", "t", `{"x":1}`}, b: [3]string{"a", "t", `{"x":2}`}},
		{name: "empty fields shift", a: [3]string{"", "ab", `{}`}, b: [3]string{"ab", "", `{}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ha := CallHash(tt.a[0], tt.a[1], []byte(tt.a[2]))
			hb := CallHash(tt.b[0], tt.b[1], []byte(tt.b[2]))
			if got := ha == hb; got != tt.wantEqual {
				t.Errorf("CallHash(%q) == CallHash(%q) is %v, want %v", tt.a, tt.b, got, tt.wantEqual)
			}
		})
	}

	// Changing the framing silently would orphan every stored approval, so
	// pin one value; change hashDomain along with the framing.
	const want = "1ff730c565f471736726e182e5f8245c50b8c1f039fa6f1769757600850d68ec"
	if got := CallHash("assistant", "fs_write", args); got != want {
		t.Errorf("CallHash(%q, %q, %s) = %s, want %s", "assistant", "fs_write", args, got, want)
	}
}

func FuzzCanonicalArgs(f *testing.F) {
	for _, s := range []string{
		``, `null`, `{}`, `[]`, `{"b":1,"a":[1,2,{"d":null,"c":true}]}`,
		`{"n":1.0,"m":1e400,"k":123456789012345678901234567890}`,
		`"\ud83d\ude00"`, `"\\u0041"`, `{"é":"\u00e9"}`, `{"a":1,"a":2}`, `"\ud800"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := CanonicalArgs(in)
		if err != nil {
			return
		}
		again, err := CanonicalArgs(c)
		if err != nil {
			t.Fatalf("CanonicalArgs(%s) error on canonical form of %q: %v", c, in, err)
		}
		if !bytes.Equal(again, c) {
			t.Fatalf("CanonicalArgs not idempotent for %q: first %s, then %s", in, c, again)
		}
		if !json.Valid(c) || bytes.ContainsAny(c, "\n\r\t") {
			t.Fatalf("CanonicalArgs(%q) = %q, want compact valid JSON", in, c)
		}
		trimmed := bytes.Trim(in, " \t\r\n")
		if len(trimmed) == 0 || string(trimmed) == "null" {
			if string(c) != "{}" {
				t.Fatalf("CanonicalArgs(%q) = %s, want {}", in, c)
			}
			return
		}
		if diff := cmp.Diff(decodeNumbers(t, in), decodeNumbers(t, c)); diff != "" {
			t.Fatalf("CanonicalArgs(%q) = %s decodes differently (-in +canonical):\n%s", in, c, diff)
		}
	})
}

func decodeNumbers(tb testing.TB, b []byte) any {
	tb.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		tb.Fatalf("decode %q: %v", b, err)
	}
	return v
}
