package journal_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/journal"
)

// modes are the two ways Keep preserves a file; every Keep test runs both.
var modes = []struct {
	name     string
	copyOnly bool
}{
	{"link", false},
	{"copy", true},
}

func newStore(tb testing.TB, stateDir string, opts journal.Options, copyOnly bool) *journal.Store {
	tb.Helper()
	s, err := journal.Open(stateDir, opts)
	if err != nil {
		tb.Fatalf("Open(%q) = %v", stateDir, err)
	}
	if copyOnly {
		journal.SetCopyOnly(s)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// clock is a settable time source for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func hash(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func mustWrite(tb testing.TB, path string, content []byte) {
	tb.Helper()
	if err := os.WriteFile(path, content, 0o644); err != nil {
		tb.Fatal(err)
	}
}

// mustReplace replaces path by rename, as connectors do: the name gets a
// new inode and the old one keeps its content.
func mustReplace(tb testing.TB, path string, content []byte) {
	tb.Helper()
	tmp := path + ".new"
	mustWrite(tb, tmp, content)
	if err := os.Rename(tmp, path); err != nil {
		tb.Fatal(err)
	}
}

func mustOpenDir(tb testing.TB, path string) *os.File {
	tb.Helper()
	d, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Close() })
	return d
}

func mustBegin(tb testing.TB, s *journal.Store, id string) *journal.Tx {
	tb.Helper()
	tx, err := s.Begin(core.JournalEntry{ID: id, Agent: "bot", Tool: "write", Resource: "docs"})
	if err != nil {
		tb.Fatalf("Begin(%q) = %v", id, err)
	}
	return tx
}

// keep examines dir/name the way a connector does and keeps it in tx.
func keep(tb testing.TB, tx *journal.Tx, dir *os.File, name string) (string, error) {
	tb.Helper()
	path := filepath.Join(dir.Name(), name)
	info, err := os.Lstat(path)
	if err != nil {
		tb.Fatal(err)
	}
	content, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	sum := hash(content)
	return sum, tx.Keep(dir, name, info, sum, nil)
}

func mustKeep(tb testing.TB, tx *journal.Tx, dir *os.File, name string) string {
	tb.Helper()
	sum, err := keep(tb, tx, dir, name)
	if err != nil {
		tb.Fatalf("Keep(%q) = %v", name, err)
	}
	return sum
}

func replaceChange(path string, sum string) core.Change {
	return core.Change{Op: "replace", Path: path, Before: core.ObjectState{Type: "file", Mode: 0o644, SHA256: sum}, After: core.ObjectState{Type: "file"}}
}

// readObject returns what Store.Open gives for sum.
func readObject(tb testing.TB, s *journal.Store, sum string) ([]byte, error) {
	tb.Helper()
	f, err := s.Open(sum)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// journalFiles lists the names in <state>/journal/<sub>, sorted.
func journalFiles(tb testing.TB, stateDir, sub string) []string {
	tb.Helper()
	des, err := os.ReadDir(filepath.Join(stateDir, "journal", sub))
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	sort.Strings(names)
	return names
}

// tempFiles returns the hold and temp files among names.
func tempFiles(names []string) []string {
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, ".") {
			out = append(out, n)
		}
	}
	return out
}

func wantErr(tb testing.TB, call string, err, want error) {
	tb.Helper()
	if !errors.Is(err, want) {
		tb.Errorf("%s = %v, want %v", call, err, want)
	}
}

// logPath is the entry log of the journal in state.
func logPath(state string) string { return filepath.Join(state, "journal", "entries.log") }

func readLog(tb testing.TB, state string) []byte {
	tb.Helper()
	data, err := os.ReadFile(logPath(state))
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// logEntries reads the entry log the way its format is documented, apart
// from the package: each whole line is an entry or a tombstone, the last
// line of an id wins, a line that does not parse is skipped. It returns
// each live entry's line, without its '\n'.
func logEntries(tb testing.TB, state string) map[string]string {
	tb.Helper()
	live := map[string]string{}
	lines := strings.SplitAfter(string(readLog(tb, state)), "\n")
	for _, line := range lines {
		if !strings.HasSuffix(line, "\n") {
			continue // torn
		}
		var l struct {
			ID      string `json:"id"`
			Removed bool   `json:"removed"`
		}
		if json.Unmarshal([]byte(line), &l) != nil || l.ID == "" {
			continue
		}
		if l.Removed {
			delete(live, l.ID)
		} else {
			live[l.ID] = strings.TrimSuffix(line, "\n")
		}
	}
	return live
}

// logIDs returns the ids logEntries finds, sorted.
func logIDs(tb testing.TB, state string) []string {
	tb.Helper()
	var ids []string
	for id := range logEntries(tb, state) {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
