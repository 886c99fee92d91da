package journal_test

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/journal"
)

// openBenchEntries is how many entries BenchmarkOpen's journal holds;
// WARDEN_BENCH_JOURNAL_ENTRIES overrides it for a quicker look.
const openBenchEntries = 1_000_000

// BenchmarkOpen measures a restart: opening a journal of a million
// entries and making the first call's entry (Begin, Prepare, Commit). It
// reports the heap the open Store holds (heap-MB), which must not grow
// with the journal's history.
func BenchmarkOpen(b *testing.B) {
	n := openBenchEntries
	if v, err := strconv.Atoi(os.Getenv("WARDEN_BENCH_JOURNAL_ENTRIES")); err == nil && v > 0 {
		n = v
	}
	state := b.TempDir()
	writeSyntheticJournal(b, state, n)
	// One open builds whatever the journal keeps to open fast; a restart
	// finds it.
	s, err := journal.Open(state, journal.Options{})
	if err != nil {
		b.Fatal(err)
	}
	s.Close()
	var heap uint64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		s, err := journal.Open(state, journal.Options{})
		if err != nil {
			b.Fatal(err)
		}
		tx, err := s.Begin(core.JournalEntry{ID: fmt.Sprintf("bench%d", i), Resource: "r"})
		if err != nil {
			b.Fatal(err)
		}
		c := core.Change{Op: "create", Path: "new.txt", After: core.ObjectState{Type: "file", Size: 1}}
		if err := tx.Prepare(c, nil); err != nil {
			b.Fatal(err)
		}
		tx.Record(c)
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		if after.HeapInuse > before.HeapInuse {
			heap = max(heap, after.HeapInuse-before.HeapInuse)
		}
		s.Close()
		runtime.KeepAlive(s)
		b.StartTimer()
	}
	b.ReportMetric(float64(heap)/(1<<20), "heap-MB")
	b.ReportMetric(float64(n), "entries")
}

// writeSyntheticJournal writes n entries to state's entry log in its
// format: one write of a small file each, every tenth replacing one kept
// inline, spread over the last day.
func writeSyntheticJournal(b *testing.B, state string, n int) {
	b.Helper()
	dir := filepath.Join(state, "journal")
	if err := os.MkdirAll(filepath.Join(dir, "objects"), 0o700); err != nil {
		b.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "entries.log"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	start := time.Now().Add(-24 * time.Hour)
	step := 24 * time.Hour / time.Duration(n+1)
	for i := range n {
		t := start.Add(time.Duration(i) * step).UTC().Format(time.RFC3339Nano)
		path := fmt.Sprintf("dir%d/file%d.txt", i%1000, i)
		if i%10 == 0 {
			content := fmt.Sprintf("old content %d\n", i)
			sum := hash([]byte(content))
			fmt.Fprintf(w, `{"id":"e%08d","time":%q,"agent":"bot","tool":"data_write","resource":"data","changes":[{"op":"replace","path":%q,"before":{"type":"file","mode":420,"size":%d,"sha256":%q},"after":{"type":"file","mode":420,"size":9,"sha256":"%064d"}}],"objects":{%q:%d},"inline":{%q:%q}}`+"\n",
				i, t, path, len(content), sum, i, sum, len(content), sum, base64.StdEncoding.EncodeToString([]byte(content)))
			continue
		}
		fmt.Fprintf(w, `{"id":"e%08d","time":%q,"agent":"bot","tool":"data_write","resource":"data","changes":[{"op":"create","path":%q,"before":{},"after":{"type":"file","mode":420,"size":9,"sha256":"%064d"}}]}`+"\n", i, t, path, i)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkHistory measures, on the journal of BenchmarkOpen, what undo
// and history do with an old entry: Entry (a table lookup and one line),
// History of its path (a scan of the log) and Open of content it keeps
// inline (a scan too, as the entry is not among the recent ones).
func BenchmarkHistory(b *testing.B) {
	n := openBenchEntries
	if v, err := strconv.Atoi(os.Getenv("WARDEN_BENCH_JOURNAL_ENTRIES")); err == nil && v > 0 {
		n = v
	}
	state := b.TempDir()
	writeSyntheticJournal(b, state, n)
	s, err := journal.Open(state, journal.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const old = 10 // an entry that keeps its old content inline
	sum := hash(fmt.Appendf(nil, "old content %d\n", old))
	for _, bb := range []struct {
		name string
		fn   func() error
	}{
		{"Entry", func() error { _, err := s.Entry(fmt.Sprintf("e%08d", old)); return err }},
		{"History", func() error {
			h, err := s.History("data", fmt.Sprintf("dir%d/file%d.txt", old%1000, old))
			if err == nil && len(h) != 1 {
				err = fmt.Errorf("history has %d entries, want 1", len(h))
			}
			return err
		}},
		{"OpenInline", func() error {
			f, err := s.Open(sum)
			if err == nil {
				f.Close()
			}
			return err
		}},
	} {
		b.Run(bb.name, func(b *testing.B) {
			for range b.N {
				if err := bb.fn(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
