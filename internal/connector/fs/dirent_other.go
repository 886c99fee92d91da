//go:build !linux

package fs

import (
	"io"
	iofs "io/fs"
	"os"
)

// readDirents reads the names in dir. Types are not known without an
// Lstat here, so every entry is marked unknown and the walk examines it.
func readDirents(dir *os.Root) ([]dirent, error) {
	f, err := dir.OpenFile(".", openDirFlags, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readDirentsFile(f)
}

// readDirentsFile reads the names in an open directory.
func readDirentsFile(f *os.File) ([]dirent, error) {
	var out []dirent
	for {
		names, err := f.Readdirnames(1024)
		for _, n := range names {
			out = append(out, dirent{name: n})
		}
		if len(out) > maxDirNames {
			return nil, errTooManyNames
		}
		if err == io.EOF || (err == nil && len(names) == 0) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// sameListed cannot tell without inode numbers; the caller falls back to
// an Lstat.
func sameListed(iofs.FileInfo, uint64, iofs.FileInfo) bool { return false }
