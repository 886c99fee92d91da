package fs

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aymanbagabas/go-udiff"
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

// FuzzUnifiedDiff: leaving out the shared lines loses nothing: the diff,
// applied to the old text, gives the new one, and it removes and adds as
// many lines as the library's own diff of the whole texts (which may pick
// another of equally short alignments, as for "a a a" → "a a").
func FuzzUnifiedDiff(f *testing.F) {
	f.Add("a\nb\nc\n", "a\nB\nc\n")
	f.Add("a\nb\nc", "a\nb\nc\nd")
	f.Add("x\n", "x\n")
	f.Add("", "a\n")
	f.Add("a\na\na\n", "a\na\n")
	f.Add("l1\nl2\nl3\nl4\nl5\nl6\nl7\nl8\n", "l1\nl2\nl3\nl4\nX\nl6\nl7\nl8\n")
	f.Add("p\nq", "p\nq\n")
	f.Fuzz(func(t *testing.T, old, new string) {
		got := unifiedDiff("f", old, new)
		applied, err := applyUnified(old, got)
		if err != nil || applied != new {
			t.Fatalf("unifiedDiff(%q, %q) = %q; applied: %q, %v", old, new, got, applied, err)
		}
		if g, w := changedLines(got), changedLines(udiff.Unified("f", "f", old, new)); g != w {
			t.Fatalf("unifiedDiff(%q, %q) = %q changes %d lines, the whole diff %d", old, new, got, g, w)
		}
	})
}

// changedLines counts the removed and added lines of a unified diff.
func changedLines(diff string) int {
	n := 0
	for i, l := range strings.Split(diff, "\n") {
		if i >= 2 && (strings.HasPrefix(l, "-") || strings.HasPrefix(l, "+")) {
			n++
		}
	}
	return n
}

// applyUnified applies a unified diff made from old, checking every
// context and removed line against it.
func applyUnified(old, diff string) (string, error) {
	if diff == "" {
		return old, nil
	}
	lines := strings.SplitAfter(old, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	dl := strings.SplitAfter(diff, "\n")
	var out []string
	next := 0 // the first line of old not yet copied
	for i := 2; i < len(dl); i++ {
		l := dl[i]
		if l == "" {
			continue
		}
		var from int
		if _, err := fmt.Sscanf(l, "@@ -%d", &from); err == nil {
			if from == 0 {
				from = 1 // an empty old text
			}
			out = append(out, lines[next:from-1]...)
			next = from - 1
			continue
		}
		body := l[1:]
		// A line without a newline is followed by the marker.
		if i+1 < len(dl) && strings.HasPrefix(dl[i+1], "\\") {
			body = strings.TrimSuffix(body, "\n")
			i++
		}
		switch l[0] {
		case ' ', '-':
			if next >= len(lines) || lines[next] != body {
				return "", fmt.Errorf("line %d: %q does not match %q", next+1, body, lines[min(next, len(lines)-1)])
			}
			if l[0] == ' ' {
				out = append(out, body)
			}
			next++
		case '+':
			out = append(out, body)
		default:
			return "", fmt.Errorf("unexpected diff line %q", l)
		}
	}
	return strings.Join(append(out, lines[next:]...), ""), nil
}

// The diff of one changed line in a long file is the library's diff of
// the whole file.
func TestUnifiedDiff_SameAsWhole(t *testing.T) {
	var b strings.Builder
	for i := range 200 {
		fmt.Fprintf(&b, "line %d of the file\n", i)
	}
	old := b.String()
	for _, new := range []string{
		strings.Replace(old, "line 100 of", "LINE 100 of", 1),
		strings.Replace(old, "line 0 of", "first", 1),
		strings.Replace(old, "line 199 of the file\n", "last", 1),
		strings.Replace(old, "line 5 of the file\n", "", 1) + "more\n",
		strings.Replace(strings.Replace(old, "line 20 of", "two hunks:", 1), "line 180 of", "far apart:", 1),
		strings.Replace(old, "line 150 of the file\n", "line 150 of the file\nnew\nlines\n", 1),
		"",
	} {
		if got, want := unifiedDiff("f.txt", old, new), udiff.Unified("f.txt", "f.txt", old, new); got != want {
			t.Errorf("unifiedDiff = %q, want %q", got, want)
		}
	}
}
