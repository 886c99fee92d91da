package audit

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/warden-dev/warden/internal/redact"
)

// readAll returns every record of the log in dir.
func readAll(tb testing.TB, dir string) []Record {
	tb.Helper()
	var recs []Record
	err := Read(context.Background(), dir, Filter{}, func(r Record) error {
		recs = append(recs, r)
		return nil
	})
	if err != nil {
		tb.Fatalf("Read(%q) error: %v", dir, err)
	}
	return recs
}

// checkChain fails unless recs are seqs 1..n, each chained to the last.
func checkChain(tb testing.TB, recs []Record) {
	tb.Helper()
	prev := zeroHash
	ids := make(map[string]bool)
	for i, r := range recs {
		if r.Seq != uint64(i+1) {
			tb.Fatalf("record %d has seq %d, want %d", i, r.Seq, i+1)
		}
		if r.Prev != prev {
			tb.Fatalf("record seq %d has prev %s, want %s", r.Seq, r.Prev, prev)
		}
		if ids[r.ID] {
			tb.Fatalf("record seq %d repeats id %s", r.Seq, r.ID)
		}
		ids[r.ID] = true
		prev = r.Hash
	}
}

func TestOpen_createsFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "audit")
	newLog(t, dir, Options{})
	tests := []struct {
		path string
		mode os.FileMode
	}{
		{dir, 0o700 | os.ModeDir},
		{filepath.Join(dir, LogFile), 0o600},
		{filepath.Join(dir, HeadFile), 0o600},
	}
	for _, tt := range tests {
		st, err := os.Stat(tt.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Mode(); got != tt.mode {
			t.Errorf("mode of %s = %v, want %v", tt.path, got, tt.mode)
		}
	}
	h, err := parseHead(readFile(t, filepath.Join(dir, HeadFile)))
	if err != nil {
		t.Fatalf("parseHead(new head) error: %v", err)
	}
	if want := (head{hash: zeroHash}); h != want {
		t.Errorf("new head = %+v, want %+v", h, want)
	}
	seq, hash, err := Head(dir)
	if err != nil || seq != 0 || hash != zeroHash {
		t.Errorf("Head(new log) = %d, %q, %v; want 0, zeros, nil", seq, hash, err)
	}
}

func TestLog_Append_concurrentGoroutines(t *testing.T) {
	dir := t.TempDir()
	l := newLog(t, dir, Options{})
	const workers, each = 8, 100
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				if _, err := l.Append(context.Background(), callRecord(w*each+i)); err != nil {
					t.Errorf("Append error: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatalf("Close() error: %v", err)
	}

	rep := mustVerify(t, dir, VerifyOptions{})
	wantOK(t, rep)
	if rep.Records != workers*each || rep.LastSeq != workers*each {
		t.Errorf("Verify() = %d records, last seq %d; want %d", rep.Records, rep.LastSeq, workers*each)
	}
	recs := readAll(t, dir)
	if len(recs) != workers*each {
		t.Fatalf("Read() returned %d records, want %d", len(recs), workers*each)
	}
	checkChain(t, recs)
	seq, hash, err := Head(dir)
	if err != nil || seq != rep.LastSeq || hash != rep.LastHash {
		t.Errorf("Head() = %d, %s, %v; want %d, %s, nil", seq, hash, err, rep.LastSeq, rep.LastHash)
	}
}

func TestLog_Append_storedRecord(t *testing.T) {
	dir := t.TempDir()
	start := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.FixedZone("CET", 3600))
	l := newLog(t, dir, Options{Now: fixedClock(start, time.Millisecond)})

	in := callRecord(0)
	in.Detail = map[string]any{"note": "first"}
	inCopy := *in
	first := mustAppend(t, l, in)
	if diff := cmp.Diff(inCopy, *in); diff != "" {
		t.Errorf("Append modified its argument (-before +after):\n%s", diff)
	}
	explicit := time.Date(2025, 1, 2, 3, 4, 5, 0, time.FixedZone("X", -7200))
	second := mustAppend(t, l, &Record{Event: "start", Time: explicit})

	tests := []struct {
		name      string
		got, want any
	}{
		{"first.Seq", first.Seq, uint64(1)},
		{"first.Prev", first.Prev, zeroHash},
		{"first.Time", first.Time, start.UTC()},
		{"first.Time is UTC", first.Time.Location() == time.UTC, true},
		{"len(first.ID)", len(first.ID), 26},
		{"len(first.Hash)", len(first.Hash), 64},
		{"second.Seq", second.Seq, uint64(2)},
		{"second.Prev", second.Prev, first.Hash},
		{"second.Time", second.Time, explicit.UTC()},
		{"second.ID > first.ID", second.ID > first.ID, true},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, tt.got); diff != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", tt.name, diff)
		}
	}

	// What Append returns is what Read finds.
	recs := readAll(t, dir)
	if diff := cmp.Diff([]Record{first, second}, recs); diff != "" {
		t.Errorf("Read() mismatch (-want +got):\n%s", diff)
	}
	lines, _ := readLines(t, dir)
	if !strings.HasPrefix(string(lines[0]), `{"seq":1,"id":"`+first.ID+`","time":"2026-03-01T11:00:00.123456789Z","event":"call",`) {
		t.Errorf("line 1 = %s, want seq, id, time and event first", lines[0])
	}
	if !strings.HasSuffix(string(lines[0]), `"prev":"`+zeroHash+`","hash":"`+first.Hash+"\"}\n") {
		t.Errorf("line 1 = %s, want prev and hash last", lines[0])
	}
}

func TestLog_Append_tampered(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(tb testing.TB, dir string)
	}{
		{"log-truncated-below-head", func(tb testing.TB, dir string) {
			if err := os.Truncate(filepath.Join(dir, LogFile), logSize(tb, dir)-10); err != nil {
				tb.Fatal(err)
			}
		}},
		{"log-emptied", func(tb testing.TB, dir string) {
			writeLines(tb, dir, nil)
		}},
		{"head-emptied", func(tb testing.TB, dir string) {
			writeFile(tb, filepath.Join(dir, HeadFile), nil)
		}},
		{"head-garbled", func(tb testing.TB, dir string) {
			writeFile(tb, filepath.Join(dir, HeadFile), []byte(strings.Repeat("x", headSize)))
		}},
		{"extra-line-does-not-chain", func(tb testing.TB, dir string) {
			lines, _ := readLines(tb, dir)
			writeLines(tb, dir, append(lines, lines[2]))
		}},
		{"extra-line-edited", func(tb testing.TB, dir string) {
			f, err := os.OpenFile(filepath.Join(dir, LogFile), os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				tb.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteString(`{"seq":6,"event":"forged"}` + "\n"); err != nil {
				tb.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, _ := newFilledLog(t, 5, Options{})
			l := newLog(t, dir, Options{})
			tt.tamper(t, dir)
			before := readFile(t, filepath.Join(dir, LogFile))

			for range 2 { // it keeps failing
				_, err := l.Append(context.Background(), callRecord(0))
				if !errors.Is(err, ErrTampered) {
					t.Fatalf("Append() error = %v, want ErrTampered", err)
				}
				if !strings.Contains(err.Error(), "warden audit verify") {
					t.Errorf("Append() error = %q, want advice to run warden audit verify", err)
				}
			}
			if after := readFile(t, filepath.Join(dir, LogFile)); string(after) != string(before) {
				t.Errorf("a failed Append changed the log:\n%s\nwant:\n%s", after, before)
			}
		})
	}
}

func TestLog_Append_followsMoveAside(t *testing.T) {
	dir := t.TempDir()
	l := newLog(t, dir, Options{})
	for i := range 3 {
		mustAppend(t, l, callRecord(i))
	}
	// The operator moves the log aside while the Log is open.
	aside := moveAside(t, dir)
	l.nameChecked = time.Time{} // as if nameCheckEvery had passed
	r := mustAppend(t, l, callRecord(3))
	if r.Seq != 1 || r.Prev != zeroHash {
		t.Errorf("Append() after moving the log aside = seq %d prev %s, want a new log at seq 1", r.Seq, r.Prev)
	}
	tests := []struct {
		dir         string
		wantRecords int
	}{
		{dir, 1},
		{aside, 3},
	}
	for _, tt := range tests {
		rep := mustVerify(t, tt.dir, VerifyOptions{})
		if !rep.OK || rep.Records != tt.wantRecords {
			t.Errorf("Verify(%s) = %s, want OK with %d records", tt.dir, rep, tt.wantRecords)
		}
	}
}

// moveAside moves the log files out of dir, as the operator is told to
// do with a damaged log, and returns where they went.
func moveAside(tb testing.TB, dir string) string {
	tb.Helper()
	aside := tb.TempDir()
	for _, name := range []string{LogFile, HeadFile} {
		if err := os.Rename(filepath.Join(dir, name), filepath.Join(aside, name)); err != nil {
			tb.Fatal(err)
		}
	}
	return aside
}

func TestLog_Append_afterTamperingAndMoveAside(t *testing.T) {
	dir := t.TempDir()
	l := newLog(t, dir, Options{})
	for i := range 3 {
		mustAppend(t, l, callRecord(i))
	}
	if err := os.Truncate(filepath.Join(dir, LogFile), 10); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(context.Background(), callRecord(3)); !errors.Is(err, ErrTampered) {
		t.Fatalf("Append() after truncation: error %v, want ErrTampered", err)
	}
	moveAside(t, dir)
	// A long-running writer picks up the new log at once.
	r := mustAppend(t, l, callRecord(4))
	if r.Seq != 1 {
		t.Errorf("Append() after moving the damaged log aside = seq %d, want 1", r.Seq)
	}
	wantOK(t, mustVerify(t, dir, VerifyOptions{}))
}

func TestLog_Append_logDeleted(t *testing.T) {
	dir := t.TempDir()
	l := newLog(t, dir, Options{})
	mustAppend(t, l, callRecord(0))
	if err := os.Remove(filepath.Join(dir, LogFile)); err != nil {
		t.Fatal(err)
	}
	// Appending to the unlinked file would lose records silently; the
	// head still names seq 1, so the new empty log is a truncation.
	if _, err := l.Append(context.Background(), callRecord(1)); !errors.Is(err, ErrTampered) {
		t.Errorf("Append() after the log was deleted: error %v, want ErrTampered", err)
	}
}

// crashBeforeHead appends one record and then restores the previous head,
// as if the writer died between writing the line and updating the head.
func crashBeforeHead(tb testing.TB, dir string, l *Log) Record {
	tb.Helper()
	headPath := filepath.Join(dir, HeadFile)
	old := readFile(tb, headPath)
	r := mustAppend(tb, l, callRecord(99))
	writeFile(tb, headPath, old)
	return r
}

// crashMidWrite leaves the first half of a record's line at the end of the
// log, as if the writer died during the write. It returns the offset of
// the partial line and its length.
func crashMidWrite(tb testing.TB, dir string, l *Log) (off int64, n int) {
	tb.Helper()
	off = logSize(tb, dir)
	crashBeforeHead(tb, dir, l)
	n = int(logSize(tb, dir)-off) / 2
	if err := os.Truncate(filepath.Join(dir, LogFile), off+int64(n)); err != nil {
		tb.Fatal(err)
	}
	return off, n
}

func TestLog_Append_recoversPartialRecord(t *testing.T) {
	dir, _ := newFilledLog(t, 10, Options{})
	l := newLog(t, dir, Options{})
	off, n := crashMidWrite(t, dir, l)

	rep := mustVerify(t, dir, VerifyOptions{})
	wantOK(t, rep)
	if rep.Partial == "" || rep.Records != 10 {
		t.Errorf("Verify() after a crash = %s, want 10 records and Partial set", rep)
	}
	if !strings.Contains(rep.Partial, "partial record") || !strings.Contains(rep.Partial, "line 11") {
		t.Errorf("Verify().Partial = %q, want it to name the partial record at line 11", rep.Partial)
	}

	r := mustAppend(t, l, callRecord(11))
	if r.Seq != 11 {
		t.Errorf("Append() after a crash: seq %d, want 11", r.Seq)
	}
	wantDetail := map[string]any{"recovered_partial_bytes": float64(n), "recovered_at_offset": float64(off)}
	recs := readAll(t, dir)
	if diff := cmp.Diff(wantDetail, recs[len(recs)-1].Detail); diff != "" {
		t.Errorf("recovery note mismatch (-want +got):\n%s", diff)
	}
	_, partial := readLines(t, dir)
	if partial != nil {
		t.Errorf("log still ends with %q after recovery", partial)
	}
	rep = mustVerify(t, dir, VerifyOptions{})
	wantOK(t, rep)
	if rep.Partial != "" || rep.Records != 11 || rep.Unanchored != 0 {
		t.Errorf("Verify() after recovery = %s, want 11 records, no partial, all anchored", rep)
	}
	checkChain(t, recs)
}

func TestLog_Append_adoptsRecordsAfterHead(t *testing.T) {
	dir, _ := newFilledLog(t, 5, Options{})
	l := newLog(t, dir, Options{})
	lost := crashBeforeHead(t, dir, l)

	rep := mustVerify(t, dir, VerifyOptions{})
	wantOK(t, rep)
	if rep.Unanchored != 1 || rep.Records != 6 {
		t.Errorf("Verify() = %s, want 6 records, 1 unanchored", rep)
	}

	// The writer that "crashed" is gone; the next append comes from a new
	// process, which has only the files to go by.
	l.Close()
	l = newLog(t, dir, Options{})
	r := mustAppend(t, l, callRecord(7))
	if r.Seq != 7 || r.Prev != lost.Hash {
		t.Errorf("Append() = seq %d prev %s, want seq 7 chained to %s", r.Seq, r.Prev, lost.Hash)
	}
	if diff := cmp.Diff(map[string]any{"recovered_records": 1}, r.Detail); diff != "" {
		t.Errorf("recovery note mismatch (-want +got):\n%s", diff)
	}
	rep = mustVerify(t, dir, VerifyOptions{})
	wantOK(t, rep)
	if rep.Unanchored != 0 || rep.Records != 7 {
		t.Errorf("Verify() after adoption = %s, want 7 records, all anchored", rep)
	}
}

func TestLog_Append_redacts(t *testing.T) {
	const secret = "s3cr3t-value"
	b64 := base64.StdEncoding.EncodeToString([]byte(secret))
	dir := t.TempDir()
	l := newLog(t, dir, Options{Redactor: redact.New(secret)})

	rec := callRecord(0)
	rec.Args = json.RawMessage(`{"password":"` + secret + `","auth":"Basic ` + b64 + `"}`)
	rec.Error = "login failed for " + secret
	rec.Detail = map[string]any{"token": b64}
	got := mustAppend(t, l, rec)

	raw := string(readFile(t, filepath.Join(dir, LogFile)))
	for _, form := range []string{secret, b64} {
		if strings.Contains(raw, form) {
			t.Errorf("log contains %q:\n%s", form, raw)
		}
	}
	wantArgs := `{"password":"[REDACTED]","auth":"Basic [REDACTED]"}`
	if string(got.Args) != wantArgs {
		t.Errorf("Append().Args = %s, want %s", got.Args, wantArgs)
	}
	if want := "login failed for [REDACTED]"; got.Error != want {
		t.Errorf("Append().Error = %q, want %q", got.Error, want)
	}
	if diff := cmp.Diff(readAll(t, dir), []Record{got}); diff != "" {
		t.Errorf("Append() result differs from the stored record (-stored +returned):\n%s", diff)
	}
	wantOK(t, mustVerify(t, dir, VerifyOptions{}))
}

func TestLog_Append_redactionKeepsStructure(t *testing.T) {
	tests := []struct {
		name    string
		secret  string
		args    string
		check   func(r Record) bool
		wantArg string
	}{
		// Redacting the encoded text would cut across two fields.
		{"secret-spans-fields", `fs_read","resource`, `{"q":"x"}`,
			func(r Record) bool { return r.Tool == "fs_read" && r.Resource == "docs" }, `{"q":"x"}`},
		// Redacting the encoded text would rename a field.
		{"secret-is-field-name", "tool", `{"q":"tool"}`,
			func(r Record) bool { return r.Tool == "fs_read" }, `{"q":"[REDACTED]"}`},
		{"secret-with-quote", `pa"ss`, `{"q":"pa\"ss"}`,
			func(r Record) bool { return r.Tool == "fs_read" }, `{"q":"[REDACTED]"}`},
		// Redacting the encoded text would join two values, dropping a
		// field while staying valid JSON.
		{"secret-joins-values", `read","resource":"do`, `{"q":"x"}`,
			func(r Record) bool { return r.Tool == "fs_read" && r.Resource == "docs" }, `{"q":"x"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			l := newLog(t, dir, Options{Redactor: redact.New(tt.secret)})
			rec := callRecord(0)
			rec.Args = json.RawMessage(tt.args)
			got := mustAppend(t, l, rec)
			if !tt.check(got) || string(got.Args) != tt.wantArg {
				t.Errorf("Append() = tool %q resource %q args %s, want fields intact and args %s", got.Tool, got.Resource, got.Args, tt.wantArg)
			}
			wantOK(t, mustVerify(t, dir, VerifyOptions{}))
			if recs := readAll(t, dir); len(recs) != 1 || !tt.check(recs[0]) {
				t.Errorf("Read() = %+v, want the record with its fields intact", recs)
			}
		})
	}
}

func TestLog_Append_invalidArgs(t *testing.T) {
	dir := t.TempDir()
	l := newLog(t, dir, Options{})
	rec := callRecord(0)
	rec.Args = json.RawMessage(`{"path": nope`)
	got := mustAppend(t, l, rec)
	if want := `"{\"path\": nope"`; string(got.Args) != want {
		t.Errorf("Append().Args = %s, want %s", got.Args, want)
	}
	if got.Detail["args_invalid_json"] != true {
		t.Errorf("Append().Detail = %v, want args_invalid_json", got.Detail)
	}
	wantOK(t, mustVerify(t, dir, VerifyOptions{}))
}

func TestLog_Append_unencodable(t *testing.T) {
	l := newLog(t, t.TempDir(), Options{})
	rec := callRecord(0)
	rec.Detail = map[string]any{"ch": make(chan int)}
	if _, err := l.Append(context.Background(), rec); err == nil {
		t.Errorf("Append(record with a channel in Detail) = nil error, want an encoding error")
	}
	// The failure leaves the log usable.
	if r := mustAppend(t, l, callRecord(1)); r.Seq != 1 {
		t.Errorf("Append() after a failed append: seq %d, want 1", r.Seq)
	}
}

func TestLog_Append_canceled(t *testing.T) {
	dir := t.TempDir()
	l := newLog(t, dir, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Append(ctx, callRecord(0)); !errors.Is(err, context.Canceled) {
		t.Errorf("Append(canceled) error = %v, want context.Canceled", err)
	}
	if size := logSize(t, dir); size != 0 {
		t.Errorf("log size after a canceled Append = %d, want 0", size)
	}
}

func TestLog_Append_waitsForOtherLockHolder(t *testing.T) {
	dir := t.TempDir()
	l := newLog(t, dir, Options{})
	// Another open file description stands in for another process.
	other, err := os.Open(filepath.Join(dir, LogFile))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := lockFile(context.Background(), other, true); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := l.Append(ctx, callRecord(0)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Append() while another holds the lock: error = %v, want DeadlineExceeded", err)
	}
	if err := unlockFile(other); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, l, callRecord(1))
}

func TestLog_Close(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, Options{SyncEvery: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, l, callRecord(0))
	time.Sleep(5 * time.Millisecond) // let the flusher run
	for i := range 2 {
		if err := l.Close(); err != nil {
			t.Errorf("Close() #%d error: %v", i+1, err)
		}
	}
	if _, err := l.Append(context.Background(), callRecord(1)); !errors.Is(err, ErrClosed) {
		t.Errorf("Append() after Close error = %v, want ErrClosed", err)
	}
	wantOK(t, mustVerify(t, dir, VerifyOptions{}))
}

func TestLog_Append_syncAlways(t *testing.T) {
	dir := t.TempDir()
	l := newLog(t, dir, Options{Sync: SyncAlways})
	for i := range 5 {
		mustAppend(t, l, callRecord(i))
	}
	rep := mustVerify(t, dir, VerifyOptions{})
	wantOK(t, rep)
	if rep.Records != 5 {
		t.Errorf("Verify() = %s, want 5 records", rep)
	}
}

func TestSyncMode_String(t *testing.T) {
	tests := []struct {
		m    SyncMode
		want string
	}{
		{SyncInterval, "interval"},
		{SyncAlways, "always"},
	}
	for _, tt := range tests {
		if got := tt.m.String(); got != tt.want {
			t.Errorf("SyncMode(%d).String() = %q, want %q", int(tt.m), got, tt.want)
		}
	}
}

func BenchmarkAppend(b *testing.B) {
	secrets := redact.New("db-password-123456", "sk-live-0123456789abcdef", "ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZ012345")
	tests := []struct {
		name string
		opts Options
	}{
		{"sha256", Options{}},
		{"hmac+redact", Options{Key: []byte("0123456789abcdef0123456789abcdef"), Redactor: secrets}},
		{"sync-always", Options{Sync: SyncAlways}},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			l := newLog(b, b.TempDir(), tt.opts)
			rec := callRecord(0)
			ctx := context.Background()
			for b.Loop() {
				if _, err := l.Append(ctx, rec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("parallel", func(b *testing.B) {
		l := newLog(b, b.TempDir(), Options{})
		rec := callRecord(0)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := l.Append(context.Background(), rec); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

func TestLog_Append_presetID(t *testing.T) {
	dir := t.TempDir()
	l := newLog(t, dir, Options{})
	id := NewID()
	r := mustAppend(t, l, &Record{Event: "call", ID: id})
	if r.ID != id {
		t.Errorf("Append kept id %q, want %q", r.ID, id)
	}
	if _, err := l.Append(context.Background(), &Record{Event: "call", ID: "../../etc/passwd"}); err == nil {
		t.Errorf("Append accepted a malformed id")
	}
	if a, b := NewID(), NewID(); a == b || !ValidID(a) || !(a < b) {
		t.Errorf("NewID() = %q then %q: want distinct, valid, increasing", a, b)
	}
	wantOK(t, mustVerify(t, dir, VerifyOptions{}))
}
