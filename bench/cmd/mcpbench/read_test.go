package main

import (
	"encoding/json"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestReadText checks that a read's content is found in both result shapes
// Warden has had, and that a short, truncated or wrong answer fails the
// check instead of being timed.
func TestReadText(t *testing.T) {
	f := readFile{path: "read/file-64k.txt", content: prose(0, read64KSize)}
	jsonBlock := func(content, encoding string, truncated bool) string {
		b, err := json.Marshal(map[string]any{"path": f.path, "content": content, "encoding": encoding, "truncated": truncated})
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	result := func(blocks ...string) *mcp.CallToolResult {
		r := &mcp.CallToolResult{}
		for _, b := range blocks {
			r.Content = append(r.Content, &mcp.TextContent{Text: b})
		}
		return r
	}
	short := f.content[:len(f.content)-1]
	changed := strings.Replace(f.content, "fox", "cat", 1)
	for _, c := range []struct {
		name string
		res  *mcp.CallToolResult
		ok   bool
	}{
		{"JSON block", result(jsonBlock(f.content, "text", false)), true},
		{"text, then metadata", result(f.content, `{"path":"read/file-64k.txt","truncated":false}`), true},
		{"text alone", result(f.content), true},
		{"JSON block, short", result(jsonBlock(short, "text", false)), false},
		{"JSON block, truncated", result(jsonBlock(f.content, "text", true)), false},
		{"JSON block, base64", result(jsonBlock(f.content, "base64", false)), false},
		{"text, short", result(short, `{"truncated":false}`), false},
		{"text, marked truncated", result(f.content, `{"truncated":true}`), false},
		{"text, one word changed", result(changed), false},
		{"tool error", &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "denied"}}, IsError: true}, false},
	} {
		got, err := readText(c.res)
		if err == nil {
			err = checkContent(got, f)
		}
		if (err == nil) != c.ok {
			t.Errorf("%s: check error %v, want ok %v", c.name, err, c.ok)
		}
	}
}

// TestFixtureSizes checks the large-result rows' fixture against the sizes
// the rows are named after.
func TestFixtureSizes(t *testing.T) {
	if testing.Short() {
		t.Skip("writes some 22,000 files")
	}
	fx, err := makeFixture(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for r, size := range map[row]int{rowRead: 4096, rowRead64K: 65_536, rowRead1M: 1_048_576} {
		if err := fx.checkFile(fx.reads[r].path, fx.reads[r].content); err != nil || len(fx.reads[r].content) != size {
			t.Errorf("%s: %d bytes (%v), want %d", r, len(fx.reads[r].content), err, size)
		}
		if n := strings.Count(fx.reads[r].content, "\n"); n < size/80 {
			t.Errorf("%s: %d lines, want text lines of under 80 bytes", r, n)
		}
	}
	for r, want := range map[row][2]int{rowList: {1000, 1000}, rowList10K: {10_000, 10_000}, rowSearch: {1000, 100}, rowSearch10K: {10_000, 10_000}} {
		dir, n, matches := "", 0, 0
		if l, ok := fx.lists[r]; ok {
			dir, n, matches = l.path, l.entries, l.entries
		} else {
			s := fx.searches[r]
			dir, n, matches = s.path, s.files, s.matches
		}
		if files := countFiles(t, fx.abs(dir)); n != want[0] || files != want[0] || matches != want[1] {
			t.Errorf("%s: %d files on disk, %d declared, %d matching; want %d files, %d matching", r, files, n, matches, want[0], want[1])
		}
	}
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
