package fs

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	iofs "io/fs"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// tempPrefix starts the names of Warden's temporary files. Agents cannot
// name them, and list and search hide them.
const tempPrefix = ".warden-tmp-"

// isTempName reports whether name is one of Warden's temporary names.
func isTempName(name string) bool { return strings.HasPrefix(name, tempPrefix) }

// hasTempComponent reports whether any component of the slash-separated
// path p is a temporary name.
func hasTempComponent(p string) bool {
	for c := range strings.SplitSeq(p, "/") {
		if isTempName(c) {
			return true
		}
	}
	return false
}

// newTempName returns a fresh temporary name.
func newTempName() string {
	var b [12]byte
	rand.Read(b[:]) // never fails
	return tempPrefix + hex.EncodeToString(b[:])
}

// errNoRenameFlags reports that the system cannot rename without
// replacing, or exchange two names, in one call.
var errNoRenameFlags = errors.New("renameat2 flags not supported")

// dirHandle is a directory a call changes: its os.Root, for Lstat and for
// opening entries by one name, and a plain descriptor of the same
// directory, for flock, the *at system calls, fsync and the journal. All
// names passed to its methods are single components.
type dirHandle struct {
	root   *os.Root
	f      *os.File
	info   iofs.FileInfo
	locked bool
	// release, if not "", is a name to remove once the handle is closed,
	// on bg if it is set (see Connector.release).
	release string
	bg      *background
}

// openDirHandle opens a descriptor of root's directory.
func openDirHandle(root *os.Root) (*dirHandle, error) {
	f, err := root.OpenFile(".", openDirFlags, 0)
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &dirHandle{root: root, f: f, info: info}, nil
}

// close releases the lock, if held, and the descriptor.
func (d *dirHandle) close() {
	if d == nil || d.f == nil {
		return
	}
	if d.locked {
		d.control(func(fd int) error { return unix.Flock(fd, unix.LOCK_UN) })
		d.locked = false
	}
	switch {
	case d.release != "" && d.bg == nil:
		d.unlink(d.release, false)
		d.f.Close()
	case d.release != "":
		f, name := d.f, d.release
		d.bg.run(func() {
			(&dirHandle{f: f}).unlink(name, false)
			f.Close()
		})
	default:
		d.f.Close()
	}
	d.f = nil
}

// control runs fn with the directory's descriptor.
func (d *dirHandle) control(fn func(fd int) error) error {
	rc, err := d.f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// lock takes an exclusive flock on the directory, waiting while another
// writer (a goroutine or another process) holds it, until ctx ends. It
// polls rather than blocks so that a cancelled call never hangs.
func (d *dirHandle) lock(ctx context.Context) error {
	delay := 100 * time.Microsecond
	for {
		err := d.control(func(fd int) error { return unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB) })
		switch {
		case err == nil:
			d.locked = true
			return nil
		case !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR):
			return err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		delay = min(delay*2, 20*time.Millisecond)
	}
}

// lockAll locks every distinct directory in ds, in a fixed order (by
// device and inode) so that two calls locking the same pair cannot wait
// on each other. It returns the handles it locked, to close.
func lockAll(ctx context.Context, ds ...*dirHandle) ([]*dirHandle, error) {
	var uniq []*dirHandle
	for _, d := range ds {
		if !slices.ContainsFunc(uniq, func(u *dirHandle) bool { return os.SameFile(u.info, d.info) }) {
			uniq = append(uniq, d)
		}
	}
	slices.SortFunc(uniq, func(a, b *dirHandle) int {
		x, y := fileID(a.info), fileID(b.info)
		if x.dev != y.dev {
			return cmpUint(x.dev, y.dev)
		}
		return cmpUint(x.ino, y.ino)
	})
	for i, d := range uniq {
		if err := d.lock(ctx); err != nil {
			for _, l := range uniq[:i] {
				l.unlock()
			}
			return nil, err
		}
	}
	return uniq, nil
}

func (d *dirHandle) unlock() {
	if d.locked {
		d.control(func(fd int) error { return unix.Flock(fd, unix.LOCK_UN) })
		d.locked = false
	}
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

type id struct{ dev, ino uint64 }

func fileID(fi iofs.FileInfo) id {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return id{uint64(st.Dev), uint64(st.Ino)}
	}
	return id{}
}

// nlink returns the number of hard links of fi.
func nlink(fi iofs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 1
}

// owner returns the owner of fi, or -1, -1 if it is not known.
func owner(fi iofs.FileInfo) (uid, gid int) {
	if fi == nil {
		return -1, -1
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid), int(st.Gid)
	}
	return -1, -1
}

// sync flushes the directory, making renames and removals in it durable.
func (d *dirHandle) sync() error { return d.f.Sync() }

// unlink removes name (a directory if dir is set).
func (d *dirHandle) unlink(name string, dir bool) error {
	flags := 0
	if dir {
		flags = unix.AT_REMOVEDIR
	}
	return d.control(func(fd int) error { return unix.Unlinkat(fd, name, flags) })
}

// mkdir creates the directory name with perm (less the umask).
func (d *dirHandle) mkdir(name string, perm iofs.FileMode) error {
	return d.control(func(fd int) error { return unix.Mkdirat(fd, name, uint32(perm.Perm())) })
}

// symlink creates name as a symbolic link to dest.
func (d *dirHandle) symlink(dest, name string) error {
	return d.control(func(fd int) error { return unix.Symlinkat(dest, fd, name) })
}

// withFds runs fn with the descriptors of a and b.
func withFds(a, b *dirHandle, fn func(afd, bfd int) error) error {
	return a.control(func(afd int) error {
		return b.control(func(bfd int) error { return fn(afd, bfd) })
	})
}

// moveNoReplace renames from/fromName to to/toName, failing with EEXIST
// if toName exists. Where the system has no renameat2 it links and
// unlinks a file, or checks and renames a directory (which, unlike the
// rest, leaves a window in which a concurrent creator can lose its entry).
func moveNoReplace(from *dirHandle, fromName string, to *dirHandle, toName string, isDir bool) error {
	return withFds(from, to, func(ffd, tfd int) error {
		err := renameNoReplace(ffd, fromName, tfd, toName)
		if !errors.Is(err, errNoRenameFlags) {
			return err
		}
		if !isDir {
			if err := unix.Linkat(ffd, fromName, tfd, toName, 0); err != nil {
				return err
			}
			unix.Unlinkat(ffd, fromName, 0) // a temporary name left behind is swept later
			return nil
		}
		var st unix.Stat_t
		if err := unix.Fstatat(tfd, toName, &st, unix.AT_SYMLINK_NOFOLLOW); !errors.Is(err, unix.ENOENT) {
			return unix.EEXIST
		}
		return unix.Renameat(ffd, fromName, tfd, toName)
	})
}

// replaceEntry puts the file src/srcName in place of dst/dstName, which
// must be the object old, atomically: readers of dstName see the old or
// the new file, never neither. The names are exchanged and what came back
// is checked: if it is not old (another process replaced it after the
// caller's checks) everything is swapped back and errChanged returned, so
// nothing the caller did not keep is ever lost. srcName then holds the
// old file, which the caller releases.
func replaceEntry(src *dirHandle, srcName string, dst *dirHandle, dstName string, old iofs.FileInfo) error {
	err := withFds(src, dst, func(sfd, dfd int) error { return renameExchange(sfd, srcName, dfd, dstName) })
	if errors.Is(err, errNoRenameFlags) {
		return withFds(src, dst, func(sfd, dfd int) error { return unix.Renameat(sfd, srcName, dfd, dstName) })
	}
	if err != nil {
		return err
	}
	got, err := src.root.Lstat(srcName)
	if err != nil || !os.SameFile(got, old) {
		err := withFds(src, dst, func(sfd, dfd int) error { return renameExchange(sfd, srcName, dfd, dstName) })
		if errors.Is(err, unix.ENOENT) {
			// dstName vanished meanwhile: give what came back its name
			// again, so the other process's object (a symlink planted to
			// catch a write) never stays at srcName, which for a move is
			// the agent's own file name.
			err = moveNoReplace(src, srcName, dst, dstName, got != nil && got.IsDir())
		}
		if err != nil {
			return errors.Join(errChanged, errKeepTemp, err)
		}
		return errChanged
	}
	return nil
}

// errKeepTemp reports that the caller's temporary name now holds an
// object that is not the caller's, which must therefore not be removed.
var errKeepTemp = errors.New("temporary name holds another object")

// detach renames name to a fresh temporary name, after which it is hidden,
// and checks that what it moved is want; if not, it is put back and
// errChanged returned. A caller that removes an entry detaches it first,
// so that it never removes an object another process put there after the
// caller's checks.
func (d *dirHandle) detach(name string, want iofs.FileInfo) (string, error) {
	tmp := newTempName()
	if err := moveNoReplace(d, name, d, tmp, want.IsDir()); err != nil {
		return "", err
	}
	got, err := d.root.Lstat(tmp)
	if err != nil || !os.SameFile(got, want) {
		if err := moveNoReplace(d, tmp, d, name, got != nil && got.IsDir()); err != nil {
			return "", errors.Join(errChanged, err)
		}
		return "", errChanged
	}
	return tmp, nil
}

// newFile describes the file a write leaves.
type newFile struct {
	// perm is set exactly when keep is set (the replaced file's bits);
	// otherwise a new file gets 0644 less the umask.
	perm iofs.FileMode
	keep bool
	// uid and gid, when not -1, are restored as the owner if the process
	// may do so (the replaced file's owner).
	uid, gid int
}

// writeTemp creates a temporary file in d with O_CREATE|O_EXCL, copies r
// into it, sets its mode and owner and flushes it to disk. It returns the
// temporary name, the content's SHA-256 (hex) and the file's Lstat. On
// failure nothing is left behind.
func (d *dirHandle) writeTemp(ctx context.Context, r io.Reader, nf newFile) (name, sum string, fi iofs.FileInfo, err error) {
	name, sum, fi, f, err := d.writeTempOpen(ctx, r, "", nf)
	if err != nil {
		return "", "", nil, err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		d.unlink(name, false)
		return "", "", nil, err
	}
	return name, sum, fi, nil
}

// writeTempOpen is writeTemp without the final sync: it returns the open
// file, which the caller must sync (it may do so while the journal syncs,
// so both share one disk flush) and close, or close and unlink on failure.
// A caller that hashed what r yields already passes the hash as known,
// and it is returned instead of hashing the same bytes again.
func (d *dirHandle) writeTempOpen(ctx context.Context, r io.Reader, known string, nf newFile) (name, sum string, fi iofs.FileInfo, f *fdFile, err error) {
	var created string
	for range 8 {
		created = newTempName()
		err = d.control(func(dfd int) error {
			var err error
			f, err = openAt(dfd, created, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, 0o644)
			return err
		})
		if !errors.Is(err, iofs.ErrExist) {
			break
		}
	}
	if err != nil {
		return "", "", nil, nil, err
	}
	// The failure returns below clear the named results before this runs,
	// so it closes and removes what it created by its own copies.
	file := f
	defer func() {
		if err != nil {
			file.Close()
			d.unlink(created, false)
		}
	}()
	name = created
	var h hash.Hash
	var dst io.Writer = f
	if known == "" {
		h = sha256.New()
		dst = io.MultiWriter(f, h)
	}
	if _, err = copyPooled(dst, ctxReader{ctx, r}); err != nil {
		return "", "", nil, nil, err
	}
	if fi, err = f.Stat(); err != nil {
		return "", "", nil, nil, err
	}
	changed := false
	if u, g := owner(fi); nf.uid >= 0 && (u != nf.uid || g != nf.gid) {
		// Keep the replaced file's owner where the process may; otherwise
		// the file belongs to the Warden process's user.
		changed = f.Chown(nf.uid, nf.gid) == nil
	}
	// Set the mode even when it looks right: a chown may clear set-id bits.
	if nf.keep && (changed || fi.Mode().Perm() != nf.perm.Perm()) {
		if err = f.Chmod(nf.perm.Perm()); err != nil {
			return "", "", nil, nil, err
		}
		changed = true
	}
	if changed {
		if fi, err = f.Stat(); err != nil {
			return "", "", nil, nil, err
		}
	}
	if h != nil {
		known = hex.EncodeToString(h.Sum(nil))
	}
	return name, known, fi, f, nil
}

// copyBufs holds the buffers of copyPooled: io.Copy would allocate 32 KiB
// for every file a call hashes or writes.
var copyBufs = sync.Pool{New: func() any { return new([32 << 10]byte) }}

// copyPooled is io.Copy with a pooled buffer.
func copyPooled(dst io.Writer, src io.Reader) (int64, error) {
	buf := copyBufs.Get().(*[32 << 10]byte)
	defer copyBufs.Put(buf)
	return io.CopyBuffer(dst, src, buf[:])
}

// ctxReader stops copying when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// openSame opens the regular file name in d for reading without blocking
// or following a symbolic link, and checks that it is the object want.
func (d *dirHandle) openSame(name string, want iofs.FileInfo) (*fdFile, error) {
	var f *fdFile
	err := d.control(func(dfd int) error {
		var err error
		f, err = openAt(dfd, name, unix.O_RDONLY|unix.O_NONBLOCK, 0)
		return err
	})
	if err != nil {
		return nil, errors.Join(errChanged, err)
	}
	fi, err := f.Stat()
	if err != nil || fileID(fi) != fileID(want) || fileID(want) == (id{}) || !fi.Mode().IsRegular() {
		f.Close()
		return nil, errors.Join(errChanged, err)
	}
	return f, nil
}

// openSame opens the regular file name in dir for reading without blocking
// and checks that it is the object want.
func openSame(dir *os.Root, name string, want iofs.FileInfo) (*os.File, error) {
	f, err := dir.OpenFile(name, openFileFlags, 0)
	if err != nil {
		return nil, errors.Join(errChanged, err)
	}
	fi, err := f.Stat()
	if err != nil || !os.SameFile(fi, want) || !fi.Mode().IsRegular() {
		f.Close()
		return nil, errors.Join(errChanged, err)
	}
	return f, nil
}

// hashFile returns the SHA-256 (hex) of what remains of f.
func hashFile(ctx context.Context, f io.Reader) (string, error) {
	h := sha256.New()
	if _, err := copyPooled(h, ctxReader{ctx, f}); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// readBounded reads f whole if it holds at most limit bytes; tooBig reports
// that it holds more, after reading only limit+1 bytes of it. size is what
// the caller's Lstat said: the buffer starts that large.
func readBounded(ctx context.Context, f io.Reader, size, limit int64) (content []byte, sum string, tooBig bool, err error) {
	buf := bytes.NewBuffer(make([]byte, 0, min(max(size, 0), limit)+bytes.MinRead))
	if _, err = buf.ReadFrom(io.LimitReader(ctxReader{ctx, f}, limit+1)); err != nil {
		return nil, "", false, err
	}
	content = buf.Bytes()
	if int64(len(content)) > limit {
		return nil, "", true, nil
	}
	s := sha256.Sum256(content)
	return content, hex.EncodeToString(s[:]), false, nil
}
