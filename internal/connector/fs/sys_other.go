//go:build !linux

package fs

import iofs "io/fs"

// renameNoReplace and renameExchange need renameat2, which only Linux
// has; callers fall back to link-and-unlink or a plain rename.
func renameNoReplace(oldDir int, oldName string, newDir int, newName string) error {
	return errNoRenameFlags
}

func renameExchange(oldDir int, oldName string, newDir int, newName string) error {
	return errNoRenameFlags
}

// ctime returns 0: elsewhere an unchanged file is told by its identity
// alone.
func ctime(iofs.FileInfo) int64 { return 0 }

// inMemoryFS reports false: only Linux is checked.
func inMemoryFS(string) bool { return false }
