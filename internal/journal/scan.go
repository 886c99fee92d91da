package journal

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
)

// errCompacting means the log kept being replaced while scanLive read it.
var errCompacting = errors.New("the entry log kept being compacted during the scan")

// scanLive reads the entries of the lines that hold needle and that match
// wants, and returns those still live, read again from their lines. The
// scan of the whole log, long for a long history, runs without Store.mu
// and the flock, so calls in this and other processes go on meanwhile;
// only the check that each line is still its entry's takes them. A log
// compacted meanwhile is scanned again. With first, it returns at most
// one entry.
func (s *Store) scanLive(op string, needle []byte, wants func(*entryFile) bool, first bool) ([]*entryFile, error) {
	type hit struct {
		id     string
		off, n int64
	}
	for range 3 {
		var f *os.File
		var end int64
		var dev, ino uint64
		held := false
		err := s.reading(op, func(x *index) error {
			// Held through the scan, so the handle is not closed.
			s.logMu.RLock()
			held = true
			f, end, dev, ino = s.log, x.end, x.dev, x.ino
			return nil
		})
		if err != nil {
			if held {
				s.logMu.RUnlock()
			}
			return nil, err
		}
		var hits []hit
		_, err = eachLine(f, 0, end, needle, func(line []byte, off, n int64) error {
			var ef entryFile
			if json.Unmarshal(line, &ef) == nil && !ef.Removed && validID(ef.ID) && wants(&ef) {
				hits = append(hits, hit{ef.ID, off, n})
			}
			return nil
		})
		s.logMu.RUnlock()
		if err != nil {
			return nil, err
		}
		var out []*entryFile
		again := false
		err = s.reading(op, func(x *index) error {
			if x.dev != dev || x.ino != ino {
				again = true
				return nil
			}
			return s.readLocked(func(f *os.File) error {
				for _, h := range hits {
					l, ok, err := x.get(h.id)
					if err != nil {
						return err
					}
					if !ok || l.off != h.off || l.n != h.n {
						continue // replaced or removed since
					}
					ef, err := readLine(f, h.id, h.off, h.n)
					if err != nil {
						return err
					}
					out = append(out, ef)
					if first {
						return nil
					}
				}
				return nil
			})
		})
		if err != nil {
			return nil, err
		}
		if !again {
			return out, nil
		}
	}
	return nil, fmt.Errorf("%s: %w", op, errCompacting)
}
