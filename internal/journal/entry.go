package journal

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/warden-dev/warden/internal/core"
)

const entryExt = ".json"

// entryFile is the JSON of entries/<id>.json: a core.JournalEntry plus the
// objects its transaction kept, so pruning knows what the entry holds
// without reading its changes.
type entryFile struct {
	core.JournalEntry
	// Objects maps each kept object to its size in bytes.
	Objects map[string]int64 `json:"objects,omitempty"`
}

// Entry returns the committed entry id, or an error wrapping ErrNotFound.
func (s *Store) Entry(id string) (*core.JournalEntry, error) {
	const op = "journal.Entry"
	if !validID(id) {
		return nil, fmt.Errorf("%s: invalid id %q: %w", op, id, ErrNotFound)
	}
	ef, err := s.readEntry(id)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return &ef.JournalEntry, nil
}

// readEntry reads and checks entries/<id>.json.
func (s *Store) readEntry(id string) (*entryFile, error) {
	f, err := openRead(s.entries, id+entryExt)
	if err != nil {
		if isNotExist(err) {
			return nil, fmt.Errorf("entry %q: %w: %w", id, ErrNotFound, err)
		}
		return nil, fmt.Errorf("entry %q: %w", id, err)
	}
	defer f.Close()
	st, err := statFile(f)
	if err != nil {
		return nil, fmt.Errorf("entry %q: %w", id, err)
	}
	if !st.regular() {
		return nil, fmt.Errorf("entry %q: not a regular file: %w", id, ErrCorrupt)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxEntryBytes+1))
	if err != nil {
		return nil, fmt.Errorf("entry %q: %w", id, err)
	}
	if len(data) > maxEntryBytes {
		return nil, fmt.Errorf("entry %q: over %d bytes: %w", id, maxEntryBytes, ErrCorrupt)
	}
	var ef entryFile
	if err := json.Unmarshal(data, &ef); err != nil {
		return nil, fmt.Errorf("entry %q: %w: %w", id, ErrCorrupt, err)
	}
	if ef.ID != id {
		return nil, fmt.Errorf("entry %q: holds id %q: %w", id, ef.ID, ErrCorrupt)
	}
	return &ef, nil
}

// writeEntry writes entries/<id>.json durably, with the objects directory.
// A new entry is created under its name and written in place, so that one
// round of concurrent syncs (the file, both directories) makes it all
// durable: a crash before they finish leaves a torn entry, which reads as
// corrupt and counts as absent, and its change not yet made (see Prepare).
// Replacing an entry goes through a temp file and a rename.
func (s *Store) writeEntry(ef *entryFile, replace bool) (err error) {
	data, err := json.Marshal(ef)
	if err != nil {
		return fmt.Errorf("encode entry: %w", err)
	}
	data = append(data, '\n')
	name := ef.ID + entryExt
	file := name
	if replace {
		file = tempName(".tmp-")
	}
	f, err := createExcl(s.entries, file)
	if err != nil {
		return fmt.Errorf("create %q: %w", file, err)
	}
	defer func() {
		if err != nil {
			unlinkAt(s.entries, file)
		}
	}()
	_, err = f.Write(data)
	if err == nil && replace {
		if err = f.Sync(); err == nil {
			err = renameAt(s.entries, file, name)
		}
	}
	if err == nil {
		err = syncAll(f, s.entries, s.objects)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %q: %w", name, err)
	}
	return nil
}

// removeEntry removes the entry id, durably.
func (s *Store) removeEntry(id string) error {
	if err := unlinkAt(s.entries, id+entryExt); err != nil && !isNotExist(err) {
		return fmt.Errorf("remove entry %q: %w", id, err)
	}
	s.idx.remove(id)
	return s.entries.Sync()
}

// syncAll fsyncs the files concurrently: on journaling file systems the
// flushes then share one journal commit instead of waiting for each other.
func syncAll(files ...*os.File) error {
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	for i, f := range files[1:] {
		wg.Go(func() { errs[i+1] = f.Sync() })
	}
	errs[0] = files[0].Sync()
	wg.Wait()
	return errors.Join(errs...)
}

// History returns the entries of resource with a change whose Path or To is
// path, newest first. Entries pruned while it runs are left out.
func (s *Store) History(resource, path string) ([]*core.JournalEntry, error) {
	const op = "journal.History"
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, fmt.Errorf("%s: %w", op, os.ErrClosed)
	}
	err := s.idx.sync(s)
	var ids []string
	for id, m := range s.idx.entries {
		if m.resource == resource && slices.Contains(m.paths, path) {
			ids = append(ids, id)
		}
	}
	s.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	var out []*core.JournalEntry
	for _, id := range ids {
		ef, err := s.readEntry(id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
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
