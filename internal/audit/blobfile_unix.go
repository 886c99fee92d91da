//go:build unix

package audit

import (
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// writeTemp writes data to a new temporary file in dir and returns its
// name. It calls the system directly: an os.File would try, and fail, to
// add the file to the poller (five system calls on Linux), and a blob is
// written on every call with long arguments.
func writeTemp(dir string, data []byte) (string, error) {
	for range 100 {
		name := filepath.Join(dir, ".tmp-"+strconv.FormatUint(rand.Uint64(), 36))
		fd, err := syscall.Open(name, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|syscall.O_CLOEXEC, 0o600)
		if errors.Is(err, syscall.EINTR) || errors.Is(err, syscall.EEXIST) {
			continue
		}
		if err != nil {
			return "", &fs.PathError{Op: "open", Path: name, Err: err}
		}
		for b := data; len(b) > 0 && err == nil; {
			var n int
			n, err = syscall.Write(fd, b)
			switch {
			case errors.Is(err, syscall.EINTR):
				err = nil
			case err == nil && n == 0:
				err = syscall.EIO
			}
			if n > 0 {
				b = b[n:]
			}
		}
		if cerr := syscall.Close(fd); err == nil {
			err = cerr
		}
		if err != nil {
			syscall.Unlink(name)
			return "", &fs.PathError{Op: "write", Path: name, Err: err}
		}
		return name, nil
	}
	return "", &fs.PathError{Op: "open", Path: filepath.Join(dir, ".tmp-*"), Err: syscall.EEXIST}
}

// renameBlob puts the temporary file in place of name: one rename(2),
// without the lstat os.Rename adds to refuse renaming over a directory
// (name is a hash in a directory only Warden writes).
func renameBlob(tmp, name string) error {
	if err := syscall.Rename(tmp, name); err != nil {
		return &os.LinkError{Op: "rename", Old: tmp, New: name, Err: err}
	}
	return nil
}

// syncPath flushes a file or directory to stable storage. It calls the
// system directly for the reason writeTemp does: os.Open would switch the
// descriptor to non-blocking mode, fail to poll it and switch it back,
// five system calls more for each blob and its directory.
func syncPath(path string) error {
	var fd int
	var err error
	for {
		fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		return &fs.PathError{Op: "open", Path: path, Err: err}
	}
	for {
		err = syscall.Fsync(fd)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if cerr := syscall.Close(fd); err == nil && cerr != nil {
		return &fs.PathError{Op: "close", Path: path, Err: cerr}
	}
	if err != nil {
		return &fs.PathError{Op: "sync", Path: path, Err: err}
	}
	return nil
}
