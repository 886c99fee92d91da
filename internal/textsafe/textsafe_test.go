package textsafe

import "testing"

func TestClip(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"abcdef", 3, "abc…"},
		{"aé", 2, "a…"}, // é is two bytes: never cut inside it
		{"éé", 3, "é…"},
	} {
		if got := Clip(tc.s, tc.n); got != tc.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
}

func TestEscape(t *testing.T) {
	in := "a\u202eb\u2066c\nd\x00e\xff"
	if got, want := EscapeBidi(in), "a\\u202eb\\u2066c\nd\x00e\xff"; got != want {
		t.Errorf("EscapeBidi = %q, want %q", got, want)
	}
	if got, want := Printable(in), "a\\u202eb\\u2066c\nd\\u0000e\\xff"; got != want {
		t.Errorf("Printable = %q, want %q", got, want)
	}
	if got := Printable("plain\ttext\n"); got != "plain\ttext\n" {
		t.Errorf("Printable changed plain text: %q", got)
	}
}
