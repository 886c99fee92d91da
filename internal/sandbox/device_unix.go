//go:build unix

package sandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// SameFileSystem reports whether a and b lie on one file system, so that a
// file can be hard-linked from one to the other. A path that does not exist
// yet is judged by its nearest existing parent, where it would be created.
func SameFileSystem(a, b string) (bool, error) {
	da, err := device(a)
	if err != nil {
		return false, err
	}
	db, err := device(b)
	if err != nil {
		return false, err
	}
	return da == db, nil
}

func device(path string) (uint64, error) {
	fi, err := statExisting(path)
	if err != nil {
		return 0, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, fmt.Errorf("same file system: no device number for %s", path)
	}
	return uint64(st.Dev), nil
}

// statExisting stats path, or its nearest existing parent when path does
// not exist yet.
func statExisting(path string) (fs.FileInfo, error) {
	p := filepath.Clean(path)
	for {
		fi, err := os.Stat(p)
		if err == nil {
			return fi, nil
		}
		parent := filepath.Dir(p)
		if !errors.Is(err, fs.ErrNotExist) || parent == p {
			return nil, fmt.Errorf("same file system: %w", err)
		}
		p = parent
	}
}
