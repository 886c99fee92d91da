package journal_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/warden-dev/warden/internal/journal"
)

// commitFile keeps work/name (written with content) in a new entry id.
func commitFile(t *testing.T, s *journal.Store, work, id, name string, content []byte) string {
	t.Helper()
	mustWrite(t, filepath.Join(work, name), content)
	tx := mustBegin(t, s, id)
	sum := mustKeep(t, tx, mustOpenDir(t, work), name)
	tx.Record(replaceChange(name, sum))
	if err := tx.Commit(); err != nil {
		t.Fatalf("Commit(%s) = %v", id, err)
	}
	mustReplace(t, filepath.Join(work, name), []byte("replaced"))
	return sum
}

// present reports which of ids have an entry and which of sums an object.
func present(t *testing.T, s *journal.Store, ids, sums []string) (entries, objects []string) {
	t.Helper()
	for _, id := range ids {
		if _, err := s.Entry(id); err == nil {
			entries = append(entries, id)
		} else if !errors.Is(err, journal.ErrNotFound) {
			t.Fatalf("Entry(%s) = %v", id, err)
		}
	}
	for _, sum := range sums {
		if _, err := readObject(t, s, sum); err == nil {
			objects = append(objects, sum)
		} else if !errors.Is(err, journal.ErrNotFound) {
			t.Fatalf("Open(%s) = %v", sum, err)
		}
	}
	return entries, objects
}

func TestStore_Prune_age(t *testing.T) {
	state, work := t.TempDir(), t.TempDir()
	clk := newClock()
	s := newStore(t, state, journal.Options{MaxAge: 30 * 24 * time.Hour, Now: clk.Now}, false)
	old := commitFile(t, s, work, "old", "a", []byte("old"))
	shared := commitFile(t, s, work, "old-shared", "c", []byte("shared"))
	clk.Add(10 * 24 * time.Hour)
	young := commitFile(t, s, work, "young", "b", []byte("young"))
	commitFile(t, s, work, "young-shared", "d", []byte("shared"))

	clk.Add(25 * 24 * time.Hour) // the old entries are 35 days old, the young 25
	if err := s.Prune(); err != nil {
		t.Fatal(err)
	}
	entries, objects := present(t, s, []string{"old", "old-shared", "young", "young-shared"}, []string{old, young, shared})
	if want := []string{"young", "young-shared"}; !slices.Equal(entries, want) {
		t.Errorf("entries after Prune = %q, want %q", entries, want)
	}
	if want := []string{young, shared}; !slices.Equal(objects, want) {
		t.Errorf("objects after Prune = %q, want %q (not %s)", objects, want, old)
	}

	clk.Add(10 * 24 * time.Hour)
	if err := s.Prune(); err != nil {
		t.Fatal(err)
	}
	if got := readLog(t, state); len(got) != 0 {
		t.Errorf("entry log 35 days on = %q, want it compacted to nothing", got)
	}
	if got := journalFiles(t, state, "objects"); len(got) != 0 {
		t.Errorf("objects 35 days on = %q, want none", got)
	}
}

// TestStore_Prune_size checks Commit prunes the oldest entries once the
// objects held pass MaxBytes, keeping the entry it commits.
func TestStore_Prune_size(t *testing.T) {
	state, work := t.TempDir(), t.TempDir()
	clk := newClock()
	s := newStore(t, state, journal.Options{MaxBytes: 100, Now: clk.Now}, false)
	content := func(c byte) []byte { return bytes.Repeat([]byte{c}, 40) }
	var sums []string
	for i, id := range []string{"e1", "e2", "e3"} {
		clk.Add(time.Minute)
		sums = append(sums, commitFile(t, s, work, id, id, content(byte('a'+i))))
	}
	// 120 bytes held: the third commit pruned e1.
	entries, objects := present(t, s, []string{"e1", "e2", "e3"}, sums)
	if want := []string{"e2", "e3"}; !slices.Equal(entries, want) {
		t.Errorf("entries = %q, want %q", entries, want)
	}
	if want := sums[1:]; !slices.Equal(objects, want) {
		t.Errorf("objects = %q, want %q", objects, want)
	}

	// One entry larger than the budget survives its own commit.
	clk.Add(time.Minute)
	big := commitFile(t, s, work, "big", "big", bytes.Repeat([]byte("x"), 150))
	entries, objects = present(t, s, []string{"e2", "e3", "big"}, append(sums[1:], big))
	if want := []string{"big"}; !slices.Equal(entries, want) {
		t.Errorf("entries after a big commit = %q, want %q", entries, want)
	}
	if want := []string{big}; !slices.Equal(objects, want) {
		t.Errorf("objects after a big commit = %q, want %q", objects, want)
	}
}

// TestStore_Prune_liveTx checks a prune never takes the objects of a
// transaction still running, in this Store or another.
func TestStore_Prune_liveTx(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			state, work := t.TempDir(), t.TempDir()
			clk := newClock()
			opts := journal.Options{MaxAge: time.Hour, Now: clk.Now}
			s := newStore(t, state, opts, m.copyOnly)
			other := newStore(t, state, opts, false)
			dir := mustOpenDir(t, work)
			old := commitFile(t, s, work, "old", "a", []byte("same content"))

			// A call keeps content equal to "old"'s object, and a new one.
			mustWrite(t, filepath.Join(work, "b"), []byte("same content"))
			mustWrite(t, filepath.Join(work, "c"), []byte("new content"))
			tx := mustBegin(t, s, "live")
			mustKeep(t, tx, dir, "b")
			fresh := mustKeep(t, tx, dir, "c")
			tx.Record(replaceChange("b", old))
			tx.Record(replaceChange("c", fresh))

			// Meanwhile "old" expires and both Stores prune; the other
			// Store knows nothing of tx and removes the now unheld object.
			clk.Add(2 * time.Hour)
			for _, st := range []*journal.Store{s, other} {
				if err := st.Prune(); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := s.Entry("old"); !errors.Is(err, journal.ErrNotFound) {
				t.Fatalf("Entry(old) = %v, want it pruned", err)
			}

			mustReplace(t, filepath.Join(work, "b"), []byte("b2"))
			mustReplace(t, filepath.Join(work, "c"), []byte("c2"))
			if err := tx.Commit(); err != nil {
				t.Fatalf("Commit() = %v", err)
			}
			for sum, want := range map[string]string{old: "same content", fresh: "new content"} {
				got, err := readObject(t, s, sum)
				if err != nil || string(got) != want {
					t.Errorf("Open(%s) = %q, %v; want %q", sum, got, err, want)
				}
			}
			checkIntact(t, state, s, 1)
		})
	}
}

// TestStore_Prune_temps checks stale temp files go, unless a transaction
// of this process still holds them.
func TestStore_Prune_temps(t *testing.T) {
	state, work := t.TempDir(), t.TempDir()
	s := newStore(t, state, journal.Options{}, false)
	journal.SetInlineMax(s, -1) // object files: nothing inline
	journal.SetGrace(s, 0)
	for _, p := range []string{"objects/.tmp-stray", "objects/.hold-stray", ".tmp-stray"} {
		mustWrite(t, filepath.Join(state, "journal", p), []byte("x"))
	}
	mustWrite(t, filepath.Join(state, "journal", "objects", "unknown-name"), []byte("x"))
	mustWrite(t, filepath.Join(work, "a"), []byte("a"))
	tx := mustBegin(t, s, "live")
	sum := mustKeep(t, tx, mustOpenDir(t, work), "a")
	time.Sleep(10 * time.Millisecond) // past the coarse file clock
	if err := s.Prune(); err != nil {
		t.Fatal(err)
	}
	if got := tempFiles(journalFiles(t, state, "")); len(got) != 0 {
		t.Errorf("temp files in journal/ = %q, want none", got)
	}
	objects := journalFiles(t, state, "objects")
	if !slices.Contains(objects, sum) || !slices.Contains(objects, "unknown-name") || len(tempFiles(objects)) != 1 {
		t.Errorf("objects = %q, want %s, unknown-name and the live hold only", objects, sum)
	}
	tx.Record(replaceChange("a", sum))
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := tempFiles(journalFiles(t, state, "objects")); len(got) != 0 {
		t.Errorf("temp files after commit = %q, want none", got)
	}
	if _, err := os.Stat(filepath.Join(state, "journal", "objects", "unknown-name")); err != nil {
		t.Errorf("Prune removed a file it does not own: %v", err)
	}
}

// TestStore_Prune_sizeInline checks content kept inline counts against
// MaxBytes: the entry holding the most, oldest, goes first, and its
// content with it.
func TestStore_Prune_sizeInline(t *testing.T) {
	state, work := t.TempDir(), t.TempDir()
	clk := newClock()
	s := newStore(t, state, journal.Options{MaxBytes: 50 << 10, Now: clk.Now}, false)
	big := commitFile(t, s, work, "big", "a", bytes.Repeat([]byte("b"), 60<<10))
	if got := journalFiles(t, state, "objects"); len(got) != 0 {
		t.Fatalf("objects = %q, want none: the 60 KiB file is inline", got)
	}
	clk.Add(time.Minute)
	small := commitFile(t, s, work, "small", "b", []byte("small"))
	entries, objects := present(t, s, []string{"big", "small"}, []string{big, small})
	if want := []string{"small"}; !slices.Equal(entries, want) {
		t.Errorf("entries = %q, want %q", entries, want)
	}
	if want := []string{small}; !slices.Equal(objects, want) {
		t.Errorf("objects = %q, want %q", objects, want)
	}
	if bytes.Contains(readLog(t, state), bytes.Repeat([]byte("YmJi"), 100)) {
		t.Error("the pruned entry's inline content is still in the log")
	}
}
