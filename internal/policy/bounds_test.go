package policy

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestParseBounds: a small file that nests deeply once cost the parser
// 700 MB (issue 12: 20k-deep flow sequences in 40 KB), and file size was
// unbounded. Each is refused with a positioned problem, and rejecting it
// allocates little.
func TestParseBounds(t *testing.T) {
	const deep = 20_000
	tests := []struct {
		name    string
		src     string
		wantPos string // the problem's position, after "policy.yaml:"
		want    string
	}{
		{"flow sequences", "version: 1\nresources: " + strings.Repeat("[", deep) + strings.Repeat("]", deep) + "\n", "2:76:", "mappings and lists nest deeper than 64 levels"},
		{"flow mappings", "version: 1\nresources: " + strings.Repeat("{a: ", deep) + "1" + strings.Repeat("}", deep) + "\n", "2:", "nest deeper than 64 levels"},
		{"flow in a comment is not nesting", "# " + strings.Repeat("[", 100) + "\nversion: 1\n" + "resources: " + strings.Repeat("[", 70) + strings.Repeat("]", 70) + "\n", "3:", "nest deeper than 64 levels"},
		// The YAML library stops this one at its own bound (10,000 levels)
		// and names the line of the key that holds it.
		{"compact block sequences", "version: 1\nresources:\n  " + strings.Repeat("- ", deep) + "x\n", "2:", "nest deeper than 64 levels"},
		{"block sequences under the parser's bound", "version: 1\nresources:\n  " + strings.Repeat("- ", 100) + "x\n", "3:", "nest deeper than 64 levels"},
		{"block mappings", "version: 1\nresources:\n" + nestedMaps(80), "66:", "nest deeper than 64 levels"},
		{"too large", "version: 1\n" + strings.Repeat("#", MaxPolicyBytes), "1:1:", "the policy file is over the limit of 8388608 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := Compile([]byte(tt.src), WithSource("policy.yaml"), WithBaseDir(t.TempDir()))
			runtime.ReadMemStats(&after)
			var errs Errors
			if !errors.As(err, &errs) || len(errs) != 1 {
				t.Fatalf("Compile(%s) = %v, want one problem", tt.name, err)
			}
			if got := errs.Error(); !strings.HasPrefix(got, "policy.yaml:"+tt.wantPos) || !strings.Contains(got, tt.want) {
				t.Errorf("Compile(%s) = %q, want it at policy.yaml:%s and containing %q", tt.name, got, tt.wantPos, tt.want)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
				t.Errorf("Compile(%s) allocated %d MiB to refuse a %d KiB file, want under 64 MiB", tt.name, alloc>>20, len(tt.src)>>10)
			}
		})
	}
}

// nestedMaps returns n block mappings nested one in another.
func nestedMaps(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(strings.Repeat(" ", 2*(i+1)) + "k:\n")
	}
	return b.String()
}

// TestLoadBound: Load reads no more of a file than the bound.
func TestLoadBound(t *testing.T) {
	path := filepath.Join(t.TempDir(), "warden.yaml")
	if err := os.WriteFile(path, []byte("version: 1\n"+strings.Repeat("#", MaxPolicyBytes+100)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "over the limit") {
		t.Errorf("Load(9 MiB file) = %v, want the size refused", err)
	}
}

// TestNestingUnderBound: a policy's real nesting (7 levels, flow and
// block) is far from the bound.
func TestNestingUnderBound(t *testing.T) {
	src := `version: 1
resources:
  shop: {kind: sql, driver: sqlite, dsn: ./shop.db}
agents:
  a:
    grants:
      - resource: shop
        actions: [query]
        tables: {orders: [id, "total"], customers: ["[id]"]}
        description: 'it''s [fine] {really}'
        when: "args.sql != \"[[[[\""
`
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "shop.db"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Compile([]byte(src), WithBaseDir(dir)); err != nil {
		t.Fatalf("Compile = %v", err)
	}
}
