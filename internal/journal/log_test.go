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
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/journal"
	"golang.org/x/sys/unix"
)

func mkdirChange(path string) core.Change {
	return core.Change{Op: "mkdir", Path: path, After: core.ObjectState{Type: "dir"}}
}

func commitChanges(t *testing.T, s *journal.Store, e core.JournalEntry, changes ...core.Change) {
	t.Helper()
	tx, err := s.Begin(e)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range changes {
		tx.Record(c)
	}
	if err := tx.Commit(); err != nil {
		t.Fatalf("Commit(%s) = %v", e.ID, err)
	}
}

func appendRaw(t *testing.T, state string, data string) {
	t.Helper()
	f, err := os.OpenFile(logPath(state), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(data); err != nil {
		t.Fatal(err)
	}
}

// TestLog_tornLine checks a last line torn by a crash: the entries before
// it read back intact, the torn one is absent, and the next commit starts
// a fresh line that reads back.
func TestLog_tornLine(t *testing.T) {
	state := t.TempDir()
	s := newStore(t, state, journal.Options{}, false)
	commitChanges(t, s, core.JournalEntry{ID: "e1", Resource: "docs"}, mkdirChange("a"))
	commitChanges(t, s, core.JournalEntry{ID: "e2", Resource: "docs"}, mkdirChange("b"))
	want := map[string]*core.JournalEntry{}
	for _, id := range []string{"e1", "e2"} {
		e, err := s.Entry(id)
		if err != nil {
			t.Fatal(err)
		}
		want[id] = e
	}
	line := strings.Replace(logEntries(t, state)["e2"], `"e2"`, `"torn"`, 1)
	appendRaw(t, state, line[:len(line)/2])
	before := readLog(t, state)

	s2 := newStore(t, state, journal.Options{}, false)
	for id, w := range want {
		got, err := s2.Entry(id)
		if err != nil {
			t.Fatalf("Entry(%s) after a torn line = %v", id, err)
		}
		if diff := cmp.Diff(w, got); diff != "" {
			t.Errorf("Entry(%s) mismatch (-want +got):\n%s", id, diff)
		}
	}
	_, err := s2.Entry("torn")
	wantErr(t, "Entry(torn)", err, journal.ErrNotFound)
	if _, err := s2.Begin(core.JournalEntry{ID: "torn"}); err != nil {
		t.Errorf("Begin(torn) = %v, want the id free", err)
	}

	commitChanges(t, s2, core.JournalEntry{ID: "e3", Resource: "docs"}, mkdirChange("c"))
	after := readLog(t, state)
	if !bytes.HasPrefix(after, before) {
		t.Fatalf("the commit changed the log before its end:\n%s\nthen\n%s", before, after)
	}
	added := after[len(before):]
	if added[0] != '\n' || bytes.Count(added, []byte("\n")) != 2 || !bytes.Contains(added, []byte(`"id":"e3"`)) {
		t.Errorf("appended %q, want a '\\n' ending the torn line, then e3's line", added)
	}
	for _, st := range []*journal.Store{s, s2, newStore(t, state, journal.Options{}, false)} {
		if e, err := st.Entry("e3"); err != nil || e.Changes[0].Path != "c" {
			t.Errorf("Entry(e3) = %+v, %v", e, err)
		}
		if h, err := st.History("docs", "b"); err != nil || len(h) != 1 || h[0].ID != "e2" {
			t.Errorf("History(b) = %v, %v; want [e2]", h, err)
		}
	}
	if ids := logIDs(t, state); !slices.Equal(ids, []string{"e1", "e2", "e3"}) {
		t.Errorf("entries in the log = %q", ids)
	}
}

// TestLog_replaceAndRemove checks what a fresh Store sees after a Prepare
// that Commit replaced, one Abort removed, and one an empty Commit removed,
// and that the log holds a line for each step.
func TestLog_replaceAndRemove(t *testing.T) {
	state := t.TempDir()
	s := newStore(t, state, journal.Options{}, false)

	tx := mustBegin(t, s, "replaced")
	tx.Record(mkdirChange("a"))
	if err := tx.Prepare(mkdirChange("b"), nil); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil { // b's change did not happen
		t.Fatal(err)
	}
	tx = mustBegin(t, s, "aborted")
	if err := tx.Prepare(mkdirChange("c"), nil); err != nil {
		t.Fatal(err)
	}
	tx.Abort()
	tx = mustBegin(t, s, "emptied")
	if err := tx.Prepare(mkdirChange("d"), nil); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}

	fresh := newStore(t, state, journal.Options{}, false)
	e, err := fresh.Entry("replaced")
	if err != nil || len(e.Changes) != 1 || e.Changes[0].Path != "a" {
		t.Errorf("Entry(replaced) = %+v, %v; want only the change of a", e, err)
	}
	for _, id := range []string{"aborted", "emptied"} {
		_, err := fresh.Entry(id)
		wantErr(t, "Entry("+id+")", err, journal.ErrNotFound)
	}
	if h, err := fresh.History("docs", "b"); err != nil || len(h) != 0 {
		t.Errorf("History(b) = %v, %v; want none", h, err)
	}
	if _, err := fresh.Begin(core.JournalEntry{ID: "aborted"}); err != nil {
		t.Errorf("Begin(aborted) = %v, want the id free", err)
	}
	lines := strings.Split(strings.TrimSuffix(string(readLog(t, state)), "\n"), "\n")
	wantLines := []string{`"id":"replaced"`, `"id":"replaced"`, `"id":"aborted"`, `{"id":"aborted","removed":true}`, `"id":"emptied"`, `{"id":"emptied","removed":true}`}
	if len(lines) != len(wantLines) {
		t.Fatalf("log has %d lines, want %d:\n%s", len(lines), len(wantLines), strings.Join(lines, "\n"))
	}
	for i, w := range wantLines {
		if !strings.Contains(lines[i], w) {
			t.Errorf("log line %d = %s, want it to hold %s", i, lines[i], w)
		}
	}
}

// TestLog_compact checks a prune that drops entries rewrites the log with
// the other entries' lines byte for byte, which a Store opened before
// still reads, and that a log mostly of replaced lines and tombstones is
// compacted too.
func TestLog_compact(t *testing.T) {
	state, work := t.TempDir(), t.TempDir()
	clk := newClock()
	opts := journal.Options{MaxAge: 30 * 24 * time.Hour, Now: clk.Now}
	s := newStore(t, state, opts, false)
	other := newStore(t, state, opts, false)
	old := commitFile(t, s, work, "old", "a", []byte("old"))
	clk.Add(10 * 24 * time.Hour)
	young := commitFile(t, s, work, "young", "b", []byte("young"))
	commitChanges(t, s, core.JournalEntry{ID: "dir", Resource: "docs"}, mkdirChange("d"))
	tx := mustBegin(t, s, "gone")
	if err := tx.Prepare(mkdirChange("e"), nil); err != nil {
		t.Fatal(err)
	}
	tx.Abort()
	live := logEntries(t, state)
	if _, err := other.Entry("young"); err != nil { // other reads the old log
		t.Fatal(err)
	}
	oldInode, err := os.Stat(logPath(state))
	if err != nil {
		t.Fatal(err)
	}

	clk.Add(25 * 24 * time.Hour)
	if err := s.Prune(); err != nil {
		t.Fatal(err)
	}
	delete(live, "old")
	var want []byte
	for _, id := range []string{"young", "dir"} { // in log order
		want = append(append(want, live[id]...), '\n')
	}
	if got := readLog(t, state); !bytes.Equal(got, want) {
		t.Errorf("compacted log =\n%s\nwant\n%s", got, want)
	}
	if newInode, _ := os.Stat(logPath(state)); os.SameFile(oldInode, newInode) {
		t.Error("the log was rewritten in place, not replaced")
	}
	if got := tempFiles(journalFiles(t, state, "")); len(got) != 0 {
		t.Errorf("temp files left in journal/: %q", got)
	}
	for _, st := range []*journal.Store{s, other} {
		_, err := st.Entry("old")
		wantErr(t, "Entry(old)", err, journal.ErrNotFound)
		if e, err := st.Entry("young"); err != nil || e.Changes[0].Before.SHA256 != young {
			t.Errorf("Entry(young) = %+v, %v", e, err)
		}
		if got, err := readObject(t, st, young); err != nil || string(got) != "young" {
			t.Errorf("Open(young) = %q, %v", got, err)
		}
	}
	if _, err := readObject(t, s, old); !errors.Is(err, journal.ErrNotFound) {
		t.Errorf("Open(old) = %v, want it pruned", err)
	}
	// The other Store appends to the new log, not the replaced one.
	commitChanges(t, other, core.JournalEntry{ID: "after", Resource: "docs"}, mkdirChange("f"))
	if e, err := s.Entry("after"); err != nil || e.ID != "after" {
		t.Errorf("Entry(after) = %+v, %v", e, err)
	}

	// Waste alone: replaced lines and tombstones past the floor.
	journal.SetCompactFloor(s, 1)
	before := logEntries(t, state)
	for i := range 4 {
		tx := mustBegin(t, other, fmt.Sprint("aborted-", i))
		if err := tx.Prepare(mkdirChange("g"), nil); err != nil {
			t.Fatal(err)
		}
		tx.Abort()
	}
	if err := s.Prune(); err != nil {
		t.Fatal(err)
	}
	if got := logEntries(t, state); !cmp.Equal(got, before) {
		t.Errorf("entries after compaction = %v, want %v", got, before)
	}
	var size int
	for _, l := range before {
		size += len(l) + 1
	}
	if got := len(readLog(t, state)); got != size {
		t.Errorf("log is %d bytes after compaction, want the %d of its live lines", got, size)
	}
}

// TestLog_compactWhileAppending runs one Store committing while another
// prunes entries that are too old, compacting the log each time: every
// young entry survives whole and every old one goes.
func TestLog_compactWhileAppending(t *testing.T) {
	state, work := t.TempDir(), t.TempDir()
	clk := newClock()
	opts := journal.Options{MaxAge: time.Hour, Now: clk.Now}
	writer := newStore(t, state, opts, false)
	pruner := newStore(t, state, opts, true)
	dir := mustOpenDir(t, work)
	const calls = 40
	var wg sync.WaitGroup
	stop := make(chan struct{})
	// Each log file seen, by inode and birth time: a compaction's new file
	// may get the inode an earlier one freed.
	inodes := map[string]bool{}
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := pruner.Prune(); err != nil {
				t.Error(err)
				return
			}
			var st unix.Statx_t
			if err := unix.Statx(unix.AT_FDCWD, logPath(state), 0, unix.STATX_INO|unix.STATX_BTIME, &st); err == nil {
				inodes[fmt.Sprint(st.Ino, st.Btime.Sec, st.Btime.Nsec)] = true
			}
		}
	})
	sums := map[string]string{}
	for i := range calls {
		id := fmt.Sprint("young-", i)
		name := fmt.Sprint("f", i)
		mustWrite(t, filepath.Join(work, name), []byte(id))
		tx := mustBegin(t, writer, id)
		sum := mustKeep(t, tx, dir, name)
		if err := tx.Prepare(replaceChange(name, sum), nil); err != nil {
			t.Fatal(err)
		}
		tx.Record(replaceChange(name, sum))
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		sums[id] = sum
		// An entry already too old: the pruner drops it.
		commitChanges(t, writer, core.JournalEntry{ID: fmt.Sprint("old-", i), Time: clk.Now().Add(-2 * time.Hour)}, mkdirChange("x"))
	}
	close(stop)
	wg.Wait()
	if len(inodes) < 2 {
		t.Errorf("the log was compacted %d times while appending, want some", len(inodes)-1)
	}
	if err := pruner.Prune(); err != nil {
		t.Fatal(err)
	}
	for _, st := range []*journal.Store{writer, pruner, newStore(t, state, opts, false)} {
		for id, sum := range sums {
			e, err := st.Entry(id)
			if err != nil || len(e.Changes) != 1 || e.Changes[0].Before.SHA256 != sum {
				t.Errorf("Entry(%s) = %+v, %v", id, e, err)
				continue
			}
			if got, err := readObject(t, st, sum); err != nil || string(got) != id {
				t.Errorf("Open(%s) = %q, %v", id, got, err)
			}
		}
	}
	ids := logIDs(t, state)
	if len(ids) != calls || !strings.HasPrefix(ids[0], "young-") {
		t.Errorf("entries in the log = %q, want the %d young ones", ids, calls)
	}
}

// TestLog_migrate checks entry files of the layout before the log are
// imported at Open, their content unchanged, and removed with their
// directory; a file that is no entry is dropped.
func TestLog_migrate(t *testing.T) {
	state := t.TempDir()
	entries := filepath.Join(state, "journal", "entries")
	objects := filepath.Join(state, "journal", "objects")
	for _, d := range []string{entries, objects} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	content := []byte("kept before the upgrade")
	sum := hash(content)
	mustWrite(t, filepath.Join(objects, sum), content)
	want := core.JournalEntry{
		ID: "old-1", Time: time.Now().Add(-time.Hour).UTC(), Agent: "bot", Tool: "write", Resource: "docs",
		Changes: []core.Change{replaceChange("a", sum)},
	}
	data, err := json.MarshalIndent(struct {
		core.JournalEntry
		Objects map[string]int64 `json:"objects"`
	}{want, map[string]int64{sum: int64(len(content))}}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(entries, "old-1.json"), append(data, '\n'))
	mustWrite(t, filepath.Join(entries, "torn.json"), []byte(`{"id":"to`))
	mustWrite(t, filepath.Join(entries, ".tmp-0123"), []byte(`{}`))

	s := newStore(t, state, journal.Options{}, false)
	if _, err := os.Lstat(entries); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("entries/ after Open: %v, want it removed", err)
	}
	var compact bytes.Buffer
	json.Compact(&compact, data)
	if got := logEntries(t, state); !cmp.Equal(got, map[string]string{"old-1": compact.String()}) {
		t.Errorf("log = %q, want old-1's file on one line", got)
	}
	for _, st := range []*journal.Store{s, newStore(t, state, journal.Options{}, false)} {
		got, err := st.Entry("old-1")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(&want, got); diff != "" {
			t.Errorf("Entry(old-1) mismatch (-want +got):\n%s", diff)
		}
		_, err = st.Entry("torn")
		wantErr(t, "Entry(torn)", err, journal.ErrNotFound)
		if b, err := readObject(t, st, sum); err != nil || !bytes.Equal(b, content) {
			t.Errorf("Open(%s) = %q, %v; want the object kept, the entry holding it", sum, b, err)
		}
	}
}

// TestLog_reserved checks that the log is allocated ahead of its appends
// without growing: its size is exactly its lines, every entry reads back,
// and a Store opened later appends after the last line, not after the
// allocated space.
func TestLog_reserved(t *testing.T) {
	state := t.TempDir()
	probe, err := os.Create(filepath.Join(state, "probe"))
	if err != nil {
		t.Fatal(err)
	}
	const keepSize = 1 // FALLOC_FL_KEEP_SIZE
	err = syscall.Fallocate(int(probe.Fd()), keepSize, 0, 4096)
	probe.Close()
	if err != nil {
		t.Skipf("the file system cannot allocate ahead: %v", err)
	}
	s := newStore(t, state, journal.Options{}, false)
	for i := range 20 {
		commitChanges(t, s, core.JournalEntry{ID: fmt.Sprintf("e%d", i), Resource: "docs"}, mkdirChange(fmt.Sprint("d", i)))
	}
	fi, err := os.Stat(logPath(state))
	if err != nil {
		t.Fatal(err)
	}
	data := readLog(t, state)
	if fi.Size() != int64(len(data)) || !bytes.HasSuffix(data, []byte("}\n")) || bytes.IndexByte(data, 0) >= 0 {
		t.Fatalf("log size %d, content %d bytes ending %q: want its lines only", fi.Size(), len(data), data[max(0, len(data)-8):])
	}
	if blocks := fi.Sys().(*syscall.Stat_t).Blocks * 512; blocks < fi.Size()+512<<10 {
		t.Errorf("log of %d bytes has %d bytes allocated: nothing reserved ahead", fi.Size(), blocks)
	}
	s2 := newStore(t, state, journal.Options{}, false)
	commitChanges(t, s2, core.JournalEntry{ID: "last", Resource: "docs"}, mkdirChange("z"))
	if ids := logIDs(t, state); len(ids) != 21 || ids[20] != "last" {
		t.Errorf("entries in the log = %q", ids)
	}
	for _, id := range []string{"e0", "e19", "last"} {
		if _, err := s.Entry(id); err != nil {
			t.Errorf("Entry(%s) = %v", id, err)
		}
	}
}
