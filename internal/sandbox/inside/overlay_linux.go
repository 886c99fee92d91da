package inside

import (
	"fmt"
	"syscall"
	"unsafe"
)

// fsconfigSetFlag is FSCONFIG_SET_FLAG: an option without a value.
const fsconfigSetFlag = 0

// Names of a Mount's scratch directory's parts: the overlay's upper
// directory, where the program's changes land, and its work directory.
const (
	ScratchUpper = "upper"
	ScratchWork  = "work"
)

// overlayEntry makes a detached overlay of m's host directory, whose
// changes land in m.Scratch: the program sees the directory as writable,
// while the host's stays as it is until the caller applies the changes.
// userxattr lets an unprivileged user namespace mount it; it also keeps
// redirects and metacopy off, so the upper directory holds whole files
// and a renamed directory is a copy and a whiteout.
func overlayEntry(m Mount) (mountEntry, error) {
	fail := func(err error) (mountEntry, error) {
		return mountEntry{}, fmt.Errorf("overlay on %s (changes in %s): %w", m.Path, m.Scratch, err)
	}
	fsfd, err := fsopen("overlay")
	if err != nil {
		return fail(err)
	}
	defer syscall.Close(fsfd)
	for _, o := range [][2]string{{"lowerdir+", m.Path}, {"upperdir", m.Scratch + "/" + ScratchUpper}, {"workdir", m.Scratch + "/" + ScratchWork}} {
		if err := fsconfigString(fsfd, o[0], o[1]); err != nil {
			return fail(fmt.Errorf("option %s: %w", o[0], err))
		}
	}
	if err := fsconfigFlag(fsfd, "userxattr"); err != nil {
		return fail(fmt.Errorf("option userxattr: %w", err))
	}
	if err := fsconfigCreate(fsfd); err != nil {
		if err == syscall.EINVAL || err == syscall.EOPNOTSUPP {
			// The kernel's reason is in its log, not the error.
			err = fmt.Errorf("%w: the file system of the scratch directory cannot hold an overlay's upper directory (it may be an overlay itself, or lack user extended attributes), or the host refuses overlays in user namespaces", err)
		}
		return fail(err)
	}
	mfd, err := fsmount(fsfd, mountAttrNosuid|mountAttrNodev)
	if err != nil {
		return fail(err)
	}
	return mountEntry{path: m.Path, dir: true, tree: mfd}, nil
}

func fsconfigFlag(fd int, key string) error {
	k, err := syscall.BytePtrFromString(key)
	if err != nil {
		return err
	}
	_, _, e := syscall.Syscall6(sysFsconfig, uintptr(fd), fsconfigSetFlag, uintptr(unsafe.Pointer(k)), 0, 0, 0)
	return errnoErr(e)
}
