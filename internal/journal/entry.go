package journal

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

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
	var ef *entryFile
	err := s.reading(op, func(x *index) error {
		l, ok, err := x.get(id)
		if err != nil || !ok {
			return err
		}
		return s.readLocked(func(f *os.File) error {
			var err error
			ef, err = readLine(f, id, l.off, l.n)
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if ef == nil {
		return nil, fmt.Errorf("%s: entry %q: %w", op, id, ErrNotFound)
	}
	return &ef.JournalEntry, nil
}

// reading runs fn with the index synced, holding Store.mu and the flock.
func (s *Store) reading(op string, fn func(*index) error) error {
	return s.withLock(op, func() error {
		if err := s.idx.sync(s); err != nil {
			return err
		}
		return fn(s.idx)
	})
}

// readLocked runs fn with the log file the index describes. Store.mu is
// held; fn may read lines.
func (s *Store) readLocked(fn func(*os.File) error) error {
	s.logMu.RLock()
	defer s.logMu.RUnlock()
	return fn(s.log)
}

// writeEntry appends ef to the entry log and makes it durable, together
// with the objects directory when syncObjects is set (Keep's links; an
// entry whose objects are all inline has none), and
// records it in the index. One entry costs one append to a file that
// exists and one data flush, run alongside the directory's: creating a
// file per entry, and syncing the directory it lands in, cost as much
// again. An append torn by a crash is skipped by readers, and its change
// was not yet made (see Prepare). The flock is held.
func (s *Store) writeEntry(ef *entryFile, syncObjects, fresh bool) error {
	data, err := encodeEntry(ef)
	if err != nil {
		return err
	}
	defer freeLine(data)
	if err := s.appendSynced(data, syncObjects, s.freshCheck(ef.ID, fresh)); err != nil {
		return fmt.Errorf("write entry %q: %w", ef.ID, err)
	}
	m := metaOf(ef, s.idx.end-int64(len(data)), int64(len(data)))
	if fresh {
		s.idx.insert(ef.ID, m)
		return nil
	}
	return s.idx.put(s, ef.ID, m)
}

// errExists reports a Tx's first append of an id that names an entry
// already.
var errExists = errors.New("an entry with this id exists")

// freshCheck returns, if fresh is set, a check that id names no entry, to
// run once the index is synced under the flock; otherwise nil.
func (s *Store) freshCheck(id string, fresh bool) func() error {
	if !fresh {
		return nil
	}
	return func() error {
		_, ok, err := s.idx.get(id)
		switch {
		case err != nil:
			return err
		case ok:
			return errExists
		}
		return nil
	}
}

// known reports whether id names an entry this Store has indexed. It reads
// what is in memory and the table without the flock, so it may miss an
// entry another Store appended since the last sync: that is for the
// check under the flock to find.
func (s *Store) known(op, id string) (bool, error) {
	s.mu.Lock()
	ready := s.idx.ready && !s.closed
	var ok bool
	var err error
	if ready {
		_, ok, err = s.idx.get(id)
	}
	s.mu.Unlock()
	if ready {
		return ok, err
	}
	err = s.reading(op, func(x *index) error {
		_, ok, err = x.get(id)
		return err
	})
	return ok, err
}

// lineBufs holds the buffers of lines once appended: a write's line,
// with the replaced file inline in base64, is some 6 KiB a call.
var lineBufs sync.Pool

// maxPooledLine bounds the buffers lineBufs keeps.
const maxPooledLine = 128 << 10

// freeLine gives the line encodeEntry returned back once it is written
// and nothing refers to it.
func freeLine(b []byte) {
	if cap(b) <= maxPooledLine {
		p := new([]byte)
		*p = b[:0]
		lineBufs.Put(p)
	}
}

// encodeEntry returns ef's line.
func encodeEntry(ef *entryFile) ([]byte, error) {
	// Room for the line, so that it is not copied as it grows.
	n := 512 + 384*len(ef.Changes) + 80*len(ef.Objects)
	for _, v := range ef.Inline {
		n += 72 + len(v)
	}
	var buf []byte
	if p, ok := lineBufs.Get().(*[]byte); ok {
		buf = *p
	}
	if cap(buf) < n {
		buf = make([]byte, 0, n)
	}
	if data, ok := appendEntryJSON(buf, ef); ok {
		return append(data, '\n'), nil
	}
	data, err := json.Marshal(ef)
	if err != nil {
		return nil, fmt.Errorf("encode entry %q: %w", ef.ID, err)
	}
	return append(data, '\n'), nil
}

// appendEntryJSON appends ef as json.Marshal would write it (a test checks
// this), for the usual entry: every string printable ASCII that needs no
// escaping, no directory's entries, a time json.Marshal accepts. It
// reports false for any other, which json.Marshal then encodes. Every
// change is journaled twice (prepared, committed), often with the
// replaced file inline in base64, so reflection over it costs.
func appendEntryJSON(b []byte, ef *entryFile) ([]byte, bool) {
	if y := ef.Time.Year(); y < 0 || y > 9999 || ef.Removed {
		return nil, false
	}
	ok := true
	str := func(key, s string, omitEmpty bool) {
		if s == "" && omitEmpty {
			return
		}
		for i := 0; i < len(s); i++ {
			if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
				ok = false
				return
			}
		}
		b = append(b, key...)
		b = append(b, '"')
		b = append(b, s...)
		b = append(b, '"')
	}
	state := func(key string, o *core.ObjectState) {
		if len(o.Entries) > 0 {
			ok = false
			return
		}
		b = append(b, key...)
		b = append(b, '{')
		start := len(b)
		str(`,"type":`, o.Type, true)
		if o.Mode != 0 {
			b = append(b, `,"mode":`...)
			b = strconv.AppendUint(b, uint64(o.Mode), 10)
		}
		if o.Size != 0 {
			b = append(b, `,"size":`...)
			b = strconv.AppendInt(b, o.Size, 10)
		}
		str(`,"sha256":`, o.SHA256, true)
		str(`,"target":`, o.Target, true)
		if len(b) > start {
			b = slices.Delete(b, start, start+1) // the first comma
		}
		b = append(b, '}')
	}
	b = append(b, '{')
	str(`"id":`, ef.ID, false)
	b = append(b, `,"time":"`...)
	b = ef.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	str(`,"agent":`, ef.Agent, false)
	str(`,"tool":`, ef.Tool, false)
	str(`,"resource":`, ef.Resource, false)
	if ef.Changes == nil {
		b = append(b, `,"changes":null`...)
	} else {
		b = append(b, `,"changes":[`...)
		for i := range ef.Changes {
			c := &ef.Changes[i]
			if i > 0 {
				b = append(b, ',')
			}
			str(`{"op":`, c.Op, false)
			str(`,"path":`, c.Path, false)
			str(`,"to":`, c.To, true)
			state(`,"before":`, &c.Before)
			state(`,"after":`, &c.After)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	str(`,"undoes":`, ef.Undoes, true)
	if len(ef.Objects) > 0 {
		b = append(b, `,"objects":{`...)
		for i, k := range slices.Sorted(maps.Keys(ef.Objects)) {
			if i > 0 {
				b = append(b, ',')
			}
			str(``, k, false)
			b = append(b, ':')
			b = strconv.AppendInt(b, ef.Objects[k], 10)
		}
		b = append(b, '}')
	}
	if len(ef.Inline) > 0 {
		b = append(b, `,"inline":{`...)
		for i, k := range slices.Sorted(maps.Keys(ef.Inline)) {
			if i > 0 {
				b = append(b, ',')
			}
			str(``, k, false)
			str(`:`, ef.Inline[k], false)
		}
		b = append(b, '}')
	}
	if !ok {
		return nil, false
	}
	return append(b, '}'), true
}

// appendEntry appends ef's line to the log and records it in the index,
// without flushing it: the caller flushes it after releasing the flock
// (see Tx.Prepare). The flock is held.
func (s *Store) appendEntry(ef *entryFile, fresh bool) error {
	data, err := encodeEntry(ef)
	if err != nil {
		return err
	}
	defer freeLine(data)
	if err := s.idx.sync(s); err != nil {
		return err
	}
	if check := s.freshCheck(ef.ID, fresh); check != nil {
		if err := check(); err != nil {
			return err
		}
	}
	off, err := s.appendLog(data)
	if err != nil {
		return fmt.Errorf("write entry %q: %w", ef.ID, err)
	}
	s.idx.end = off + int64(len(data))
	m := metaOf(ef, off, int64(len(data)))
	if fresh {
		s.idx.insert(ef.ID, m)
		return nil
	}
	return s.idx.put(s, ef.ID, m)
}

// removeEntry appends a tombstone for the entry id, durably. The flock is
// held.
func (s *Store) removeEntry(id string) error {
	// Written by hand: a JournalEntry encodes its empty fields too. A valid
	// id needs no escaping.
	data := fmt.Appendf(nil, `{"id":%q,"removed":true}`+"\n", id)
	if err := s.appendSynced(data, false, nil); err != nil {
		return fmt.Errorf("remove entry %q: %w", id, err)
	}
	return s.idx.remove(s, id)
}

// appendSynced syncs the index, appends data to the log and flushes it,
// with the objects directory when syncObjects is set; on success the
// index ends past data. The flock is held.
func (s *Store) appendSynced(data []byte, syncObjects bool, check func() error) error {
	if err := s.idx.sync(s); err != nil {
		return err
	}
	if check != nil {
		if err := check(); err != nil {
			return err
		}
	}
	off, err := s.appendLog(data)
	if err != nil {
		return err
	}
	syncs := []func() error{func() error { return datasync(s.log) }}
	if syncObjects {
		syncs = append(syncs, s.objects.Sync)
	}
	if err := syncAll(s.inMemory, syncs...); err != nil {
		return err
	}
	s.idx.end = off + int64(len(data))
	return nil
}

// syncAll runs the syncs concurrently, the first on the calling goroutine:
// on journaling file systems the flushes then share one journal commit
// instead of waiting for each other. With inMemory (the journal on tmpfs,
// where a flush of its files writes nothing) they run one after the
// other, sparing a goroutine a call.
func syncAll(inMemory bool, syncs ...func() error) error {
	if inMemory {
		var errs []error
		for _, f := range syncs {
			errs = append(errs, f())
		}
		return errors.Join(errs...)
	}
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
// path, newest first. It reads the whole log, looking closer only at the
// lines that hold path: the index keeps no paths, so that its memory does
// not grow with the history.
func (s *Store) History(resource, path string) ([]*core.JournalEntry, error) {
	const op = "journal.History"
	needle, err := json.Marshal(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	efs, err := s.scanLive(op, needle, func(ef *entryFile) bool {
		return ef.Resource == resource && slices.ContainsFunc(ef.Changes, func(c core.Change) bool { return c.Path == path || c.To == path })
	}, false)
	var out []*core.JournalEntry
	for _, ef := range efs {
		out = append(out, &ef.JournalEntry)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	slices.SortFunc(out, func(a, b *core.JournalEntry) int {
		if c := b.Time.Compare(a.Time); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	return out, nil
}
