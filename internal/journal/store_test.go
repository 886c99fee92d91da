package journal_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/journal"
)

// TestEntry_file checks an entry file is private JSON that decodes back
// into the very core.JournalEntry committed.
func TestEntry_file(t *testing.T) {
	state, work := t.TempDir(), t.TempDir()
	clk := newClock()
	s := newStore(t, state, journal.Options{Now: clk.Now}, false)
	mustWrite(t, filepath.Join(work, "a"), []byte("a"))
	want := core.JournalEntry{
		ID: "01JQ7Z_call-1", Time: clk.Now().Add(-time.Second + 123456789),
		Agent: "bot", Tool: "edit", Resource: "docs", Undoes: "01JQ7Y",
	}
	tx, err := s.Begin(want)
	if err != nil {
		t.Fatal(err)
	}
	sum := mustKeep(t, tx, mustOpenDir(t, work), "a")
	want.Changes = []core.Change{
		replaceChange("a", sum),
		{Op: "move", Path: "b", To: "c", Before: core.ObjectState{Type: "symlink", Target: "x"}, After: core.ObjectState{Type: "symlink", Target: "x"}},
		{Op: "remove", Path: "d", Before: core.ObjectState{Type: "dir", Mode: 0o755, Entries: map[string]core.ObjectState{"e": {Type: "file", Size: 3, SHA256: sum}}}},
	}
	for _, c := range want.Changes {
		tx.Record(c)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}

	path := filepath.Join(state, "journal", "entries.log")
	data := logEntries(t, state)[want.ID]
	var got core.JournalEntry
	if err := json.Unmarshal([]byte(data), &got); err != nil {
		t.Fatalf("entry line is not JSON: %v\n%s", err, data)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entry line mismatch (-want +got):\n%s", diff)
	}
	viaAPI, err := s.Entry(want.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&want, viaAPI); diff != "" {
		t.Errorf("Entry() mismatch (-want +got):\n%s", diff)
	}
	for _, p := range []struct {
		path string
		want os.FileMode
	}{
		{path, 0o600},
		{filepath.Join(state, "journal"), os.ModeDir | 0o700},
		{filepath.Join(state, "journal", "objects"), os.ModeDir | 0o700},
		{filepath.Join(state, "journal", "lock"), 0o600},
	} {
		fi, err := os.Lstat(p.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != p.want {
			t.Errorf("mode of %s = %v, want %v", p.path, fi.Mode(), p.want)
		}
	}
	if _, err := os.Lstat(filepath.Join(state, "journal", "entries")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("journal/entries exists (err %v); want the log only", err)
	}
}

// TestStore_Entry_corrupt checks an entry line changed in place reads as
// corrupt, and a line that does not parse is skipped.
func TestStore_Entry_corrupt(t *testing.T) {
	state := t.TempDir()
	s := newStore(t, state, journal.Options{}, false)
	for _, id := range []string{"good", "bad"} {
		tx := mustBegin(t, s, id)
		tx.Record(core.Change{Op: "mkdir", Path: id, After: core.ObjectState{Type: "dir"}})
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	data := readLog(t, state)
	line := logEntries(t, state)["bad"]
	at := bytes.Index(data, []byte(line))
	copy(data[at:], "{not json")
	data = append(data, "{\"id\":\"garbage\"\n"...)
	f, err := os.OpenFile(logPath(state), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	// "bad" keeps its length, changed in place; a torn line follows.
	if _, err := f.WriteAt(data[at:], int64(at)); err != nil {
		t.Fatal(err)
	}
	f.Close()

	_, err = s.Entry("bad")
	wantErr(t, "Entry(bad)", err, journal.ErrCorrupt)
	other := newStore(t, state, journal.Options{}, false)
	for _, st := range []*journal.Store{s, other} {
		for _, id := range []string{"absent", "garbage"} {
			_, err := st.Entry(id)
			wantErr(t, "Entry("+id+")", err, journal.ErrNotFound)
		}
		if e, err := st.Entry("good"); err != nil || e.Changes[0].Path != "good" {
			t.Errorf("Entry(good) = %+v, %v", e, err)
		}
	}
	_, err = other.Entry("bad")
	wantErr(t, "Entry(bad) in a fresh Store", err, journal.ErrNotFound)
}

// TestBegin_badID checks ids that are not safe file names are refused and
// create nothing.
func TestBegin_badID(t *testing.T) {
	state := t.TempDir()
	s := newStore(t, state, journal.Options{}, false)
	for _, id := range []string{"", "../x", "a/b", "a.b", ".hidden", "a b", "é", strings.Repeat("a", 65)} {
		if _, err := s.Begin(core.JournalEntry{ID: id}); err == nil {
			t.Errorf("Begin(%q) = nil, want an error", id)
		}
		_, err := s.Entry(id)
		wantErr(t, fmt.Sprintf("Entry(%q)", id), err, journal.ErrNotFound)
	}
	if _, err := os.Lstat(filepath.Join(state, "journal", "x.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("journal/x.json exists (err %v)", err)
	}
	id := strings.Repeat("Az09_-", 10) + "abcd"
	tx, err := s.Begin(core.JournalEntry{ID: id})
	if err != nil {
		t.Fatalf("Begin(64 chars) = %v", err)
	}
	tx.Record(core.Change{Op: "mkdir", Path: "d", After: core.ObjectState{Type: "dir"}})
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Begin(core.JournalEntry{ID: id}); err == nil {
		t.Errorf("Begin(%q) of a committed id = nil, want an error", id)
	}
}

// TestBegin_idTakenMeanwhile checks a Tx whose id another Store commits
// after Begin fails at its first append, by Prepare or by Commit, and
// leaves the other's entry as it was.
func TestBegin_idTakenMeanwhile(t *testing.T) {
	for _, prepare := range []bool{false, true} {
		state := t.TempDir()
		a := newStore(t, state, journal.Options{}, false)
		b := newStore(t, state, journal.Options{}, false)
		late, err := b.Begin(core.JournalEntry{ID: "X1"})
		if err != nil {
			t.Fatal(err)
		}
		first, err := a.Begin(core.JournalEntry{ID: "X1", Resource: "a"})
		if err != nil {
			t.Fatal(err)
		}
		first.Record(core.Change{Op: "mkdir", Path: "a", After: core.ObjectState{Type: "dir"}})
		if err := first.Commit(); err != nil {
			t.Fatal(err)
		}
		ch := core.Change{Op: "mkdir", Path: "b", After: core.ObjectState{Type: "dir"}}
		if prepare {
			err = late.Prepare(ch, nil)
			late.Abort()
		} else {
			late.Record(ch)
			err = late.Commit()
		}
		if err == nil {
			t.Errorf("prepare=%v: the second Tx of X1 = nil, want an error", prepare)
		}
		for _, s := range []*journal.Store{a, b} {
			e, err := s.Entry("X1")
			if err != nil || e.Resource != "a" || len(e.Changes) != 1 || e.Changes[0].Path != "a" {
				t.Errorf("prepare=%v: Entry(X1) = %+v, %v; want the first Tx's", prepare, e, err)
			}
		}
		if _, err := b.Begin(core.JournalEntry{ID: "X1"}); err == nil {
			t.Errorf("prepare=%v: Begin(X1) after the failure = nil, want an error", prepare)
		}
	}
}

func TestOpen_invalid(t *testing.T) {
	if _, err := journal.Open("", journal.Options{}); err == nil {
		t.Error(`Open("") = nil, want an error`)
	}
	if _, err := journal.Open(t.TempDir(), journal.Options{MaxBytes: -1}); err == nil {
		t.Error("Open(MaxBytes -1) = nil, want an error")
	}
	// A journal directory that is a symlink elsewhere is refused.
	state, elsewhere := t.TempDir(), t.TempDir()
	os.Symlink(elsewhere, filepath.Join(state, "journal"))
	if s, err := journal.Open(state, journal.Options{}); err == nil {
		s.Close()
		t.Error("Open(journal symlink) = nil, want an error")
	}
	if des, _ := os.ReadDir(elsewhere); len(des) != 0 {
		t.Errorf("Open wrote through the symlink: %v", des)
	}
}

func TestOpen_fixesMode(t *testing.T) {
	state := t.TempDir()
	os.MkdirAll(filepath.Join(state, "journal", "objects"), 0o755)
	newStore(t, state, journal.Options{}, false)
	for _, d := range []string{"journal", "journal/objects"} {
		fi, _ := os.Lstat(filepath.Join(state, d))
		if fi.Mode().Perm() != 0o700 {
			t.Errorf("mode of %s = %v, want 0700", d, fi.Mode().Perm())
		}
	}
}

// TestStore_History checks filtering by resource and by Path or To, and the
// newest-first order.
func TestStore_History(t *testing.T) {
	clk := newClock()
	s := newStore(t, t.TempDir(), journal.Options{Now: clk.Now}, false)
	t0 := clk.Now().Add(-time.Hour)
	commit := func(id, resource string, at time.Duration, changes ...core.Change) {
		t.Helper()
		tx, err := s.Begin(core.JournalEntry{ID: id, Time: t0.Add(at), Resource: resource})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range changes {
			tx.Record(c)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	create := func(p string) core.Change {
		return core.Change{Op: "create", Path: p, After: core.ObjectState{Type: "file"}}
	}
	commit("e1", "docs", 1*time.Minute, create("a.txt"))
	commit("e2", "docs", 3*time.Minute, create("b.txt"))
	commit("e3", "other", 4*time.Minute, create("a.txt"))
	commit("e4", "docs", 5*time.Minute, core.Change{Op: "move", Path: "b.txt", To: "a.txt"})
	commit("e5", "docs", 2*time.Minute, create("c.txt"), create("a.txt"))
	commit("e6", "docs", 5*time.Minute, create("a.txt")) // same time as e4: id breaks the tie
	commit("e7", "docs", 6*time.Minute, create("a.txt/x"))

	tests := []struct {
		resource, path string
		want           []string
	}{
		{"docs", "a.txt", []string{"e6", "e4", "e5", "e1"}},
		{"docs", "b.txt", []string{"e4", "e2"}},
		{"other", "a.txt", []string{"e3"}},
		{"docs", "missing", nil},
		{"nope", "a.txt", nil},
	}
	for _, tt := range tests {
		got, err := s.History(tt.resource, tt.path)
		if err != nil {
			t.Fatalf("History(%q, %q) = %v", tt.resource, tt.path, err)
		}
		var ids []string
		for _, e := range got {
			ids = append(ids, e.ID)
		}
		if !slices.Equal(ids, tt.want) {
			t.Errorf("History(%q, %q) = %q, want %q", tt.resource, tt.path, ids, tt.want)
		}
	}
}

// TestStore_History_otherStore checks History sees entries another Store
// committed.
func TestStore_History_otherStore(t *testing.T) {
	state := t.TempDir()
	a := newStore(t, state, journal.Options{}, false)
	b := newStore(t, state, journal.Options{}, false)
	tx := mustBegin(t, b, "from-b")
	tx.Record(core.Change{Op: "create", Path: "f"})
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	got, err := a.History("docs", "f")
	if err != nil || len(got) != 1 || got[0].ID != "from-b" {
		t.Errorf("History() = %v, %v; want [from-b]", got, err)
	}
}

// TestStore_concurrent runs two Stores on one journal, committing,
// aborting and pruning at once, then checks every committed entry and
// every object it holds is intact.
func TestStore_concurrent(t *testing.T) {
	state, work := t.TempDir(), t.TempDir()
	stores := []*journal.Store{
		newStore(t, state, journal.Options{}, false),
		newStore(t, state, journal.Options{}, true),
	}
	dir := mustOpenDir(t, work)
	// Shared files are written before the workers start: a file written in
	// place after Keep linked it is the corruption Open detects, not a race
	// this test is about.
	for i := range 3 {
		os.WriteFile(filepath.Join(work, fmt.Sprintf("shared-%d", i)), []byte(fmt.Sprint("shared ", i)), 0o644)
	}
	const workers, calls = 4, 15
	var wg sync.WaitGroup
	errs := make(chan error, workers*calls)
	for w := range workers {
		wg.Go(func() {
			s := stores[w%2]
			for i := range calls {
				id := fmt.Sprintf("w%d-c%d", w, i)
				own := fmt.Sprintf("own-%d-%d", w, i)
				shared := fmt.Sprintf("shared-%d", i%3)
				os.WriteFile(filepath.Join(work, own), []byte("content "+id), 0o644)
				tx := mustBegin(t, s, id)
				for _, name := range []string{own, shared} {
					sum, err := keepRacing(tx, dir, work, name)
					if err != nil {
						errs <- fmt.Errorf("%s: Keep(%s): %w", id, name, err)
						continue
					}
					tx.Record(replaceChange(name, sum))
				}
				if i%5 == 4 {
					tx.Abort()
					s.Prune()
					continue
				}
				if err := tx.Commit(); err != nil {
					errs <- fmt.Errorf("%s: Commit: %w", id, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	checkIntact(t, state, stores[0], workers*calls*4/5)
}

// keepRacing keeps dir/name while other goroutines use the same names; a
// file that is not yet written is skipped.
func keepRacing(tx *journal.Tx, dir *os.File, work, name string) (string, error) {
	path := filepath.Join(work, name)
	info, err := os.Lstat(path)
	if err != nil {
		return "", nil
	}
	content, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	sum := hash(content)
	return sum, tx.Keep(dir, name, info, sum, nil)
}

// checkIntact checks the journal holds want entries, every object they
// name opens with its content, no object is unheld, and no temp is left.
func checkIntact(t *testing.T, state string, s *journal.Store, want int) {
	t.Helper()
	names := logIDs(t, state)
	if len(names) != want {
		t.Errorf("entries = %d, want %d", len(names), want)
	}
	held := map[string]bool{}
	for _, n := range names {
		e, err := s.Entry(n)
		if err != nil {
			t.Errorf("Entry(%s) = %v", n, err)
			continue
		}
		for _, c := range e.Changes {
			if c.Before.SHA256 == "" {
				continue
			}
			held[c.Before.SHA256] = true
			if _, err := readObject(t, s, c.Before.SHA256); err != nil {
				t.Errorf("entry %s: Open(%s) = %v", e.ID, c.Before.SHA256, err)
			}
		}
	}
	if err := s.Prune(); err != nil {
		t.Fatal(err)
	}
	objects := journalFiles(t, state, "objects")
	if tmp := tempFiles(objects); len(tmp) != 0 {
		t.Errorf("temp or hold files left: %q", tmp)
	}
	for _, o := range objects {
		if !held[o] {
			t.Errorf("object %s is held by no entry", o)
		}
	}
}
