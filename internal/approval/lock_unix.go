//go:build unix

package approval

import (
	"fmt"
	"os"
	"syscall"
)

const (
	openNoFollow = syscall.O_NOFOLLOW
	openNonBlock = syscall.O_NONBLOCK
)

// lockFile takes an exclusive flock on path, creating it if needed, and
// returns the function that releases it. flock locks belong to the open file
// description, so two Stores in one process exclude each other as well as
// two processes do.
func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock: %w", err)
	}
	var lerr error
	cerr := rc.Control(func(fd uintptr) {
		for {
			// The Go runtime's own signals interrupt a blocked flock.
			if lerr = syscall.Flock(int(fd), syscall.LOCK_EX); lerr != syscall.EINTR {
				return
			}
		}
	})
	if cerr != nil || lerr != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, firstErr(cerr, lerr))
	}
	return func() { f.Close() }, nil // closing the descriptor releases the lock
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
