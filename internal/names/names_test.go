package names

import (
	"regexp"
	"strings"
	"testing"
)

// candidates returns strings around the edges of a name check: every
// string of up to three characters over an alphabet holding each class
// (and characters in none, multi-byte and a newline), and strings of the
// lengths at the bounds with a bad character first, in the middle or last.
func candidates() []string {
	alphabet := []string{"a", "z", "A", "Z", "0", "9", "_", ".", "-", " ", "$", "/", "é", "\n", "\x00", "\x7f"}
	out := []string{""}
	prev := []string{""}
	for range 3 {
		var next []string
		for _, p := range prev {
			for _, c := range alphabet {
				next = append(next, p+c)
			}
		}
		out = append(out, next...)
		prev = next
	}
	for _, n := range []int{31, 32, 33, 39, 40, 41, 63, 64, 65} {
		for _, fill := range []string{"a", "Z", "9", "_", ".", "-"} {
			s := strings.Repeat(fill, n)
			out = append(out, s, "a"+s[1:], "a"+s[1:n-1]+"\n", "a"+s[1:n/2]+"é"+s[n/2+2:], "a"+s[1:n-1]+"!")
		}
	}
	return out
}

// TestSpecMatchesRegexp holds each kind of name to the regexp it
// replaced.
func TestSpecMatchesRegexp(t *testing.T) {
	for _, tt := range []struct {
		re   string
		spec Spec
	}{
		{`^[a-zA-Z0-9_-]{1,64}$`, Tool},
		{`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$`, Agent},
		{`^[a-zA-Z][a-zA-Z0-9_-]{0,39}$`, Resource},
		{`^[A-Za-z0-9_.-]{1,64}$`, Argument},
		{`^[a-z][a-z0-9_]{0,31}$`, Operation},
	} {
		re := regexp.MustCompile(tt.re)
		for _, s := range candidates() {
			if got, want := tt.spec.Valid(s), re.MatchString(s); got != want {
				t.Errorf("%s: Valid(%q) = %v, the regexp says %v", tt.re, s, got, want)
			}
		}
	}
}
