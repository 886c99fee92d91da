package journal_test

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/warden-dev/warden/internal/journal"
)

var benchSizes = []int{1 << 10, 1 << 20}

// BenchmarkKeep measures Keep of a file with fresh content each time, in
// both modes. Compare with BenchmarkAtomicWrite, the write Keep precedes.
func BenchmarkKeep(b *testing.B) {
	for _, m := range modes {
		for _, size := range benchSizes {
			b.Run(fmt.Sprintf("%s/%dKiB", m.name, size>>10), func(b *testing.B) {
				state, work := b.TempDir(), b.TempDir()
				s := newStore(b, state, journal.Options{}, m.copyOnly)
				dir := mustOpenDir(b, work)
				path := filepath.Join(work, "f")
				content := make([]byte, size)
				b.SetBytes(int64(size))
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					binary.LittleEndian.PutUint64(content, uint64(i))
					mustWrite(b, path, content)
					info, err := os.Lstat(path)
					if err != nil {
						b.Fatal(err)
					}
					sum := hash(content)
					tx := mustBegin(b, s, fmt.Sprint("b", i))
					b.StartTimer()
					if err := tx.Keep(dir, "f", info, sum, nil); err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					tx.Abort()
					b.StartTimer()
				}
			})
		}
	}
}

// BenchmarkAtomicWrite is the baseline: replacing a file the way a
// connector does (temp file, fsync, rename, fsync of the directory).
func BenchmarkAtomicWrite(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			work := b.TempDir()
			dir := mustOpenDir(b, work)
			content := make([]byte, size)
			b.SetBytes(int64(size))
			for i := 0; i < b.N; i++ {
				binary.LittleEndian.PutUint64(content, uint64(i))
				tmp := filepath.Join(work, ".tmp")
				f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
				if err != nil {
					b.Fatal(err)
				}
				f.Write(content)
				if err := f.Sync(); err != nil {
					b.Fatal(err)
				}
				f.Close()
				if err := os.Rename(tmp, filepath.Join(work, "f")); err != nil {
					b.Fatal(err)
				}
				if err := dir.Sync(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCommit measures committing an entry that kept one 1 KiB file.
func BenchmarkCommit(b *testing.B) {
	state, work := b.TempDir(), b.TempDir()
	s := newStore(b, state, journal.Options{}, false)
	dir := mustOpenDir(b, work)
	path := filepath.Join(work, "f")
	content := make([]byte, 1<<10)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		binary.LittleEndian.PutUint64(content, uint64(i))
		mustWrite(b, path, content)
		tx := mustBegin(b, s, fmt.Sprint("b", i))
		sum := mustKeep(b, tx, dir, "f")
		tx.Record(replaceChange("f", sum))
		b.StartTimer()
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPrepare measures the write-ahead step of a call that kept one
// 1 KiB file, and the Commit of the same changes that follows it.
func BenchmarkPrepare(b *testing.B) {
	state, work := b.TempDir(), b.TempDir()
	s := newStore(b, state, journal.Options{}, false)
	dir := mustOpenDir(b, work)
	path := filepath.Join(work, "f")
	content := make([]byte, 1<<10)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		binary.LittleEndian.PutUint64(content, uint64(i))
		mustWrite(b, path, content)
		tx := mustBegin(b, s, fmt.Sprint("b", i))
		c := replaceChange("f", mustKeep(b, tx, dir, "f"))
		b.StartTimer()
		if err := tx.Prepare(c, nil); err != nil {
			b.Fatal(err)
		}
		tx.Record(c)
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkKeepPrepareCommit measures what the journal adds to a call that
// replaces one file: Keep, Prepare and Commit. The "call" variant also
// times the connector's atomic replace, whose new inode costs more while
// the journal keeps the old one alive.
func BenchmarkKeepPrepareCommit(b *testing.B) {
	for _, call := range []bool{false, true} {
		for _, size := range []int{1 << 10, 100 << 10} {
			name := fmt.Sprintf("journal/%dKiB", size>>10)
			if call {
				name = fmt.Sprintf("call/%dKiB", size>>10)
			}
			b.Run(name, func(b *testing.B) {
				state, work := b.TempDir(), b.TempDir()
				s := newStore(b, state, journal.Options{}, false)
				dir := mustOpenDir(b, work)
				path := filepath.Join(work, "f")
				content := make([]byte, size)
				mustWrite(b, path, content)
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					info, err := os.Lstat(path)
					if err != nil {
						b.Fatal(err)
					}
					sum := hash(content)
					tx := mustBegin(b, s, fmt.Sprint("b", i))
					binary.LittleEndian.PutUint64(content, uint64(i))
					b.StartTimer()
					if err := tx.Keep(dir, "f", info, sum, nil); err != nil {
						b.Fatal(err)
					}
					c := replaceChange("f", sum)
					if err := tx.Prepare(c, nil); err != nil {
						b.Fatal(err)
					}
					if call {
						atomicReplace(b, dir, path, content)
					} else {
						b.StopTimer()
						atomicReplace(b, dir, path, content)
						b.StartTimer()
					}
					tx.Record(c)
					if err := tx.Commit(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// atomicReplace replaces path the way a connector does: temp file, fsync,
// rename, fsync of the directory.
func atomicReplace(b *testing.B, dir *os.File, path string, content []byte) {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		b.Fatal(err)
	}
	f.Write(content)
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	if err := os.Rename(tmp, path); err != nil {
		b.Fatal(err)
	}
	if err := dir.Sync(); err != nil {
		b.Fatal(err)
	}
}
