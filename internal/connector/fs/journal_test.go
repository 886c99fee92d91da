package fs_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/warden-dev/warden/internal/core"
)

// memJournal is a small core.Journal and core.Objects for tests: it
// really copies what Keep is given into a directory, by hash, after
// checking that the file is the one described, and remembers changes.
type memJournal struct {
	dir string

	mu      sync.Mutex
	changes []core.Change
	kept    []string // names kept, in order
}

func newMemJournal(tb testing.TB) *memJournal {
	tb.Helper()
	return &memJournal{dir: tb.TempDir()}
}

func (j *memJournal) Keep(dir *os.File, name string, info iofs.FileInfo, sum string, _ []byte) error {
	rc, err := dir.SyscallConn()
	if err != nil {
		return err
	}
	var fd int
	var oerr error
	if err := rc.Control(func(dfd uintptr) {
		fd, oerr = unix.Openat(int(dfd), name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	}); err != nil {
		return err
	}
	if oerr != nil {
		return fmt.Errorf("keep %q: %w", name, oerr)
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !os.SameFile(fi, info) || !fi.Mode().IsRegular() {
		return fmt.Errorf("keep %q: not the file described", name)
	}
	tmp, err := os.CreateTemp(j.dir, "in-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, h), f); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sum {
		return fmt.Errorf("keep %q: content hashes to %s, caller said %s", name, got, sum)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(j.dir, sum)); err != nil {
		return err
	}
	j.mu.Lock()
	j.kept = append(j.kept, name)
	j.mu.Unlock()
	return nil
}

// Prepare runs the caller's work; the copies are already written.
func (j *memJournal) Prepare(_ core.Change, during func() error) error {
	if during != nil {
		return during()
	}
	return nil
}

// Links is 0: the copies are never links to live files.
func (j *memJournal) Links(string, iofs.FileInfo) int { return 0 }

func (j *memJournal) Record(c core.Change) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.changes = append(j.changes, c)
}

func (j *memJournal) Open(sum string) (*os.File, error) {
	if len(sum) != 64 {
		return nil, errors.New("bad hash")
	}
	return os.Open(filepath.Join(j.dir, sum))
}

// entry returns the recorded changes as a journal entry and starts a new one.
func (j *memJournal) entry(id string) *core.JournalEntry {
	j.mu.Lock()
	defer j.mu.Unlock()
	e := &core.JournalEntry{ID: id, Resource: "notes", Changes: j.changes}
	j.changes = nil
	return e
}

// Changes returns a copy of the recorded changes.
func (j *memJournal) Changes() []core.Change {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]core.Change(nil), j.changes...)
}

var (
	_ core.Journal = (*memJournal)(nil)
	_ core.Objects = (*memJournal)(nil)
)

// linkingJournal is a memJournal that, like the real journal, may hold a
// hard link to a live file (left by a call killed after Keep).
type linkingJournal struct{ *memJournal }

func (j linkingJournal) Links(sum string, info iofs.FileInfo) int {
	fi, err := os.Lstat(filepath.Join(j.dir, sum))
	if err == nil && os.SameFile(fi, info) {
		return 1
	}
	return 0
}
