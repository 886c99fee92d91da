package journal_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/journal"
)

// TestIndex_table runs the Store's tests again with an index that keeps at
// most two entries in memory, so that lookups, replacements, removals,
// pruning and compaction go through the on-disk table and its state file.
// (TestStore_Entry_corrupt is left out: a line edited in place after the
// table holds it reads as corrupt to a fresh Store too, rather than as
// absent.)
func TestIndex_table(t *testing.T) {
	journal.SetHotMax(t, 2)
	for _, tt := range []struct {
		name string
		fn   func(*testing.T)
	}{
		{"Keep_roundTrip", TestKeep_roundTrip}, {"Tx_Abort", TestTx_Abort}, {"Keep_existingObject", TestKeep_existingObject},
		{"Keep_inline", TestKeep_inline}, {"Keep_largeLinks", TestKeep_largeLinks}, {"Keep_content", TestKeep_content},
		{"Log_tornLine", TestLog_tornLine}, {"Log_replaceAndRemove", TestLog_replaceAndRemove}, {"Log_compact", TestLog_compact},
		{"Log_compactWhileAppending", TestLog_compactWhileAppending}, {"Log_migrate", TestLog_migrate},
		{"Prepare_writeAhead", TestPrepare_writeAhead}, {"Prepare_commitDiffers", TestPrepare_commitDiffers}, {"Prepare_inline", TestPrepare_inline},
		{"Prune_age", TestStore_Prune_age}, {"Prune_size", TestStore_Prune_size}, {"Prune_liveTx", TestStore_Prune_liveTx},
		{"Prune_sizeInline", TestStore_Prune_sizeInline}, {"Entry_file", TestEntry_file},
		{"History", TestStore_History}, {"History_otherStore", TestStore_History_otherStore}, {"concurrent", TestStore_concurrent},
		{"restart", testIndexRestart},
	} {
		t.Run(tt.name, tt.fn)
	}
}

// testIndexRestart commits, replaces and removes entries across restarts
// and checks every entry, its history and its inline content, including
// after the state file is damaged (the index is then built from the log).
func testIndexRestart(t *testing.T) {
	state, work := t.TempDir(), t.TempDir()
	dir := mustOpenDir(t, work)
	s, err := journal.Open(state, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]string{}
	for i := range 20 {
		id := fmt.Sprint("e", i)
		content := fmt.Appendf(nil, "content %d", i)
		mustWrite(t, filepath.Join(work, "f"), content)
		tx := mustBegin(t, s, id)
		sums[id] = mustKeep(t, tx, dir, "f")
		c := replaceChange("f", sums[id])
		if err := tx.Prepare(c, nil); err != nil {
			t.Fatal(err)
		}
		if i%5 == 4 {
			tx.Abort() // a tombstone
			delete(sums, id)
			continue
		}
		tx.Record(c)
		if i%3 == 0 {
			tx.Record(core.Change{Op: "create", Path: fmt.Sprint("g", i)}) // a replacement line
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	check := func(s *journal.Store, when string) {
		t.Helper()
		for i := range 20 {
			id := fmt.Sprint("e", i)
			e, err := s.Entry(id)
			sum, live := sums[id]
			if !live {
				if err == nil {
					t.Errorf("%s: Entry(%s) of an aborted entry = %v", when, id, e)
				}
				continue
			}
			if err != nil || e.Changes[0].Before.SHA256 != sum || (i%3 == 0) != (len(e.Changes) == 2) {
				t.Errorf("%s: Entry(%s) = %+v, %v", when, id, e, err)
				continue
			}
			if got, err := readObject(t, s, sum); err != nil || string(got) != fmt.Sprint("content ", i) {
				t.Errorf("%s: Open(%s of %s) = %q, %v", when, sum, id, got, err)
			}
		}
		h, err := s.History("docs", "f")
		var ids []string
		for _, e := range h {
			ids = append(ids, e.ID)
		}
		var want []string
		for id := range sums {
			want = append(want, id)
		}
		slices.Sort(ids)
		slices.Sort(want)
		if err != nil || !slices.Equal(ids, want) {
			t.Errorf("%s: History(f) = %v, %v; want %v", when, ids, err, want)
		}
	}
	check(s, "before the restart")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = newStore(t, state, journal.Options{}, false)
	check(s, "after a restart")
	s.Close()
	if err := os.WriteFile(filepath.Join(state, "journal", "index.state"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	s = newStore(t, state, journal.Options{}, false)
	check(s, "with a damaged state file")

	// An empty file is kept inline as "": found after a restart too.
	mustWrite(t, filepath.Join(work, "empty"), nil)
	tx := mustBegin(t, s, "empty")
	sum := mustKeep(t, tx, dir, "empty")
	tx.Record(replaceChange("empty", sum))
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = newStore(t, state, journal.Options{}, false)
	if got, err := readObject(t, s, sum); err != nil || len(got) != 0 {
		t.Errorf("Open(the empty file's hash) after a restart = %q, %v", got, err)
	}
}
