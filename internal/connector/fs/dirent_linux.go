package fs

import (
	"encoding/binary"
	iofs "io/fs"
	"os"
	"sync"
	"syscall"
)

// direntBufs recycles getdents buffers.
var direntBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// readDirents reads the entries of dir with the file types the kernel
// reports alongside the names (d_type), so that a walk does not need an
// Lstat per entry just to learn which entries are directories. The types
// are hints: anything opened or entered is examined with Lstat first.
func readDirents(dir *os.Root) ([]dirent, error) {
	f, err := dir.OpenFile(".", openDirFlags, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readDirentsFile(f)
}

// readDirentsFile reads the entries of an open directory.
func readDirentsFile(f *os.File) ([]dirent, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	bp := direntBufs.Get().(*[]byte)
	defer direntBufs.Put(bp)
	buf := *bp
	var out []dirent
	for {
		var n int
		var errno error
		if err := rc.Control(func(fd uintptr) {
			for {
				n, errno = syscall.Getdents(int(fd), buf)
				if errno != syscall.EINTR {
					return
				}
			}
		}); err != nil {
			return nil, err
		}
		if errno != nil {
			return nil, &os.PathError{Op: "getdents", Path: ".", Err: errno}
		}
		if n <= 0 {
			break
		}
		// struct linux_dirent64 { u64 ino; s64 off; u16 reclen; u8 type; char name[]; }
		for rec := buf[:n]; len(rec) >= 19; {
			reclen := int(binary.NativeEndian.Uint16(rec[16:18]))
			if reclen < 19 || reclen > len(rec) {
				return nil, &os.PathError{Op: "getdents", Path: ".", Err: syscall.EIO}
			}
			name := rec[19:reclen]
			for i, c := range name {
				if c == 0 {
					name = name[:i]
					break
				}
			}
			if s := string(name); s != "." && s != ".." && s != "" {
				out = append(out, dirent{name: s, typ: direntType(rec[18]), known: rec[18] != syscall.DT_UNKNOWN, ino: binary.NativeEndian.Uint64(rec[0:8])})
			}
			rec = rec[reclen:]
		}
		if len(out) > maxDirNames {
			return nil, errTooManyNames
		}
	}
	return out, nil
}

func direntType(t uint8) iofs.FileMode {
	switch t {
	case syscall.DT_REG:
		return 0
	case syscall.DT_DIR:
		return iofs.ModeDir
	case syscall.DT_LNK:
		return iofs.ModeSymlink
	case syscall.DT_FIFO:
		return iofs.ModeNamedPipe
	case syscall.DT_SOCK:
		return iofs.ModeSocket
	case syscall.DT_CHR:
		return iofs.ModeDevice | iofs.ModeCharDevice
	case syscall.DT_BLK:
		return iofs.ModeDevice
	}
	return iofs.ModeIrregular
}

// sameListed reports whether got, an opened directory, is the inode a
// listing of its parent (whose identity is parent) reported, on the
// parent's device.
func sameListed(got iofs.FileInfo, ino uint64, parent iofs.FileInfo) bool {
	g, ok1 := got.Sys().(*syscall.Stat_t)
	p, ok2 := parent.Sys().(*syscall.Stat_t)
	return ok1 && ok2 && g.Ino == ino && g.Dev == p.Dev
}
