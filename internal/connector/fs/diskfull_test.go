package fs_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/warden-dev/warden/internal/connector/fs"
	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/disktest"
)

// openFds counts the process's open descriptors.
func openFds(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// TestWrite_DiskFull: on a full file system, a write, append or edit that
// cannot fit fails with the disk-full reason and leaves nothing behind:
// no temporary file, no open descriptor, no journal change, the target
// unchanged. Repeated failures add nothing either.
func TestWrite_DiskFull(t *testing.T) {
	mnt := disktest.Mount(t, 1<<20)
	root := filepath.Join(mnt, "root")
	mustMkdir(t, root)
	mustBuild(t, root, "f.txt = old content", "e.txt = status: alpha")
	disktest.FillTo(t, filepath.Join(mnt, "filler"), 96<<10)
	c := newConnector(t, root)
	big := strings.Repeat("x", 300<<10)
	calls := []struct {
		name, op, path string
		args           []byte
	}{
		{"create", "write", "new.txt", writeArgs(t, "new.txt", big, "create")},
		{"overwrite", "write", "f.txt", writeArgs(t, "f.txt", big, "overwrite")},
		{"append", "write", "f.txt", writeArgs(t, "f.txt", big, "append")},
		{"edit", "edit", "e.txt", args(t, map[string]any{"path": "e.txt", "edits": []map[string]string{{"old": "alpha", "new": big}}})},
	}
	for _, tt := range calls {
		t.Run(tt.name, func(t *testing.T) {
			before := snapshot(t, root, nil)
			runtime.GC() // closes what earlier tests dropped, so the count is this call's
			fds := openFds(t)
			j := newMemJournal(t)
			for range 3 {
				got := doWith(t, c, tt.op, tt.args, with{scope: allVisible, journal: j})
				if got.Err == nil {
					t.Fatalf("%s of 300 KB on a full disk succeeded: %v", tt.name, got)
				}
				if r := core.ReasonOf(got.Err); r != core.ReasonDiskFull {
					t.Errorf("%s on a full disk = %v, want reason %s", tt.name, got, core.ReasonDiskFull)
				}
			}
			fs.SettleForTest(c)
			if n := openFds(t); n != fds {
				t.Errorf("%d descriptors open after the failed calls, %d before", n, fds)
			}
			assertNoTemps(t, root)
			if after := snapshot(t, root, nil); len(after) != len(before) || after[tt.path] != before[tt.path] {
				t.Errorf("a failed %s changed the tree: %v -> %v", tt.name, before, after)
			}
			if ch := j.Changes(); len(ch) != 0 {
				t.Errorf("journal = %+v after failed calls", ch)
			}
		})
	}
	// Once space is freed, writes go on.
	if err := os.Remove(filepath.Join(mnt, "filler")); err != nil {
		t.Fatal(err)
	}
	if got := do(t, c, "write", writeArgs(t, "f.txt", big, "append"), allVisible); got.Err != nil {
		t.Errorf("append after space was freed = %v", got)
	}
}
