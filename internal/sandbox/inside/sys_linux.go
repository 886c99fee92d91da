package inside

import (
	"syscall"
	"unsafe"
)

// The kernel interfaces the first process uses beyond package syscall.
// golang.org/x/sys/unix has them all, but importing it would make this
// package initialise after most of the binary (see doc.go); the values
// are the kernel's ABI, and a test in package sandbox checks each against
// x/sys/unix.
const (
	sysOpenTree             = 428 // the same number on every architecture Warden builds for
	sysMoveMount            = 429
	sysFsopen               = 430
	sysFsconfig             = 431
	sysFsmount              = 432
	sysCloseRange           = 436
	sysMountSetattr         = 442
	sysLandlockAddRule      = 445
	sysLandlockRestrictSelf = 446

	openTreeClone       = 0x1
	openTreeCloexec     = 0x80000
	atRecursive         = 0x8000
	atEmptyPath         = 0x1000
	atSymlinkNofollow   = 0x100
	moveMountFEmptyPath = 0x4
	fsopenCloexec       = 0x1
	fsmountCloexec      = 0x1
	fsconfigSetString   = 1
	fsconfigCmdCreate   = 6
	closeRangeCloexec   = 0x4
	oPath               = 0x200000

	mountAttrRdonly = 0x1
	mountAttrNosuid = 0x2
	mountAttrNodev  = 0x4
	mountAttrNoexec = 0x8

	prSetNoNewPrivs         = 38
	prCapAmbient            = 47
	prCapAmbientClearAll    = 4
	seccompSetModeFilter    = 1
	landlockRulePathBeneath = 1
	rlimitNproc             = 6
)

func errnoErr(e syscall.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

// atFDCWD is AT_FDCWD as a system call argument.
func atFDCWD() uintptr {
	fd := -100
	return uintptr(fd)
}

func openTree(path string, flags uintptr) (int, error) {
	p, err := syscall.BytePtrFromString(path)
	if err != nil {
		return -1, err
	}
	fd, _, e := syscall.Syscall(sysOpenTree, atFDCWD(), uintptr(unsafe.Pointer(p)), flags)
	if e != 0 {
		return -1, e
	}
	return int(fd), nil
}

func moveMount(fromFD int, to string) error {
	p, err := syscall.BytePtrFromString(to)
	if err != nil {
		return err
	}
	var empty byte
	_, _, e := syscall.Syscall6(sysMoveMount, uintptr(fromFD), uintptr(unsafe.Pointer(&empty)), atFDCWD(), uintptr(unsafe.Pointer(p)), moveMountFEmptyPath, 0)
	return errnoErr(e)
}

// mountAttr is struct mount_attr.
type mountAttr struct {
	set, clr, propagation, userns uint64
}

// mountSetattr sets attributes on the mount at path, or (path "") on the
// mount fd stands for.
func mountSetattr(fd int, path string, flags uintptr, set uint64) error {
	p, err := syscall.BytePtrFromString(path)
	if err != nil {
		return err
	}
	dirfd := atFDCWD()
	if fd >= 0 {
		dirfd = uintptr(fd)
	}
	attr := mountAttr{set: set}
	_, _, e := syscall.Syscall6(sysMountSetattr, dirfd, uintptr(unsafe.Pointer(p)), flags, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr), 0)
	return errnoErr(e)
}

func fsopen(fstype string) (int, error) {
	p, err := syscall.BytePtrFromString(fstype)
	if err != nil {
		return -1, err
	}
	fd, _, e := syscall.Syscall(sysFsopen, uintptr(unsafe.Pointer(p)), fsopenCloexec, 0)
	if e != 0 {
		return -1, e
	}
	return int(fd), nil
}

func fsconfigString(fd int, key, value string) error {
	k, err := syscall.BytePtrFromString(key)
	if err != nil {
		return err
	}
	v, err := syscall.BytePtrFromString(value)
	if err != nil {
		return err
	}
	_, _, e := syscall.Syscall6(sysFsconfig, uintptr(fd), fsconfigSetString, uintptr(unsafe.Pointer(k)), uintptr(unsafe.Pointer(v)), 0, 0)
	return errnoErr(e)
}

func fsconfigCreate(fd int) error {
	_, _, e := syscall.Syscall6(sysFsconfig, uintptr(fd), fsconfigCmdCreate, 0, 0, 0, 0)
	return errnoErr(e)
}

func fsmount(fd int, attrs uintptr) (int, error) {
	m, _, e := syscall.Syscall(sysFsmount, uintptr(fd), fsmountCloexec, attrs)
	if e != 0 {
		return -1, e
	}
	return int(m), nil
}

// closeFrom marks every file from first on close-on-exec.
func closeFrom(first uint) error {
	_, _, e := syscall.Syscall(sysCloseRange, uintptr(first), uintptr(^uint32(0)), closeRangeCloexec)
	return errnoErr(e)
}

func prctl(option, arg2 uintptr) error {
	_, _, e := syscall.Syscall6(syscall.SYS_PRCTL, option, arg2, 0, 0, 0, 0)
	return errnoErr(e)
}

func loadSeccomp(filter []syscall.SockFilter) error {
	prog := syscall.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	_, _, e := syscall.Syscall(sysSeccomp, seccompSetModeFilter, 0, uintptr(unsafe.Pointer(&prog)))
	return errnoErr(e)
}

// pathBeneathAttr is struct landlock_path_beneath_attr, which the kernel
// declares packed: 12 bytes.
type pathBeneathAttr [12]byte

func landlockAllow(ruleset, fd int, access uint64) error {
	var a pathBeneathAttr
	*(*uint64)(unsafe.Pointer(&a[0])) = access
	*(*int32)(unsafe.Pointer(&a[8])) = int32(fd)
	_, _, e := syscall.Syscall6(sysLandlockAddRule, uintptr(ruleset), landlockRulePathBeneath, uintptr(unsafe.Pointer(&a)), 0, 0, 0)
	return errnoErr(e)
}

func landlockRestrictSelf(ruleset int) error {
	_, _, e := syscall.Syscall(sysLandlockRestrictSelf, uintptr(ruleset), 0, 0)
	return errnoErr(e)
}

const unsafeSizeofMountAttr = unsafe.Sizeof(mountAttr{})
