package main

import (
	"fmt"
	"os"
	"strings"
)

// The write and edit rows change a file on every call, and every call's
// effect on disk is checked, outside the timed part: the file must hold
// exactly the content that call should have left.

// writeContent is the 4,096 bytes that call i of the write row writes (-1:
// the file's first content). Each call's content differs from every other
// call's, so no layer can skip a write as unchanged or share a journal copy.
func writeContent(i int) string {
	head := fmt.Sprintf("write %09d\n", i)
	return head + prose(0, readSize-len(head))
}

// editMarkers are the two strings the edit row swaps. They have the same
// length, so the file stays 4,096 bytes, and each occurs in the file at
// most once.
var editMarkers = [2]string{"status: alpha", "status: omega"}

// editMarkerLine is the line of the edit file that holds the marker.
const editMarkerLine = 25

// editStep returns the replacement call i of the edit row makes: even calls
// turn alpha into omega, odd calls turn it back.
func editStep(i int) (from, to string) {
	return editMarkers[i%2], editMarkers[(i+1)%2]
}

// editContent is the edit file after call i of the edit row (-1: before
// the first call).
func editContent(i int) string {
	marker := editMarkers[0]
	if i >= 0 {
		_, marker = editStep(i)
	}
	var b strings.Builder
	for n := range editMarkerLine {
		fmt.Fprintf(&b, proseLine, n)
	}
	b.WriteString(marker + "\n")
	return b.String() + prose(editMarkerLine+1, readSize-b.Len())
}

// checkDiff reports whether diff, a unified diff of call i of the edit row,
// removes the old marker line and adds the new one.
func checkDiff(diff string, i int) error {
	from, to := editStep(i)
	if !strings.Contains(diff, "\n-"+from+"\n") || !strings.Contains(diff, "\n+"+to+"\n") {
		return fmt.Errorf("edit returned a diff without -%q and +%q: %q", from, to, diff)
	}
	return nil
}

// checkFile checks that the fixture file rel holds exactly want.
func (f *fixture) checkFile(rel, want string) error {
	got, err := os.ReadFile(f.abs(rel))
	if err != nil {
		return err
	}
	if string(got) != want {
		return fmt.Errorf("%s holds %d bytes that differ from the %d bytes the call should have written", rel, len(got), len(want))
	}
	return nil
}
