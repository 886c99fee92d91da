package httpapi

import (
	"regexp"
	"strings"
	"testing"
)

// nameCandidates returns strings around the edges of the name checks: every
// string of up to three characters over an alphabet holding each class
// (and characters in none, multi-byte and a newline), and strings of the
// lengths at the bounds with a bad character first, in the middle or last.
func nameCandidates() []string {
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

func TestValidArgNameMatchesRegexp(t *testing.T) {
	re := regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
	for _, s := range nameCandidates() {
		if got, want := validArgName(s), re.MatchString(s); got != want {
			t.Errorf("validArgName(%q) = %v, the regexp says %v", s, got, want)
		}
	}
}

func TestValidOpNameMatchesRegexp(t *testing.T) {
	re := regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)
	for _, s := range nameCandidates() {
		if got, want := validOpName(s), re.MatchString(s); got != want {
			t.Errorf("validOpName(%q) = %v, the regexp says %v", s, got, want)
		}
	}
}
