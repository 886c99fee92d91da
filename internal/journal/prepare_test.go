package journal_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/warden-dev/warden/internal/journal"
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
	if err := tx.Prepare(c); err != nil {
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
	if err := tx.Prepare(replaceChange("g", sum)); err != nil {
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
	if err := tx.Prepare(replaceChange("b", sb)); err != nil {
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
	if err := tx.Prepare(replaceChange("a", sa)); err != nil {
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
	if err := tx.Prepare(replaceChange("b", sb)); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil { // b's change never happened
		t.Fatal(err)
	}
	tx = mustBegin(t, s, "gone")
	sc := mustKeep(t, tx, dir, "c")
	if err := tx.Prepare(replaceChange("c", sc)); err != nil {
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
