package diskreserve

import (
	"os"

	"golang.org/x/sys/unix"
)

// allocate gives f blocks for its first size bytes, growing it to size.
func allocate(f *os.File, size int64) error {
	for {
		err := unix.Fallocate(int(f.Fd()), 0, 0, size)
		if err != unix.EINTR {
			if err == unix.EOPNOTSUPP {
				return writeZeros(f, size)
			}
			return err
		}
	}
}
