package fs

import (
	"github.com/aymanbagabas/go-udiff"
)

// unifiedDiff is udiff.Unified(name, name, old, new), without running the
// line diff over the lines both texts start and end with: an edit
// usually changes a few lines of a long file, and the diff of those lines
// is the diff of the file. The hunks, with their context lines, are made
// from the whole of old.
func unifiedDiff(name, old, new string) string {
	p := sharedLinePrefix(old, new)
	s := sharedLineSuffix(old[p:], new[p:])
	edits := udiff.Lines(old[p:len(old)-s], new[p:len(new)-s])
	for i := range edits {
		edits[i].Start += p
		edits[i].End += p
	}
	out, err := udiff.ToUnified(name, name, old, edits, udiff.DefaultContextLines)
	if err != nil {
		// Cannot happen: the edits are line edits of old. Should it,
		// diffing everything gives the same answer.
		return udiff.Unified(name, name, old, new)
	}
	return out
}

// sharedLinePrefix returns the length of the longest run of whole lines
// that a and b both start with.
func sharedLinePrefix(a, b string) int {
	n, end := min(len(a), len(b)), 0
	for i := 0; i < n && a[i] == b[i]; i++ {
		if a[i] == '\n' {
			end = i + 1
		}
	}
	return end
}

// sharedLineSuffix returns the length of the longest run of whole lines
// that a and b both end with: it starts after a line end in both (or at
// the start of both).
func sharedLineSuffix(a, b string) int {
	n, end := min(len(a), len(b)), 0
	for i := 1; i <= n && a[len(a)-i] == b[len(b)-i]; i++ {
		if j := i + 1; (i == len(a) && i == len(b)) || (j <= n && a[len(a)-j] == '\n' && b[len(b)-j] == '\n') {
			end = i
		}
	}
	return end
}
