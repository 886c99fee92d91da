package fs

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkRecordLeft measures what every change adds to record the file
// it left: in memory only (no journal), and in the state directory's
// table as well. Compare with a whole write (engine BenchmarkWrite).
func BenchmarkRecordLeft(b *testing.B) {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644); err != nil {
		b.Fatal(err)
	}
	d, err := os.Lstat(dir)
	if err != nil {
		b.Fatal(err)
	}
	fi, err := os.Lstat(filepath.Join(dir, "f"))
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct{ name, stateDir string }{{"memory", ""}, {"state-dir", dir}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				recordLeft(bc.stateDir, d, "f", fi)
			}
		})
	}
}
