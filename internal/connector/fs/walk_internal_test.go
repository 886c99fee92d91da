package fs

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestReadSubdir_Swapped: a directory replaced after the walk examined it
// is never read through its replacement.
func TestReadSubdir_Swapped(t *testing.T) {
	tests := []struct {
		name string
		swap func(t *testing.T, dir string)
	}{
		{"symlink to a sibling", func(t *testing.T, dir string) {
			if err := os.Symlink("private", dir); err != nil {
				t.Fatal(err)
			}
		}},
		{"fifo", func(t *testing.T, dir string) {
			if err := syscall.Mkfifo(dir, 0o644); err != nil {
				t.Skip("mkfifo:", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			d := filepath.Join(base, "d")
			for _, p := range []string{d, filepath.Join(base, "private")} {
				if err := os.Mkdir(p, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(base, "private", "secret"), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			root, err := os.OpenRoot(base)
			if err != nil {
				t.Fatal(err)
			}
			defer root.Close()
			want, err := root.Lstat("d")
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(d); err != nil {
				t.Fatal(err)
			}
			tt.swap(t, d)
			done := make(chan error, 1)
			go func() {
				ents, err := readSubdir(root, "d", want)
				if err == nil {
					err = errors.New("read entries")
					_ = ents
				}
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || err.Error() == "read entries" {
					t.Fatalf("readSubdir read the replacement: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("readSubdir blocked")
			}
		})
	}
}
