package fs_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/journal"
)

// TestUndo_WithJournalStore repeats TestUndo with the real journal
// (internal/journal): hard-linked keeps, write-ahead Prepare, committed
// entries read back from disk.
func TestUndo_WithJournalStore(t *testing.T) {
	for i, tt := range undoCases {
		t.Run(tt.name, func(t *testing.T) {
			_, root := newFixture(t, tt.specs...)
			if len(tt.specs) > 0 && !strings.HasSuffix(tt.specs[0], "/") {
				first, _, _ := strings.Cut(tt.specs[0], " ")
				os.Chmod(filepath.Join(root, first), 0o640)
			}
			store, err := journal.Open(t.TempDir(), journal.Options{})
			if err != nil {
				t.Fatalf("journal.Open: %v", err)
			}
			t.Cleanup(func() { store.Close() })
			c := newConnector(t, root)
			before := snapshot(t, root, nil)

			id := fmt.Sprintf("call-%d", i)
			tx, err := store.Begin(core.JournalEntry{ID: id, Resource: "notes"})
			if err != nil {
				t.Fatal(err)
			}
			if got := doWith(t, c, tt.op, args(t, tt.args), with{scope: allVisible, journal: tx, options: tt.options}); got.Err != nil {
				t.Fatalf("%s(%v) = %v", tt.op, tt.args, got)
			}
			if err := tx.Commit(); err != nil {
				t.Fatalf("Commit: %v", err)
			}
			after := snapshot(t, root, nil)

			undo := func(id, undoID string) {
				e, err := store.Entry(id)
				if err != nil {
					t.Fatalf("Entry(%s): %v", id, err)
				}
				utx, err := store.Begin(core.JournalEntry{ID: undoID, Resource: "notes", Undoes: id})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := c.Undo(t.Context(), e, store, utx, false); err != nil {
					t.Fatalf("Undo(%s) = %v", id, err)
				}
				if err := utx.Commit(); err != nil {
					t.Fatalf("Commit of the undo: %v", err)
				}
			}
			undo(id, id+"-undo")
			if got := snapshot(t, root, nil); !cmp.Equal(before, got) {
				t.Errorf("after Undo, tree mismatch (-want +got):\n%s", cmp.Diff(before, got))
			}
			undo(id+"-undo", id+"-redo")
			if got := snapshot(t, root, nil); !cmp.Equal(after, got) {
				t.Errorf("after undoing the undo, tree mismatch (-want +got):\n%s", cmp.Diff(after, got))
			}
		})
	}
}
