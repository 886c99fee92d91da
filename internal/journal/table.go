package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// table is the on-disk part of the index: an open-addressing hash table
// from entry id to the entry's line in the log, so that memory does not
// grow with the journal's history. A slot holds the id's 64-bit hash, the
// line's offset and length and the entry's time; the line itself says
// which id it holds, so a hash collision is caught where the line is read.
// Lookups read a slot or a few with pread; updates write them in place.
// The table is only trusted up to the offset in the index state file,
// written after the table is flushed (see index.flush).
type table struct {
	f     *os.File
	cap   uint64 // slots, a power of two
	count uint64 // slots in use (deleted ones included: they still lengthen probes)
}

const (
	tableName  = "index"
	tableMagic = "WJIX0001"
	tableHdr   = 32
	slotSize   = 32
	minTabCap  = 1 << 12

	slotUsed    = 1
	slotDeleted = 2
)

type slot struct {
	h     uint64
	off   int64
	n     uint32
	flags uint32
	time  int64 // unix nanoseconds
}

func idHash(id string) uint64 {
	f := fnv.New64a()
	f.Write([]byte(id))
	return f.Sum64()
}

// createTable creates an empty table of capacity slots in the file tmp of
// dir; the caller renames it into place.
func createTable(dir *os.File, tmp string, capacity uint64) (*table, error) {
	f, err := openRW(dir, tmp, true)
	if err != nil {
		return nil, err
	}
	t := &table{f: f, cap: capacity}
	err = f.Truncate(tableHdr + int64(capacity)*slotSize)
	if err == nil {
		err = t.writeHeader()
	}
	if err != nil {
		f.Close()
		unlinkAt(dir, tmp)
		return nil, err
	}
	return t, nil
}

// openTable opens the table in dir, or returns an error wrapping
// ErrNotFound when there is none (or it is not one).
func openTable(dir *os.File) (*table, error) {
	f, err := openRW(dir, tableName, false)
	if isNotExist(err) {
		return nil, fmt.Errorf("%s: %w", tableName, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	var hdr [tableHdr]byte
	st, err := statFile(f)
	if err == nil {
		_, err = f.ReadAt(hdr[:], 0)
	}
	if err != nil || string(hdr[:8]) != tableMagic {
		f.Close()
		return nil, fmt.Errorf("%s: not an index: %w", tableName, errors.Join(ErrNotFound, err))
	}
	t := &table{f: f, cap: binary.LittleEndian.Uint64(hdr[8:]), count: binary.LittleEndian.Uint64(hdr[16:])}
	if t.cap < minTabCap || t.cap&(t.cap-1) != 0 || st.size != tableHdr+int64(t.cap)*slotSize {
		f.Close()
		return nil, fmt.Errorf("%s: damaged: %w", tableName, ErrNotFound)
	}
	return t, nil
}

func (t *table) writeHeader() error {
	var hdr [tableHdr]byte
	copy(hdr[:], tableMagic)
	binary.LittleEndian.PutUint64(hdr[8:], t.cap)
	binary.LittleEndian.PutUint64(hdr[16:], t.count)
	_, err := t.f.WriteAt(hdr[:], 0)
	return err
}

func (t *table) close() error {
	if t == nil || t.f == nil {
		return nil
	}
	return t.f.Close()
}

func (t *table) readSlot(i uint64) (slot, error) {
	var b [slotSize]byte
	if _, err := t.f.ReadAt(b[:], tableHdr+int64(i)*slotSize); err != nil {
		return slot{}, fmt.Errorf("read %s: %w", tableName, err)
	}
	return slot{
		h: binary.LittleEndian.Uint64(b[0:]), off: int64(binary.LittleEndian.Uint64(b[8:])),
		n: binary.LittleEndian.Uint32(b[16:]), flags: binary.LittleEndian.Uint32(b[20:]),
		time: int64(binary.LittleEndian.Uint64(b[24:])),
	}, nil
}

func (t *table) writeSlot(i uint64, s slot) error {
	var b [slotSize]byte
	binary.LittleEndian.PutUint64(b[0:], s.h)
	binary.LittleEndian.PutUint64(b[8:], uint64(s.off))
	binary.LittleEndian.PutUint32(b[16:], s.n)
	binary.LittleEndian.PutUint32(b[20:], s.flags)
	binary.LittleEndian.PutUint64(b[24:], uint64(s.time))
	if _, err := t.f.WriteAt(b[:], tableHdr+int64(i)*slotSize); err != nil {
		return fmt.Errorf("write %s: %w", tableName, err)
	}
	return nil
}

// find returns the slot of id's hash and its index, or ok false and the
// first free index to put it at.
func (t *table) find(h uint64) (s slot, i uint64, ok bool, err error) {
	free := ^uint64(0)
	for probe := uint64(0); probe < t.cap; probe++ {
		i = (h + probe) & (t.cap - 1)
		s, err = t.readSlot(i)
		if err != nil {
			return slot{}, 0, false, err
		}
		switch {
		case s.flags == 0:
			if free == ^uint64(0) {
				free = i
			}
			return slot{}, free, false, nil
		case s.flags&slotDeleted != 0:
			if free == ^uint64(0) {
				free = i
			}
		case s.h == h:
			return s, i, true, nil
		}
	}
	if free == ^uint64(0) {
		return slot{}, 0, false, errors.New("index table full")
	}
	return slot{}, free, false, nil
}

// lookup returns the line of the entry whose id hashes to h.
func (t *table) lookup(h uint64) (slot, bool, error) {
	s, _, ok, err := t.find(h)
	return s, ok, err
}

// put makes the slot of h say s; the caller grows the table first when
// needed (see full).
func (t *table) put(s slot) error {
	old, i, ok, err := t.find(s.h)
	if err != nil {
		return err
	}
	if !ok && old.flags == 0 {
		if cur, err := t.readSlot(i); err != nil {
			return err
		} else if cur.flags == 0 {
			t.count++
		}
	}
	s.flags = slotUsed
	return t.writeSlot(i, s)
}

// del marks the slot of h deleted.
func (t *table) del(h uint64) error {
	s, i, ok, err := t.find(h)
	if err != nil || !ok {
		return err
	}
	s.flags |= slotDeleted
	return t.writeSlot(i, s)
}

// full reports whether adding n more ids would fill over half the table.
func (t *table) full(n int) bool { return (t.count+uint64(n))*2 > t.cap }

// each calls fn with every slot in use, in slot order, reading the table
// sequentially.
func (t *table) each(fn func(slot) error) error {
	r := io.NewSectionReader(t.f, tableHdr, int64(t.cap)*slotSize)
	buf := make([]byte, 64<<10)
	for {
		n, err := io.ReadFull(r, buf)
		for b := buf[:n-n%slotSize]; len(b) > 0; b = b[slotSize:] {
			s := slot{
				h: binary.LittleEndian.Uint64(b[0:]), off: int64(binary.LittleEndian.Uint64(b[8:])),
				n: binary.LittleEndian.Uint32(b[16:]), flags: binary.LittleEndian.Uint32(b[20:]),
				time: int64(binary.LittleEndian.Uint64(b[24:])),
			}
			if s.flags == slotUsed {
				if ferr := fn(s); ferr != nil {
					return ferr
				}
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", tableName, err)
		}
	}
}
