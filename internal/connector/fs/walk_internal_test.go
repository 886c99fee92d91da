package fs

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/warden-dev/warden/internal/core"
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

// TestSearch_SwapDuringWalk: while a directory flips between a real
// directory and a link to a sibling the scope hides, name and text searches
// never report what is in the sibling.
func TestSearch_SwapDuringWalk(t *testing.T) {
	base := swapFixture(t, "e/other.md")
	c, err := New(&core.ResourceSpec{Name: "notes", Kind: "fs", Config: &Config{Root: base}}, core.Host{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	hidePrivate := core.ScopeFunc(func(p string) bool { return p != "private" && !strings.HasPrefix(p, "private/") })

	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		d, real := filepath.Join(base, "d"), filepath.Join(base, "d.real")
		for {
			select {
			case <-stop:
				return
			default:
			}
			_ = os.Rename(d, real)
			_ = os.Symlink("private", d)
			_ = os.Remove(d)
			_ = os.Rename(real, d)
		}
	}()
	defer func() { close(stop); <-done }()
	for i := 0; i < 1500; i++ {
		args := `{"path":".","name":"*.md"}`
		if i%2 == 1 {
			args = `{"path":".","text":"WARDEN"}`
		}
		inv := &core.Invocation{Op: OpSearch, Args: json.RawMessage(args)}
		if err := c.Prepare(t.Context(), inv); err != nil {
			t.Fatal(err)
		}
		res, err := c.Execute(t.Context(), inv, hidePrivate)
		if closer, ok := inv.State.(interface{ Close() error }); ok {
			closer.Close()
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(res.Value)
		if strings.Contains(string(b), "secret-private") || strings.Contains(string(b), "WARDEN-PRIVATE") {
			t.Fatalf("search %d leaked the hidden directory: %s", i, b)
		}
	}
}

// TestWalk_SwapBeforeEnter swaps a listed directory for a link to a hidden
// sibling exactly between the listing and the open, for every kind of
// walk: nothing from the sibling may be listed or found.
func TestWalk_SwapBeforeEnter(t *testing.T) {
	for _, args := range []string{
		`{"path":".","name":"*.md"}`,
		`{"path":".","text":"WARDEN"}`,
		`{"path":".","recursive":true}`,
	} {
		t.Run(args, func(t *testing.T) {
			base := swapFixture(t)
			c, err := New(&core.ResourceSpec{Name: "notes", Kind: "fs", Config: &Config{Root: base}}, core.Host{})
			if err != nil {
				t.Fatal(err)
			}
			swapped := false
			c.hook = func(event, rel string) {
				if event == "enter" && rel == "d" && !swapped {
					swapped = true
					if err := os.Rename(filepath.Join(base, "d"), filepath.Join(base, "d.real")); err != nil {
						t.Error(err)
					}
					if err := os.Symlink("private", filepath.Join(base, "d")); err != nil {
						t.Error(err)
					}
				}
			}
			if err := c.Open(t.Context()); err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			op := OpSearch
			if strings.Contains(args, "recursive") {
				op = OpList
			}
			inv := &core.Invocation{Op: op, Args: json.RawMessage(args)}
			if err := c.Prepare(t.Context(), inv); err != nil {
				t.Fatal(err)
			}
			defer inv.State.(interface{ Close() error }).Close()
			hide := core.ScopeFunc(func(p string) bool { return p != "private" && !strings.HasPrefix(p, "private/") })
			res, err := c.Execute(t.Context(), inv, hide)
			if err != nil {
				t.Fatal(err)
			}
			if !swapped {
				t.Fatal("the walk never entered d")
			}
			b, _ := json.Marshal(res.Value)
			if strings.Contains(string(b), "secret-private") || strings.Contains(string(b), "WARDEN-PRIVATE") {
				t.Fatalf("%s leaked the hidden directory through the swapped link: %s", args, b)
			}
		})
	}
}

// swapFixture builds private/secret-private.md (the hidden marker),
// d/inside.md and any further files, each holding "inside".
func swapFixture(t *testing.T, more ...string) string {
	t.Helper()
	base := t.TempDir()
	files := map[string]string{"private/secret-private.md": "WARDEN-PRIVATE", "d/inside.md": "inside"}
	for _, m := range more {
		files[m] = "inside"
	}
	for name, content := range files {
		p := filepath.Join(base, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return base
}
