package journal

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"
)

// index is a Store's in-memory view of the entry log: where each live
// entry's line is, and enough about it to prune and to answer History
// without reading the lines. It is brought up to date with the log by sync,
// under Store.mu.
type index struct {
	entries map[string]*entryMeta
	refs    map[string]int   // object file → entries that hold it
	sizes   map[string]int64 // object file → size, while refs > 0
	// inline maps each object held inline to the entries whose line holds
	// it, for Open.
	inline map[string]map[string]bool
	// bytes is the total size of the object files held, plus that of each
	// entry's inline objects: each line has its own copy.
	bytes  int64
	oldest time.Time // earliest entry time; zero when empty
	end    int64     // log offset just past the last whole line read
	live   int64     // bytes of the lines entries point at
	dev    uint64    // the log file read, to notice it was replaced
	ino    uint64
}

type entryMeta struct {
	time     time.Time
	resource string
	paths    []string         // Path and To of every change
	objects  map[string]int64 // object files held, and their sizes
	inline   map[string]int64 // objects the line holds, and their sizes
	off, n   int64            // the entry's line in the log, its '\n' included
}

func newIndex() *index {
	return &index{entries: map[string]*entryMeta{}, refs: map[string]int{}, sizes: map[string]int64{}, inline: map[string]map[string]bool{}}
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

// put makes m the entry id, replacing what the index had for id.
func (x *index) put(id string, m *entryMeta) {
	x.remove(id)
	x.entries[id] = m
	x.live += m.n
	for sha, size := range m.objects {
		if x.refs[sha] == 0 {
			x.sizes[sha] = size
			x.bytes += size
		}
		x.refs[sha]++
	}
	for sha, size := range m.inline {
		x.bytes += size
		if x.inline[sha] == nil {
			x.inline[sha] = map[string]bool{}
		}
		x.inline[sha][id] = true
	}
	if x.oldest.IsZero() || m.time.Before(x.oldest) {
		x.oldest = m.time
	}
}

func (x *index) remove(id string) {
	m, ok := x.entries[id]
	if !ok {
		return
	}
	delete(x.entries, id)
	x.live -= m.n
	for sha := range m.objects {
		if x.refs[sha]--; x.refs[sha] <= 0 {
			x.bytes -= x.sizes[sha]
			delete(x.refs, sha)
			delete(x.sizes, sha)
		}
	}
	for sha, size := range m.inline {
		x.bytes -= size
		if delete(x.inline[sha], id); len(x.inline[sha]) == 0 {
			delete(x.inline, sha)
		}
	}
	if !m.time.After(x.oldest) {
		x.oldest = time.Time{}
		for _, o := range x.entries {
			if x.oldest.IsZero() || o.time.Before(x.oldest) {
				x.oldest = o.time
			}
		}
	}
}

// waste is the bytes of the log no live entry points at: replaced entries,
// tombstones, torn lines.
func (x *index) waste() int64 { return x.end - x.live }

// sync brings the index up to date with the log: it reads the lines other
// Stores appended since the last sync and, when the file at the log's path
// is no longer the one read (another Store compacted it), reopens it and
// reads it all again.
func (x *index) sync(s *Store) error {
	st, err := statAt(s.dir, logName)
	if err != nil && !isNotExist(err) {
		return fmt.Errorf("stat %s: %w", logName, err)
	}
	if err != nil || s.log == nil || st.dev != x.dev || st.ino != x.ino {
		if err := s.reopenLog(); err != nil {
			return err
		}
	}
	return x.scan(s.log)
}

// reset forgets everything read from the log.
func (x *index) reset(dev, ino uint64) {
	*x = *newIndex()
	x.dev, x.ino = dev, ino
}

// scan reads the whole lines of f from x.end on. A line that does not
// parse (torn by a crash: the write-ahead record of a change that never
// happened) or is over maxEntryBytes is skipped. A last line without its
// '\n' is left for the next scan: it may be an append in progress.
func (x *index) scan(f *os.File) error {
	st, err := statFile(f)
	if err != nil {
		return fmt.Errorf("stat %s: %w", logName, err)
	}
	if st.size < x.end {
		// Truncated in place, which no Store does: read it again.
		x.reset(x.dev, x.ino)
	}
	if st.size == x.end {
		return nil
	}
	r := bufio.NewReaderSize(io.NewSectionReader(f, x.end, st.size-x.end), 64<<10)
	var line []byte
	var n int64
	for {
		frag, err := r.ReadSlice('\n')
		n += int64(len(frag))
		if n <= maxEntryBytes+1 {
			line = append(line, frag...)
		}
		switch err {
		case nil:
			if n <= maxEntryBytes+1 {
				x.apply(line, x.end, n)
			}
			x.end += n
			line, n = line[:0], 0
		case bufio.ErrBufferFull:
		case io.EOF:
			return nil
		default:
			return fmt.Errorf("read %s: %w", logName, err)
		}
	}
}

// apply records the line at off: an entry, or a tombstone removing one.
func (x *index) apply(line []byte, off, n int64) {
	var ef entryFile
	if err := json.Unmarshal(line, &ef); err != nil || !validID(ef.ID) {
		return
	}
	if ef.Removed {
		x.remove(ef.ID)
		return
	}
	x.put(ef.ID, metaOf(&ef, off, n))
}
