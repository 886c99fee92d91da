package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/aymanbagabas/go-udiff"
)

// TestEditContent checks that the edit row's expectations follow from its
// own edits: each call's replacement, applied to the file the previous call
// left, gives the file editContent expects, and the file keeps its size.
func TestEditContent(t *testing.T) {
	prev := editContent(-1)
	for i := range 5 {
		from, to := editStep(i)
		if from == to {
			t.Fatalf("editStep(%d) = %q, %q; want a change", i, from, to)
		}
		if n := strings.Count(prev, from); n != 1 {
			t.Fatalf("before call %d, %q occurs %d times, want once", i, from, n)
		}
		want := strings.Replace(prev, from, to, 1)
		got := editContent(i)
		if got != want || len(got) != readSize {
			t.Fatalf("editContent(%d): %d bytes, equal to the edited file %v; want the %d-byte edited file", i, len(got), got == want, readSize)
		}
		if err := checkDiff(udiff.Unified("f", "f", prev, got), i); err != nil {
			t.Errorf("checkDiff(diff of call %d) = %v, want nil", i, err)
		}
		if err := checkDiff(udiff.Unified("f", "f", got, prev), i); err == nil {
			t.Errorf("checkDiff(reversed diff of call %d) = nil, want an error", i)
		}
		prev = got
	}
}

func TestWriteContent(t *testing.T) {
	seen := map[string]int{}
	for i := -1; i < 100; i++ {
		c := writeContent(i)
		if len(c) != readSize {
			t.Fatalf("writeContent(%d) has %d bytes, want %d", i, len(c), readSize)
		}
		if j, ok := seen[c]; ok {
			t.Fatalf("writeContent(%d) = writeContent(%d)", i, j)
		}
		seen[c] = i
	}
}

func TestParseRows(t *testing.T) {
	tests := []struct {
		in   string
		want []row
	}{
		{"read,list,search,write,edit", []row{rowRead, rowList, rowSearch, rowWrite, rowEdit}},
		{"write-4KiB, edit-4KiB", []row{rowWrite, rowEdit}},
		{"search-1000", []row{rowSearch}},
		{"writes", nil},
	}
	for _, tt := range tests {
		got, err := parseRows(tt.in)
		if !slices.Equal(got, tt.want) || (err != nil) != (tt.want == nil) {
			t.Errorf("parseRows(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}
