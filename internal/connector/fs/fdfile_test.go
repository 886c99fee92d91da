package fs

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestOpenSame checks the descriptor-only open of the write path: it
// reads the file it was given, describes it as os.Lstat does, and refuses
// another file and a symbolic link to the file.
func TestOpenSame(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string]string{"a": "alpha", "b": "beta"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("a", filepath.Join(dir, "l")); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	d, err := openDirHandle(root)
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	a, _ := os.Lstat(filepath.Join(dir, "a"))
	b, _ := os.Lstat(filepath.Join(dir, "b"))

	f, err := d.openSame("a", a)
	if err != nil {
		t.Fatalf("openSame(a) = %v", err)
	}
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if fileID(fi) != fileID(a) || fi.Mode() != a.Mode() || fi.Size() != a.Size() || !fi.ModTime().Equal(a.ModTime()) || ctime(fi) != ctime(a) {
		t.Errorf("Stat = %v %v %v, want %v %v %v", fi.Mode(), fi.Size(), fi.ModTime(), a.Mode(), a.Size(), a.ModTime())
	}
	got, err := io.ReadAll(f)
	f.Close()
	if err != nil || string(got) != "alpha" {
		t.Errorf("read %q, %v; want alpha", got, err)
	}
	for _, name := range []string{"b", "l"} {
		if f, err := d.openSame(name, a); !errors.Is(err, errChanged) {
			if f != nil {
				f.Close()
			}
			t.Errorf("openSame(%s, a's Lstat) = %v, want errChanged", name, err)
		}
	}
	if f, err := d.openSame("a", b); !errors.Is(err, errChanged) {
		if f != nil {
			f.Close()
		}
		t.Errorf("openSame(a, b's Lstat) = %v, want errChanged", err)
	}
}
