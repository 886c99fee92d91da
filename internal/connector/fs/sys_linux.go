package fs

import (
	"errors"
	iofs "io/fs"
	"syscall"

	"golang.org/x/sys/unix"
)

// renameNoReplace renames oldName in oldDir to newName in newDir (both
// directory descriptors) and fails with EEXIST if newName exists, as one
// system call, so that a file created in the meantime is never replaced.
func renameNoReplace(oldDir int, oldName string, newDir int, newName string) error {
	err := unix.Renameat2(oldDir, oldName, newDir, newName, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		return errNoRenameFlags
	}
	return err
}

// renameExchange swaps two names atomically. Afterwards oldName holds what
// newName held, so the caller can check it is what it meant to replace and
// swap back if it is not.
func renameExchange(oldDir int, oldName string, newDir int, newName string) error {
	err := unix.Renameat2(oldDir, oldName, newDir, newName, unix.RENAME_EXCHANGE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		return errNoRenameFlags
	}
	return err
}

// ctime returns fi's inode change time, in nanoseconds.
func ctime(fi iofs.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ctim.Nano()
	}
	return 0
}

// inMemoryFS reports whether path is on tmpfs or ramfs.
func inMemoryFS(path string) bool {
	var st unix.Statfs_t
	return unix.Statfs(path, &st) == nil && (st.Type == unix.TMPFS_MAGIC || st.Type == unix.RAMFS_MAGIC)
}
