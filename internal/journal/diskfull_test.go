package journal_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warden-dev/warden/internal/diskreserve"
	"github.com/warden-dev/warden/internal/disktest"
	"github.com/warden-dev/warden/internal/journal"
)

// TestOpen_DiskFull: a journal due for compaction opens on a full disk
// (a restart must not be refused just when space has to be freed), leaves
// no temporary file, and compacts once space is back.
func TestOpen_DiskFull(t *testing.T) {
	state := disktest.Mount(t, 4<<20)
	work := t.TempDir()
	clk := newClock()
	opts := journal.Options{MaxAge: 24 * time.Hour, Now: clk.Now}
	s := newStore(t, state, opts, false)
	for i := range 40 {
		commitFile(t, s, work, fmt.Sprintf("e%02d", i), fmt.Sprintf("f%02d", i), []byte(strings.Repeat("x", 100)))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	clk.Add(48 * time.Hour) // every entry is now past MaxAge: Open compacts
	filler := filepath.Join(state, "filler")
	disktest.FillTo(t, filler, 0)

	s2, err := journal.Open(state, opts)
	if err != nil {
		t.Fatalf("Open on a full disk = %v; want the journal open, uncompacted", err)
	}
	defer s2.Close()
	names, err := os.ReadDir(filepath.Join(state, "journal"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if strings.HasPrefix(n.Name(), ".tmp-") {
			t.Errorf("a failed compaction left %s", n.Name())
		}
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := s2.Prune(); err != nil {
		t.Fatalf("Prune once space is back = %v", err)
	}
	if _, err := s2.Entry("e00"); !errors.Is(err, journal.ErrNotFound) {
		t.Errorf("Entry(e00) after the prune = %v; want ErrNotFound", err)
	}
}

// TestPrune_DiskFull: on a full disk, pruning is what frees space (the
// objects of expired entries), and its compaction needs room for a new
// log: the reserve gives it that room, and the objects go.
func TestPrune_DiskFull(t *testing.T) {
	state := disktest.Mount(t, 4<<20)
	work := t.TempDir()
	reserve, err := diskreserve.Open(filepath.Join(state, "space.reserve"), 256<<10)
	if err != nil {
		t.Fatal(err)
	}
	defer reserve.Close()
	clk := newClock()
	opts := journal.Options{MaxAge: 24 * time.Hour, Now: clk.Now, Reserve: reserve}
	s := newStore(t, state, opts, true) // copies: each entry holds space
	for i := range 20 {
		commitFile(t, s, work, fmt.Sprintf("e%02d", i), fmt.Sprintf("f%02d", i), []byte(strings.Repeat("x", 32<<10)))
	}
	clk.Add(48 * time.Hour)
	disktest.FillTo(t, filepath.Join(state, "filler"), 0)
	if err := s.Prune(); err != nil {
		t.Fatalf("Prune on a full disk = %v; want the expired entries dropped", err)
	}
	if _, err := s.Entry("e00"); !errors.Is(err, journal.ErrNotFound) {
		t.Errorf("Entry(e00) after the prune = %v; want ErrNotFound", err)
	}
	objects, err := os.ReadDir(filepath.Join(state, "journal", "objects"))
	if err != nil {
		t.Fatal(err)
	}
	if len(objects) != 0 {
		t.Errorf("%d objects left after pruning every entry; their space is not freed", len(objects))
	}
}
