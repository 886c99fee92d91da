package fs

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestValidText: valid text passes as it is; a rune cut in two (by a
// window's edge or a redaction) becomes U+FFFD, never invalid UTF-8.
func TestValidText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain ascii", "plain ascii"},
		{"élève ✓", "élève ✓"},
		{"cut \xc3", "cut \uFFFD"},
		{"\xe2\x9c middle \xff\xfe end", "\uFFFD middle \uFFFD end"},
		{strings.Repeat("x", 1000) + "\x80", strings.Repeat("x", 1000) + "\uFFFD"},
	}
	for _, tt := range tests {
		got := validText([]byte(tt.in))
		if got != tt.want || !utf8.ValidString(got) {
			t.Errorf("validText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
