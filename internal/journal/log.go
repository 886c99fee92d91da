package journal

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// logName is the entry log in the journal directory.
const logName = "entries.log"

// compactFloor is the waste below which the log is not compacted for its
// own sake: rewriting a small log often would cost more than it saves.
const compactFloor = 64 << 10

// reopenLog opens the log at its path, creating it if it is missing, and
// makes the index read it from the start. Store.mu is held.
func (s *Store) reopenLog() error {
	f, err := openAppend(s.dir, logName, false)
	if isNotExist(err) {
		if f, err = openAppend(s.dir, logName, true); err == nil {
			err = s.dir.Sync()
		} else if isExist(err) {
			f, err = openAppend(s.dir, logName, false) // created meanwhile
		}
	}
	if err != nil {
		if f != nil {
			f.Close()
		}
		return fmt.Errorf("open %s: %w", logName, err)
	}
	st, err := statFile(f)
	if err == nil && !st.regular() {
		err = errors.New("not a regular file")
	}
	if err != nil {
		f.Close()
		return fmt.Errorf("open %s: %w", logName, err)
	}
	s.swapLog(f)
	s.idx.reset(st.dev, st.ino)
	return nil
}

// swapLog makes f the log handle, closing the old one once no Entry or
// History reads it.
func (s *Store) swapLog(f *os.File) {
	s.logMu.Lock()
	old := s.log
	s.log = f
	s.logMu.Unlock()
	if s.reserved > 0 {
		s.reserved = 0 // the new file has nothing allocated ahead
	}
	if old != nil {
		old.Close()
	}
}

// appendLog appends data, whole lines, to the log and returns the offset
// it starts at. The flock is held and the index synced, so nobody else
// writes meanwhile and anything past the index's end is a torn line from a
// crash: it is ended with a '\n' first, leaving it a line readers skip. The
// caller makes the lines durable.
func (s *Store) appendLog(data []byte) (int64, error) {
	// The sync just before, under the same flock, saw the size: nobody
	// appended since.
	size := s.idx.takeLogSize()
	if size < 0 {
		st, err := statFile(s.log)
		if err != nil {
			return 0, fmt.Errorf("append to %s: %w", logName, err)
		}
		size = st.size
	}
	off := size
	if off > s.idx.end {
		data = append([]byte{'\n'}, data...)
		off++
	}
	if err := s.writeLog(data, size); err != nil {
		return 0, err
	}
	s.reserveAhead(off + int64(len(data)))
	return off, nil
}

// reserveChunk is how much of the log is allocated ahead at a time: some
// 170 entries that keep a 4 KiB file inline.
const reserveChunk = 1 << 20

// reserveAhead allocates the next reserveChunk bytes of the log once its
// end nears what is allocated, so that most appends allocate no block:
// each then flushes its data and size without the allocation's metadata
// (0.05-0.1 ms less a write on ext4 here). Where the file system cannot,
// appends allocate as before.
func (s *Store) reserveAhead(end int64) {
	if s.reserved < 0 || end+reserveChunk/4 < s.reserved {
		return
	}
	if err := reserve(s.log, end, reserveChunk); err != nil {
		if !diskFull(err) { // a full disk may have room again later
			s.reserved = -1
		}
		return
	}
	s.reserved = end + reserveChunk
}

// readLine reads the entry id from its line in f, which the index says is
// the n bytes at off.
func readLine(f *os.File, id string, off, n int64) (*entryFile, error) {
	if n > maxEntryBytes+1 {
		return nil, fmt.Errorf("entry %q: over %d bytes: %w", id, maxEntryBytes, ErrCorrupt)
	}
	line := make([]byte, n)
	if _, err := f.ReadAt(line, off); err != nil {
		if errors.Is(err, io.EOF) {
			err = fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		return nil, fmt.Errorf("entry %q: %w", id, err)
	}
	var ef entryFile
	if line[n-1] != '\n' {
		return nil, fmt.Errorf("entry %q: line not ended: %w", id, ErrCorrupt)
	}
	if err := json.Unmarshal(line, &ef); err != nil {
		return nil, fmt.Errorf("entry %q: %w: %w", id, ErrCorrupt, err)
	}
	if ef.ID != id || ef.Removed {
		return nil, fmt.Errorf("entry %q: line holds %q: %w", id, ef.ID, ErrCorrupt)
	}
	return &ef, nil
}

// needCompact reports whether the log is mostly lines no entry points at.
func (s *Store) needCompact() bool {
	w := s.idx.waste()
	return w > s.idx.live && w >= s.compactFloor
}

// compact rewrites the log with only the lines of live entries, byte for
// byte and in their order, through a temp file renamed over the log, and
// builds the table for it meanwhile. It drops the entries older than
// cutoff, then the oldest lines' entries while the objects held exceed
// MaxBytes, never the entry keep. The state file says "dirty" from before
// the renames until the new state is saved, so a crash in between makes
// the next Store build the index again. Other Stores notice the new log at
// their next sync. The flock is held and the index synced.
func (s *Store) compact(keep string, cutoff time.Time) (err error) {
	x := s.idx
	tmpLog, tmpTab := tempName(".tmp-"), tempName(".tmp-")
	f, err := openAppend(s.dir, tmpLog, true)
	if err != nil {
		return fmt.Errorf("compact %s: %w", logName, err)
	}
	nt, err := createTable(s.dir, tmpTab, tableCap(uint64(max(x.count, 0))))
	if err != nil {
		f.Close()
		unlinkAt(s.dir, tmpLog)
		return fmt.Errorf("compact %s: %w", logName, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			nt.close()
			unlinkAt(s.dir, tmpLog)
			unlinkAt(s.dir, tmpTab)
		}
	}()
	w := bufio.NewWriterSize(f, 64<<10)
	var end int64
	var oldest time.Time
	_, err = eachLine(s.log, 0, x.end, nil, func(line []byte, off, n int64) error {
		id, ok := lineID(line)
		if !ok {
			return nil
		}
		l, live, err := x.get(id)
		if err != nil || !live || l.off != off || l.n != n {
			return err
		}
		if id != keep && (l.time.Before(cutoff) || x.bytes > s.opts.MaxBytes) {
			return x.remove(s, id)
		}
		if _, err := w.Write(line); err != nil {
			return err
		}
		if err := nt.put(slot{h: idHash(id), off: end, n: uint32(n), time: l.time.UnixNano()}); err != nil {
			return err
		}
		if oldest.IsZero() || l.time.Before(oldest) {
			oldest = l.time
		}
		end += n
		return nil
	})
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = datasync(f)
	}
	if err == nil {
		if err = nt.writeHeader(); err == nil {
			err = datasync(nt.f)
		}
	}
	var st stat
	if err == nil {
		st, err = statFile(f)
	}
	if err == nil && st.size != end {
		err = fmt.Errorf("copied %d bytes of %d: %w", st.size, end, ErrCorrupt)
	}
	if err == nil {
		err = x.saveState(s, true)
	}
	if err == nil {
		err = renameAt(s.dir, tmpLog, logName)
	}
	if err != nil {
		return fmt.Errorf("compact %s: %w", logName, err)
	}
	// The new log is in place: from here on the index describes it.
	if rerr := renameAt(s.dir, tmpTab, tableName); rerr != nil {
		unlinkAt(s.dir, tmpTab)
		nt.close()
		s.swapLog(f)
		x.reset(st.dev, st.ino)
		return fmt.Errorf("compact %s: %w", logName, rerr)
	}
	s.swapLog(f)
	x.tab.close()
	x.tab = nt
	clear(x.hot)
	x.dev, x.ino = st.dev, st.ino
	x.from, x.end, x.live, x.oldest = end, end, end, oldest
	// Should this fail, a crash may bring back the old log, whose dropped
	// entries a prune drops again; the dirty state makes it rebuilt.
	if err := x.saveState(s, false); err != nil {
		return fmt.Errorf("compact %s: %w", logName, err)
	}
	return nil
}

// lineID returns the id a log line starts with: every line is an entry
// or a tombstone, encoded with its id first.
func lineID(line []byte) (string, bool) {
	rest, ok := bytes.CutPrefix(line, []byte(`{"id":"`))
	if !ok {
		return "", false
	}
	i := bytes.IndexByte(rest, '"')
	if i < 0 || !validID(string(rest[:i])) {
		return "", false
	}
	return string(rest[:i]), true
}

// migrate imports the entry files of the layout before the log,
// entries/<id>.json, into the log, then removes them. The flock is held.
// A file that does not read as an entry (torn by a crash, so counted as
// absent then too) is removed without import.
func (s *Store) migrate() error {
	dir := filepath.Join(s.root, "entries")
	d, err := openDir(dir)
	if isNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("migrate entries: %w", err)
	}
	defer d.Close()
	if err := s.idx.sync(s); err != nil {
		return fmt.Errorf("migrate entries: %w", err)
	}
	names, err := readNames(d)
	if err != nil {
		return fmt.Errorf("migrate entries: %w", err)
	}
	slices.Sort(names)
	var data []byte
	for _, name := range names {
		id, ok := strings.CutSuffix(name, entryExt)
		if !ok || !validID(id) {
			continue
		}
		if _, ok, err := s.idx.get(id); err != nil {
			return fmt.Errorf("migrate entries: %w", err)
		} else if ok {
			continue // imported before a crash stopped the removal
		}
		line, err := readEntryFile(d, id)
		if errors.Is(err, ErrCorrupt) || errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("migrate entries: %w", err)
		}
		data = append(append(data, line...), '\n')
	}
	if len(data) > 0 {
		if _, err := s.appendLog(data); err != nil {
			return fmt.Errorf("migrate entries: %w", err)
		}
		if err := datasync(s.log); err != nil {
			return fmt.Errorf("migrate entries: %w", err)
		}
		if err := s.idx.sync(s); err != nil {
			return fmt.Errorf("migrate entries: %w", err)
		}
	}
	var errs []error
	for _, name := range names {
		if strings.HasSuffix(name, entryExt) || strings.HasPrefix(name, ".tmp-") {
			if err := unlinkAt(d, name); err != nil && !isNotExist(err) {
				errs = append(errs, err)
			}
		}
	}
	if err := os.Remove(dir); err == nil {
		errs = append(errs, s.dir.Sync())
	} else if len(errs) == 0 && !errors.Is(err, os.ErrNotExist) {
		// Files Warden did not write are left with their directory.
		errs = append(errs, d.Sync())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("migrate entries: %w", err)
	}
	return nil
}

// readEntryFile reads entries/<id>.json of the layout before the log and
// returns it as one line of JSON, unchanged but for white space.
func readEntryFile(d *os.File, id string) ([]byte, error) {
	f, err := openRead(d, id+entryExt)
	if err != nil {
		if isNotExist(err) || errors.Is(err, errLoop) {
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
	if err := json.Unmarshal(data, &ef); err != nil || ef.ID != id || ef.Removed {
		return nil, fmt.Errorf("entry %q: %w", id, ErrCorrupt)
	}
	var line bytes.Buffer
	if err := json.Compact(&line, data); err != nil {
		return nil, fmt.Errorf("entry %q: %w: %w", id, ErrCorrupt, err)
	}
	return line.Bytes(), nil
}
