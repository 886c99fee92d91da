package journal

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/warden-dev/warden/internal/core"
)

// entryExt ends the entry files of the layout before the log (see migrate).
const entryExt = ".json"

// entryFile is one line of the entry log: a core.JournalEntry plus the
// objects its transaction kept, so pruning knows what the entry holds
// without reading its changes; or, with Removed, a tombstone saying the
// entry of that id is gone.
type entryFile struct {
	core.JournalEntry
	// Objects maps each kept object to its size in bytes, those in Inline
	// included.
	Objects map[string]int64 `json:"objects,omitempty"`
	// Inline holds the content, in base64, of the small objects kept in
	// the line itself rather than in objects/.
	Inline map[string]string `json:"inline,omitempty"`
	// Removed marks a tombstone, which has only the id besides.
	Removed bool `json:"removed,omitempty"`
}

// Entry returns the committed entry id, or an error wrapping ErrNotFound.
func (s *Store) Entry(id string) (*core.JournalEntry, error) {
	const op = "journal.Entry"
	if !validID(id) {
		return nil, fmt.Errorf("%s: invalid id %q: %w", op, id, ErrNotFound)
	}
	efs, err := s.readEntries(func(x *index) []string { return []string{id} })
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if len(efs) == 0 {
		return nil, fmt.Errorf("%s: entry %q: %w", op, id, ErrNotFound)
	}
	return &efs[0].JournalEntry, nil
}

// readEntries syncs the index, then reads the lines of the entries pick
// names from it, skipping names the index does not have. The lines are
// read without Store.mu, from the log file the index describes.
func (s *Store) readEntries(pick func(*index) []string) ([]*entryFile, error) {
	type at struct {
		id     string
		off, n int64
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, os.ErrClosed
	}
	if err := s.idx.sync(s); err != nil {
		s.mu.Unlock()
		return nil, err
	}
	var lines []at
	for _, id := range pick(s.idx) {
		if m, ok := s.idx.entries[id]; ok {
			lines = append(lines, at{id, m.off, m.n})
		}
	}
	// Held until the lines are read, so the handle is not swapped.
	s.logMu.RLock()
	defer s.logMu.RUnlock()
	f := s.log
	s.mu.Unlock()
	out := make([]*entryFile, 0, len(lines))
	for _, l := range lines {
		ef, err := readLine(f, l.id, l.off, l.n)
		if err != nil {
			return nil, err
		}
		out = append(out, ef)
	}
	return out, nil
}

// writeEntry appends ef to the entry log and makes it durable, together
// with the objects directory when syncObjects is set (Keep's links; an
// entry whose objects are all inline has none), and
// records it in the index. One entry costs one append to a file that
// exists and one data flush, run alongside the directory's: creating a
// file per entry, and syncing the directory it lands in, cost as much
// again. An append torn by a crash is skipped by readers, and its change
// was not yet made (see Prepare). The flock is held.
func (s *Store) writeEntry(ef *entryFile, syncObjects bool) error {
	data, err := encodeEntry(ef)
	if err != nil {
		return err
	}
	if err := s.appendSynced(data, syncObjects); err != nil {
		return fmt.Errorf("write entry %q: %w", ef.ID, err)
	}
	s.idx.put(ef.ID, metaOf(ef, s.idx.end-int64(len(data)), int64(len(data))))
	return nil
}

// encodeEntry returns ef's line.
func encodeEntry(ef *entryFile) ([]byte, error) {
	data, err := json.Marshal(ef)
	if err != nil {
		return nil, fmt.Errorf("encode entry %q: %w", ef.ID, err)
	}
	return append(data, '\n'), nil
}

// appendEntry appends ef's line to the log and records it in the index,
// without flushing it: the caller flushes it after releasing the flock
// (see Tx.Prepare). The flock is held.
func (s *Store) appendEntry(ef *entryFile) error {
	data, err := encodeEntry(ef)
	if err != nil {
		return err
	}
	if err := s.idx.sync(s); err != nil {
		return err
	}
	off, err := s.appendLog(data)
	if err != nil {
		return fmt.Errorf("write entry %q: %w", ef.ID, err)
	}
	s.idx.end = off + int64(len(data))
	s.idx.put(ef.ID, metaOf(ef, off, int64(len(data))))
	return nil
}

// removeEntry appends a tombstone for the entry id, durably. The flock is
// held.
func (s *Store) removeEntry(id string) error {
	// Written by hand: a JournalEntry encodes its empty fields too. A valid
	// id needs no escaping.
	data := fmt.Appendf(nil, `{"id":%q,"removed":true}`+"\n", id)
	if err := s.appendSynced(data, false); err != nil {
		return fmt.Errorf("remove entry %q: %w", id, err)
	}
	s.idx.remove(id)
	return nil
}

// appendSynced syncs the index, appends data to the log and flushes it,
// with the objects directory when syncObjects is set; on success the
// index ends past data. The flock is held.
func (s *Store) appendSynced(data []byte, syncObjects bool) error {
	if err := s.idx.sync(s); err != nil {
		return err
	}
	off, err := s.appendLog(data)
	if err != nil {
		return err
	}
	syncs := []func() error{func() error { return datasync(s.log) }}
	if syncObjects {
		syncs = append(syncs, s.objects.Sync)
	}
	if err := syncAll(syncs...); err != nil {
		return err
	}
	s.idx.end = off + int64(len(data))
	return nil
}

// syncAll runs the syncs concurrently, the first on the calling goroutine:
// on journaling file systems the flushes then share one journal commit
// instead of waiting for each other.
func syncAll(syncs ...func() error) error {
	errs := make([]error, len(syncs))
	var wg sync.WaitGroup
	for i, f := range syncs[1:] {
		wg.Go(func() { errs[i+1] = f() })
	}
	errs[0] = syncs[0]()
	wg.Wait()
	return errors.Join(errs...)
}

// History returns the entries of resource with a change whose Path or To is
// path, newest first.
func (s *Store) History(resource, path string) ([]*core.JournalEntry, error) {
	const op = "journal.History"
	efs, err := s.readEntries(func(x *index) []string {
		var ids []string
		for id, m := range x.entries {
			if m.resource == resource && slices.Contains(m.paths, path) {
				ids = append(ids, id)
			}
		}
		return ids
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	var out []*core.JournalEntry
	for _, ef := range efs {
		out = append(out, &ef.JournalEntry)
	}
	slices.SortFunc(out, func(a, b *core.JournalEntry) int {
		if c := b.Time.Compare(a.Time); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	return out, nil
}
