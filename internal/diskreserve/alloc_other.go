//go:build !linux

package diskreserve

import "os"

// allocate gives f blocks for its first size bytes, growing it to size.
func allocate(f *os.File, size int64) error { return writeZeros(f, size) }
