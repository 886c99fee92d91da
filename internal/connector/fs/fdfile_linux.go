package fs

import (
	iofs "io/fs"
	"syscall"
	"time"
)

// Stat returns the file's fstat as os.File.Stat would, with a
// *syscall.Stat_t as its Sys.
func (f *fdFile) Stat() (iofs.FileInfo, error) {
	st := new(fdStat)
	st.name = f.name
	if err := f.retry("stat", func() error { return syscall.Fstat(f.fd, &st.sys) }); err != nil {
		return nil, err
	}
	return st, nil
}

// fdStat is the FileInfo of an fdFile.
type fdStat struct {
	name string
	sys  syscall.Stat_t
}

func (s *fdStat) Name() string       { return s.name }
func (s *fdStat) Size() int64        { return s.sys.Size }
func (s *fdStat) ModTime() time.Time { return time.Unix(s.sys.Mtim.Unix()) }
func (s *fdStat) IsDir() bool        { return s.Mode().IsDir() }
func (s *fdStat) Sys() any           { return &s.sys }

// Mode converts the mode bits as the os package does.
func (s *fdStat) Mode() iofs.FileMode {
	m := iofs.FileMode(s.sys.Mode & 0o777)
	switch s.sys.Mode & syscall.S_IFMT {
	case syscall.S_IFBLK:
		m |= iofs.ModeDevice
	case syscall.S_IFCHR:
		m |= iofs.ModeDevice | iofs.ModeCharDevice
	case syscall.S_IFDIR:
		m |= iofs.ModeDir
	case syscall.S_IFIFO:
		m |= iofs.ModeNamedPipe
	case syscall.S_IFLNK:
		m |= iofs.ModeSymlink
	case syscall.S_IFSOCK:
		m |= iofs.ModeSocket
	}
	if s.sys.Mode&syscall.S_ISGID != 0 {
		m |= iofs.ModeSetgid
	}
	if s.sys.Mode&syscall.S_ISUID != 0 {
		m |= iofs.ModeSetuid
	}
	if s.sys.Mode&syscall.S_ISVTX != 0 {
		m |= iofs.ModeSticky
	}
	return m
}
