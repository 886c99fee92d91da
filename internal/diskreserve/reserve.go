// Package diskreserve keeps space on a file system for the writes that
// must go on once it is full: the audit log and the undo journal.
//
// A [Reserve] is a file of allocated blocks in the state directory. When
// an append to the audit log or the journal fails because the file system
// is full, the appender releases the reserve (truncating the file frees its
// blocks) and tries again, so the call and its record go through; from
// then on [Reserve.Low] reports true and the engine refuses writes with
// the reason disk-full, while reads and deletes, which free space, go on.
// Low allocates the reserve again as soon as the space is back.
//
// The reserve is the file itself, not a flag in memory: every process
// sharing the state directory sees one released by another.
package diskreserve

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
)

// DefaultSize is the space kept: some thousands of audit records, or a
// hundred deletes of files the journal keeps inline.
const DefaultSize = 8 << 20

// retryEvery bounds how often Low tries to allocate a released reserve
// again, so a full file system costs one fallocate a while, not one a call.
const retryEvery = 250 * time.Millisecond

// Reserve is the reserve file of one state directory. Its methods are safe
// for concurrent use.
type Reserve struct {
	path string
	size int64

	mu    sync.Mutex
	f     *os.File
	tried time.Time // the last failed allocation
}

// Open opens the reserve file at path, creating it (mode 0600) if it is
// missing, and allocates size bytes to it. A file system too full to
// allocate is no error: the reserve is then low until space is freed.
func Open(path string, size int64) (*Reserve, error) {
	if size <= 0 {
		return nil, fmt.Errorf("disk reserve %s: size %d is not positive", path, size)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("disk reserve: %w", err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = errors.New("not a regular file")
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("disk reserve %s: %w", path, err)
	}
	r := &Reserve{path: path, size: size, f: f}
	if whole(fi, size) {
		// Kept by the last process: allocating again would change nothing
		// and costs a fallocate at every start.
		return r, nil
	}
	if err := r.fill(); err != nil && !Full(err) {
		f.Close()
		return nil, fmt.Errorf("disk reserve %s: %w", path, err)
	}
	return r, nil
}

// Path returns the reserve file's path.
func (r *Reserve) Path() string { return r.path }

// Release frees the reserve's space for the caller's next write. It
// reports whether it freed anything: if not, retrying the write is
// pointless.
func (r *Reserve) Release() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return false
	}
	held, err := allocated(r.f)
	if err != nil || held == 0 {
		return false
	}
	if err := r.f.Truncate(0); err != nil {
		return false
	}
	r.tried = time.Now() // the space is spoken for: no refill right away
	return true
}

// Low reports whether the reserve is not whole: released by this process
// or another, and not yet allocated again. It tries to allocate it again
// at most every retryEvery.
func (r *Reserve) Low() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return false
	}
	held, err := allocated(r.f)
	if err == nil && held >= r.size {
		return false
	}
	if time.Since(r.tried) < retryEvery {
		return true
	}
	if err := r.fill(); err != nil {
		r.tried = time.Now()
		return true
	}
	return false
}

// fill allocates the whole reserve. Blocks it allocated before failing
// stay: they are space the next release gives back. r.mu is held or r is
// not yet shared.
func (r *Reserve) fill() error {
	if err := allocate(r.f, r.size); err != nil {
		return err
	}
	held, err := allocated(r.f)
	if err != nil {
		return err
	}
	if held < r.size {
		return fmt.Errorf("%d of %d bytes allocated: %w", held, r.size, syscall.ENOSPC)
	}
	return nil
}

// Close closes the reserve file, leaving its space allocated for the next
// process.
func (r *Reserve) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}

// Full reports whether err means the file system (or the user's quota on
// it) is out of space.
func Full(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// whole reports whether a file of fi already is a reserve of size bytes:
// that long, with as many bytes of disk allocated.
func whole(fi os.FileInfo, size int64) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && fi.Size() >= size && int64(st.Blocks)*512 >= size
}

// allocated returns the bytes of disk f holds.
func allocated(f *os.File) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fi.Size(), nil
	}
	return int64(st.Blocks) * 512, nil
}
