//go:build linux

package journal

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// stat is what the journal needs to know about a file-system object.
type stat struct {
	dev, ino uint64
	nlink    uint64
	mode     uint32
	size     int64
	mtime    time.Time
	ctime    time.Time
}

func (st stat) regular() bool { return st.mode&unix.S_IFMT == unix.S_IFREG }

func fromUnix(s *unix.Stat_t) stat {
	return stat{
		dev: uint64(s.Dev), ino: uint64(s.Ino), nlink: uint64(s.Nlink), mode: s.Mode, size: s.Size,
		mtime: time.Unix(s.Mtim.Unix()), ctime: time.Unix(s.Ctim.Unix()),
	}
}

// describes reports whether st is the very object info was taken from,
// unchanged since: same inode, same size, same modification time.
func (st stat) describes(info fs.FileInfo) bool {
	sys, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return false
	}
	return uint64(sys.Dev) == st.dev && uint64(sys.Ino) == st.ino &&
		st.size == info.Size() && st.mtime.Equal(info.ModTime())
}

// sameInode reports whether st is the object info was taken from, whatever
// happened to its content since.
func (st stat) sameInode(info fs.FileInfo) bool {
	sys, ok := info.Sys().(*syscall.Stat_t)
	return ok && uint64(sys.Dev) == st.dev && uint64(sys.Ino) == st.ino
}

// control runs fn with f's descriptor, which stays valid during fn even if
// f is closed concurrently.
func control(f *os.File, fn func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

func control2(a, b *os.File, fn func(fa, fb int) error) error {
	return control(a, func(fa int) error {
		return control(b, func(fb int) error { return fn(fa, fb) })
	})
}

// statAt describes name in dir without following a symlink.
func statAt(dir *os.File, name string) (stat, error) {
	var s unix.Stat_t
	err := control(dir, func(fd int) error {
		return ignoringEINTR(func() error { return unix.Fstatat(fd, name, &s, unix.AT_SYMLINK_NOFOLLOW) })
	})
	return fromUnix(&s), err
}

func statFile(f *os.File) (stat, error) {
	var s unix.Stat_t
	err := control(f, func(fd int) error { return unix.Fstat(fd, &s) })
	return fromUnix(&s), err
}

// linkAt hard-links oldname in from as newname in to. It never follows a
// symlink: a symlink is linked as itself.
func linkAt(from *os.File, oldname string, to *os.File, newname string) error {
	return control2(from, to, func(a, b int) error {
		return ignoringEINTR(func() error { return unix.Linkat(a, oldname, b, newname, 0) })
	})
}

// renameAt renames within dir, replacing what is at to.
func renameAt(dir *os.File, from, to string) error {
	return control(dir, func(fd int) error { return unix.Renameat(fd, from, fd, to) })
}

func unlinkAt(dir *os.File, name string) error {
	return control(dir, func(fd int) error { return unix.Unlinkat(fd, name, 0) })
}

// openAt opens name in dir, never following a symlink and never blocking on
// a FIFO or device that has taken the name.
func openAt(dir *os.File, name string, flags int, perm uint32) (*os.File, error) {
	var nfd int
	err := control(dir, func(fd int) error {
		return ignoringEINTR(func() (err error) {
			nfd, err = unix.Openat(fd, name, flags|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, perm)
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(nfd), name), nil
}

func openRead(dir *os.File, name string) (*os.File, error) {
	return openAt(dir, name, unix.O_RDONLY, 0)
}

func createExcl(dir *os.File, name string) (*os.File, error) {
	return openAt(dir, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, 0o600)
}

// openAppend opens name in dir for reading and appending, creating it
// (mode 0600, failing if it exists) when create is set.
func openAppend(dir *os.File, name string, create bool) (*os.File, error) {
	flags := unix.O_RDWR | unix.O_APPEND
	if create {
		flags |= unix.O_CREAT | unix.O_EXCL
	}
	return openAt(dir, name, flags, 0o600)
}

// datasync flushes f's data and the metadata needed to read it back (its
// size), not its times: cheaper than fsync for a file that only grows.
func datasync(f *os.File) error {
	return control(f, func(fd int) error {
		return ignoringEINTR(func() error { return unix.Fdatasync(fd) })
	})
}

// reserve allocates n bytes of f from off without changing its size, so
// that appends there allocate nothing and the flush after each writes
// less. It fails where the file system cannot.
func reserve(f *os.File, off, n int64) error {
	return control(f, func(fd int) error {
		return ignoringEINTR(func() error { return unix.Fallocate(fd, unix.FALLOC_FL_KEEP_SIZE, off, n) })
	})
}

// openTemp opens a private read-write file in dir that has no name, so no
// other program can open it.
func openTemp(dir *os.File) (*os.File, error) {
	f, err := openAt(dir, ".", unix.O_RDWR|unix.O_TMPFILE, 0o600)
	if err == nil || (err != unix.EOPNOTSUPP && err != unix.EISDIR && err != unix.EINVAL) {
		return f, err
	}
	name := tempName(".tmp-")
	if f, err = openAt(dir, name, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL, 0o600); err != nil {
		return nil, err
	}
	if err := unlinkAt(dir, name); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// openDir opens a directory handle, refusing a symlink.
func openDir(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
}

// inMemory reports whether dir is on tmpfs or ramfs, where a flush
// writes nothing.
func inMemory(dir *os.File) bool {
	var st unix.Statfs_t
	err := control(dir, func(fd int) error { return unix.Fstatfs(fd, &st) })
	return err == nil && (st.Type == unix.TMPFS_MAGIC || st.Type == unix.RAMFS_MAGIC)
}

func openLock(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
}

// lockFile takes an exclusive flock on f. flock locks belong to the open
// file description, so two Stores in one process exclude each other as two
// processes do.
func lockFile(f *os.File) error {
	return control(f, func(fd int) error {
		return ignoringEINTR(func() error { return unix.Flock(fd, unix.LOCK_EX) })
	})
}

func unlockFile(f *os.File) error {
	return control(f, func(fd int) error { return unix.Flock(fd, unix.LOCK_UN) })
}

// linkRefused reports whether a hard link failed because linking is not
// possible here (another file system, protected_hardlinks, a file system
// without links, too many links), so copying is the way to keep the file.
func linkRefused(err error) bool {
	for _, e := range []error{unix.EXDEV, unix.EPERM, unix.EACCES, unix.EMLINK, unix.EOPNOTSUPP, unix.ENOSYS} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func isExist(err error) bool    { return errors.Is(err, unix.EEXIST) }
func isNotExist(err error) bool { return errors.Is(err, unix.ENOENT) }

// ignoringEINTR retries fn while a signal (the Go runtime sends its own)
// interrupts it.
func ignoringEINTR(fn func() error) error {
	for {
		if err := fn(); err != unix.EINTR {
			return err
		}
	}
}

const supported = true

// readNames lists the names in dir through a fresh handle, so concurrent
// listings do not share a directory offset.
func readNames(dir *os.File) ([]string, error) {
	d, err := openAt(dir, ".", unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Readdirnames(-1)
}

var errLoop error = unix.ELOOP

// openRW opens name in dir for reading and writing, creating it (and
// failing if it exists) when create is set.
func openRW(dir *os.File, name string, create bool) (*os.File, error) {
	flags := unix.O_RDWR
	if create {
		flags |= unix.O_CREAT | unix.O_EXCL
	}
	return openAt(dir, name, flags, 0o600)
}
