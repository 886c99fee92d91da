package fs

import (
	"errors"
	"strings"
	"testing"
)

// FuzzApplyEdits: applyEdits never panics; when it succeeds, the result is
// what replacing each old text (found exactly once) in turn gives, and the
// last edit's new text is in it; when it fails, the failing edit's old
// text really does not occur exactly once.
func FuzzApplyEdits(f *testing.F) {
	f.Add("alpha beta gamma", "beta", "BETA", "gamma", "G")
	f.Add("aaa", "aa", "b", "a", "c")
	f.Add("one two", "one", "two", "two", "three")
	f.Add("héllo wörld", "ö", "o", "é", "")
	f.Add("x", "x", "xx", "xx", "x")
	f.Add("a\x00b", "\x00", "", "b", "c")
	f.Fuzz(func(t *testing.T, s, old1, new1, old2, new2 string) {
		var edits []edit
		for _, e := range []edit{{old1, new1}, {old2, new2}} {
			if e.Old != "" {
				edits = append(edits, e)
			}
		}
		if len(edits) == 0 {
			return
		}
		const max = 1 << 16
		got, err := applyEdits(s, edits, max)
		cur := s
		for i, e := range edits {
			n := countMatches(cur, e.Old, maxCountedMatches)
			if n != 1 {
				var mis *editMismatch
				if !errors.As(err, &mis) || mis.index != i || mis.count != n {
					t.Fatalf("applyEdits(%q, %q) = %q, %v; edit %d occurs %d times", s, edits, got, err, i, n)
				}
				return
			}
			j := strings.Index(cur, e.Old)
			cur = cur[:j] + e.New + cur[j+len(e.Old):]
			if len(cur) > max {
				if !errors.Is(err, errEditTooLarge) {
					t.Fatalf("applyEdits(%q, %q) = %v, want too large", s, edits, err)
				}
				return
			}
		}
		if err != nil || got != cur {
			t.Fatalf("applyEdits(%q, %q) = %q, %v; want %q", s, edits, got, err, cur)
		}
		if last := edits[len(edits)-1]; !strings.Contains(got, last.New) {
			t.Fatalf("applyEdits(%q, %q) = %q lacks the last new text", s, edits, got)
		}
	})
}

// TestCountMatches pins the overlap rule.
func TestCountMatches(t *testing.T) {
	tests := []struct {
		s, sub string
		want   int
	}{
		{"aaa", "aa", 2},
		{"abab", "ab", 2},
		{"abc", "d", 0},
		{"ééé", "éé", 2},
		{strings.Repeat("a", 500), "a", maxCountedMatches},
	}
	for _, tt := range tests {
		if got := countMatches(tt.s, tt.sub, maxCountedMatches); got != tt.want {
			t.Errorf("countMatches(%q, %q) = %d, want %d", tt.s, tt.sub, got, tt.want)
		}
	}
}
