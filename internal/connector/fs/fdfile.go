package fs

import (
	"errors"
	"io"
	iofs "io/fs"

	"golang.org/x/sys/unix"
)

// fdFile is a regular file held by its descriptor alone. The write path
// opens two a call (the file it replaces, to read, and the temporary file
// it writes); an os.File for each would try to register it with the
// runtime's poller, an epoll_ctl that fails for a regular file, and
// allocate a poller descriptor and a finalizer.
type fdFile struct {
	fd   int
	name string // for Stat
}

// openAt opens name in the directory dirfd, never following a symbolic
// link there.
func openAt(dirfd int, name string, flags int, perm uint32) (*fdFile, error) {
	for {
		fd, err := unix.Openat(dirfd, name, flags|unix.O_NOFOLLOW|unix.O_CLOEXEC, perm)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, &iofs.PathError{Op: "open", Path: name, Err: err}
		}
		return &fdFile{fd: fd, name: name}, nil
	}
}

func (f *fdFile) Read(p []byte) (int, error) {
	for {
		n, err := unix.Read(f.fd, p)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return 0, &iofs.PathError{Op: "read", Path: f.name, Err: err}
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

func (f *fdFile) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		n, err := unix.Write(f.fd, p[done:])
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return done, &iofs.PathError{Op: "write", Path: f.name, Err: err}
		case n == 0:
			return done, io.ErrShortWrite
		}
		done += n
	}
	return done, nil
}

func (f *fdFile) Sync() error {
	return f.retry("sync", func() error { return unix.Fsync(f.fd) })
}

func (f *fdFile) Chown(uid, gid int) error {
	return f.retry("chown", func() error { return unix.Fchown(f.fd, uid, gid) })
}

func (f *fdFile) Chmod(mode iofs.FileMode) error {
	return f.retry("chmod", func() error { return unix.Fchmod(f.fd, uint32(mode.Perm())) })
}

// Close closes the descriptor; a second Close does nothing.
func (f *fdFile) Close() error {
	if f.fd < 0 {
		return nil
	}
	err := unix.Close(f.fd)
	f.fd = -1
	if err != nil {
		return &iofs.PathError{Op: "close", Path: f.name, Err: err}
	}
	return nil
}

// retry runs fn again while it is interrupted.
func (f *fdFile) retry(op string, fn func() error) error {
	for {
		err := fn()
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return &iofs.PathError{Op: op, Path: f.name, Err: err}
		}
		return nil
	}
}
