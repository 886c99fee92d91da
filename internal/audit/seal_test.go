package audit

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// truncateTail cuts the last n records off the log in dir and writes a head
// naming the last record left, as someone who can write the directory but
// does not hold the key can. keepMAC copies the MAC of the head it replaces.
func truncateTail(t *testing.T, dir string, recs []Record, n int, keepMAC bool) {
	t.Helper()
	lines, _ := readLines(t, dir)
	kept := lines[:len(lines)-n]
	writeLines(t, dir, kept)
	old, err := parseHead(readFile(t, filepath.Join(dir, HeadFile)))
	if err != nil {
		t.Fatal(err)
	}
	forged := head{seq: uint64(len(kept)), hash: recs[len(kept)-1].Hash, size: int64(len(bytes.Join(kept, nil)))}
	if keepMAC {
		forged.mac = old.mac
	}
	writeFile(t, filepath.Join(dir, HeadFile), forged.encode())
}

func TestVerify_keyedTruncationWithRewrittenHead(t *testing.T) {
	key := []byte("k-0123456789abcdef")
	for _, keepMAC := range []bool{false, true} {
		name := "no-mac"
		if keepMAC {
			name = "old-mac"
		}
		t.Run(name, func(t *testing.T) {
			dir, recs := newFilledLog(t, 5, Options{Key: key})
			wantOK(t, mustVerify(t, dir, VerifyOptions{Key: key}))

			truncateTail(t, dir, recs, 2, keepMAC)

			rep := mustVerify(t, dir, VerifyOptions{Key: key})
			if rep.OK || !strings.Contains(rep.Problem, "not sealed with the log's key") {
				t.Fatalf("Verify(keyed log cut to 3 records, head rewritten) = %s; want a head that is not sealed", rep)
			}
			// The log refuses to go on from the forged head: at Open, and
			// (for a Log opened before) at the next Append.
			if _, err := Open(dir, Options{Key: key}); !errors.Is(err, ErrTampered) {
				t.Errorf("Open(keyed, forged head) error = %v, want ErrTampered", err)
			}
			if got := readFile(t, filepath.Join(dir, LogFile)); bytes.Count(got, []byte("\n")) != 3 {
				t.Errorf("the log has %d records after the refused Open, want the 3 left", bytes.Count(got, []byte("\n")))
			}
		})
	}
}

func TestLog_Append_keyedRefusesRewrittenHead(t *testing.T) {
	key := []byte("k-0123456789abcdef")
	dir := t.TempDir()
	l := newLog(t, dir, Options{Key: key})
	var recs []Record
	for i := range 5 {
		recs = append(recs, mustAppend(t, l, callRecord(i)))
	}
	// Another process's append makes this Log read the head again.
	other := newLog(t, dir, Options{Key: key})
	recs = append(recs, mustAppend(t, other, callRecord(5)))
	truncateTail(t, dir, recs, 2, false)
	if _, err := l.Append(context.Background(), callRecord(6)); !errors.Is(err, ErrTampered) {
		t.Fatalf("Append() after the tail was cut and the head rewritten: error %v, want ErrTampered", err)
	}
}

func TestVerify_keyedHeadSealed(t *testing.T) {
	key := []byte("k-0123456789abcdef")
	dir, recs := newFilledLog(t, 3, Options{Key: key})
	h, err := parseHead(readFile(t, filepath.Join(dir, HeadFile)))
	if err != nil {
		t.Fatal(err)
	}
	if h.seq != 3 || h.hash != recs[2].Hash || h.mac == "" || newHeadSealer(key).check(h) != nil {
		t.Fatalf("head = %+v, want seq 3, the last hash and a MAC under the key", h)
	}
	// A head sealed under another key does not pass either.
	writeFile(t, filepath.Join(dir, HeadFile), newHeadSealer([]byte("k-other")).seal(h).encode())
	if rep := mustVerify(t, dir, VerifyOptions{Key: key}); rep.OK {
		t.Errorf("Verify(head sealed with another key) = %s, want a problem", rep)
	}

	// An unkeyed log keeps its unsealed head, which older heads match.
	udir, _ := newFilledLog(t, 3, Options{})
	uh, err := parseHead(readFile(t, filepath.Join(udir, HeadFile)))
	if err != nil || uh.mac != "" {
		t.Fatalf("unkeyed head = %+v, %v; want no MAC", uh, err)
	}
	wantOK(t, mustVerify(t, udir, VerifyOptions{}))
}

func TestVerify_keyedNewLog(t *testing.T) {
	key := []byte("k-0123456789abcdef")
	dir := t.TempDir()
	newLog(t, dir, Options{Key: key})
	wantOK(t, mustVerify(t, dir, VerifyOptions{Key: key}))
	// The empty head of a keyed log is sealed too.
	writeFile(t, filepath.Join(dir, HeadFile), head{hash: zeroHash}.encode())
	if rep := mustVerify(t, dir, VerifyOptions{Key: key}); rep.OK {
		t.Errorf("Verify(keyed new log, unsealed head) = %s, want a problem", rep)
	}
}

func TestParseHead_sealed(t *testing.T) {
	s := newHeadSealer([]byte("k-0123456789abcdef"))
	h := s.seal(head{seq: 1<<64 - 1, hash: strings.Repeat("ab", 32), size: 1<<63 - 1})
	b := h.encode()
	if len(b) != headSize {
		t.Fatalf("len(sealed head) = %d, want %d", len(b), headSize)
	}
	got, err := parseHead(b)
	if err != nil || got != h || s.check(got) != nil {
		t.Fatalf("parseHead(%q) = %+v, %v; want %+v sealed", b, got, err, h)
	}
	body := string(h.body())
	for _, bad := range []string{`,"mac":"` + strings.Repeat("A", 64) + `"}`, `,"mac":"abc"}`, `,"mac":` + strings.Repeat("a", 64) + `}`} {
		in := []byte(body[:len(body)-1] + bad)
		in = append(in, bytes.Repeat([]byte(" "), headSize-1-len(in))...)
		if _, err := parseHead(append(in, '\n')); !errors.Is(err, errHeadGarbled) {
			t.Errorf("parseHead(mac %s) error = %v, want errHeadGarbled", bad, err)
		}
	}
	// Changing any sealed field breaks the seal.
	for _, edit := range []head{{seq: h.seq - 1, hash: h.hash, size: h.size, mac: h.mac}, {seq: h.seq, hash: zeroHash, size: h.size, mac: h.mac}, {seq: h.seq, hash: h.hash, size: 0, mac: h.mac}} {
		if err := s.check(edit); !errors.Is(err, errHeadUnsealed) {
			t.Errorf("check(%+v) = %v, want errHeadUnsealed", edit, err)
		}
	}
}

func TestReseal(t *testing.T) {
	key := []byte("k-0123456789abcdef")
	dir, recs := newFilledLog(t, 4, Options{Key: key})
	// A head as a Warden before sealed heads wrote it.
	old := head{seq: 4, hash: recs[3].Hash, size: logSize(t, dir)}
	writeFile(t, filepath.Join(dir, HeadFile), old.encode())
	if rep := mustVerify(t, dir, VerifyOptions{Key: key}); rep.OK {
		t.Fatalf("Verify(keyed log, unsealed head) = %s, want a problem", rep)
	}

	// A wrong anchor, or no key, leaves the head as it was.
	if rep, err := Reseal(dir, key, &Anchor{Seq: 4, Hash: recs[2].Hash}); err != nil || rep.OK {
		t.Errorf("Reseal(wrong anchor) = %v, %v; want a problem", rep, err)
	}
	if _, err := Reseal(dir, nil, nil); err == nil {
		t.Error("Reseal(no key) succeeded")
	}
	if got := readFile(t, filepath.Join(dir, HeadFile)); !bytes.Equal(got, old.encode()) {
		t.Fatalf("a refused Reseal rewrote the head: %q", got)
	}

	rep, err := Reseal(dir, key, &Anchor{Seq: 4, Hash: recs[3].Hash})
	if err != nil || !rep.OK || rep.LastSeq != 4 {
		t.Fatalf("Reseal() = %v, %v; want OK at seq 4", rep, err)
	}
	wantOK(t, mustVerify(t, dir, VerifyOptions{Key: key}))
	l := newLog(t, dir, Options{Key: key})
	if got := mustAppend(t, l, callRecord(4)); got.Seq != 5 {
		t.Errorf("Append() after Reseal: seq %d, want 5", got.Seq)
	}

	// A log whose records do not verify under the key is not resealed.
	dir2, _ := newFilledLog(t, 2, Options{Key: []byte("k-other")})
	before := readFile(t, filepath.Join(dir2, HeadFile))
	if rep, err := Reseal(dir2, key, nil); err != nil || rep.OK {
		t.Errorf("Reseal(log under another key) = %v, %v; want a problem", rep, err)
	}
	if got := readFile(t, filepath.Join(dir2, HeadFile)); !bytes.Equal(got, before) {
		t.Errorf("a refused Reseal rewrote the head")
	}
}

func TestOpen_keyedLogWithoutKey(t *testing.T) {
	dir, _ := newFilledLog(t, 2, Options{Key: []byte("k-0123456789abcdef")})
	before := readFile(t, filepath.Join(dir, LogFile))
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrKeyRequired) {
		t.Fatalf("Open(keyed log, no key) error = %v, want ErrKeyRequired", err)
	}
	if got := readFile(t, filepath.Join(dir, LogFile)); !bytes.Equal(got, before) {
		t.Error("the log changed")
	}
	wantOK(t, mustVerify(t, dir, VerifyOptions{Key: []byte("k-0123456789abcdef")}))
}
