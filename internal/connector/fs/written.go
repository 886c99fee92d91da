package fs

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"hash/fnv"
	iofs "io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Writers of one directory take turns under its flock, but a call checks
// its target against what it saw when it was prepared, before the lock:
// another Warden call may have replaced the file meanwhile. The written
// table remembers, for each name Warden changed, the file it left there
// (or that it left nothing), so that such a call goes on with the latest
// file, while a file changed by anything else still fails the call as
// changed. Processes sharing a state directory share the table through
// a file there; without one (no journal) it is kept in memory.
//
// The table is a fixed number of buckets of a few slots, addressed by a
// hash of the directory's identity and the name: it is bounded whatever
// the agent writes. A name takes its own slot in its bucket again, or
// else the one recorded longest ago, so a record is lost only when more
// names of its bucket than it has slots change while a call waits for
// the lock. A record lost, or read half-written from another process, is
// simply not found: the call then fails as changed, as it would without
// the table.

const (
	bucketSlots  = 4
	writtenSlots = 8192 // 512 KiB
	slotSize     = 64
	bucketSize   = bucketSlots * slotSize
	writtenFile  = "fs-written"
)

// Slot kinds.
const (
	leftFile = 1 // the name holds the file described
	leftNone = 2 // Warden removed or moved away what the name held
)

// slot is one decoded entry of the table.
type slot struct {
	key   [16]byte
	kind  byte
	dev   uint64
	ino   uint64
	size  int64
	mtime int64
}

// slotKey returns the key of name in the directory dir and the offset of
// its bucket.
func slotKey(dir iofs.FileInfo, name string) ([16]byte, int64) {
	d := fileID(dir)
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], d.dev)
	binary.LittleEndian.PutUint64(b[8:], d.ino)
	h := sha256.New()
	h.Write(b[:])
	h.Write([]byte(name))
	var sum [32]byte
	h.Sum(sum[:0])
	var key [16]byte
	copy(key[:], sum[:16])
	return key, int64(binary.LittleEndian.Uint64(sum[16:24])%(writtenSlots/bucketSlots)) * bucketSize
}

// slotOf describes fi (nil: nothing) under key.
func slotOf(key [16]byte, fi iofs.FileInfo) slot {
	s := slot{key: key, kind: leftNone}
	if fi != nil {
		id := fileID(fi)
		s.kind, s.dev, s.ino, s.size, s.mtime = leftFile, id.dev, id.ino, fi.Size(), fi.ModTime().UnixNano()
	}
	return s
}

// encode lays s out with the time it is recorded (microseconds, in the
// 7 bytes after the kind) and a checksum.
func (s slot) encode(now time.Time) []byte {
	b := make([]byte, slotSize)
	binary.LittleEndian.PutUint64(b[16:], uint64(now.UnixMicro())<<8|uint64(s.kind))
	copy(b, s.key[:])
	binary.LittleEndian.PutUint64(b[24:], s.dev)
	binary.LittleEndian.PutUint64(b[32:], s.ino)
	binary.LittleEndian.PutUint64(b[40:], uint64(s.size))
	binary.LittleEndian.PutUint64(b[48:], uint64(s.mtime))
	binary.LittleEndian.PutUint64(b[56:], checksum(b[:56]))
	return b
}

// decodeSlot decodes b; ok is false for an empty or damaged slot.
func decodeSlot(b []byte) (s slot, at uint64, ok bool) {
	if len(b) != slotSize || binary.LittleEndian.Uint64(b[56:]) != checksum(b[:56]) {
		return slot{}, 0, false
	}
	copy(s.key[:], b[:16])
	s.kind = b[16]
	at = binary.LittleEndian.Uint64(b[16:]) >> 8
	s.dev = binary.LittleEndian.Uint64(b[24:])
	s.ino = binary.LittleEndian.Uint64(b[32:])
	s.size = int64(binary.LittleEndian.Uint64(b[40:]))
	s.mtime = int64(binary.LittleEndian.Uint64(b[48:]))
	return s, at, s.kind == leftFile || s.kind == leftNone
}

func checksum(b []byte) uint64 {
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64()
}

// place returns the index in bucket of the slot for key: its own, else an
// empty one, else the one recorded longest ago.
func place(bucket []byte, key [16]byte) int {
	best, oldest := 0, ^uint64(0)
	for i := range bucketSlots {
		s, at, ok := decodeSlot(bucket[i*slotSize : (i+1)*slotSize])
		switch {
		case ok && s.key == key:
			return i
		case !ok:
			at = 0
		}
		if at < oldest {
			best, oldest = i, at
		}
	}
	return best
}

// holds reports whether bucket records want for its key.
func holds(bucket []byte, want slot) bool {
	for i := range bucketSlots {
		if s, _, ok := decodeSlot(bucket[i*slotSize : (i+1)*slotSize]); ok && s.key == want.key {
			return s == want
		}
	}
	return false
}

// memWritten is the table of calls without a state directory, shared by
// every connector of the process. An array, not a slice made at start:
// zero pages cost nothing until a write touches them, where a make here
// put 512 KiB on the heap at every start.
var memWritten struct {
	sync.Mutex
	b [writtenSlots * slotSize]byte
}

// stateDirer is a journal that lives in a state directory.
type stateDirer interface{ StateDir() string }

// noteLeft records that Warden left fi (nil: nothing) at name in d, which
// the caller has locked. It is called after the change is made; failing
// to record costs only a later call a spurious conflict, so errors are
// dropped.
func (m *mutation) noteLeft(d *dirHandle, name string, fi iofs.FileInfo) {
	recordLeft(m.stateDir(), d.info, name, fi)
}

// leftByWarden reports whether cur (nil: nothing) is what Warden last left
// at name in d, which the caller has locked, and nothing changed it since.
func (m *mutation) leftByWarden(d *dirHandle, name string, cur iofs.FileInfo) bool {
	return wasLeft(m.stateDir(), d.info, name, cur)
}

// recordLeft records fi (nil: nothing) as what Warden left at name in the
// directory dir, in memory and in the table of stateDir (if not "").
func recordLeft(stateDir string, dir iofs.FileInfo, name string, fi iofs.FileInfo) {
	key, off := slotKey(dir, name)
	b := slotOf(key, fi).encode(time.Now())
	memWritten.Lock()
	bucket := memWritten.b[off : off+bucketSize]
	copy(bucket[place(bucket, key)*slotSize:], b)
	memWritten.Unlock()
	if stateDir != "" {
		withTable(stateDir, func(f *os.File) error {
			bucket := make([]byte, bucketSize)
			if _, err := f.ReadAt(bucket, off); err != nil {
				return err
			}
			_, err := f.WriteAt(b, off+int64(place(bucket, key)*slotSize))
			return err
		})
	}
}

// wasLeft reports whether cur (nil: nothing) is what recordLeft last
// recorded for name in the directory dir, in memory or in the table of
// stateDir (if not "").
func wasLeft(stateDir string, dir iofs.FileInfo, name string, cur iofs.FileInfo) bool {
	key, off := slotKey(dir, name)
	want := slotOf(key, cur)
	memWritten.Lock()
	ok := holds(memWritten.b[off:off+bucketSize], want)
	memWritten.Unlock()
	if ok || stateDir == "" {
		return ok
	}
	bucket := make([]byte, bucketSize)
	err := withTable(stateDir, func(f *os.File) error {
		_, err := f.ReadAt(bucket, off)
		return err
	})
	return err == nil && holds(bucket, want)
}

// stateDir returns the call's state directory, or "" if it has none.
func (m *mutation) stateDir() string {
	if sd, ok := m.j.(stateDirer); ok {
		return sd.StateDir()
	}
	return ""
}

// tables holds the table files this process opened, by state directory:
// opening one for every write would cost more than the write's checks.
var tables = struct {
	sync.Mutex
	files map[string]*os.File
}{files: map[string]*os.File{}}

// maxTables bounds the table files held open; a process serves one state
// directory, tests many.
const maxTables = 8

// withTable runs fn with the table file of the state directory dir. The
// lock held meanwhile keeps the file from being closed under fn, and
// makes this process's read and write of a bucket one step.
func withTable(dir string, fn func(f *os.File) error) error {
	tables.Lock()
	defer tables.Unlock()
	f := tables.files[dir]
	if f == nil {
		if len(tables.files) >= maxTables {
			for d, f := range tables.files {
				f.Close()
				delete(tables.files, d)
			}
		}
		var err error
		if f, err = openWritten(filepath.Join(dir, writtenFile)); err != nil {
			return err
		}
		tables.files[dir] = f
	}
	return fn(f)
}

// openWritten opens the table file p, creating it (mode 0600, its whole
// size written, so that recording never needs space the disk may not
// have) if needed.
func openWritten(p string) (*os.File, error) {
	f, err := os.OpenFile(p, os.O_RDWR|syscall.O_NOFOLLOW, 0)
	if !errors.Is(err, iofs.ErrNotExist) {
		return f, err
	}
	f, err = os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if errors.Is(err, iofs.ErrExist) {
		return openWritten(p) // another process created it first
	}
	if err != nil {
		return nil, err
	}
	// Zeros are no slot. A slot another process records meanwhile may be
	// lost, which costs at most one spurious conflict.
	if _, err := f.WriteAt(make([]byte, writtenSlots*slotSize), 0); err != nil {
		f.Close()
		os.Remove(p)
		return nil, err
	}
	return f, nil
}
