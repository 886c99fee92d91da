// Package disktest gives tests a real file system to fill: a small tmpfs
// of their own, and a way to fill it. Full disks are tested for real
// because ENOSPC surfaces at points no fake reproduces (a rename's new
// directory block, a log's next page, a compaction's temp file).
package disktest

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// Mount mounts a fresh tmpfs of size bytes on a temporary directory and
// unmounts it when the test ends. Mounting needs root (CI runs as root);
// elsewhere the test is skipped, saying why.
func Mount(t testing.TB, size int) string {
	t.Helper()
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size="+strconv.Itoa(size)+",mode=0755"); err != nil {
		t.Skipf("SKIPPED: this test needs a real file system to fill and cannot mount a tmpfs on %s (%v); run it as root, as CI does", dir, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount the test tmpfs %s: %v", dir, err)
		}
	})
	return dir
}

// FillTo writes the file name until the file system holding it has at
// most free bytes left; with free 0, until it refuses with ENOSPC.
func FillTo(t testing.TB, name string, free int64) {
	t.Helper()
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := bytes.Repeat([]byte{'z'}, 64<<10)
	for {
		var st unix.Statfs_t
		if err := unix.Fstatfs(int(f.Fd()), &st); err != nil {
			t.Fatal(err)
		}
		avail := int64(st.Bavail) * st.Bsize
		if avail <= free || (free == 0 && avail == 0) {
			break
		}
		n := min(int64(len(chunk)), max(avail-free, 1))
		if _, err := f.Write(chunk[:n]); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling the test file system: %v", err)
			}
			break
		}
	}
	if free > 0 {
		return
	}
	for _, n := range []int{4096, 512, 1} { // the last partial blocks
		for {
			if _, err := f.Write(chunk[:n]); err != nil {
				break
			}
		}
	}
}
