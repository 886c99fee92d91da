package approval

import "testing"

func TestReadable(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"args":["-c","a \u003e b \u0026\u0026 c \u003c d"]}`, `{"args":["-c","a > b && c < d"]}`},
		// Numbers keep their spelling; control characters stay escaped.
		{`{"n":1.50,"big":12345678901234567890,"s":"a\nb\u0000"}`, `{"big":12345678901234567890,"n":1.50,"s":"a\nb\u0000"}`},
		{`not json`, `not json`},
	} {
		if got := Readable([]byte(tc.in), "", ""); got != tc.want {
			t.Errorf("Readable(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
	if got, want := Readable([]byte(`{"a":[1]}`), "", "  "), "{\n  \"a\": [\n    1\n  ]\n}"; got != want {
		t.Errorf("indented: %q, want %q", got, want)
	}
}
