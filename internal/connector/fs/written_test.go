package fs

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestWrittenTable: a name's record is found until more names of its
// bucket than it has slots are recorded after it; recording a name again
// reuses its slot; a damaged slot is not found; the table file is shared.
func TestWrittenTable(t *testing.T) {
	for _, stateDir := range []string{"", t.TempDir()} {
		t.Run(fmt.Sprintf("state=%v", stateDir != ""), func(t *testing.T) {
			dir := t.TempDir()
			d, err := os.Lstat(dir)
			if err != nil {
				t.Fatal(err)
			}
			// Names sharing one bucket.
			_, want := slotKey(d, "a")
			names := []string{"a"}
			for i := 0; len(names) < bucketSlots+1; i++ {
				n := fmt.Sprintf("n%d", i)
				if _, off := slotKey(d, n); off == want {
					names = append(names, n)
				}
			}
			files := map[string]os.FileInfo{}
			for _, n := range names {
				if err := os.WriteFile(filepath.Join(dir, n), []byte(n), 0o644); err != nil {
					t.Fatal(err)
				}
				if files[n], err = os.Lstat(filepath.Join(dir, n)); err != nil {
					t.Fatal(err)
				}
			}
			for _, n := range names[:bucketSlots] {
				recordLeft(stateDir, d, n, files[n])
			}
			for _, n := range names[:bucketSlots] {
				if !wasLeft(stateDir, d, n, files[n]) {
					t.Errorf("%s: record not found", n)
				}
				if wasLeft(stateDir, d, n, nil) || wasLeft(stateDir, d, n, files[names[bucketSlots]]) {
					t.Errorf("%s: a record found for what was not left", n)
				}
			}
			// Recording "a" again takes its own slot; the fifth name then
			// replaces the oldest, names[1].
			recordLeft(stateDir, d, "a", nil)
			recordLeft(stateDir, d, names[bucketSlots], files[names[bucketSlots]])
			switch {
			case !wasLeft(stateDir, d, "a", nil):
				t.Error("a: the second record is not found")
			case wasLeft(stateDir, d, names[1], files[names[1]]):
				t.Errorf("%s: the oldest record was kept over a fifth name", names[1])
			case !wasLeft(stateDir, d, names[bucketSlots], files[names[bucketSlots]]):
				t.Error("the fifth name's record is not found")
			}
			for _, n := range names[2:bucketSlots] {
				if !wasLeft(stateDir, d, n, files[n]) {
					t.Errorf("%s: record lost", n)
				}
			}
			if stateDir == "" {
				return
			}
			// Without the memory copy, the file alone answers; a damaged
			// slot there answers no.
			memWritten.Lock()
			clear(memWritten.b[:])
			memWritten.Unlock()
			n := names[bucketSlots]
			if !wasLeft(stateDir, d, n, files[n]) {
				t.Fatal("the table file does not hold the record")
			}
			f, err := os.OpenFile(filepath.Join(stateDir, writtenFile), os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			bucket := make([]byte, bucketSize)
			f.ReadAt(bucket, want)
			for i := range bucketSlots {
				f.WriteAt([]byte{^bucket[i*slotSize+40]}, want+int64(i*slotSize+40))
			}
			if wasLeft(stateDir, d, n, files[n]) {
				t.Error("a damaged slot was taken as a record")
			}
		})
	}
}
