package diskreserve

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestReleaseAndRefill checks the reserve frees its blocks when released,
// says it is low meanwhile (to another process too), and takes the space
// back once it can.
func TestReleaseAndRefill(t *testing.T) {
	path := filepath.Join(t.TempDir(), "space.reserve")
	r, err := Open(path, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got := held(t, path); got < 1<<20 {
		t.Fatalf("a new reserve holds %d bytes, want 1 MiB", got)
	}
	if r.Low() {
		t.Fatal("a whole reserve is low")
	}
	other, err := Open(path, 1<<20) // another process's view
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if !r.Release() {
		t.Fatal("Release freed nothing")
	}
	if got := held(t, path); got != 0 {
		t.Fatalf("a released reserve holds %d bytes", got)
	}
	if r.Release() {
		t.Error("a second Release claims to free space")
	}
	if !r.Low() {
		t.Error("a released reserve is not low")
	}
	other.tried = time.Now() // as if it had just failed to refill
	if !other.Low() {
		t.Error("a reserve released by another process is not low")
	}
	time.Sleep(retryEvery + 10*time.Millisecond)
	if r.Low() {
		t.Error("the reserve is still low once space is back")
	}
	if got := held(t, path); got < 1<<20 {
		t.Errorf("a refilled reserve holds %d bytes", got)
	}
	if other.Low() {
		t.Error("another process still sees the refilled reserve as low")
	}
}

func held(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, err := allocated(f)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestOpenFillsSparse checks that a reserve file of the full length but
// without its blocks (sparse, or truncated by a crash mid-allocation) is
// allocated at Open, not taken as whole for its length.
func TestOpenFillsSparse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "space.reserve")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, 1<<20); err != nil {
		t.Fatal(err)
	}
	if got := held(t, path); got >= 1<<20 {
		t.Skipf("this file system allocates on truncate (%d bytes held)", got)
	}
	r, err := Open(path, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got := held(t, path); got < 1<<20 {
		t.Fatalf("a sparse reserve holds %d bytes after Open, want 1 MiB", got)
	}
	if r.Low() {
		t.Error("a reserve filled at Open is low")
	}
}
