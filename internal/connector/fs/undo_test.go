package fs_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/warden-dev/warden/internal/connector/fs"
	"github.com/warden-dev/warden/internal/core"
)

// undoCases are calls whose effect undo must reverse exactly.
var undoCases = []struct {
	name    string
	specs   []string
	op      string
	args    map[string]any
	options core.GrantOptions
}{
	{"create", nil, "write", map[string]any{"path": "new.txt", "content": "N"}, core.GrantOptions{}},
	{"overwrite", []string{"f.txt = old"}, "write", map[string]any{"path": "f.txt", "content": "new", "mode": "overwrite"}, core.GrantOptions{}},
	{"append", []string{"f.txt = old"}, "write", map[string]any{"path": "f.txt", "content": "+more", "mode": "append"}, core.GrantOptions{}},
	{"edit", []string{"f.txt = one two"}, "edit", map[string]any{"path": "f.txt", "edits": []map[string]string{{"old": "two", "new": "2"}}}, core.GrantOptions{}},
	{"mkdir with parents", []string{"a/"}, "mkdir", map[string]any{"path": "a/b/c", "parents": true}, core.GrantOptions{}},
	{"move a file", []string{"a.txt = A", "sub/"}, "move", map[string]any{"from": "a.txt", "to": "sub/b.txt"}, core.GrantOptions{}},
	{"move over a file", []string{"a.txt = A", "b.txt = B"}, "move", map[string]any{"from": "a.txt", "to": "b.txt", "overwrite": true}, core.GrantOptions{}},
	{"move a directory", []string{"d/x = X", "d/e/y = Y"}, "move", map[string]any{"from": "d", "to": "e"}, core.GrantOptions{}},
	{"delete a file", []string{"f.txt = F"}, "delete", map[string]any{"path": "f.txt"}, core.GrantOptions{}},
	{"delete an empty directory", []string{"d/"}, "delete", map[string]any{"path": "d"}, core.GrantOptions{}},
	{"delete a tree", []string{"d/x = X", "d/e/y = Y", "d/e/l => ../x", "d/empty/"}, "delete", map[string]any{"path": "d", "recursive": true}, core.GrantOptions{}.WithFlag(fs.OptionRecursive)},
}

// TestUndo runs each call, undoes it (the tree must be as before, modes
// included), then undoes the undo (the tree must be as after the call).
func TestUndo(t *testing.T) {
	for _, tt := range undoCases {
		t.Run(tt.name, func(t *testing.T) {
			_, root := newFixture(t, tt.specs...)
			if len(tt.specs) > 0 && !strings.HasSuffix(tt.specs[0], "/") {
				// An unusual mode, which undo must bring back.
				first, _, _ := strings.Cut(tt.specs[0], " ")
				os.Chmod(filepath.Join(root, first), 0o640)
			}
			os.Chmod(filepath.Join(root, "d"), 0o750)
			before := snapshot(t, root, nil)
			c := newConnector(t, root)
			j := newMemJournal(t)
			if got := doWith(t, c, tt.op, args(t, tt.args), with{scope: allVisible, journal: j, options: tt.options}); got.Err != nil {
				t.Fatalf("%s(%v) = %v", tt.op, tt.args, got)
			}
			after := snapshot(t, root, nil)
			if cmp.Equal(before, after) {
				t.Fatalf("%s(%v) changed nothing", tt.op, tt.args)
			}
			e1 := j.entry("call")
			res, err := c.Undo(t.Context(), roundTrip(t, e1), j, j, false)
			if err != nil {
				t.Fatalf("Undo(%s) = %v", tt.name, err)
			}
			if got := snapshot(t, root, nil); !cmp.Equal(before, got) {
				t.Errorf("after Undo(%s), tree mismatch (-want +got):\n%s", tt.name, cmp.Diff(before, got))
			}
			if b, _ := json.Marshal(res.Value); !strings.Contains(string(b), `"restored":[`) {
				t.Errorf("Undo result = %s", b)
			}
			e2 := j.entry("undo")
			if len(e2.Changes) == 0 {
				t.Fatalf("Undo(%s) recorded nothing", tt.name)
			}
			if _, err := c.Undo(t.Context(), roundTrip(t, e2), j, j, false); err != nil {
				t.Fatalf("Undo of the undo (%s) = %v", tt.name, err)
			}
			if got := snapshot(t, root, nil); !cmp.Equal(after, got) {
				t.Errorf("after undoing the undo (%s), tree mismatch (-want +got):\n%s", tt.name, cmp.Diff(after, got))
			}
			assertNoTemps(t, root)
		})
	}
}

// roundTrip passes an entry through JSON, as the real journal stores it.
func roundTrip(tb testing.TB, e *core.JournalEntry) *core.JournalEntry {
	tb.Helper()
	var out core.JournalEntry
	if err := json.Unmarshal(mustJSON(tb, e), &out); err != nil {
		tb.Fatal(err)
	}
	return &out
}

// TestUndo_Conflicts changes the tree after a call; undo must refuse and
// change nothing, or with force restore what the call replaced.
func TestUndo_Conflicts(t *testing.T) {
	tests := []struct {
		name   string
		specs  []string
		op     string
		args   map[string]any
		meddle func(t *testing.T, root string)
		says   string
		forced string // content of f.txt after a forced undo, "" to skip
	}{
		{"content changed", []string{"f.txt = old"}, "write", map[string]any{"path": "f.txt", "content": "new", "mode": "overwrite"},
			func(t *testing.T, root string) { os.WriteFile(filepath.Join(root, "f.txt"), []byte("changed"), 0o644) }, `"f.txt" has different content`, "old"},
		{"mode changed", []string{"f.txt = old"}, "write", map[string]any{"path": "f.txt", "content": "new", "mode": "overwrite"},
			func(t *testing.T, root string) { os.Chmod(filepath.Join(root, "f.txt"), 0o600) }, `"f.txt" has mode 0600, not 0644`, "old"},
		{"file removed", []string{"f.txt = old"}, "write", map[string]any{"path": "f.txt", "content": "new", "mode": "overwrite"},
			func(t *testing.T, root string) { os.Remove(filepath.Join(root, "f.txt")) }, `"f.txt" no longer exists`, "old"},
		{"replaced by a link", []string{"f.txt = old", "g.txt = new"}, "write", map[string]any{"path": "f.txt", "content": "new", "mode": "overwrite"},
			func(t *testing.T, root string) {
				os.Remove(filepath.Join(root, "f.txt"))
				os.Symlink("g.txt", filepath.Join(root, "f.txt"))
			}, `"f.txt" is a symlink now`, ""},
		{"directory on the way replaced by a link", []string{"d/f.txt = old", "e/f.txt = new"}, "write", map[string]any{"path": "d/f.txt", "content": "new", "mode": "overwrite"},
			func(t *testing.T, root string) {
				os.Rename(filepath.Join(root, "d"), filepath.Join(root, "d.old"))
				os.Symlink("e", filepath.Join(root, "d"))
			}, "symbolic link", ""},
		{"deleted file recreated", []string{"f.txt = old"}, "delete", map[string]any{"path": "f.txt"},
			func(t *testing.T, root string) { os.WriteFile(filepath.Join(root, "f.txt"), []byte("other"), 0o644) }, `"f.txt" exists now`, ""},
		{"created directory filled", nil, "mkdir", map[string]any{"path": "d"},
			func(t *testing.T, root string) { os.WriteFile(filepath.Join(root, "d/x"), []byte("x"), 0o644) }, `"d" is no longer empty`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, root := newFixture(t, tt.specs...)
			c := newConnector(t, root)
			j := newMemJournal(t)
			if got := doWith(t, c, tt.op, args(t, tt.args), with{scope: allVisible, journal: j}); got.Err != nil {
				t.Fatalf("%s = %v", tt.op, got)
			}
			e := roundTrip(t, j.entry("call"))
			tt.meddle(t, root)
			before := snapshot(t, root, nil)
			_, err := c.Undo(t.Context(), e, j, j, false)
			if core.KindOf(err) != core.KindConflict || core.ReasonOf(err) != core.ReasonUndoConflict {
				t.Fatalf("Undo after a change = %v, want a conflict", err)
			}
			if !strings.Contains(core.MessageOf(err), tt.says) {
				t.Errorf("Undo message = %q, want it to say %q", core.MessageOf(err), tt.says)
			}
			if got := snapshot(t, root, nil); !cmp.Equal(before, got) {
				t.Errorf("a refused undo changed files: %s", cmp.Diff(before, got))
			}
			if ch := j.Changes(); len(ch) != 0 {
				t.Errorf("a refused undo recorded %+v", ch)
			}
			if tt.forced == "" {
				return
			}
			if _, err := c.Undo(t.Context(), e, j, j, true); err != nil {
				t.Fatalf("forced Undo = %v", err)
			}
			if s := mustContent(t, filepath.Join(root, "f.txt")); s != tt.forced {
				t.Errorf("after a forced undo, f.txt = %q, want %q", s, tt.forced)
			}
		})
	}
}

// TestUndo_RefusesForeignEntries: journal paths that leave the root or
// name reserved or temporary files are refused before anything is done.
func TestUndo_RefusesForeignEntries(t *testing.T) {
	tmp, root := newFixture(t, "f.txt = x", ".warden/state = s")
	c := newConnector(t, root, func(s *setup) { s.Host.Reserved = []string{filepath.Join(root, ".warden")} })
	j := newMemJournal(t)
	before := snapshot(t, tmp, nil)
	for _, p := range []string{"../sentinel.txt", "/etc/passwd", "a/../f.txt", ".", ".warden/state", ".warden-tmp-x", ""} {
		e := &core.JournalEntry{ID: "x", Resource: "notes", Changes: []core.Change{{Op: "create", Path: p, After: core.ObjectState{Type: "file"}}}}
		if _, err := c.Undo(t.Context(), e, j, j, true); err == nil {
			t.Errorf("Undo of a create at %q succeeded", p)
		}
	}
	e := &core.JournalEntry{ID: "x", Resource: "other", Changes: []core.Change{{Op: "create", Path: "f.txt"}}}
	if _, err := c.Undo(t.Context(), e, j, j, true); err == nil {
		t.Errorf("Undo of another resource's entry succeeded")
	}
	if after := snapshot(t, tmp, nil); !cmp.Equal(before, after) {
		t.Errorf("refused undos changed files: %s", cmp.Diff(before, after))
	}
}
