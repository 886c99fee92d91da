package fs

import (
	"fmt"
	"strings"

	"github.com/aymanbagabas/go-udiff"
)

// unifiedDiff is udiff.Unified(name, name, old, new), computed on the
// lines that differ and their context only: an edit usually changes a few
// lines of a long file, and the diff of those lines is the diff of the
// file. The hunk headers are then moved down by the lines left out above.
func unifiedDiff(name, old, new string) string {
	const context = udiff.DefaultContextLines
	p := sharedLinePrefix(old, new)
	s := sharedLineSuffix(old[p:], new[p:])
	// The window of old the hunks can show: the lines that differ and
	// the context lines around them.
	from := p
	for range context {
		if from == 0 {
			break
		}
		from = strings.LastIndexByte(old[:from-1], '\n') + 1
	}
	to := len(old) - s
	for i := 0; i < context && to < len(old); i++ {
		if nl := strings.IndexByte(old[to:], '\n'); nl >= 0 {
			to += nl + 1
		} else {
			to = len(old)
		}
	}
	edits := udiff.Lines(old[p:len(old)-s], new[p:len(new)-s])
	for i := range edits {
		edits[i].Start += p - from
		edits[i].End += p - from
	}
	out, err := udiff.ToUnified(name, name, old[from:to], edits, context)
	if err != nil {
		// Cannot happen: the edits are line edits of the window. Should
		// it, diffing everything gives the same answer.
		return udiff.Unified(name, name, old, new)
	}
	if skipped := strings.Count(old[:from], "\n"); skipped > 0 {
		out = shiftHunks(out, skipped)
	}
	return out
}

// shiftHunks adds n to the line numbers of every hunk header in diff.
func shiftHunks(diff string, n int) string {
	lines := strings.SplitAfter(diff, "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, "@@ -") {
			continue
		}
		var a, b, c, d int
		if _, err := fmt.Sscanf(l, "@@ -%d,%d +%d,%d @@", &a, &b, &c, &d); err != nil {
			continue // the library always writes both counts
		}
		lines[i] = fmt.Sprintf("@@ -%d,%d +%d,%d @@\n", a+n, b, c+n, d)
	}
	return strings.Join(lines, "")
}

// sharedLinePrefix returns the length of the longest run of whole lines
// that a and b both start with.
func sharedLinePrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return strings.LastIndexByte(a[:n], '\n') + 1
}

// sharedLineSuffix returns the length of the longest run of whole lines
// that a and b both end with: it starts after a line end in both (or at
// the start of both).
func sharedLineSuffix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[len(a)-1-n] == b[len(b)-1-n] {
		n++
	}
	if n == len(a) && n == len(b) {
		return n
	}
	// The shared bytes that follow a line end in both: the byte before
	// the run is shared too, except at the run's start.
	for n > 0 {
		i, j := len(a)-n, len(b)-n
		if i > 0 && j > 0 && a[i-1] == '\n' && b[j-1] == '\n' {
			return n
		}
		k := strings.IndexByte(a[i:], '\n')
		if k < 0 {
			return 0
		}
		n -= k + 1
	}
	return 0
}
