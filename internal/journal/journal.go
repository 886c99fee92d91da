package journal

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/warden-dev/warden/internal/core"
)

// Defaults of [Options].
const (
	DefaultMaxBytes = 1 << 30
	DefaultMaxAge   = 30 * 24 * time.Hour
)

const (
	// holdGrace is how long a temp or hold file of another process is left
	// alone: it may belong to a transaction still running there.
	holdGrace = time.Hour
	// pruneEvery bounds how long a Store goes without a full prune, so
	// entries other processes committed are counted against the budget.
	pruneEvery = time.Hour
	// maxEntryBytes bounds what Entry reads: an entry lists the content of
	// removed directories, but nothing legitimate comes near this.
	maxEntryBytes = 64 << 20
)

// Errors of the journal, wrapped with context. Test with errors.Is.
var (
	// ErrNotFound means the entry or object is not in the journal (never
	// there, or pruned).
	ErrNotFound = errors.New("not in the journal")
	// ErrChanged means a file to keep is no longer the object (or the
	// content) the caller described.
	ErrChanged = errors.New("file changed since it was examined")
	// ErrCorrupt means journal content no longer matches what was written:
	// an object whose bytes do not hash to its name, or an unreadable entry.
	ErrCorrupt = errors.New("journal content is corrupt")
)

// Options tune a [Store]. The zero value is ready to use.
type Options struct {
	// MaxBytes bounds the total size of the objects entries refer to.
	// Oldest entries are pruned to fit. 0 means DefaultMaxBytes (1 GiB).
	MaxBytes int64
	// MaxAge is how long entries are kept. 0 means DefaultMaxAge (30 days).
	MaxAge time.Duration
	// Now is the clock entry ages are measured with; nil means time.Now.
	Now func() time.Time
	// Reserve, if set, is space kept on the journal's file system: an
	// append that finds it full releases the reserve and tries again, so
	// a delete can still be journaled (see diskreserve).
	Reserve interface{ Release() bool }
}

// Store is a journal on disk. Its methods are safe for concurrent use, and
// several Stores (in one or several processes) may share one directory.
type Store struct {
	root    string   // <state>/journal
	dir     *os.File // <root>, for the *at calls on the log
	objects *os.File // <root>/objects, for the *at calls
	lock    *os.File // <root>/lock, flocked around commit, abort and prune
	opts    Options
	// inMemory reports that the journal is on a file system in memory,
	// whose flushes write nothing.
	inMemory bool

	// copyOnly makes Keep copy instead of link (a test hook).
	copyOnly bool
	// grace overrides holdGrace (a test hook).
	grace time.Duration
	// compactFloor overrides compactFloor (a test hook).
	compactFloor int64
	// inlineMax overrides inlineMax (a test hook; negative keeps nothing
	// inline).
	inlineMax int64
	// inlineTxMax overrides inlineTxMax (a test hook).
	inlineTxMax int64

	liveMu sync.Mutex
	live   map[string]string // hold file → object, of this process's open transactions

	mu        sync.Mutex // guards the fields below and the use of lock
	closed    bool
	idx       *index
	lastPrune time.Time
	// log is <root>/entries.log, as the index last read it. Swapping it
	// (under mu) also takes logMu, which Entry and History hold to read it.
	log   *os.File
	logMu sync.RWMutex
	// reserved is how far this Store allocated the log ahead of its
	// appends (see reserve); -1 once the file system refused.
	reserved int64
}

// Open opens the journal in stateDir/journal, creating it (mode 0700) if
// needed, imports the entry files of an older Warden into the log, and
// prunes it.
func Open(stateDir string, opts Options) (*Store, error) {
	const op = "journal.Open"
	if !supported {
		return nil, fmt.Errorf("%s: %w", op, errors.ErrUnsupported)
	}
	if stateDir == "" {
		return nil, fmt.Errorf("%s: no state directory", op)
	}
	if opts.MaxBytes < 0 || opts.MaxAge < 0 {
		return nil, fmt.Errorf("%s: negative MaxBytes or MaxAge", op)
	}
	if opts.MaxBytes == 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.MaxAge == 0 {
		opts.MaxAge = DefaultMaxAge
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Store{root: filepath.Join(stateDir, "journal"), opts: opts, grace: holdGrace, compactFloor: compactFloor, inlineMax: inlineMax, inlineTxMax: inlineTxMax, live: map[string]string{}, idx: newIndex()}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	for _, d := range []string{s.root, filepath.Join(s.root, "objects")} {
		if err := mkdirPrivate(d); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
	}
	var err error
	if s.dir, err = openDir(s.root); err == nil {
		s.inMemory = inMemory(s.dir)
		if s.objects, err = openDir(filepath.Join(s.root, "objects")); err == nil {
			s.lock, err = openLock(filepath.Join(s.root, "lock"))
		}
	}
	if err == nil {
		err = s.withLock(op, func() error {
			if err := s.migrate(); err != nil {
				return err
			}
			// A compaction needs room for a new log. On a full disk the
			// journal works without it (the next Commit prunes again),
			// so a restart is not refused just when space must be freed.
			if err := s.pruneLocked(""); err != nil && !diskFull(err) {
				return err
			}
			return nil
		})
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return s, nil
}

// mkdirPrivate makes dir a directory only its owner can use. An existing
// symlink is refused rather than followed.
func mkdirPrivate(dir string) error {
	err := os.Mkdir(dir, 0o700)
	if err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s: not a directory", dir)
	}
	if fi.Mode().Perm() != 0o700 {
		return os.Chmod(dir, 0o700)
	}
	return nil
}

// Close releases the store's handles. It is idempotent; transactions still
// open fail from then on.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var errs []error
	if x := s.idx; x.ready && len(x.hot) > 0 && s.lock != nil {
		// Saved for the next Store, which then reads only what follows.
		if err := lockFile(s.lock); err == nil {
			if err := x.sync(s); err == nil && len(x.hot) > 0 {
				errs = append(errs, x.flush(s))
			}
			errs = append(errs, unlockFile(s.lock))
		}
	}
	errs = append(errs, s.idx.tab.close())
	for _, f := range []*os.File{s.dir, s.objects, s.lock} {
		if f != nil {
			errs = append(errs, f.Close())
		}
	}
	s.logMu.Lock()
	if s.log != nil {
		errs = append(errs, s.log.Close())
	}
	s.logMu.Unlock()
	return errors.Join(errs...)
}

// withLock runs fn holding the store's mutex and the journal's flock.
func (s *Store) withLock(op string, fn func() error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("%s: %w", op, os.ErrClosed)
	}
	if err := lockFile(s.lock); err != nil {
		return fmt.Errorf("%s: lock: %w", op, err)
	}
	err := fn()
	if uerr := unlockFile(s.lock); uerr != nil && err == nil {
		err = fmt.Errorf("%s: unlock: %w", op, uerr)
	}
	return err
}

func (s *Store) addLive(hold, sha string) {
	s.liveMu.Lock()
	s.live[hold] = sha
	s.liveMu.Unlock()
}

func (s *Store) dropLive(hold string) {
	s.liveMu.Lock()
	delete(s.live, hold)
	s.liveMu.Unlock()
}

// liveObjects returns the hold files and the objects of this process's open
// transactions.
func (s *Store) liveObjects() map[string]bool {
	s.liveMu.Lock()
	defer s.liveMu.Unlock()
	m := make(map[string]bool, 2*len(s.live))
	for hold, sha := range s.live {
		m[hold], m[sha] = true, true
	}
	return m
}

// validID reports whether id can name an entry: 1 to 64 characters of
// [0-9A-Za-z_-].
func validID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for _, c := range []byte(id) {
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// validHash reports whether h is a SHA-256 in lower-case hex, the name of
// an object.
func validHash(h string) bool {
	if len(h) != 64 {
		return false
	}
	for _, c := range []byte(h) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// validName reports whether name is one plain directory entry, so an *at
// call on it cannot leave the directory.
func validName(name string) bool {
	if name == "" || name == "." || name == ".." {
		return false
	}
	for _, c := range []byte(name) {
		if c == '/' || c == 0 {
			return false
		}
	}
	return true
}

// tempName returns prefix and 16 random hex digits. Names starting with a
// dot are never objects or entries.
func tempName(prefix string) string {
	var b [8]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

func (s *Store) now() time.Time { return s.opts.Now() }

// Interface guard.
var _ core.Objects = (*Store)(nil)
