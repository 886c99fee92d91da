package journal

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Prune bounds the journal. It removes the entries older than MaxAge, then
// the oldest entries until the objects the others hold total at most
// MaxBytes, then the objects no entry holds. It compacts the entry log
// when it removed entries or when most of the log is lines no entry
// points at (replaced entries and tombstones). Temp and hold files are
// removed once older than an hour, unless a transaction of this Store's
// process still uses them (transactions of other processes are protected by
// that hour). Open prunes, and so does Commit when the journal is over its
// bounds or was last pruned an hour ago.
func (s *Store) Prune() error {
	return s.withLock("journal.Prune", func() error {
		if err := s.pruneLocked(""); err != nil {
			return fmt.Errorf("journal.Prune: %w", err)
		}
		return nil
	})
}

// needPrune reports whether the in-memory totals say the journal is over
// its bounds or its log is due for compaction, or a full prune is due.
func (s *Store) needPrune() bool {
	now := s.now()
	x := s.idx
	return x.bytes > s.opts.MaxBytes ||
		(!x.oldest.IsZero() && x.oldest.Before(now.Add(-s.opts.MaxAge))) ||
		now.Sub(s.lastPrune) >= pruneEvery || s.needCompact()
}

// pruneLocked prunes, never removing the entry keep. Store.mu and the flock
// are held, so no entry is committed meanwhile. When something is to be
// dropped, or the log is mostly waste, it rewrites the log (see compact);
// otherwise it reads nothing but the objects directory.
func (s *Store) pruneLocked(keep string) error {
	if err := s.idx.sync(s); err != nil {
		return err
	}
	now := s.now()
	s.lastPrune = now
	x := s.idx
	cutoff := now.Add(-s.opts.MaxAge)
	if x.bytes > s.opts.MaxBytes || (!x.oldest.IsZero() && x.oldest.Before(cutoff)) || s.needCompact() {
		err := s.compact(keep, cutoff)
		// On a full disk the compaction is what frees space (the objects
		// of the entries it drops): the reserve makes room for its new
		// log once.
		if err != nil && diskFull(err) && s.opts.Reserve != nil && s.opts.Reserve.Release() {
			// The failed pass already dropped entries from the index:
			// build it again from the log before the second pass.
			s.idx.reset(0, 0)
			if err = s.idx.sync(s); err == nil {
				err = s.compact(keep, cutoff)
			}
		}
		if err != nil {
			// The dropped entries may still be in the log: keep their
			// objects, and build the index again at the next sync.
			s.idx.reset(0, 0)
			return err
		}
	}
	return s.sweep()
}

// sweep removes objects no entry holds, and stale temp and hold files.
func (s *Store) sweep() error {
	objects, err := readNames(s.objects)
	if err != nil {
		return fmt.Errorf("list objects: %w", err)
	}
	live := s.liveObjects() // after the listing: a hold listed is live or done
	// File times come from the real clock, whatever Options.Now says.
	stale := time.Now().Add(-s.grace)
	var errs []error
	for _, name := range objects {
		switch {
		case live[name]:
		case validHash(name):
			if s.idx.refs[name] == 0 {
				errs = append(errs, s.remove(name))
			}
		case strings.HasPrefix(name, "."):
			if st, err := statAt(s.objects, name); err == nil && st.ctime.Before(stale) {
				errs = append(errs, s.remove(name))
			}
		}
	}
	names, err := readNames(s.dir)
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("list journal: %w", err))...)
	}
	for _, name := range names {
		if strings.HasPrefix(name, ".tmp-") {
			if st, err := statAt(s.dir, name); err == nil && st.ctime.Before(stale) {
				if err := unlinkAt(s.dir, name); err != nil && !isNotExist(err) {
					errs = append(errs, fmt.Errorf("remove %s: %w", name, err))
				}
			}
		}
	}
	return errors.Join(errs...)
}

func (s *Store) remove(object string) error {
	if err := unlinkAt(s.objects, object); err != nil && !isNotExist(err) {
		return fmt.Errorf("remove objects/%s: %w", object, err)
	}
	return nil
}
