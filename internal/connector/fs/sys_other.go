//go:build !linux

package fs

// renameNoReplace and renameExchange need renameat2, which only Linux
// has; callers fall back to link-and-unlink or a plain rename.
func renameNoReplace(oldDir int, oldName string, newDir int, newName string) error {
	return errNoRenameFlags
}

func renameExchange(oldDir int, oldName string, newDir int, newName string) error {
	return errNoRenameFlags
}
