package journal

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"
)

// index is a Store's view of the entry log: where each live entry's line
// is, and the totals pruning needs. Memory holds only the entries of the
// lines read since the table was last brought up to date (hot, at most
// hotMax of them) and the totals; every other entry is found through the
// on-disk table. The table is brought up to date, and the totals saved
// with the offset it covers in the state file, every hotMax entries, so a
// restart reads that file and the lines after it instead of the whole log.
// It is brought up to date with the log by sync, under Store.mu and the
// flock.
type index struct {
	tab  *table
	hot  map[string]*entryMeta // entry of each id read since from; nil: removed
	from int64                 // the table holds the lines before this offset

	refs  map[string]int   // object file → entries that hold it
	sizes map[string]int64 // object file → size, while refs > 0
	// bytes is the total size of the object files held, plus that of each
	// entry's inline objects: each line has its own copy.
	bytes  int64
	count  int64     // live entries
	oldest time.Time // no later than the earliest entry time; zero when empty
	end    int64     // log offset just past the last whole line read
	live   int64     // bytes of the lines entries point at
	dev    uint64    // the log file read, to notice it was replaced
	ino    uint64
	// logSize is the log's size as the last sync saw it under the flock,
	// for the append that follows it to take instead of an fstat; -1 when
	// unknown. takeLogSize consumes it.
	logSize int64
	ready   bool // the table and totals describe the log up to from
}

// hotMax is how many entries the index holds in memory before it writes
// them to the table (a variable for tests).
var hotMax = 4096

type entryMeta struct {
	time     time.Time
	resource string
	paths    []string         // Path and To of every change
	objects  map[string]int64 // object files held, and their sizes
	inline   map[string]int64 // objects the line holds, and their sizes
	off, n   int64            // the entry's line in the log, its '\n' included
}

func newIndex() *index {
	return &index{hot: map[string]*entryMeta{}, refs: map[string]int{}, sizes: map[string]int64{}, logSize: -1}
}

func metaOf(ef *entryFile, off, n int64) *entryMeta {
	m := &entryMeta{time: ef.Time, resource: ef.Resource, objects: ef.Objects, off: off, n: n}
	if len(ef.Inline) > 0 {
		m.objects, m.inline = map[string]int64{}, map[string]int64{}
		for sha, size := range ef.Objects {
			if _, ok := ef.Inline[sha]; !ok {
				m.objects[sha] = size
			}
		}
		for sha, b64 := range ef.Inline {
			size, ok := ef.Objects[sha]
			if !ok {
				size = int64(base64.StdEncoding.DecodedLen(len(b64)))
			}
			m.inline[sha] = size
		}
	}
	for _, c := range ef.Changes {
		m.paths = append(m.paths, c.Path)
		if c.To != "" {
			m.paths = append(m.paths, c.To)
		}
	}
	return m
}

// loc is where an entry's line is.
type loc struct {
	off, n int64
	time   time.Time
}

// get returns where the live line of id is.
func (x *index) get(id string) (loc, bool, error) {
	if m, ok := x.hot[id]; ok {
		if m == nil {
			return loc{}, false, nil
		}
		return loc{m.off, m.n, m.time}, true, nil
	}
	if x.tab == nil {
		return loc{}, false, nil
	}
	s, ok, err := x.tab.lookup(idHash(id))
	if err != nil || !ok {
		return loc{}, false, err
	}
	return loc{s.off, int64(s.n), time.Unix(0, s.time)}, true, nil
}

// meta returns the entry id as the index has it, reading its line when it
// is not in memory; nil if there is none.
func (x *index) meta(s *Store, id string) (*entryMeta, error) {
	if m, ok := x.hot[id]; ok {
		return m, nil
	}
	l, ok, err := x.get(id)
	if err != nil || !ok {
		return nil, err
	}
	ef, err := readLine(s.log, id, l.off, l.n)
	if err != nil {
		return nil, err
	}
	return metaOf(ef, l.off, l.n), nil
}

// put makes m the entry id, replacing what the index had for id.
func (x *index) put(s *Store, id string, m *entryMeta) error {
	if err := x.remove(s, id); err != nil {
		return err
	}
	x.hot[id] = m
	x.add(m)
	return nil
}

// insert makes m the entry id, which the caller found the index has not.
func (x *index) insert(id string, m *entryMeta) {
	x.hot[id] = m
	x.add(m)
}

func (x *index) add(m *entryMeta) {
	x.count++
	x.live += m.n
	for sha, size := range m.objects {
		if x.refs[sha] == 0 {
			x.sizes[sha] = size
			x.bytes += size
		}
		x.refs[sha]++
	}
	for _, size := range m.inline {
		x.bytes += size
	}
	if x.oldest.IsZero() || m.time.Before(x.oldest) {
		x.oldest = m.time
	}
}

// remove drops the entry id. The oldest time stays as it was, a bound the
// next prune makes exact.
func (x *index) remove(s *Store, id string) error {
	m, err := x.meta(s, id)
	if err != nil {
		return err
	}
	if m == nil {
		return nil
	}
	x.hot[id] = nil
	x.count--
	x.live -= m.n
	for sha := range m.objects {
		if x.refs[sha]--; x.refs[sha] <= 0 {
			x.bytes -= x.sizes[sha]
			delete(x.refs, sha)
			delete(x.sizes, sha)
		}
	}
	for _, size := range m.inline {
		x.bytes -= size
	}
	if x.count == 0 {
		x.oldest = time.Time{}
	}
	return nil
}

// waste is the bytes of the log no live entry points at: replaced entries,
// tombstones, torn lines.
func (x *index) waste() int64 { return x.end - x.live }

// sync brings the index up to date with the log: it reads the lines other
// Stores appended since the last sync and, when the file at the log's path
// is no longer the one read (another Store compacted it), reopens it and
// starts from the table and totals saved for it, or builds them. The
// flock is held.
func (x *index) sync(s *Store) error {
	x.logSize = -1
	// Stores replace the log and the table only by renaming a new file
	// over them, which leaves the old inode no link. So while both open
	// files have their one link they are still the files at their paths,
	// and an fstat of each says so without a stat of the paths. Any other
	// link count (an extra hard link someone made, or none) takes the
	// path stats below.
	if s.log != nil && x.ready && x.tab != nil {
		lst, err := statFile(s.log)
		if err == nil && lst.nlink == 1 && lst.dev == x.dev && lst.ino == x.ino {
			if tst, err := statFile(x.tab.f); err == nil && tst.nlink == 1 {
				return x.scanFrom(s, lst)
			}
		}
	}
	st, err := statAt(s.dir, logName)
	if err != nil && !isNotExist(err) {
		return fmt.Errorf("stat %s: %w", logName, err)
	}
	if err != nil || s.log == nil || st.dev != x.dev || st.ino != x.ino || !x.ready || x.tableReplaced(s) {
		if err := s.reopenLog(); err != nil {
			return err
		}
		return x.load(s)
	}
	return x.scan(s)
}

// tableReplaced reports whether the table at its path is not the one x
// has open: another Store grew or rebuilt it, and saved the state that
// goes with it.
func (x *index) tableReplaced(s *Store) bool {
	named, err := statAt(s.dir, tableName)
	if err != nil {
		return true
	}
	open, err := statFile(x.tab.f)
	return err != nil || named.dev != open.dev || named.ino != open.ino
}

// reset forgets everything read from the log.
func (x *index) reset(dev, ino uint64) {
	x.tab.close()
	*x = *newIndex()
	x.dev, x.ino = dev, ino
}

// scan reads the whole lines of the log from x.end on. A line that does
// not parse (torn by a crash: the write-ahead record of a change that
// never happened) or is over maxEntryBytes is skipped. A last line without
// its '\n' is left for the next scan: it may be an append in progress.
// Once hotMax entries are in memory it writes them to the table.
func (x *index) scan(s *Store) error {
	st, err := statFile(s.log)
	if err != nil {
		return fmt.Errorf("stat %s: %w", logName, err)
	}
	return x.scanFrom(s, st)
}

// scanFrom is scan given st, an fstat of the open log taken under the flock.
func (x *index) scanFrom(s *Store, st stat) error {
	f := s.log
	if st.size < x.end {
		// Truncated in place, which no Store does: build the index again.
		return x.rebuild(s)
	}
	if st.size == x.end {
		if err := x.flushIfFull(s); err != nil {
			return err
		}
		x.logSize = st.size
		return nil
	}
	next, err := eachLine(f, x.end, st.size, nil, func(line []byte, off, n int64) error {
		if err := x.apply(s, line, off, n); err != nil {
			return err
		}
		x.end = off + n
		if len(x.hot) >= hotMax {
			return x.flush(s)
		}
		return nil
	})
	if err != nil {
		return err
	}
	x.end = next // past any over-long lines at the end, too
	x.logSize = st.size
	return nil
}

// takeLogSize returns the log's size the last sync saw, once, or -1.
func (x *index) takeLogSize() int64 {
	n := x.logSize
	x.logSize = -1
	return n
}

// apply records the line at off: an entry, or a tombstone removing one.
func (x *index) apply(s *Store, line []byte, off, n int64) error {
	var ef entryFile
	if err := json.Unmarshal(line, &ef); err != nil || !validID(ef.ID) {
		return nil
	}
	if ef.Removed {
		return x.remove(s, ef.ID)
	}
	return x.put(s, ef.ID, metaOf(&ef, off, n))
}

// flushIfFull writes the entries in memory to the table once there are
// hotMax of them.
func (x *index) flushIfFull(s *Store) error {
	if len(x.hot) < hotMax {
		return nil
	}
	return x.flush(s)
}

// flush writes the entries in memory to the table, then saves the totals
// and the offset the table now covers. The state file says "dirty" while
// the table is written: a crash then leaves a table that may be ahead of
// the saved totals, and the next Store builds both again.
func (x *index) flush(s *Store) error {
	if err := x.saveState(s, true); err != nil {
		return err
	}
	if err := x.writeHot(s); err != nil {
		return err
	}
	if err := datasync(x.tab.f); err != nil {
		return fmt.Errorf("flush %s: %w", tableName, err)
	}
	clear(x.hot)
	x.from = x.end
	return x.saveState(s, false)
}

// writeHot puts the entries in memory in the table, growing it first if
// they would fill it over half.
func (x *index) writeHot(s *Store) error {
	if x.tab.full(len(x.hot)) {
		if err := x.grow(s, uint64(len(x.hot))); err != nil {
			return err
		}
	}
	for id, m := range x.hot {
		var err error
		if m == nil {
			err = x.tab.del(idHash(id))
		} else {
			err = x.tab.put(slot{h: idHash(id), off: m.off, n: uint32(m.n), time: m.time.UnixNano()})
		}
		if err != nil {
			return err
		}
	}
	return x.tab.writeHeader()
}

// grow replaces the table with one of at least four times the live
// entries plus more, copying the live slots, and renames it into place.
func (x *index) grow(s *Store, more uint64) error {
	want := tableCap(uint64(max(x.count, 0)) + more)
	tmp := tempName(".tmp-")
	nt, err := createTable(s.dir, tmp, want)
	if err != nil {
		return fmt.Errorf("grow %s: %w", tableName, err)
	}
	err = x.tab.each(func(sl slot) error { return nt.put(sl) })
	if err == nil {
		err = nt.writeHeader()
	}
	if err == nil {
		err = renameAt(s.dir, tmp, tableName)
	}
	if err != nil {
		nt.close()
		unlinkAt(s.dir, tmp)
		return fmt.Errorf("grow %s: %w", tableName, err)
	}
	x.tab.close()
	x.tab = nt
	return nil
}

// tableCap is the capacity of a table for n entries: a power of two, at
// least 4n so it is rebuilt rarely and probes stay short.
func tableCap(n uint64) uint64 {
	c := uint64(minTabCap)
	for c < 4*n {
		c <<= 1
	}
	return c
}

// indexState is the state file: the totals of the log up to Covered, the
// offset up to which the table holds its lines.
type indexState struct {
	Dev, Ino uint64
	Covered  int64
	Live     int64
	Count    int64
	Bytes    int64
	Oldest   time.Time
	Objects  map[string][2]int64 // object file → refs, size
	Dirty    bool
}

const stateName = "index.state"

// saveState writes the state file through a temp file renamed over it.
func (x *index) saveState(s *Store, dirty bool) error {
	st := indexState{Dev: x.dev, Ino: x.ino, Covered: x.end, Live: x.live, Count: x.count, Bytes: x.bytes, Oldest: x.oldest, Objects: map[string][2]int64{}, Dirty: dirty}
	for sha, n := range x.refs {
		st.Objects[sha] = [2]int64{int64(n), x.sizes[sha]}
	}
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	tmp := tempName(".tmp-")
	f, err := openRW(s.dir, tmp, true)
	if err != nil {
		return fmt.Errorf("save %s: %w", stateName, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = datasync(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = renameAt(s.dir, tmp, stateName)
	}
	if err == nil {
		err = s.dir.Sync()
	}
	if err != nil {
		unlinkAt(s.dir, tmp)
		return fmt.Errorf("save %s: %w", stateName, err)
	}
	return nil
}

// load starts the index of the log just opened from the table and the
// state file, reading only the lines after what they cover, or builds
// them when they do not describe this log.
func (x *index) load(s *Store) error {
	dev, ino := x.dev, x.ino
	st, err := loadState(s)
	if err == nil && (st.Dirty || st.Dev != dev || st.Ino != ino) {
		err = ErrNotFound
	}
	var tab *table
	if err == nil {
		tab, err = openTable(s.dir)
	}
	if err != nil {
		return x.rebuild(s)
	}
	lst, err := statFile(s.log)
	if err != nil || lst.size < st.Covered {
		tab.close()
		return x.rebuild(s)
	}
	x.reset(dev, ino)
	x.tab, x.ready = tab, true
	x.from, x.end, x.live, x.count, x.bytes, x.oldest = st.Covered, st.Covered, st.Live, st.Count, st.Bytes, st.Oldest
	for sha, v := range st.Objects {
		x.refs[sha], x.sizes[sha] = int(v[0]), v[1]
	}
	return x.scan(s)
}

func loadState(s *Store) (*indexState, error) {
	f, err := openRead(s.dir, stateName)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 64<<20))
	if err != nil {
		return nil, err
	}
	var st indexState
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// rebuild builds the table and the totals from the whole log: for a log
// of an older Warden, or after a crash while the table was written. Memory
// stays bounded: entries go to the table every hotMax.
func (x *index) rebuild(s *Store) error {
	dev, ino := x.dev, x.ino
	x.reset(dev, ino)
	tmp := tempName(".tmp-")
	tab, err := createTable(s.dir, tmp, minTabCap)
	if err != nil {
		return fmt.Errorf("build %s: %w", tableName, err)
	}
	if err := renameAt(s.dir, tmp, tableName); err != nil {
		tab.close()
		unlinkAt(s.dir, tmp)
		return fmt.Errorf("build %s: %w", tableName, err)
	}
	x.tab, x.ready = tab, true
	// Whatever the state file said is void until the table is written.
	if err := x.saveState(s, true); err != nil {
		return err
	}
	if err := x.scan(s); err != nil {
		x.ready = false
		return err
	}
	if err := x.flush(s); err != nil {
		x.ready = false
		return err
	}
	return nil
}

// eachLine calls fn with every whole line of the log in [start, end)
// whose bytes contain needle, with its offset and length; a line over
// maxEntryBytes is skipped. It returns the offset just after the last
// whole line read. Lines are read in order without Store.mu.
func eachLine(f *os.File, start, end int64, needle []byte, fn func(line []byte, off, n int64) error) (int64, error) {
	r := bufio.NewReaderSize(io.NewSectionReader(f, start, end-start), 256<<10)
	var line []byte
	off, n := start, int64(0)
	for {
		frag, err := r.ReadSlice('\n')
		n += int64(len(frag))
		if n <= maxEntryBytes+1 {
			line = append(line, frag...)
		}
		switch err {
		case nil:
			if n <= maxEntryBytes+1 && bytes.Contains(line, needle) {
				if err := fn(line, off, n); err != nil {
					return off, err
				}
			}
			off += n
			line, n = line[:0], 0
		case bufio.ErrBufferFull:
		case io.EOF:
			return off, nil
		default:
			return off, fmt.Errorf("read %s: %w", logName, err)
		}
	}
}
