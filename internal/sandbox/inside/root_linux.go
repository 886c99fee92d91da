package inside

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"syscall"
)

// SystemEntries are what of the host a program needs to run, shown
// read-only: the system directories, and the files of /etc that find
// libraries, name users and zones, and hold the TLS roots. Nothing else of
// /etc (shadow, keys, Warden's own configuration) exists in a sandbox.
var SystemEntries = []string{
	"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
	"/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
	"/etc/passwd", "/etc/group", "/etc/nsswitch.conf", "/etc/hosts",
	"/etc/localtime", "/etc/alternatives", "/etc/mime.types",
	"/etc/ssl/certs", "/etc/ca-certificates",
}

// Devices are the only device files in a sandbox's /dev.
var Devices = []string{"null", "zero", "full", "random", "urandom"}

// rootMountpoints are where the new root is put together before it
// becomes "/": the first that exists. What they held on the host is
// hidden only inside the sandbox's own mount namespace.
var rootMountpoints = []string{"/tmp", "/mnt", "/run"}

// mountEntry is one piece of the host shown in the sandbox: a detached
// copy of its mount, to be attached at the same path inside.
type mountEntry struct {
	path string
	dir  bool
	tree int // file descriptor from open_tree, or -1 for a symbolic link
	link string
}

// buildRoot makes a new root for the sandbox from the host's file system
// and makes it the process's root. The process must be alone in fresh
// user, mount and pid namespaces.
func buildRoot(spec *Spec) error {
	// Nothing done here may reach the host's mounts.
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	// Copy every source first, while the host's tree is whole: the new
	// root's own mount point may hide some of them (a grant under /tmp).
	var entries []mountEntry
	for _, p := range SystemEntries {
		e, ok, err := cloneEntry(p, true, true)
		if err != nil {
			return err
		}
		if ok {
			entries = append(entries, e)
		}
	}
	grants := slices.Clone(spec.Mounts)
	// Shorter paths first, so that a narrower grant inside a wider one is
	// mounted on top of it and its own access wins.
	slices.SortStableFunc(grants, func(a, b Mount) int { return len(a.Path) - len(b.Path) })
	for _, g := range grants {
		if g.Scratch != "" {
			e, err := overlayEntry(g)
			if err != nil {
				return err
			}
			entries = append(entries, e)
			continue
		}
		e, ok, err := cloneEntry(g.Path, !g.Write, true)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%s: %w", g.Path, fs.ErrNotExist)
		}
		entries = append(entries, e)
	}
	if spec.Program != "" && !Covered(spec.Program, grants) {
		// A program outside the system directories and the grants is shown
		// alone, read-only.
		e, ok, err := cloneEntry(spec.Program, true, true)
		if err != nil || !ok {
			return fmt.Errorf("program %s: %w", spec.Program, errors.Join(err, fs.ErrNotExist))
		}
		entries = append(entries, e)
	}
	var devs []mountEntry
	for _, d := range Devices {
		e, ok, err := cloneEntry("/dev/"+d, false, false)
		if err != nil {
			return err
		}
		if ok {
			devs = append(devs, e)
		}
	}

	base, err := attachRootTmpfs()
	if err != nil {
		return err
	}
	// The sandbox's own /proc shows only its own processes; /tmp is its
	// own. Both go first, so that a grant beneath /tmp lands on top.
	if err := mountNew(base, "proc", "proc", nil, mountAttrNosuid|mountAttrNodev|mountAttrNoexec); err != nil {
		return err
	}
	tmp := map[string]string{"mode": "1777", "size": fmt.Sprint(spec.TmpBytes)}
	if err := mountNew(base, "tmp", "tmpfs", tmp, mountAttrNosuid|mountAttrNodev); err != nil {
		return err
	}
	if err := os.Mkdir(base+"/dev", 0o755); err != nil {
		return fmt.Errorf("make /dev: %w", err)
	}
	for _, e := range devs {
		if err := placeEntry(base, e); err != nil {
			return err
		}
	}
	for name, target := range map[string]string{"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2", "shm": "/tmp"} {
		if err := os.Symlink(target, base+"/dev/"+name); err != nil {
			return fmt.Errorf("make /dev/%s: %w", name, err)
		}
	}
	for _, e := range entries {
		if err := placeEntry(base, e); err != nil {
			return err
		}
	}
	if err := limitPIDs(base, spec); err != nil {
		return err
	}
	if err := protectProc(base); err != nil {
		return err
	}
	// The root itself (its directories and mount points) is read-only.
	if err := mountSetattr(-1, base, 0, mountAttrRdonly); err != nil {
		return fmt.Errorf("make the root read-only: %w", err)
	}
	return pivot(base)
}

// cloneEntry makes a detached copy of the mount at path, or notes the
// symbolic link path is. ok is false when path does not exist.
func cloneEntry(path string, readOnly, noDev bool) (mountEntry, bool, error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return mountEntry{}, false, nil
	}
	if err != nil {
		return mountEntry{}, false, err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		link, err := os.Readlink(path)
		if err != nil {
			return mountEntry{}, false, err
		}
		return mountEntry{path: path, tree: -1, link: link}, true, nil
	}
	t, err := openTree(path, openTreeClone|openTreeCloexec|atRecursive|atSymlinkNofollow)
	if err != nil {
		return mountEntry{}, false, fmt.Errorf("copy the mount of %s: %w", path, err)
	}
	attr := uint64(mountAttrNosuid)
	if readOnly {
		attr |= mountAttrRdonly
	}
	if noDev {
		attr |= mountAttrNodev
	}
	if err := mountSetattr(t, "", atEmptyPath|atRecursive, attr); err != nil {
		syscall.Close(t)
		return mountEntry{}, false, fmt.Errorf("restrict the mount of %s: %w", path, err)
	}
	return mountEntry{path: path, dir: fi.IsDir(), tree: t}, true, nil
}

// attachRootTmpfs mounts the new root's empty file system and returns
// where.
func attachRootTmpfs() (string, error) {
	for _, m := range rootMountpoints {
		if fi, err := os.Stat(m); err != nil || !fi.IsDir() {
			continue
		}
		return m, mountNew(m, "", "tmpfs", map[string]string{"mode": "0755", "size": "1m"}, mountAttrNosuid|mountAttrNodev)
	}
	return "", fmt.Errorf("no directory to build the root in (tried %q)", rootMountpoints)
}

// mountNew mounts a new file system of type fstype at base/rel.
func mountNew(base, rel, fstype string, options map[string]string, attrs uintptr) error {
	target := base
	if rel != "" {
		target = base + "/" + rel
		if err := os.MkdirAll(target, 0o755); err != nil {
			return fmt.Errorf("make %s: %w", "/"+rel, err)
		}
	}
	fsfd, err := fsopen(fstype)
	if err != nil {
		return fmt.Errorf("new %s: %w", fstype, err)
	}
	defer syscall.Close(fsfd)
	for k, v := range options {
		if err := fsconfigString(fsfd, k, v); err != nil {
			return fmt.Errorf("new %s: option %s=%s: %w", fstype, k, v, err)
		}
	}
	if err := fsconfigCreate(fsfd); err != nil {
		return fmt.Errorf("new %s: %w", fstype, err)
	}
	mfd, err := fsmount(fsfd, attrs)
	if err != nil {
		return fmt.Errorf("mount %s: %w", fstype, err)
	}
	defer syscall.Close(mfd)
	if err := moveMount(mfd, target); err != nil {
		return fmt.Errorf("attach %s at /%s: %w", fstype, rel, err)
	}
	return nil
}

// placeEntry attaches e at the same path beneath base.
func placeEntry(base string, e mountEntry) error {
	target := base + e.path
	if e.tree < 0 {
		if err := os.MkdirAll(parent(target), 0o755); err != nil {
			return fmt.Errorf("make %s: %w", parent(e.path), err)
		}
		if err := os.Symlink(e.link, target); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("link %s: %w", e.path, err)
		}
		return nil
	}
	defer syscall.Close(e.tree)
	if e.dir {
		if err := os.MkdirAll(target, 0o755); err != nil {
			return fmt.Errorf("make %s: %w", e.path, err)
		}
	} else {
		if err := os.MkdirAll(parent(target), 0o755); err != nil {
			return fmt.Errorf("make %s: %w", parent(e.path), err)
		}
		// An existing file (inside a mount already placed) is a mount point
		// as it is.
		f, err := os.OpenFile(target, os.O_RDONLY|os.O_CREATE, 0o644)
		if err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("make %s: %w", e.path, err)
		}
		if f != nil {
			f.Close()
		}
	}
	if err := moveMount(e.tree, target); err != nil {
		return fmt.Errorf("attach %s: %w", e.path, err)
	}
	return nil
}

// pivot makes base the root and lets go of the host's.
func pivot(base string) error {
	if err := syscall.Chdir(base); err != nil {
		return fmt.Errorf("enter the new root: %w", err)
	}
	// pivot_root(".", ".") stacks the old root on the new one; detaching
	// it leaves only the new.
	if err := syscall.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot to the new root: %w", err)
	}
	if err := syscall.Unmount(".", syscall.MNT_DETACH); err != nil {
		return fmt.Errorf("detach the host's root: %w", err)
	}
	return syscall.Chdir("/")
}

// Covered reports whether path lies in a system directory or a grant.
func Covered(path string, grants []Mount) bool {
	for _, s := range SystemEntries {
		if Within(path, s) {
			return true
		}
	}
	for _, g := range grants {
		if Within(path, g.Path) {
			return true
		}
	}
	return false
}

// Within reports whether path is dir or lies beneath it; both are clean
// and absolute.
func Within(path, dir string) bool {
	if dir == "/" || path == dir {
		return true
	}
	return len(path) > len(dir) && path[:len(dir)] == dir && path[len(dir)] == '/'
}

// parent is the directory of a clean, absolute path.
func parent(path string) string {
	for i := len(path) - 1; i > 0; i-- {
		if path[i] == '/' {
			return path[:i]
		}
	}
	return "/"
}

// limitPIDs caps the pid numbers of the sandbox's pid namespace (Linux
// 6.14 and later have one pid_max per namespace). RLIMIT_NPROC does not
// hold for a user mapped to the host's root, so when Warden runs as root
// this is the bound on processes: Processes, but never below the kernel's
// minimum of 300. Older kernels have one pid_max for the whole host, which
// the sandbox cannot write: nothing to do there.
func limitPIDs(base string, spec *Spec) error {
	procs := uint64(0)
	for _, l := range spec.Rlimits {
		if l.Resource == rlimitNproc {
			procs = l.Value
		}
	}
	if procs == 0 {
		return nil
	}
	f, err := os.OpenFile(base+"/proc/sys/kernel/pid_max", os.O_WRONLY, 0)
	if err != nil {
		return nil // no per-namespace pid_max
	}
	defer f.Close()
	if _, err := fmt.Fprint(f, max(procs+1, 301)); err != nil && !errors.Is(err, syscall.EPERM) && !errors.Is(err, syscall.EACCES) {
		return fmt.Errorf("limit processes: %w", err)
	}
	return nil
}

// procReadOnly are the parts of /proc that act on the whole host, not the
// sandbox's namespaces: kernel settings (/proc/sys/kernel/core_pattern
// runs a program as root), the magic SysRq key, interrupt and bus
// settings. A program whose user maps to the host's root would own them;
// they are made read-only (Landlock refuses writing all of /proc too).
var procReadOnly = []string{"sys", "sysrq-trigger", "irq", "bus", "fs"}

// protectProc mounts each of procReadOnly over itself, read-only.
func protectProc(base string) error {
	for _, p := range procReadOnly {
		path := base + "/proc/" + p
		if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		t, err := openTree(path, openTreeClone|openTreeCloexec|atRecursive)
		if err != nil {
			return fmt.Errorf("protect /proc/%s: %w", p, err)
		}
		err = mountSetattr(t, "", atEmptyPath|atRecursive, mountAttrRdonly|mountAttrNosuid|mountAttrNodev|mountAttrNoexec)
		if err == nil {
			err = moveMount(t, path)
		}
		syscall.Close(t)
		if err != nil {
			return fmt.Errorf("protect /proc/%s: %w", p, err)
		}
	}
	return nil
}
