package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// newLog opens a log in dir, closed at the end of the test.
func newLog(tb testing.TB, dir string, opts Options) *Log {
	tb.Helper()
	l, err := Open(dir, opts)
	if err != nil {
		tb.Fatalf("Open(%q) error: %v", dir, err)
	}
	tb.Cleanup(func() { l.Close() })
	return l
}

// callRecord is a typical record for the i-th call.
func callRecord(i int) *Record {
	agents := []string{"alice", "bob"}
	decisions := []string{"allow", "deny", "approval_required"}
	return &Record{
		Event:    "call",
		Agent:    agents[i%len(agents)],
		Tool:     "fs_read",
		Resource: "docs",
		Action:   "read",
		Path:     "notes/today.md",
		Args:     []byte(`{"path":"notes/today.md","limit":4096}`),
		Decision: decisions[i%len(decisions)],
		Rule:     "agents.alice.grants[0]",
		Reasons:  []string{"grant"},
		Outcome:  "ok",
	}
}

func mustAppend(tb testing.TB, l *Log, rec *Record) Record {
	tb.Helper()
	got, err := l.Append(context.Background(), rec)
	if err != nil {
		tb.Fatalf("Append(%+v) error: %v", rec, err)
	}
	return got
}

// newFilledLog writes n call records to a new log in a temporary directory
// and closes it.
func newFilledLog(tb testing.TB, n int, opts Options) (string, []Record) {
	tb.Helper()
	dir := tb.TempDir()
	l, err := Open(dir, opts)
	if err != nil {
		tb.Fatalf("Open(%q) error: %v", dir, err)
	}
	var recs []Record
	for i := range n {
		recs = append(recs, mustAppend(tb, l, callRecord(i)))
	}
	if err := l.Close(); err != nil {
		tb.Fatalf("Close() error: %v", err)
	}
	return dir, recs
}

func mustVerify(tb testing.TB, dir string, opts VerifyOptions) *Report {
	tb.Helper()
	rep, err := Verify(dir, opts)
	if err != nil {
		tb.Fatalf("Verify(%q) error: %v", dir, err)
	}
	return rep
}

// wantOK fails the test unless rep is OK.
func wantOK(tb testing.TB, rep *Report) {
	tb.Helper()
	if !rep.OK {
		tb.Fatalf("Verify() = %s, want OK", rep)
	}
}

// readLines returns the log's complete lines, each with its "\n", and any
// trailing partial line.
func readLines(tb testing.TB, dir string) (lines [][]byte, partial []byte) {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(dir, LogFile))
	if err != nil {
		tb.Fatal(err)
	}
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return lines, b
		}
		lines = append(lines, b[:i+1])
		b = b[i+1:]
	}
	return lines, nil
}

func writeLines(tb testing.TB, dir string, lines [][]byte) {
	tb.Helper()
	if err := os.WriteFile(filepath.Join(dir, LogFile), bytes.Join(lines, nil), 0o600); err != nil {
		tb.Fatal(err)
	}
}

func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func writeFile(tb testing.TB, path string, b []byte) {
	tb.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		tb.Fatal(err)
	}
}

func logSize(tb testing.TB, dir string) int64 {
	tb.Helper()
	st, err := os.Stat(filepath.Join(dir, LogFile))
	if err != nil {
		tb.Fatal(err)
	}
	return st.Size()
}

// rehash recomputes an unkeyed line's hash after prev is set to prev (if
// not ""), as a forger without a key can. It returns the new line and hash.
func rehash(line []byte, prev string) ([]byte, string) {
	n := len(line)
	body := append([]byte(nil), line[:n-suffixLen]...)
	if prev != "" {
		copy(body[len(body)-65:], prev) // body ends …,"prev":"<64 hex>"
	}
	body = append(body, '}')
	sum := sha256.Sum256(body)
	h := hex.EncodeToString(sum[:])
	out := append(body[:len(body)-1], hashKey+h+"\"}\n"...)
	return out, h
}

// forgeChain rewrites lines[from:] so they chain again after an edit, and
// returns the head that matches the result.
func forgeChain(lines [][]byte, from int) head {
	prev := zeroHash
	var size int64
	for i := range lines {
		if i >= from {
			lines[i], _ = rehash(lines[i], prev)
		}
		size += int64(len(lines[i]))
		prev = string(lines[i][len(lines[i])-suffixLen+len(hashKey) : len(lines[i])-3])
	}
	return head{seq: uint64(len(lines)), hash: prev, size: size}
}

// fixedClock returns a clock starting at start that moves step on each
// call.
func fixedClock(start time.Time, step time.Duration) func() time.Time {
	t := start
	return func() time.Time {
		now := t
		t = t.Add(step)
		return now
	}
}
