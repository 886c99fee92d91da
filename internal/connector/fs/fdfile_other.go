//go:build !linux

package fs

import (
	iofs "io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// Stat returns the file's fstat through an os.File of a duplicate
// descriptor: the stat structure differs from system to system.
func (f *fdFile) Stat() (iofs.FileInfo, error) {
	fd, err := unix.Dup(f.fd)
	if err != nil {
		return nil, &iofs.PathError{Op: "stat", Path: f.name, Err: err}
	}
	of := os.NewFile(uintptr(fd), f.name)
	defer of.Close()
	return of.Stat()
}
