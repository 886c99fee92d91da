package diskreserve

import "os"

// writeZeros allocates by writing, where the file system cannot fallocate.
func writeZeros(f *os.File, size int64) error {
	buf := make([]byte, 64<<10)
	for off := int64(0); off < size; off += int64(len(buf)) {
		n := min(int64(len(buf)), size-off)
		if _, err := f.WriteAt(buf[:n], off); err != nil {
			return err
		}
	}
	return f.Sync()
}
