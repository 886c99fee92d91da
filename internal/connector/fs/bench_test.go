package fs_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func BenchmarkRead4KiB(b *testing.B) {
	_, root := newFixture(b, "docs/file.txt = "+strings.Repeat("x", 4096))
	c := newConnector(b, root)
	a := pathArgs(b, "docs/file.txt")
	b.ReportAllocs()
	for b.Loop() {
		if got := do(b, c, "read", a, allVisible); got.Err != nil {
			b.Fatal(got)
		}
	}
}

// newThousand returns a root holding dir/ with 1,000 files, a tenth of
// them Markdown.
func newThousand(b *testing.B) string {
	_, root := newFixture(b, "dir/")
	for i := range 1000 {
		ext := ".txt"
		if i%10 == 0 {
			ext = ".md"
		}
		if err := os.WriteFile(filepath.Join(root, "dir", fmt.Sprintf("file%04d%s", i, ext)), []byte("some text\n"), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return root
}

func BenchmarkList1000(b *testing.B) {
	c := newConnector(b, newThousand(b))
	a := args(b, map[string]any{"path": "dir"})
	b.ReportAllocs()
	for b.Loop() {
		if got := do(b, c, "list", a, allVisible); got.Err != nil {
			b.Fatal(got)
		}
	}
}

func BenchmarkSearchName1000(b *testing.B) {
	c := newConnector(b, newThousand(b))
	a := args(b, map[string]any{"path": "dir", "name": "*.md"})
	b.ReportAllocs()
	for b.Loop() {
		if got := do(b, c, "search", a, allVisible); got.Err != nil {
			b.Fatal(got)
		}
	}
}

func BenchmarkSearchText1000(b *testing.B) {
	c := newConnector(b, newThousand(b))
	a := args(b, map[string]any{"path": "dir", "text": "text", "max_results": 1000})
	b.ReportAllocs()
	for b.Loop() {
		if got := do(b, c, "search", a, allVisible); got.Err != nil {
			b.Fatal(got)
		}
	}
}
