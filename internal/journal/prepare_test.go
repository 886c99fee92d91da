package journal_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/warden-dev/warden/internal/journal"
	"golang.org/x/sys/unix"
)

// TestPrepare_writeAhead checks that Prepare puts the entry and the kept
// content on disk before the caller's change, as a second Store (another
// process, or the same one after a crash) sees it; that Commit of the same
// changes keeps that entry; and that Abort removes it.
func TestPrepare_writeAhead(t *testing.T) {
	state, work := t.TempDir(), t.TempDir()
	s := newStore(t, state, journal.Options{}, false)
	dir := mustOpenDir(t, work)
	path := filepath.Join(work, "f")
	mustWrite(t, path, []byte("old"))

	tx := mustBegin(t, s, "prepared")
	sum := mustKeep(t, tx, dir, "f")
	c := replaceChange("f", sum)
	if err := tx.Prepare(c, nil); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	// Before the change is made, a fresh Store already finds the entry
	// and the old content.
	other := newStore(t, state, journal.Options{}, false)
	e, err := other.Entry("prepared")
	if err != nil || len(e.Changes) != 1 || e.Changes[0].Before.SHA256 != sum {
		t.Fatalf("Entry after Prepare = %+v, %v; want the prepared change", e, err)
	}
	mustReplace(t, path, []byte("new"))
	tx.Record(c)
	before := readLog(t, state)
	if err := tx.Commit(); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if after := readLog(t, state); !bytes.Equal(before, after) {
		t.Errorf("Commit of the prepared changes rewrote the entry:\n%s\nthen\n%s", before, after)
	}
	if got, err := readObject(t, s, sum); err != nil || string(got) != "old" {
		t.Errorf("object = %q, %v; want the old content", got, err)
	}

	// A prepared change that never happened leaves no entry.
	mustWrite(t, filepath.Join(work, "g"), []byte("g"))
	tx = mustBegin(t, s, "aborted")
	sum = mustKeep(t, tx, dir, "g")
	if err := tx.Prepare(replaceChange("g", sum), nil); err != nil {
		t.Fatal(err)
	}
	tx.Abort()
	if _, err := other.Entry("aborted"); !errors.Is(err, journal.ErrNotFound) {
		t.Errorf("Entry of an aborted prepared Tx = %v; want ErrNotFound", err)
	}
	if ids := logIDs(t, state); !slices.Equal(ids, []string{"prepared"}) {
		t.Errorf("entries in the log = %q, want [prepared]", ids)
	}
}

// TestPrepare_commitDiffers checks that when the recorded changes differ
// from the prepared ones (the change failed half-way), Commit rewrites the
// entry with what really happened, or removes it when nothing did.
func TestPrepare_commitDiffers(t *testing.T) {
	state, work := t.TempDir(), t.TempDir()
	s := newStore(t, state, journal.Options{}, false)
	dir := mustOpenDir(t, work)
	for _, n := range []string{"a", "b"} {
		mustWrite(t, filepath.Join(work, n), []byte(n))
	}
	tx := mustBegin(t, s, "half")
	sa := mustKeep(t, tx, dir, "a")
	sb := mustKeep(t, tx, dir, "b")
	tx.Record(replaceChange("a", sa))
	if err := tx.Prepare(replaceChange("b", sb), nil); err != nil {
		t.Fatal(err)
	}
	// b's change failed: only a's is recorded.
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	e, err := newStore(t, state, journal.Options{}, false).Entry("half")
	if err != nil || len(e.Changes) != 1 || e.Changes[0].Path != "a" {
		t.Fatalf("Entry = %+v, %v; want only the change of a", e, err)
	}

	tx = mustBegin(t, s, "none")
	if err := tx.Prepare(replaceChange("a", sa), nil); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Entry("none"); !errors.Is(err, journal.ErrNotFound) {
		t.Errorf("Entry of a Tx whose prepared change never happened = %v; want ErrNotFound", err)
	}
}

// TestPrepare_inline checks content kept inline lives exactly as long as
// its entry: through a Commit that differs from Prepare, not past an Abort
// after Prepare, and through a compaction, for a Store opened afterwards.
func TestPrepare_inline(t *testing.T) {
	state, work := t.TempDir(), t.TempDir()
	s := newStore(t, state, journal.Options{}, false)
	journal.SetCompactFloor(s, 0)
	dir := mustOpenDir(t, work)
	files := map[string][]byte{"a": []byte("content of a"), "b": []byte("content of b"), "c": bytes.Repeat([]byte("aborted "), 256)}
	for n, c := range files {
		mustWrite(t, filepath.Join(work, n), c)
	}
	tx := mustBegin(t, s, "half")
	sa, sb := mustKeep(t, tx, dir, "a"), mustKeep(t, tx, dir, "b")
	tx.Record(replaceChange("a", sa))
	if err := tx.Prepare(replaceChange("b", sb), nil); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil { // b's change never happened
		t.Fatal(err)
	}
	tx = mustBegin(t, s, "gone")
	sc := mustKeep(t, tx, dir, "c")
	if err := tx.Prepare(replaceChange("c", sc), nil); err != nil {
		t.Fatal(err)
	}
	tx.Abort()

	check := func(when string) {
		t.Helper()
		fresh := newStore(t, state, journal.Options{}, false)
		for n, sum := range map[string]string{"a": sa, "b": sb} {
			if got, err := readObject(t, fresh, sum); err != nil || !bytes.Equal(got, files[n]) {
				t.Errorf("%s: Open(%s) = %q, %v; want %q", when, n, got, err, files[n])
			}
		}
		_, err := readObject(t, fresh, sc)
		wantErr(t, when+": Open() of the aborted Tx's content", err, journal.ErrNotFound)
		if got := journalFiles(t, state, "objects"); len(got) != 0 {
			t.Errorf("%s: objects = %q, want none", when, got)
		}
	}
	check("before compaction")
	if err := s.Prune(); err != nil {
		t.Fatal(err)
	}
	if ids := logIDs(t, state); !slices.Equal(ids, []string{"half"}) {
		t.Errorf("entries = %q, want [half]", ids)
	}
	// The aborted Tx's 2 KiB made most of the log waste: it is compacted.
	if log := readLog(t, state); bytes.Count(log, []byte("\n")) != 1 {
		t.Errorf("log after compaction has %d lines, want 1:\n%s", bytes.Count(log, []byte("\n")), log)
	}
	check("after compaction")
}

// TestPrepare_during checks the caller's work that Prepare runs while the
// entry is flushed: it runs once, a failure fails Prepare (and Abort then
// removes the entry), and it runs without the journal's lock, so that
// another call can prepare meanwhile. It runs with the flushes run
// concurrently and one after the other, as on a file system in memory.
func TestPrepare_during(t *testing.T) {
	for _, inMemory := range []bool{false, true} {
		t.Run(fmt.Sprintf("inMemory=%v", inMemory), func(t *testing.T) { testPrepareDuring(t, inMemory) })
	}
}

// TestOpen_inMemory checks a journal on tmpfs is taken for one in memory
// and one on the test's temporary directory for what that directory is.
func TestOpen_inMemory(t *testing.T) {
	var st unix.Statfs_t
	if err := unix.Statfs("/dev/shm", &st); err != nil || st.Type != unix.TMPFS_MAGIC {
		t.Skip("no tmpfs at /dev/shm")
	}
	shm, err := os.MkdirTemp("/dev/shm", "journal-test-")
	if err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { os.RemoveAll(shm) })
	if s := newStore(t, shm, journal.Options{}, false); !journal.InMemory(s) {
		t.Error("a journal on tmpfs is not taken for one in memory")
	}
	tmp := t.TempDir()
	if err := unix.Statfs(tmp, &st); err != nil {
		t.Fatal(err)
	}
	want := st.Type == unix.TMPFS_MAGIC || st.Type == unix.RAMFS_MAGIC
	if s := newStore(t, tmp, journal.Options{}, false); journal.InMemory(s) != want {
		t.Errorf("a journal in %s: in memory = %v, want %v", tmp, journal.InMemory(s), want)
	}
}

func testPrepareDuring(t *testing.T, inMemory bool) {
	state, work := t.TempDir(), t.TempDir()
	s := newStore(t, state, journal.Options{}, false)
	journal.SetInMemory(s, inMemory)
	dir := mustOpenDir(t, work)
	for _, name := range []string{"f", "g"} {
		mustWrite(t, filepath.Join(work, name), []byte("old "+name))
	}

	tx := mustBegin(t, s, "first")
	sum := mustKeep(t, tx, dir, "f")
	runs := 0
	err := tx.Prepare(replaceChange("f", sum), func() error {
		runs++
		// Another call prepares and commits while this one's work runs.
		done := make(chan error, 1)
		go func() {
			other := mustBegin(t, s, "second")
			c := replaceChange("g", mustKeep(t, other, dir, "g"))
			if err := other.Prepare(c, nil); err != nil {
				done <- err
				return
			}
			other.Record(c)
			done <- other.Commit()
		}()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			return errors.New("another Prepare waited for this one's work")
		}
	})
	if err != nil || runs != 1 {
		t.Fatalf("Prepare = %v after %d runs of its work; want nil after 1", err, runs)
	}
	tx.Abort()

	failing := errors.New("disk full")
	tx = mustBegin(t, s, "failed")
	err = tx.Prepare(replaceChange("f", mustKeep(t, tx, dir, "f")), func() error { return failing })
	if !errors.Is(err, failing) {
		t.Fatalf("Prepare with failing work = %v; want it to fail with it", err)
	}
	if _, err := s.Entry("failed"); err != nil {
		t.Errorf("Entry of a Tx whose work failed = %v; want it prepared until Abort", err)
	}
	tx.Abort()
	other := newStore(t, state, journal.Options{}, false)
	for id, want := range map[string]error{"first": journal.ErrNotFound, "failed": journal.ErrNotFound, "second": nil} {
		if _, err := other.Entry(id); !errors.Is(err, want) {
			t.Errorf("Entry(%s) = %v; want %v", id, err, want)
		}
	}
}
