package journal

import (
	"errors"
	"fmt"
	"path/filepath"
	"syscall"
)

// writeLog appends data to the log, whose size is size. When the file
// system is full, it cuts off what it wrote, releases Options.Reserve and
// tries once more: a delete, which frees space, must still be journaled on
// a full disk. The error of a full disk names the journal's directory for
// the operator. The flock is held.
func (s *Store) writeLog(data []byte, size int64) error {
	_, err := s.log.Write(data)
	if err != nil && diskFull(err) && s.opts.Reserve != nil {
		if terr := s.log.Truncate(size); terr != nil {
			return fmt.Errorf("append to %s: %w", logName, errors.Join(err, terr))
		}
		if s.opts.Reserve.Release() {
			_, err = s.log.Write(data)
		}
	}
	switch {
	case err == nil:
		return nil
	case diskFull(err):
		return fmt.Errorf("append to %s: the file system is full, free space there: %w", filepath.Join(s.root, logName), err)
	}
	return fmt.Errorf("append to %s: %w", logName, err)
}

// diskFull reports whether err means the file system, or the user's quota
// on it, is out of space.
func diskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}
