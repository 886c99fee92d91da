package audit

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixtureRecords is the size of each tamper test's log.
const fixtureRecords = 20

func TestVerify_detectsTampering(t *testing.T) {
	tests := []struct {
		name string
		// tamper changes the log in dir; recs are its records as written.
		tamper func(tb testing.TB, dir string, recs []Record)
		// anchorSeq, if not 0, verifies against the original hash of
		// that seq.
		anchorSeq   uint64
		wantLine    int
		wantProblem string
	}{
		{
			name: "edit-field",
			tamper: func(tb testing.TB, dir string, _ []Record) {
				lines, _ := readLines(tb, dir)
				lines[9] = bytes.Replace(lines[9], []byte(`"tool":"fs_read"`), []byte(`"tool":"fs_xxxx"`), 1)
				writeLines(tb, dir, lines)
			},
			wantLine:    10,
			wantProblem: "line 10 (seq 10): record edited (hash mismatch)",
		},
		{
			name: "edit-and-rehash",
			tamper: func(tb testing.TB, dir string, _ []Record) {
				lines, _ := readLines(tb, dir)
				lines[9], _ = rehash(bytes.Replace(lines[9], []byte(`"decision":"allow"`), []byte(`"decision":"deny"`), 1), "")
				writeLines(tb, dir, lines)
			},
			wantLine:    11,
			wantProblem: "line 11 (seq 11): chain broken (prev does not match the hash of seq 10)",
		},
		{
			name: "delete-middle",
			tamper: func(tb testing.TB, dir string, _ []Record) {
				lines, _ := readLines(tb, dir)
				writeLines(tb, dir, append(lines[:9:9], lines[10:]...))
			},
			wantLine:    10,
			wantProblem: "line 10 (seq 11): records missing or reordered (expected seq 10, found 11)",
		},
		{
			name: "swap",
			tamper: func(tb testing.TB, dir string, _ []Record) {
				lines, _ := readLines(tb, dir)
				lines[9], lines[10] = lines[10], lines[9]
				writeLines(tb, dir, lines)
			},
			wantLine:    10,
			wantProblem: "line 10 (seq 11): records missing or reordered (expected seq 10, found 11)",
		},
		{
			name: "delete-first",
			tamper: func(tb testing.TB, dir string, _ []Record) {
				lines, _ := readLines(tb, dir)
				writeLines(tb, dir, lines[1:])
			},
			wantLine:    1,
			wantProblem: "line 1 (seq 2): first record must have seq 1, found 2",
		},
		{
			name: "malformed-line",
			tamper: func(tb testing.TB, dir string, _ []Record) {
				lines, _ := readLines(tb, dir)
				lines[4] = []byte("not a record\n")
				writeLines(tb, dir, lines)
			},
			wantLine:    5,
			wantProblem: "line 5: malformed record",
		},
		{
			name: "blank-line",
			tamper: func(tb testing.TB, dir string, _ []Record) {
				lines, _ := readLines(tb, dir)
				writeLines(tb, dir, append(lines[:4:4], append([][]byte{[]byte("\n")}, lines[4:]...)...))
			},
			wantLine:    5,
			wantProblem: "line 5: malformed record",
		},
		{
			name: "truncate-last-record",
			tamper: func(tb testing.TB, dir string, _ []Record) {
				lines, _ := readLines(tb, dir)
				writeLines(tb, dir, lines[:len(lines)-1])
			},
			wantProblem: "log truncated: the head records seq 20 but the log ends at seq 19",
		},
		{
			name: "truncate-mid-record",
			tamper: func(tb testing.TB, dir string, _ []Record) {
				if err := os.Truncate(filepath.Join(dir, LogFile), logSize(tb, dir)-30); err != nil {
					tb.Fatal(err)
				}
			},
			wantProblem: "log truncated: the head records seq 20 but the log ends at seq 19",
		},
		{
			name: "truncate-and-rewrite-head",
			tamper: func(tb testing.TB, dir string, _ []Record) {
				lines, _ := readLines(tb, dir)
				lines = lines[:len(lines)-1]
				writeLines(tb, dir, lines)
				writeFile(tb, filepath.Join(dir, HeadFile), forgeChain(lines, len(lines)).encode())
			},
			anchorSeq:   20,
			wantProblem: "anchor not found: the anchor records seq 20 but the log ends at seq 19",
		},
		{
			name: "rewrite-everything",
			tamper: func(tb testing.TB, dir string, _ []Record) {
				lines, _ := readLines(tb, dir)
				lines[4] = bytes.Replace(lines[4], []byte(`"agent":"alice"`), []byte(`"agent":"bob"`), 1)
				h := forgeChain(lines, 4)
				writeLines(tb, dir, lines)
				writeFile(tb, filepath.Join(dir, HeadFile), h.encode())
			},
			anchorSeq:   12,
			wantLine:    12,
			wantProblem: "line 12 (seq 12): the anchor records hash",
		},
		{
			name: "head-hash-rewritten",
			tamper: func(tb testing.TB, dir string, recs []Record) {
				h := head{seq: fixtureRecords, hash: recs[3].Hash, size: logSize(tb, dir)}
				writeFile(tb, filepath.Join(dir, HeadFile), h.encode())
			},
			wantLine:    20,
			wantProblem: "line 20 (seq 20): the head records hash",
		},
		{
			name: "head-size-rewritten",
			tamper: func(tb testing.TB, dir string, recs []Record) {
				h := head{seq: fixtureRecords, hash: recs[fixtureRecords-1].Hash, size: logSize(tb, dir) - 1}
				writeFile(tb, filepath.Join(dir, HeadFile), h.encode())
			},
			wantLine:    20,
			wantProblem: "line 20 (seq 20): the head records the log size after this record as",
		},
		{
			name: "head-garbled",
			tamper: func(tb testing.TB, dir string, _ []Record) {
				writeFile(tb, filepath.Join(dir, HeadFile), []byte(`{"seq":20}`))
			},
			wantProblem: "head file: head file is garbled",
		},
		{
			name: "head-deleted",
			tamper: func(tb testing.TB, dir string, _ []Record) {
				if err := os.Remove(filepath.Join(dir, HeadFile)); err != nil {
					tb.Fatal(err)
				}
			},
			wantProblem: "head file missing or empty",
		},
		{
			name: "log-deleted",
			tamper: func(tb testing.TB, dir string, _ []Record) {
				if err := os.Remove(filepath.Join(dir, LogFile)); err != nil {
					tb.Fatal(err)
				}
			},
			wantProblem: "log missing: the head records seq 20",
		},
		{
			name: "extra-record-does-not-chain",
			tamper: func(tb testing.TB, dir string, _ []Record) {
				lines, _ := readLines(tb, dir)
				writeLines(tb, dir, append(lines, lines[5]))
			},
			wantLine:    21,
			wantProblem: "line 21 (seq 6): records missing or reordered (expected seq 21, found 6)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, recs := newFilledLog(t, fixtureRecords, Options{})
			wantOK(t, mustVerify(t, dir, VerifyOptions{}))
			tt.tamper(t, dir, recs)

			var opts VerifyOptions
			if tt.anchorSeq != 0 {
				opts.Anchor = &Anchor{Seq: tt.anchorSeq, Hash: recs[tt.anchorSeq-1].Hash}
			}
			rep := mustVerify(t, dir, opts)
			if rep.OK || rep.Line != tt.wantLine || !strings.HasPrefix(rep.Problem, tt.wantProblem) {
				t.Errorf("Verify() = OK %v, line %d, problem %q; want not OK, line %d, problem %q…",
					rep.OK, rep.Line, rep.Problem, tt.wantLine, tt.wantProblem)
			}
		})
	}
}

// TestVerify_limits pins what Verify cannot tell apart from an intact log
// without an anchor or a key.
func TestVerify_limits(t *testing.T) {
	t.Run("truncate-and-rewrite-head", func(t *testing.T) {
		dir, _ := newFilledLog(t, fixtureRecords, Options{})
		lines, _ := readLines(t, dir)
		lines = lines[:len(lines)-3]
		writeLines(t, dir, lines)
		writeFile(t, filepath.Join(dir, HeadFile), forgeChain(lines, len(lines)).encode())
		rep := mustVerify(t, dir, VerifyOptions{})
		if !rep.OK || rep.LastSeq != fixtureRecords-3 {
			t.Errorf("Verify() = %s, want OK at seq %d: only an anchor can tell", rep, fixtureRecords-3)
		}
	})
	t.Run("rewrite-everything", func(t *testing.T) {
		dir, _ := newFilledLog(t, fixtureRecords, Options{})
		lines, _ := readLines(t, dir)
		lines[4] = bytes.Replace(lines[4], []byte(`"agent":"alice"`), []byte(`"agent":"bob"`), 1)
		h := forgeChain(lines, 4)
		writeLines(t, dir, lines)
		writeFile(t, filepath.Join(dir, HeadFile), h.encode())
		if rep := mustVerify(t, dir, VerifyOptions{}); !rep.OK {
			t.Errorf("Verify() = %s, want OK: without a key or an anchor a full rewrite is undetectable", rep)
		}
	})
	t.Run("forged-record-after-head", func(t *testing.T) {
		dir, recs := newFilledLog(t, fixtureRecords, Options{})
		lines, _ := readLines(t, dir)
		forged := bytes.Replace(lines[len(lines)-1], []byte(`"seq":20,`), []byte(`"seq":21,`), 1)
		forged, _ = rehash(forged, recs[len(recs)-1].Hash)
		writeLines(t, dir, append(lines, forged))
		rep := mustVerify(t, dir, VerifyOptions{})
		if !rep.OK || rep.Unanchored != 1 || rep.Records != fixtureRecords+1 {
			t.Errorf("Verify() = %s, want OK with 21 records, 1 unanchored", rep)
		}
		// With a key the same forgery fails: see TestVerify_hmac.
	})
}

func TestVerify_hmac(t *testing.T) {
	key := []byte("k-0123456789abcdef")
	dir, recs := newFilledLog(t, 5, Options{Key: key})
	tests := []struct {
		name   string
		key    []byte
		wantOK bool
	}{
		{"right-key", key, true},
		{"no-key", nil, false},
		{"other-key", []byte("k-other"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := mustVerify(t, dir, VerifyOptions{Key: tt.key})
			if rep.OK != tt.wantOK {
				t.Fatalf("Verify(key %q) = %s, want OK %v", tt.key, rep, tt.wantOK)
			}
			if !tt.wantOK && (rep.Line != 1 || !strings.Contains(rep.Problem, "hash mismatch")) {
				t.Errorf("Verify(key %q) = line %d %q, want a hash mismatch at line 1", tt.key, rep.Line, rep.Problem)
			}
		})
	}

	// A record forged without the key does not verify.
	lines, _ := readLines(t, dir)
	forged := bytes.Replace(lines[4], []byte(`"seq":5,`), []byte(`"seq":6,`), 1)
	forged, _ = rehash(forged, recs[4].Hash)
	writeLines(t, dir, append(lines, forged))
	rep := mustVerify(t, dir, VerifyOptions{Key: key})
	if rep.OK || rep.Line != 6 {
		t.Errorf("Verify(keyed log + unkeyed forgery) = %s, line %d; want a problem at line 6", rep, rep.Line)
	}
	// And Append refuses to adopt it.
	l := newLog(t, dir, Options{Key: key})
	if _, err := l.Append(context.Background(), callRecord(0)); !errors.Is(err, ErrTampered) {
		t.Errorf("Append() after an unkeyed forgery: error %v, want ErrTampered", err)
	}
}

func TestVerify_anchor(t *testing.T) {
	dir, recs := newFilledLog(t, 5, Options{})
	seq, hash, err := Head(dir)
	if err != nil {
		t.Fatal(err)
	}
	if seq != 5 || hash != recs[4].Hash {
		t.Fatalf("Head() = %d, %s; want 5, %s", seq, hash, recs[4].Hash)
	}
	l := newLog(t, dir, Options{})
	mustAppend(t, l, callRecord(6))

	// An anchor taken earlier still holds as the log grows.
	rep := mustVerify(t, dir, VerifyOptions{Anchor: &Anchor{Seq: seq, Hash: hash}})
	wantOK(t, rep)
}

func TestVerify_emptyAndMissing(t *testing.T) {
	dir := t.TempDir()
	if _, err := Verify(dir, VerifyOptions{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Verify(no log) error = %v, want fs.ErrNotExist", err)
	}
	newLog(t, dir, Options{})
	rep := mustVerify(t, dir, VerifyOptions{})
	if !rep.OK || rep.Records != 0 || rep.LastHash != zeroHash {
		t.Errorf("Verify(new log) = %s, want OK with 0 records", rep)
	}
}

func TestVerify_longLine(t *testing.T) {
	dir := t.TempDir()
	l := newLog(t, dir, Options{})
	big := callRecord(0)
	big.Args = []byte(`{"data":"` + strings.Repeat("x", 1<<20) + `"}`)
	mustAppend(t, l, big)
	mustAppend(t, l, callRecord(1))
	rep := mustVerify(t, dir, VerifyOptions{})
	if !rep.OK || rep.Records != 2 {
		t.Errorf("Verify(1 MiB record) = %s, want OK with 2 records", rep)
	}

	// A line past the limit is malformed.
	lines, _ := readLines(t, dir)
	huge := append(bytes.Repeat([]byte("y"), maxLine), '\n')
	writeLines(t, dir, append(lines, huge))
	rep = mustVerify(t, dir, VerifyOptions{})
	if rep.OK || rep.Line != 3 || !strings.Contains(rep.Problem, "longer than 16 MiB") {
		t.Errorf("Verify(17 MiB line) = %s, line %d; want a malformed record at line 3", rep, rep.Line)
	}
}

func TestParseHead(t *testing.T) {
	valid := head{seq: 7, hash: strings.Repeat("ab", 32), size: 1234}
	tests := []struct {
		name    string
		in      []byte
		want    head
		wantErr error
	}{
		{"valid", valid.encode(), valid, nil},
		{"new", head{hash: zeroHash}.encode(), head{hash: zeroHash}, nil},
		{"empty", nil, head{}, errHeadEmpty},
		{"short", []byte(`{"seq":7}` + "\n"), head{}, errHeadGarbled},
		{"no-newline", bytes.Repeat([]byte(" "), headSize), head{}, errHeadGarbled},
		{"upper-hex", bytes.Replace(valid.encode(), []byte("ab"), []byte("AB"), 1), head{}, errHeadGarbled},
		{"bad-seq", bytes.Replace(valid.encode(), []byte(`"seq":7`), []byte(`"seq":x`), 1), head{}, errHeadGarbled},
		{"negative-size", bytes.Replace(valid.encode(), []byte(`1234}`), []byte(`-234}`), 1), head{}, errHeadGarbled},
		{"seq-0-with-size", head{hash: zeroHash, size: 5}.encode(), head{}, errHeadGarbled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseHead(tt.in)
			if !errors.Is(err, tt.wantErr) || got != tt.want {
				t.Errorf("parseHead(%q) = %+v, %v; want %+v, %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
	if n := len(valid.encode()); n != headSize {
		t.Errorf("len(head.encode()) = %d, want %d", n, headSize)
	}
}

func BenchmarkVerify(b *testing.B) {
	const n = 100_000
	dir := b.TempDir()
	l := newLog(b, dir, Options{})
	for i := range n {
		mustAppend(b, l, callRecord(i))
	}
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(logSize(b, dir))
	for b.Loop() {
		rep, err := Verify(dir, VerifyOptions{})
		if err != nil || !rep.OK || rep.Records != n {
			b.Fatalf("Verify() = %v, %v; want OK with %d records", rep, err, n)
		}
	}
}
