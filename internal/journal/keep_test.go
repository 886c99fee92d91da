package journal_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/journal"
)

// otherFS returns a directory on another file system than t.TempDir, or
// skips: it forces Keep's copy fallback the way a real deployment would.
func otherFS(t *testing.T) string {
	t.Helper()
	tmp := t.TempDir()
	var shm, tmpSt syscall.Stat_t
	if err := syscall.Stat("/dev/shm", &shm); err != nil {
		t.Skipf("no /dev/shm: %v", err)
	}
	if err := syscall.Stat(tmp, &tmpSt); err != nil {
		t.Fatal(err)
	}
	if shm.Dev == tmpSt.Dev {
		t.Skip("/dev/shm is on the same file system as the temp dir")
	}
	dir, err := os.MkdirTemp("/dev/shm", "journal-test-")
	if err != nil {
		t.Skipf("/dev/shm: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// TestKeep_roundTrip keeps a file, replaces it by rename as a connector
// does, and checks the entry and the exact old bytes come back.
func TestKeep_roundTrip(t *testing.T) {
	tests := []struct {
		name     string
		copyOnly bool
		otherFS  bool
		wantMode string
	}{
		{"link", false, false, "hard links"},
		{"copy forced", true, false, "copies"},
		{"copy across file systems", false, true, "copies"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state := t.TempDir()
			if tt.otherFS {
				state = otherFS(t)
			}
			s := newStore(t, state, journal.Options{}, tt.copyOnly)
			journal.SetInlineMax(s, -1) // object files: nothing inline
			work := t.TempDir()
			old := bytes.Repeat([]byte("old content\n"), 1000)
			path := filepath.Join(work, "a.txt")
			mustWrite(t, path, old)
			before, _ := os.Lstat(path)
			dir := mustOpenDir(t, work)

			tx := mustBegin(t, s, "call-1")
			sum := mustKeep(t, tx, dir, "a.txt")
			if tx.Len() != 0 {
				t.Errorf("Len() before Record = %d, want 0", tx.Len())
			}
			change := replaceChange("a.txt", sum)
			tx.Record(change)
			if tx.Len() != 1 {
				t.Errorf("Len() after Record = %d, want 1", tx.Len())
			}
			if err := tx.Commit(); err != nil {
				t.Fatalf("Commit() = %v", err)
			}
			mustReplace(t, path, []byte("new"))

			e, err := s.Entry("call-1")
			if err != nil {
				t.Fatalf("Entry() = %v", err)
			}
			if diff := cmp.Diff([]core.Change{change}, e.Changes); diff != "" {
				t.Errorf("Entry().Changes mismatch (-want +got):\n%s", diff)
			}
			got, err := readObject(t, s, sum)
			if err != nil {
				t.Fatalf("Open(%s) = %v", sum, err)
			}
			if !bytes.Equal(got, old) {
				t.Errorf("Open(%s) content = %d bytes, want the %d old bytes", sum, len(got), len(old))
			}
			if cur, _ := os.ReadFile(path); string(cur) != "new" {
				t.Errorf("original = %q, want the replacement untouched", cur)
			}
			if got, want := journalFiles(t, state, "objects"), []string{sum}; !slices.Equal(got, want) {
				t.Errorf("objects = %q, want %q (no hold or temp file left)", got, want)
			}
			obj, err := os.Lstat(filepath.Join(state, "journal", "objects", sum))
			if err != nil {
				t.Fatal(err)
			}
			if linked := os.SameFile(before, obj); linked != (tt.wantMode == "hard links") {
				t.Errorf("object is the original inode = %v, want %v", linked, !linked)
			}
		})
	}
}

// TestKeep_refused checks Keep keeps nothing when the name is no longer
// the file the caller examined, and never reads through a symlink.
func TestKeep_refused(t *testing.T) {
	tests := []struct {
		name string
		// arrange returns the info and hash to pass for dir/"a.txt".
		arrange func(t *testing.T, work, outside string) (os.FileInfo, string)
		want    error
		// copyOnly: the check only exists in copy mode.
		copyOnly bool
	}{
		{"replaced by another file", func(t *testing.T, work, _ string) (os.FileInfo, string) {
			p := filepath.Join(work, "a.txt")
			info, _ := os.Lstat(p)
			mustReplace(t, p, []byte("other"))
			return info, hash([]byte("original"))
		}, journal.ErrChanged, false},
		{"written in place", func(t *testing.T, work, _ string) (os.FileInfo, string) {
			p := filepath.Join(work, "a.txt")
			info, _ := os.Lstat(p)
			f, _ := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
			f.WriteString(" and more")
			f.Close()
			return info, hash([]byte("original"))
		}, journal.ErrChanged, false},
		{"replaced by a symlink to the examined file", func(t *testing.T, work, outside string) (os.FileInfo, string) {
			p := filepath.Join(work, "a.txt")
			target := filepath.Join(outside, "secret")
			os.Rename(p, target)
			os.Symlink(target, p)
			info, _ := os.Stat(p) // the target, as a caller following links would see
			return info, hash([]byte("original"))
		}, journal.ErrChanged, false},
		{"content does not match the hash", func(t *testing.T, work, _ string) (os.FileInfo, string) {
			info, _ := os.Lstat(filepath.Join(work, "a.txt"))
			return info, hash([]byte("something else"))
		}, journal.ErrChanged, true},
		{"gone", func(t *testing.T, work, _ string) (os.FileInfo, string) {
			p := filepath.Join(work, "a.txt")
			info, _ := os.Lstat(p)
			os.Remove(p)
			return info, hash([]byte("original"))
		}, journal.ErrChanged, false},
	}
	for _, tt := range tests {
		for _, m := range modes {
			if tt.copyOnly && !m.copyOnly {
				continue
			}
			t.Run(tt.name+"/"+m.name, func(t *testing.T) {
				state, work, outside := t.TempDir(), t.TempDir(), t.TempDir()
				s := newStore(t, state, journal.Options{}, m.copyOnly)
				mustWrite(t, filepath.Join(work, "a.txt"), []byte("original"))
				info, sum := tt.arrange(t, work, outside)
				outsideBefore := snapshot(t, outside)
				tx := mustBegin(t, s, "call-1")
				err := tx.Keep(mustOpenDir(t, work), "a.txt", info, sum, nil)
				wantErr(t, "Keep(a.txt)", err, tt.want)
				if err != nil && !strings.HasPrefix(err.Error(), "journal.Keep: ") {
					t.Errorf("Keep error %q does not start with the op", err)
				}
				if got := journalFiles(t, state, "objects"); len(got) != 0 {
					t.Errorf("objects after a refused Keep = %q, want none", got)
				}
				if diff := cmp.Diff(outsideBefore, snapshot(t, outside)); diff != "" {
					t.Errorf("outside changed (-before +after):\n%s", diff)
				}
				tx.Record(replaceChange("a.txt", sum))
				if err := tx.Commit(); err != nil {
					t.Fatalf("Commit() = %v", err)
				}
				if got := journalFiles(t, state, "objects"); len(got) != 0 {
					t.Errorf("objects after commit = %q, want none", got)
				}
			})
		}
	}
}

// snapshot maps each file in dir to its content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	des, _ := os.ReadDir(dir)
	for _, de := range des {
		b, _ := os.ReadFile(filepath.Join(dir, de.Name()))
		m[de.Name()] = string(b)
	}
	return m
}

// TestKeep_invalid checks arguments that could make Keep leave its
// directory, or keep something that is not a file, are refused.
func TestKeep_invalid(t *testing.T) {
	state, root := t.TempDir(), t.TempDir()
	work := filepath.Join(root, "work")
	os.Mkdir(work, 0o755)
	mustWrite(t, filepath.Join(root, "x"), []byte("outside"))
	mustWrite(t, filepath.Join(work, "a.txt"), []byte("inside"))
	outsideInfo, _ := os.Lstat(filepath.Join(root, "x"))
	fileInfo, _ := os.Lstat(filepath.Join(work, "a.txt"))
	os.Symlink("a.txt", filepath.Join(work, "link"))
	linkInfo, _ := os.Lstat(filepath.Join(work, "link"))
	dirInfo, _ := os.Lstat(work)
	good := hash([]byte("inside"))
	tests := []struct {
		name string
		file string
		info os.FileInfo
		sum  string
	}{
		{"parent escape", "../x", outsideInfo, hash([]byte("outside"))},
		{"slash", "sub/a.txt", fileInfo, good},
		{"empty", "", fileInfo, good},
		{"dot", ".", dirInfo, good},
		{"symlink itself", "link", linkInfo, good},
		{"directory", ".", dirInfo, good},
		{"nil info", "a.txt", nil, good},
		{"bad hash", "a.txt", fileInfo, "ABC"},
		{"upper-case hash", "a.txt", fileInfo, strings.ToUpper(good)},
	}
	for _, m := range modes {
		s := newStore(t, filepath.Join(state, m.name), journal.Options{}, m.copyOnly)
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				tx := mustBegin(t, s, "call-1")
				defer tx.Abort()
				if err := tx.Keep(mustOpenDir(t, work), tt.file, tt.info, tt.sum, nil); err == nil {
					t.Errorf("Keep(%q) = nil, want an error", tt.file)
				}
				if got := journalFiles(t, filepath.Join(state, m.name), "objects"); len(got) != 0 {
					t.Errorf("objects = %q, want none", got)
				}
			})
		}
	}
}

// TestStore_Open_corrupt checks an object written in place after it was
// kept is refused, and that what Open returns cannot change under undo.
func TestStore_Open_corrupt(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			state, work := t.TempDir(), t.TempDir()
			s := newStore(t, state, journal.Options{}, m.copyOnly)
			journal.SetInlineMax(s, -1) // object files: nothing inline
			path := filepath.Join(work, "a.txt")
			mustWrite(t, path, []byte("kept content"))
			// A program that had the old file open keeps its descriptor.
			held, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer held.Close()
			tx := mustBegin(t, s, "call-1")
			sum := mustKeep(t, tx, mustOpenDir(t, work), "a.txt")
			tx.Record(replaceChange("a.txt", sum))
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			mustReplace(t, path, []byte("new"))

			f, err := s.Open(sum)
			if err != nil {
				t.Fatalf("Open() = %v", err)
			}
			defer f.Close()
			object := filepath.Join(state, "journal", "objects", sum)
			tamper := held // link mode: the object is that inode
			if m.copyOnly {
				if tamper, err = os.OpenFile(object, os.O_WRONLY, 0); err != nil {
					t.Fatal(err)
				}
				defer tamper.Close()
			}
			if _, err := tamper.WriteAt([]byte("KEPT"), 0); err != nil {
				t.Fatal(err)
			}
			got := make([]byte, 64)
			n, _ := f.Read(got)
			if string(got[:n]) != "kept content" {
				t.Errorf("handle opened before the tampering reads %q, want %q", got[:n], "kept content")
			}
			_, err = s.Open(sum)
			wantErr(t, "Open() after tampering", err, journal.ErrCorrupt)
		})
	}
}

func TestStore_Open_notFound(t *testing.T) {
	s := newStore(t, t.TempDir(), journal.Options{}, false)
	for _, sum := range []string{hash([]byte("never kept")), "../lock", "", "zz"} {
		_, err := s.Open(sum)
		wantErr(t, "Open("+sum+")", err, journal.ErrNotFound)
	}
}

// TestStore_Open_symlinkObject checks an object name replaced by a symlink
// is not followed.
func TestStore_Open_symlinkObject(t *testing.T) {
	state, outside := t.TempDir(), t.TempDir()
	s := newStore(t, state, journal.Options{}, false)
	secret := []byte("secret")
	mustWrite(t, filepath.Join(outside, "secret"), secret)
	sum := hash(secret)
	os.Symlink(filepath.Join(outside, "secret"), filepath.Join(state, "journal", "objects", sum))
	f, err := s.Open(sum)
	if err == nil {
		f.Close()
	}
	wantErr(t, "Open(symlinked object)", err, journal.ErrCorrupt)
}

// TestTx_Abort checks Abort removes what its Tx added but not an object a
// committed entry holds.
func TestTx_Abort(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			state, work := t.TempDir(), t.TempDir()
			s := newStore(t, state, journal.Options{}, m.copyOnly)
			journal.SetInlineMax(s, -1) // object files: nothing inline
			dir := mustOpenDir(t, work)
			mustWrite(t, filepath.Join(work, "shared"), []byte("shared"))
			mustWrite(t, filepath.Join(work, "own"), []byte("own"))
			mustWrite(t, filepath.Join(work, "raced"), []byte("raced"))

			tx1 := mustBegin(t, s, "call-1")
			shared := mustKeep(t, tx1, dir, "shared")
			tx1.Record(replaceChange("shared", shared))
			if err := tx1.Commit(); err != nil {
				t.Fatal(err)
			}

			tx2 := mustBegin(t, s, "call-2")
			mustKeep(t, tx2, dir, "shared")
			own := mustKeep(t, tx2, dir, "own")
			raced := mustKeep(t, tx2, dir, "raced")
			// Another call keeps the content tx2 added and commits first.
			tx3 := mustBegin(t, s, "call-3")
			mustKeep(t, tx3, dir, "raced")
			tx3.Record(replaceChange("raced", raced))
			if err := tx3.Commit(); err != nil {
				t.Fatal(err)
			}
			tx2.Abort()
			tx2.Abort() // idempotent

			want := []string{shared, raced}
			slices.Sort(want)
			if got := journalFiles(t, state, "objects"); !slices.Equal(got, want) {
				t.Errorf("objects after Abort = %q, want %q (not %s)", got, want, own)
			}
			for _, sum := range want {
				if _, err := readObject(t, s, sum); err != nil {
					t.Errorf("Open(%s) = %v", sum, err)
				}
			}
			if _, err := s.Entry("call-2"); !errors.Is(err, journal.ErrNotFound) {
				t.Errorf("Entry(call-2) = %v, want ErrNotFound", err)
			}
			if err := tx2.Commit(); err == nil {
				t.Error("Commit() after Abort = nil, want an error")
			}
			if err := tx2.Keep(dir, "own", nil, own, nil); err == nil {
				t.Error("Keep() after Abort = nil, want an error")
			}
		})
	}
}

// TestTx_Commit_empty checks a Tx with no changes writes no entry and
// keeps no object.
func TestTx_Commit_empty(t *testing.T) {
	state, work := t.TempDir(), t.TempDir()
	s := newStore(t, state, journal.Options{}, false)
	mustWrite(t, filepath.Join(work, "a"), []byte("a"))
	tx := mustBegin(t, s, "call-1")
	mustKeep(t, tx, mustOpenDir(t, work), "a")
	if err := tx.Commit(); err != nil {
		t.Fatalf("Commit() = %v", err)
	}
	if got := readLog(t, state); len(got) != 0 {
		t.Errorf("entry log = %q, want it empty", got)
	}
	if got := journalFiles(t, state, "objects"); len(got) != 0 {
		t.Errorf("objects = %q, want none", got)
	}
	if err := tx.Commit(); err == nil {
		t.Error("second Commit() = nil, want an error")
	}
}

// TestKeep_existingObject checks an object already kept is reused, not
// replaced (so a later Keep cannot swap good content out), unless its size
// shows it is damaged.
func TestKeep_existingObject(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			state, work := t.TempDir(), t.TempDir()
			s := newStore(t, state, journal.Options{}, m.copyOnly)
			journal.SetInlineMax(s, -1) // object files: nothing inline
			dir := mustOpenDir(t, work)
			content := []byte("same content")
			sum := commitFile(t, s, work, "e1", "a", content)
			object := filepath.Join(state, "journal", "objects", sum)
			first, err := os.Lstat(object)
			if err != nil {
				t.Fatal(err)
			}

			commitFile(t, s, work, "e2", "b", content)
			if again, _ := os.Lstat(object); !os.SameFile(first, again) {
				t.Error("a second Keep of the same content replaced the object")
			}

			// Damage the object: a Keep of the content repairs it.
			if err := os.Truncate(object, 3); err != nil {
				t.Fatal(err)
			}
			mustWrite(t, filepath.Join(work, "c"), content)
			tx := mustBegin(t, s, "e3")
			mustKeep(t, tx, dir, "c")
			tx.Record(replaceChange("c", sum))
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			got, err := readObject(t, s, sum)
			if err != nil || !bytes.Equal(got, content) {
				t.Errorf("Open() after repair = %q, %v; want %q", got, err, content)
			}
		})
	}
}

// inlineOf returns the content the log line of id holds inline for sum,
// decoded the way the format is documented.
func inlineOf(t *testing.T, state, id, sum string) ([]byte, bool) {
	t.Helper()
	var l struct {
		Inline  map[string]string `json:"inline"`
		Objects map[string]int64  `json:"objects"`
	}
	if err := json.Unmarshal([]byte(logEntries(t, state)[id]), &l); err != nil {
		t.Fatalf("line of %s: %v", id, err)
	}
	b64, ok := l.Inline[sum]
	if !ok {
		return nil, false
	}
	data, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatalf("line of %s: inline %s: %v", id, sum, err)
	}
	if l.Objects[sum] != int64(len(data)) {
		t.Errorf("line of %s: objects[%s] = %d, want %d", id, sum, l.Objects[sum], len(data))
	}
	return data, true
}

// TestKeep_inline checks a small file is kept in its entry line: replaced
// by rename, its old inode is freed, nothing lands in objects/, and a fresh
// Store gives back the exact old bytes.
func TestKeep_inline(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			state, work := t.TempDir(), t.TempDir()
			s := newStore(t, state, journal.Options{}, m.copyOnly)
			old := make([]byte, 4<<10)
			for i := range old {
				old[i] = byte(i * 7)
			}
			path := filepath.Join(work, "a.txt")
			mustWrite(t, path, old)
			before, err := os.Open(path) // sees the old inode after the rename
			if err != nil {
				t.Fatal(err)
			}
			defer before.Close()
			info, _ := os.Lstat(path)
			dir := mustOpenDir(t, work)

			tx := mustBegin(t, s, "call-1")
			sum := mustKeep(t, tx, dir, "a.txt")
			if got := journalFiles(t, state, "objects"); len(got) != 0 {
				t.Errorf("objects after Keep = %q, want none", got)
			}
			if n := tx.Links(sum, info); n != 0 {
				t.Errorf("Links() = %d, want 0", n)
			}
			change := replaceChange("a.txt", sum)
			if err := tx.Prepare(change, nil); err != nil {
				t.Fatal(err)
			}
			mustReplace(t, path, []byte("new"))
			tx.Record(change)
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}

			var st syscall.Stat_t
			if err := syscall.Fstat(int(before.Fd()), &st); err != nil {
				t.Fatal(err)
			}
			if st.Nlink != 0 {
				t.Errorf("old inode's link count = %d, want 0 (the journal links nothing)", st.Nlink)
			}
			if got := journalFiles(t, state, "objects"); len(got) != 0 {
				t.Errorf("objects = %q, want none (no object, hold or temp file)", got)
			}
			if got, ok := inlineOf(t, state, "call-1", sum); !ok || !bytes.Equal(got, old) {
				t.Errorf("line holds %d bytes inline (%v), want the %d old bytes", len(got), ok, len(old))
			}
			fresh := newStore(t, state, journal.Options{}, false)
			e, err := fresh.Entry("call-1")
			if err != nil {
				t.Fatalf("Entry() = %v", err)
			}
			if diff := cmp.Diff([]core.Change{change}, e.Changes); diff != "" {
				t.Errorf("Entry().Changes mismatch (-want +got):\n%s", diff)
			}
			got, err := readObject(t, fresh, sum)
			if err != nil || !bytes.Equal(got, old) {
				t.Errorf("Open() = %d bytes, %v; want the %d old bytes", len(got), err, len(old))
			}
			if cur, _ := os.ReadFile(path); string(cur) != "new" {
				t.Errorf("original = %q, want the replacement untouched", cur)
			}
		})
	}
}

// TestKeep_inlineChanged checks a small file whose content changed after
// the caller hashed it is refused, in place and at the same size and time
// too, and nothing of it is kept.
func TestKeep_inlineChanged(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, path string, info os.FileInfo)
	}{
		{"same size and time", func(t *testing.T, path string, info os.FileInfo) {
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteAt([]byte("X"), 3)
			f.Close()
			if err := os.Chtimes(path, info.ModTime(), info.ModTime()); err != nil {
				t.Fatal(err)
			}
		}},
		{"grown", func(t *testing.T, path string, _ os.FileInfo) {
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write([]byte("more"))
			f.Close()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state, work := t.TempDir(), t.TempDir()
			s := newStore(t, state, journal.Options{}, false)
			path := filepath.Join(work, "a")
			content := []byte("the content the caller hashed")
			mustWrite(t, path, content)
			info, _ := os.Lstat(path)
			sum := hash(content)
			tt.change(t, path, info)

			tx := mustBegin(t, s, "call-1")
			err := tx.Keep(mustOpenDir(t, work), "a", info, sum, nil)
			wantErr(t, "Keep() of a changed file", err, journal.ErrChanged)
			tx.Record(replaceChange("a", sum))
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			if _, ok := inlineOf(t, state, "call-1", sum); ok {
				t.Error("the entry holds the changed file inline")
			}
			_, err = readObject(t, newStore(t, state, journal.Options{}, false), sum)
			wantErr(t, "Open()", err, journal.ErrNotFound)
			if got := journalFiles(t, state, "objects"); len(got) != 0 {
				t.Errorf("objects = %q, want none", got)
			}
		})
	}
}

// TestStore_Open_inlineCorrupt checks content edited in an entry line is
// refused by Open, while the entry itself still reads.
func TestStore_Open_inlineCorrupt(t *testing.T) {
	state, work := t.TempDir(), t.TempDir()
	s := newStore(t, state, journal.Options{}, false)
	content := []byte("kept content, to be edited in the log")
	sum := commitFile(t, s, work, "call-1", "a", content)
	data := readLog(t, state)
	at := bytes.Index(data, []byte(`"inline":{"`+sum+`":"`))
	if at < 0 {
		t.Fatalf("log holds no inline %s:\n%s", sum, data)
	}
	at += len(`"inline":{"` + sum + `":"`)
	if data[at] == 'A' {
		data[at] = 'B'
	} else {
		data[at] = 'A'
	}
	if err := os.WriteFile(logPath(state), data, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, st := range map[string]*journal.Store{"same": s, "fresh": newStore(t, state, journal.Options{}, false)} {
		if _, err := st.Entry("call-1"); err != nil {
			t.Errorf("%s Store: Entry() = %v", name, err)
		}
		f, err := st.Open(sum)
		if err == nil {
			f.Close()
		}
		wantErr(t, name+" Store: Open() of edited inline content", err, journal.ErrCorrupt)
	}
}

// TestKeep_largeLinks checks a file over the inline bound is still kept by
// hard link, not in the line.
func TestKeep_largeLinks(t *testing.T) {
	state, work := t.TempDir(), t.TempDir()
	s := newStore(t, state, journal.Options{}, false)
	path := filepath.Join(work, "big")
	old := bytes.Repeat([]byte("0123456789abcdef"), 100<<10/16)
	mustWrite(t, path, old)
	before, _ := os.Lstat(path)
	sum := commitFile(t, s, work, "call-1", "big", old)
	obj, err := os.Lstat(filepath.Join(state, "journal", "objects", sum))
	if err != nil {
		t.Fatalf("object file: %v", err)
	}
	if !os.SameFile(before, obj) {
		t.Error("the object is not the original inode")
	}
	if _, ok := inlineOf(t, state, "call-1", sum); ok {
		t.Error("a 100 KiB file was kept inline")
	}
	if got, err := readObject(t, s, sum); err != nil || !bytes.Equal(got, old) {
		t.Errorf("Open() = %d bytes, %v; want the %d old bytes", len(got), err, len(old))
	}
}

// TestKeep_inlineTxBound checks a Tx keeps inline only up to its bound, so
// its line stays readable; the files past it are linked.
func TestKeep_inlineTxBound(t *testing.T) {
	state, work := t.TempDir(), t.TempDir()
	s := newStore(t, state, journal.Options{}, false)
	journal.SetInlineTxMax(s, 10<<10)
	dir := mustOpenDir(t, work)
	tx := mustBegin(t, s, "call-1")
	var sums []string
	for i, n := range []string{"a", "b", "c"} {
		mustWrite(t, filepath.Join(work, n), bytes.Repeat([]byte{byte('a' + i)}, 4<<10))
		sums = append(sums, mustKeep(t, tx, dir, n))
		tx.Record(replaceChange(n, sums[i]))
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	for i, sum := range sums {
		if _, ok := inlineOf(t, state, "call-1", sum); ok != (i < 2) {
			t.Errorf("file %d kept inline = %v, want %v", i, ok, i < 2)
		}
		if got, err := readObject(t, s, sum); err != nil || len(got) != 4<<10 || got[0] != byte('a'+i) {
			t.Errorf("Open(file %d) = %d bytes, %v", i, len(got), err)
		}
	}
	if got, want := journalFiles(t, state, "objects"), []string{sums[2]}; !slices.Equal(got, want) {
		t.Errorf("objects = %q, want %q", got, want)
	}
}

// TestKeep_content checks Keep given the content the caller read: it keeps
// exactly that content when it hashes to the hash and the name is still
// the file the caller examined, and refuses with ErrChanged otherwise.
func TestKeep_content(t *testing.T) {
	tests := []struct {
		name    string
		content string // given to Keep as read
		replace bool   // the name is replaced after the caller's look
		want    error
	}{
		{"as read", "original", false, nil},
		{"not what hashes to the sum", "forged!!", false, journal.ErrChanged},
		{"shorter", "orig", false, journal.ErrChanged},
		{"name replaced since", "original", true, journal.ErrChanged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state, work := t.TempDir(), t.TempDir()
			s := newStore(t, state, journal.Options{}, false)
			p := filepath.Join(work, "a.txt")
			mustWrite(t, p, []byte("original"))
			info, err := os.Lstat(p)
			if err != nil {
				t.Fatal(err)
			}
			sum := hash([]byte("original"))
			if tt.replace {
				mustReplace(t, p, []byte("original"))
			}
			tx := mustBegin(t, s, "call-1")
			err = tx.Keep(mustOpenDir(t, work), "a.txt", info, sum, []byte(tt.content))
			wantErr(t, "Keep(a.txt)", err, tt.want)
			if err != nil {
				tx.Abort()
				return
			}
			tx.Record(replaceChange("a.txt", sum))
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			if got, err := readObject(t, s, sum); err != nil || string(got) != "original" {
				t.Errorf("kept %q, %v; want the original", got, err)
			}
		})
	}
}
