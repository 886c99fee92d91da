package approval

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const (
	idPrefix   = "ap_"
	idRandLen  = 12
	idAlphabet = "abcdefghijklmnopqrstuvwxyz234567" // RFC 4648 base32, lowercase
	fileExt    = ".json"
	lockName   = ".lock"
	tempPrefix = ".tmp-"
	// maxFileBytes bounds what one approval file may hold; anything larger
	// is treated as corrupt rather than read into memory.
	maxFileBytes = 16 << 20
)

// newID returns a fresh ID with 60 bits from crypto/rand.
func newID() string {
	// rand.Text is uniform over the upper-case base32 alphabet, so any
	// prefix of it is too.
	return idPrefix + strings.ToLower(rand.Text()[:idRandLen])
}

// validID reports whether id has exactly the generated shape. Only such IDs
// are ever joined into a path, so "../x" can never name a file.
func validID(id string) bool {
	rest, ok := strings.CutPrefix(id, idPrefix)
	if !ok || len(rest) != idRandLen {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if !strings.ContainsRune(idAlphabet, rune(rest[i])) {
			return false
		}
	}
	return true
}

func validHash(h string) bool {
	if len(h) != 64 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// check reports why a decoded approval cannot be trusted, or nil.
func (a *Approval) check(id string) error {
	switch {
	case a.ID != id:
		return fmt.Errorf("id %q does not match the file name", a.ID)
	case !a.Status.valid():
		return fmt.Errorf("unknown status %q", a.Status)
	case !validHash(a.Hash):
		return errors.New("malformed hash")
	case a.Agent == "" || a.Tool == "":
		return errors.New("missing agent or tool")
	case a.Created.IsZero() || a.Expires.IsZero():
		return errors.New("missing created or expires time")
	}
	return nil
}

func (s *Store) path(id string) string { return filepath.Join(s.dir, id+fileExt) }

// load reads and validates one approval. id must be valid. A missing file
// yields ErrNotFound; anything unreadable yields ErrCorrupt. A file that
// parses but fails its seal yields an error wrapping ErrCorrupt and
// ErrForged together with what the file claims, so a forgery aimed at a
// call can be reported rather than silently passed over; the approval
// returned with an error is never to be acted on.
func (s *Store) load(id string) (*Approval, error) {
	// O_NONBLOCK keeps a FIFO planted under the name from hanging the open;
	// O_NOFOLLOW refuses a symlink. Both then fail the regular-file check.
	f, err := os.OpenFile(s.path(id), os.O_RDONLY|openNoFollow|openNonBlock, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: not a regular file", ErrCorrupt)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if len(data) > maxFileBytes {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrCorrupt, maxFileBytes)
	}
	var a Approval
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if err := a.check(id); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if err := s.seal.check(data); err != nil {
		return &a, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return &a, nil
}

// save writes a atomically and durably over its file.
func (s *Store) save(a *Approval) error {
	// Compact, not indented: indenting would also reformat Args.
	data, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("save %s: %w", a.ID, err)
	}
	data = s.seal.seal(data)
	if err := writeFileAtomic(s.dir, a.ID+fileExt, data); err != nil {
		return fmt.Errorf("save %s: %w", a.ID, err)
	}
	return nil
}

// writeFileAtomic replaces dir/name with data so that a reader, or a crash
// at any moment, sees either the old content or the new, never a mix; once
// it returns, the new content survives power loss.
func writeFileAtomic(dir, name string, data []byte) (err error) {
	f, err := os.CreateTemp(dir, tempPrefix+"*") // mode 0600
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir makes renames and removals in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// scanResult is everything found in the approvals directory.
type scanResult struct {
	approvals []*Approval // sorted by Created, then ID
	bad       []error     // one per unreadable or invalid file
	forged    []*Approval // what files failing their seal claim; never acted on
	temps     []string    // leftover temp files, stale while the lock is held
}

// scan reads every approval. It must run under the lock. Files that cannot
// be trusted go to bad and take no further part: they never match a call.
// With skipFinal, files this Store has already seen in a final state are
// left out unread (see Store.final); otherwise every file is read. Reading
// is linear in the number of files, the store's scaling limit (see the
// package doc).
func (s *Store) scan(skipFinal bool) (*scanResult, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("read approvals: %w", err)
	}
	var r scanResult
	present := make(map[string]bool, len(entries))
	defer func() {
		// Forget IDs whose files are gone, so the cache stays bounded.
		for id := range s.final {
			if !present[id] {
				delete(s.final, id)
			}
		}
	}()
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, tempPrefix) {
			r.temps = append(r.temps, name)
			continue
		}
		id, ok := strings.CutSuffix(name, fileExt)
		if !ok || !validID(id) {
			continue // the lock file, or nothing of ours
		}
		present[id] = true
		if _, ok := s.final[id]; ok && skipFinal {
			continue
		}
		if !e.Type().IsRegular() {
			r.bad = append(r.bad, fmt.Errorf("%s: %w: not a regular file", id, ErrCorrupt))
			continue
		}
		a, err := s.load(id)
		if errors.Is(err, ErrNotFound) {
			continue // removed since ReadDir by a process that ignored the lock
		}
		if err != nil {
			if errors.Is(err, ErrForged) && a != nil {
				r.forged = append(r.forged, a)
			}
			r.bad = append(r.bad, fmt.Errorf("%s: %w", id, err))
			continue
		}
		if isFinal(a) {
			s.final[id] = finishedAt(a)
		}
		r.approvals = append(r.approvals, a)
	}
	sortApprovals(r.approvals)
	return &r, nil
}

// stamp formats t for messages read by a human at a terminal.
func stamp(t time.Time) string { return t.Local().Format("Jan 2 15:04:05 MST") }
