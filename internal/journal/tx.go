package journal

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/warden-dev/warden/internal/core"
)

// Tx is the journal entry of one call while the call runs. Keep and Record
// fill it; Commit or Abort ends it. Its methods are safe for concurrent use.
type Tx struct {
	s     *Store
	mu    sync.Mutex
	entry core.JournalEntry
	holds []hold
	// inline maps the objects kept in the entry line to their content in
	// base64.
	inline map[string]string
	sizes  map[string]int64 // of the inline objects
	// inlineBytes is their total size, reserved before they are read.
	inlineBytes int64
	done        bool
	// written reports that Prepare put the entry on disk, listing the
	// changes in prepared.
	written  bool
	prepared []core.Change
}

// hold is one object a Tx keeps. The hold file is the Tx's private link to
// the object's inode: whatever another Store prunes or aborts meanwhile,
// Commit can give the object its name back from it.
type hold struct {
	name    string // the hold file in objects/
	sha     string
	size    int64
	created bool // this Tx gave the object its name
}

// Begin starts the entry e. e.ID must be 1 to 64 characters of
// [0-9A-Za-z_-] and name no committed entry; a zero e.Time is set to now.
// Begin refuses an id this Store has indexed without taking the flock;
// the Tx's first append checks again under it, against what every Store
// appended (errExists), so that a Tx never replaces another's entry.
func (s *Store) Begin(e core.JournalEntry) (*Tx, error) {
	const op = "journal.Begin"
	if !validID(e.ID) {
		return nil, fmt.Errorf("%s: invalid id %q", op, e.ID)
	}
	exists, err := s.known(op, e.ID)
	if err != nil {
		return nil, fmt.Errorf("%s: entry %q: %w", op, e.ID, err)
	}
	if exists {
		return nil, fmt.Errorf("%s: entry %q already exists", op, e.ID)
	}
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	e.Changes = slices.Clone(e.Changes)
	return &Tx{s: s, entry: e}, nil
}

// ID returns the entry's id.
func (t *Tx) ID() string { return t.entry.ID }

// StateDir returns the state directory the journal lives in, where a
// connector keeps what every Warden process sharing it must agree on
// (the fs connector: which file each of its writes left).
func (t *Tx) StateDir() string { return filepath.Dir(t.s.root) }

// Keep preserves the regular file name in dir, described by info and
// hashing to sha256, before the caller replaces it by rename or removes it.
// A file of at most 64 KiB is read into the entry, checked to hash to
// sha256: its inode is freed once replaced and nothing is created. A larger
// one is hard-linked into the journal when it can (the caller's rename
// leaves the linked inode with the old content) and copied otherwise,
// checking the copy hashes to sha256. It fails with ErrChanged when name is
// no longer the object info describes, a symlink included. What Keep adds
// is durable once Prepare or Commit returns: syncing then, together with
// the caller's own syncs, costs one disk flush instead of one per file.
func (t *Tx) Keep(dir *os.File, name string, info fs.FileInfo, sha256 string, content []byte) error {
	const op = "journal.Keep"
	switch {
	case !validName(name):
		return fmt.Errorf("%s: invalid name %q", op, name)
	case !validHash(sha256):
		return fmt.Errorf("%s: %q: invalid hash %q", op, name, sha256)
	case info == nil || !info.Mode().IsRegular():
		return fmt.Errorf("%s: %q: not a regular file", op, name)
	}
	if t.finished() {
		return fmt.Errorf("%s: %q: transaction %q already finished", op, name, t.entry.ID)
	}
	s := t.s
	if size := info.Size(); size <= s.inlineMax && t.reserveInline(size) {
		var b64 string
		var err error
		if content != nil {
			b64, err = inlineContent(dir, name, info, sha256, content)
		} else {
			b64, err = readInline(dir, name, info, sha256, s.inlineMax)
		}
		t.mu.Lock()
		defer t.mu.Unlock()
		if err != nil {
			t.inlineBytes -= size
			return fmt.Errorf("%s: %w", op, err)
		}
		if t.done {
			return fmt.Errorf("%s: %q: transaction %q already finished", op, name, t.entry.ID)
		}
		if t.inline == nil {
			t.inline, t.sizes = map[string]string{}, map[string]int64{}
		}
		if _, ok := t.inline[sha256]; ok {
			t.inlineBytes -= size // kept already
		}
		t.inline[sha256], t.sizes[sha256] = b64, size
		return nil
	}
	h := hold{name: tempName(".hold-"), sha: sha256, size: info.Size()}
	s.addLive(h.name, sha256)
	if err := s.keep(dir, name, info, &h); err != nil {
		s.dropLive(h.name)
		return fmt.Errorf("%s: %w", op, err)
	}
	t.mu.Lock()
	if t.done {
		// Committed or aborted while this Keep ran: the hold is nobody's.
		t.mu.Unlock()
		unlinkAt(s.objects, h.name)
		s.dropLive(h.name)
		return fmt.Errorf("%s: %q: transaction %q already finished", op, name, t.entry.ID)
	}
	t.holds = append(t.holds, h)
	t.mu.Unlock()
	return nil
}

// reserveInline reports whether size more bytes fit in what the Tx may
// keep inline, and reserves them if so.
func (t *Tx) reserveInline(size int64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.inlineBytes+size > t.s.inlineTxMax {
		return false
	}
	t.inlineBytes += size
	return true
}

// Len returns the number of changes recorded so far.
func (t *Tx) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.entry.Changes)
}

func (t *Tx) finished() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.done
}

// Record adds c to the entry. It does nothing once the Tx is finished.
func (t *Tx) Record(c core.Change) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.done {
		t.entry.Changes = append(t.entry.Changes, c)
	}
}

// Prepare makes the entry durable before the caller makes the change next
// happen: everything kept so far, the changes recorded so far, and next.
// It is the write-ahead step: a crash after Prepare leaves an entry whose
// last change may not have happened, which undo then finds not in its
// After state and refuses without force. The caller still Records next
// once it happened; Commit appends a replacement entry only if the
// recorded changes differ from the prepared ones.
//
// The entry is appended under the flock and flushed after it is released,
// while during (if not nil) runs: the caller writes and flushes what it is
// about to put in place meanwhile, so the two flushes overlap, as do the
// flushes of concurrent calls. Prepare fails if during does. Once the
// entry is appended, the Tx counts as prepared even if Prepare fails:
// Abort then removes the entry.
func (t *Tx) Prepare(next core.Change, during func() error) error {
	const op = "journal.Prepare"
	t.mu.Lock()
	if t.done {
		t.mu.Unlock()
		return fmt.Errorf("%s: %q: transaction already finished", op, t.entry.ID)
	}
	entry, holds, written := t.entry, slices.Clone(t.holds), t.written
	entry.Changes = append(slices.Clone(entry.Changes), next)
	ef := newEntryFile(entry, holds, maps.Clone(t.inline), maps.Clone(t.sizes))
	t.mu.Unlock()

	s := t.s
	var log *os.File
	err := s.withLock(op, func() error {
		if err := s.restore(holds); err != nil {
			return err
		}
		if err := s.appendEntry(ef, !written); err != nil {
			return err
		}
		// Held until the flush is done, so that a compaction does not
		// close the handle meanwhile.
		s.logMu.RLock()
		log = s.log
		return nil
	})
	if log != nil {
		t.mu.Lock()
		t.written, t.prepared = true, entry.Changes
		t.mu.Unlock()
		flushes := []func() error{func() error {
			defer s.logMu.RUnlock()
			return datasync(log)
		}}
		if len(holds) > 0 {
			flushes = append(flushes, s.objects.Sync) // the links restore made
		}
		if during != nil {
			flushes = append([]func() error{during}, flushes...)
		}
		err = errors.Join(err, syncAll(s.inMemory, flushes...))
	}
	if err != nil {
		return fmt.Errorf("%s: %q: %w", op, entry.ID, err)
	}
	return nil
}

// newEntryFile returns the line of entry, which kept holds and the inline
// objects. It takes the maps, adding the holds to sizes: the caller passes
// copies if the Tx goes on.
func newEntryFile(entry core.JournalEntry, holds []hold, inline map[string]string, sizes map[string]int64) *entryFile {
	ef := &entryFile{JournalEntry: entry, Inline: inline, Objects: sizes}
	for _, h := range holds {
		if ef.Objects == nil {
			ef.Objects = map[string]int64{}
		}
		ef.Objects[h.sha] = h.size
	}
	return ef
}

// Commit writes the entry durably and ends the Tx. A Tx with no changes
// writes nothing (and releases what it kept). After Prepare, the entry is
// already on disk and is replaced only if the recorded changes differ
// from the prepared ones, or removed if none were recorded. When the journal is over its bounds, Commit
// prunes it, never removing the entry just written.
func (t *Tx) Commit() error {
	const op = "journal.Commit"
	t.mu.Lock()
	if t.done {
		t.mu.Unlock()
		return fmt.Errorf("%s: %q: transaction already finished", op, t.entry.ID)
	}
	t.done = true
	// Done: nothing changes the Tx's maps any more, so they are taken, not
	// copied, and the line is made only if it is written.
	holds, entry, written, prepared := t.holds, t.entry, t.written, t.prepared
	inline, sizes := t.inline, t.sizes
	t.holds, t.inline, t.sizes = nil, nil, nil
	t.mu.Unlock()

	s := t.s
	if len(entry.Changes) == 0 {
		if written {
			s.withLock(op, func() error { return s.removeEntry(entry.ID) })
		}
		s.discard(holds)
		return nil
	}
	if written && len(holds) == 0 && sameChanges(prepared, entry.Changes) {
		// The prepared line is the entry and there is nothing to restore:
		// the flock is needed only for a prune, which needPrune decides
		// from what the process knows, under the flock or not.
		s.mu.Lock()
		closed, prune := s.closed, !s.closed && s.needPrune()
		s.mu.Unlock()
		if closed {
			return fmt.Errorf("%s: %q: %w", op, entry.ID, os.ErrClosed)
		}
		if !prune {
			return nil
		}
	}
	ran := false
	err := s.withLock(op, func() error {
		ran = true
		if !written || !sameChanges(prepared, entry.Changes) {
			if err := s.restore(holds); err != nil {
				s.discardLocked(holds)
				return err
			}
			if err := s.writeEntry(newEntryFile(entry, holds, inline, sizes), len(holds) > 0, !written); err != nil {
				s.discardLocked(holds)
				return err
			}
		}
		s.dropHolds(holds)
		if s.needPrune() {
			// The entry is safe; a prune that fails is retried at the next
			// commit, since the journal is still over its bounds.
			_ = s.pruneLocked(entry.ID)
		}
		return nil
	})
	if !ran {
		s.dropHolds(holds)
	}
	if err != nil {
		return fmt.Errorf("%s: %q: %w", op, entry.ID, err)
	}
	return nil
}

// Abort ends the Tx without an entry, removing the objects it added that no
// committed entry holds. It is idempotent, and does nothing after Commit.
func (t *Tx) Abort() {
	t.mu.Lock()
	if t.done {
		t.mu.Unlock()
		return
	}
	t.done = true
	holds, written := t.holds, t.written
	t.holds, t.inline, t.sizes = nil, nil, nil
	t.mu.Unlock()
	if written {
		// The prepared change did not happen: its entry must not stay.
		t.s.withLock("journal.Abort", func() error { return t.s.removeEntry(t.entry.ID) })
	}
	t.s.discard(holds)
}

// sameChanges reports whether two change lists are equal: field by
// field, as their JSON would be, an empty map of entries and none alike.
func sameChanges(a, b []core.Change) bool {
	return slices.EqualFunc(a, b, func(x, y core.Change) bool {
		return x.Op == y.Op && x.Path == y.Path && x.To == y.To && sameState(x.Before, y.Before) && sameState(x.After, y.After)
	})
}

func sameState(a, b core.ObjectState) bool {
	if a.Type != b.Type || a.Mode != b.Mode || a.Size != b.Size || a.SHA256 != b.SHA256 || a.Target != b.Target || len(a.Entries) != len(b.Entries) {
		return false
	}
	for name, ae := range a.Entries {
		be, ok := b.Entries[name]
		if !ok || !sameState(ae, be) {
			return false
		}
	}
	return true
}

// restore gives each held object its name back if a prune or an abort
// elsewhere removed it, so the entry about to be written holds only objects
// that exist.
func (s *Store) restore(holds []hold) error {
	for _, h := range holds {
		err := linkAt(s.objects, h.name, s.objects, h.sha)
		switch {
		case err == nil, isExist(err):
		case isNotExist(err):
			// The hold is gone (pruned after the grace period); the object
			// may still be there.
			if st, serr := statAt(s.objects, h.sha); serr != nil || !st.regular() {
				return fmt.Errorf("object %s: %w", h.sha, ErrNotFound)
			}
		default:
			return fmt.Errorf("object %s: %w", h.sha, err)
		}
	}
	return nil // writeEntry syncs the objects directory
}

// discard releases holds of a Tx that writes no entry.
func (s *Store) discard(holds []hold) {
	if len(holds) == 0 {
		return
	}
	ran := false
	s.withLock("journal.Abort", func() error {
		ran = true
		s.discardLocked(holds)
		return nil
	})
	if !ran {
		// Without the lock, only the holds are surely ours; a prune removes
		// the objects later.
		s.dropHolds(holds)
	}
}

// discardLocked removes holds and the objects they named that no entry and
// no other transaction of this process holds. Another process's
// transaction keeps its own hold and restores the name at its commit.
func (s *Store) discardLocked(holds []hold) {
	s.dropHolds(holds)
	if err := s.idx.sync(s); err != nil {
		return // unsure what entries hold: leave the objects to a prune
	}
	live := s.liveObjects()
	for _, h := range holds {
		if h.created && s.idx.refs[h.sha] == 0 && !live[h.sha] {
			if err := unlinkAt(s.objects, h.sha); err != nil && !isNotExist(err) {
				continue // a prune retries
			}
		}
	}
}

func (s *Store) dropHolds(holds []hold) {
	for _, h := range holds {
		unlinkAt(s.objects, h.name)
		s.dropLive(h.name)
	}
}

// keep makes h.name in objects/ hold the content of name, preferring a hard
// link, and publishes it as h.sha.
func (s *Store) keep(dir *os.File, name string, info fs.FileInfo, h *hold) error {
	if !s.copyOnly {
		err := linkAt(dir, name, s.objects, h.name)
		switch {
		case err == nil:
			return s.keepLinked(name, info, h)
		case isNotExist(err):
			return fmt.Errorf("link %q: %w: %w", name, ErrChanged, err)
		case !linkRefused(err):
			return fmt.Errorf("link %q: %w", name, err)
		}
	}
	return s.keepCopy(dir, name, info, h)
}

// keepLinked checks that the new link is the very file info describes: the
// name may have been replaced between the caller's look and the link.
func (s *Store) keepLinked(name string, info fs.FileInfo, h *hold) error {
	st, err := statAt(s.objects, h.name)
	if err == nil && (!st.regular() || !st.describes(info)) {
		err = ErrChanged
	}
	if err != nil {
		unlinkAt(s.objects, h.name)
		return fmt.Errorf("link %q: %w", name, err)
	}
	return s.publish(name, h)
}

// keepCopy copies name into the hold file, refusing content that does not
// hash to h.sha. An object already kept with that hash is linked instead.
func (s *Store) keepCopy(dir *os.File, name string, info fs.FileInfo, h *hold) error {
	src, err := openRead(dir, name)
	if err != nil {
		if errors.Is(err, errLoop) || isNotExist(err) {
			err = fmt.Errorf("%w: %w", ErrChanged, err)
		}
		return fmt.Errorf("open %q: %w", name, err)
	}
	defer src.Close()
	st, err := statFile(src)
	if err != nil {
		return fmt.Errorf("open %q: %w", name, err)
	}
	if !st.regular() || !st.describes(info) {
		return fmt.Errorf("open %q: %w", name, ErrChanged)
	}
	if s.holdExisting(h) {
		return nil
	}
	dst, err := createExcl(s.objects, h.name)
	if err != nil {
		return fmt.Errorf("copy %q: %w", name, err)
	}
	sum, _, err := copyHashing(dst, src)
	if err == nil && sum != h.sha {
		err = ErrChanged
	}
	if err == nil {
		err = dst.Sync()
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		unlinkAt(s.objects, h.name)
		return fmt.Errorf("copy %q: %w", name, err)
	}
	return s.publish(name, h)
}

// holdExisting links the already kept object h.sha as h's hold, and reports
// whether it did. An object whose size is wrong is not used.
func (s *Store) holdExisting(h *hold) bool {
	st, err := statAt(s.objects, h.sha)
	if err != nil || !st.regular() || st.size != h.size {
		return false
	}
	return linkAt(s.objects, h.sha, s.objects, h.name) == nil
}

// publish names the held object h.sha, unless an object of that name and
// size already exists, and makes the names durable.
func (s *Store) publish(name string, h *hold) error {
	var err error
	for range 3 {
		if err = linkAt(s.objects, h.name, s.objects, h.sha); err == nil {
			h.created = true
			break
		}
		if !isExist(err) {
			break
		}
		var st stat
		if st, err = statAt(s.objects, h.sha); isNotExist(err) {
			continue // pruned just now: link again
		}
		if err != nil || (st.regular() && st.size == h.size) {
			break
		}
		// The object under that name is damaged; ours replaces it.
		tmp := tempName(".tmp-")
		if err = linkAt(s.objects, h.name, s.objects, tmp); err == nil {
			if err = renameAt(s.objects, tmp, h.sha); err != nil {
				unlinkAt(s.objects, tmp)
			}
		}
		h.created = err == nil
		break
	}
	if err != nil {
		unlinkAt(s.objects, h.name)
		return fmt.Errorf("keep %q: %w", name, err)
	}
	return nil
}

// Links counts the journal's own links to the file info describes, whose
// content hashes to sha256: the object of that name and the hold links of
// transactions, in this process or one that was killed before it ended.
// A caller that refuses files with other hard links subtracts these: they
// are no name an agent or a user reaches.
func (t *Tx) Links(sha256 string, info fs.FileInfo) int {
	if !validHash(sha256) || info == nil {
		return 0
	}
	s := t.s
	same := func(name string) bool {
		st, err := statAt(s.objects, name)
		return err == nil && st.regular() && st.sameInode(info)
	}
	n := 0
	if same(sha256) {
		n++
	}
	names, err := readNames(s.objects)
	if err != nil {
		return n
	}
	for _, name := range names {
		if strings.HasPrefix(name, ".hold-") && same(name) {
			n++
		}
	}
	return n
}
