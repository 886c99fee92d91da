package e2e

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// undoPolicy lets bot change notes/ (recursive deletes included); careful
// may delete, but not recursively.
const undoPolicy = `version: 1
resources:
  notes: {kind: fs, root: ./notes}
agents:
  bot:
    grants:
      - {resource: notes, actions: [read, list, stat, write, edit, mkdir, move]}
      - {resource: notes, actions: [delete], recursive: true}
  careful:
    grants:
      - {resource: notes, actions: [read, delete]}
`

func newUndoFixture(t *testing.T) (base, notes string) {
	t.Helper()
	base = t.TempDir()
	notes = filepath.Join(base, "notes")
	if err := os.Mkdir(notes, 0o755); err != nil {
		t.Fatal(err)
	}
	writePolicy(t, base, undoPolicy)
	return base, notes
}

// callAs runs warden call as agent and decodes its output.
func callAs(t testing.TB, dir, agent, tool string, args any) (cliOutput, int) {
	t.Helper()
	raw, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	out, code := runWarden(t, dir, raw, "call", "--agent", agent, tool, "-")
	return decodeCLI(t, out), code
}

func mustCallAs(t testing.TB, dir, agent, tool string, args any) string {
	t.Helper()
	o, code := callAs(t, dir, agent, tool, args)
	if code != 0 || o.AuditID == "" {
		t.Fatalf("warden call --agent %s %s %s: exit %d: %+v", agent, tool, clipArgs(args), code, o)
	}
	return o.AuditID
}

// undo runs warden undo and decodes its output.
func undo(t testing.TB, dir, id string, force bool) (cliOutput, int) {
	t.Helper()
	args := []string{"undo", id}
	if force {
		args = append(args, "--force")
	}
	out, code := runWarden(t, dir, nil, args...)
	return decodeCLI(t, out), code
}

func mustUndo(t testing.TB, dir, id string, force bool) string {
	t.Helper()
	o, code := undo(t, dir, id, force)
	if code != 0 || o.AuditID == "" {
		t.Fatalf("warden undo %s (force %v): exit %d: %+v", id, force, code, o)
	}
	return o.AuditID
}

// wantFile fails unless p holds exactly content with permission bits perm.
func wantFile(t testing.TB, p, content string, perm fs.FileMode) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil || string(b) != content {
		t.Errorf("%s = %q, %v; want %q", filepath.Base(p), b, err, content)
		return
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != perm {
		t.Errorf("%s has mode %v, %v; want %v", filepath.Base(p), fi.Mode().Perm(), err, perm)
	}
}

// auditRecords reads the audit log through warden audit show --json.
func auditRecords(t testing.TB, dir string) []map[string]any {
	t.Helper()
	out, code := runWarden(t, dir, nil, "audit", "show", "--json")
	if code != 0 {
		t.Fatalf("audit show: exit %d: %s", code, out)
	}
	var recs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("audit show line %q: %v", clip(line), err)
		}
		recs = append(recs, r)
	}
	return recs
}

func recordByID(recs []map[string]any, id string) map[string]any {
	for _, r := range recs {
		if r["id"] == id {
			return r
		}
	}
	return nil
}

func wantAuditOK(t testing.TB, dir string) {
	t.Helper()
	if out, code := runWarden(t, dir, nil, "audit", "verify"); code != 0 || !strings.HasPrefix(out, "ok:") {
		t.Errorf("audit verify: exit %d: %s", code, out)
	}
}

// TestUndo_FileLifecycle creates, overwrites, edits and deletes one file
// through the real CLI, then checks history, undo of the delete (content
// and mode), the refusal to undo an edit of a file that changed since, the
// forced undo, the undo of that undo, and the audit trail.
func TestUndo_FileLifecycle(t *testing.T) {
	base, notes := newUndoFixture(t)
	f := filepath.Join(notes, "f.txt")

	create := mustCallAs(t, base, "bot", "notes_write", map[string]any{"path": "f.txt", "content": "one\n", "mode": "create"})
	if err := os.Chmod(f, 0o640); err != nil {
		t.Fatal(err)
	}
	overwrite := mustCallAs(t, base, "bot", "notes_write", map[string]any{"path": "f.txt", "content": "two\n", "mode": "overwrite"})
	wantFile(t, f, "two\n", 0o640) // an atomic replace keeps the mode
	edit := mustCallAs(t, base, "bot", "notes_edit", map[string]any{"path": "f.txt", "edits": []any{map[string]any{"old": "two", "new": "three"}}})
	wantFile(t, f, "three\n", 0o640)
	del := mustCallAs(t, base, "bot", "notes_delete", map[string]any{"path": "f.txt"})
	if _, err := os.Lstat(f); !os.IsNotExist(err) {
		t.Fatalf("f.txt after delete: %v", err)
	}

	// Every change is audited with the command that undoes it.
	recs := auditRecords(t, base)
	for _, id := range []string{create, overwrite, edit, del} {
		r := recordByID(recs, id)
		detail, _ := r["detail"].(map[string]any)
		if r == nil || detail["undo"] != "warden undo "+id {
			t.Errorf("audit record %s: detail %v, want undo %q", id, detail, "warden undo "+id)
		}
	}

	// history lists the versions, newest first.
	out, code := runWarden(t, base, nil, "history", "f.txt")
	if code != 0 {
		t.Fatalf("history f.txt: exit %d: %s", code, out)
	}
	last := -1
	for _, id := range []string{del, edit, overwrite, create} {
		i := strings.Index(out, id)
		if i < 0 || i < last {
			t.Errorf("history f.txt does not list %s after the newer calls:\n%s", id, out)
		}
		last = i
	}
	if out2, code := runWarden(t, base, nil, "history", "f.txt", "--resource", "notes"); code != 0 || out2 != out {
		t.Errorf("history --resource notes: exit %d:\n%s\nwant\n%s", code, out2, out)
	}
	if out, code := runWarden(t, base, nil, "history", f); code != 0 || !strings.Contains(out, del) {
		t.Errorf("history with the absolute path: exit %d:\n%s", code, out)
	}

	// Undo the delete: content and mode come back.
	mustUndo(t, base, del, false)
	wantFile(t, f, "three\n", 0o640)

	// The file changes again; undoing the edit now refuses, says why, and
	// changes nothing.
	mustCallAs(t, base, "bot", "notes_write", map[string]any{"path": "f.txt", "content": "four\n", "mode": "overwrite"})
	before := snapshot(t, notes)
	o, code := undo(t, base, edit, false)
	if code == 0 || o.Reason != "changed-since" || !strings.Contains(o.Message, "f.txt") {
		t.Errorf("undo of an edit after a later change: exit %d, %+v; want a changed-since refusal naming f.txt", code, o)
	}
	if d := diffSnapshots(before, snapshot(t, notes)); len(d) > 0 {
		t.Errorf("the refused undo changed files: %v", d)
	}
	wantFile(t, f, "four\n", 0o640)

	// --force restores what the edit replaced; that undo can be undone.
	forced := mustUndo(t, base, edit, true)
	wantFile(t, f, "two\n", 0o640)
	mustUndo(t, base, forced, false)
	wantFile(t, f, "four\n", 0o640)

	// Undos are audited, and the log still verifies.
	recs = auditRecords(t, base)
	undone := map[string]bool{}
	for _, r := range recs {
		if r["event"] == "undo" {
			detail, _ := r["detail"].(map[string]any)
			if id, _ := detail["undoes"].(string); id != "" {
				undone[id] = true
			}
		}
	}
	for _, id := range []string{del, edit, forced} {
		if !undone[id] {
			t.Errorf("no undo audit record names %s; undo records: %v", id, undone)
		}
	}
	wantAuditOK(t, base)
}

// TestUndo_UnknownID: an ID with no journal entry fails clearly and changes
// nothing.
func TestUndo_UnknownID(t *testing.T) {
	base, notes := newUndoFixture(t)
	mustCallAs(t, base, "bot", "notes_write", map[string]any{"path": "keep.txt", "content": "keep", "mode": "create"})
	before := snapshot(t, notes)
	for _, id := range []string{"01JZZZZZZZZZZZZZZZZZZZZZZZ", "not-an-id", "../../etc/passwd"} {
		o, code := undo(t, base, id, false)
		if code != 2 || o.Reason != "not-found" || !strings.Contains(o.Message, "No journal entry") {
			t.Errorf("undo %q: exit %d, %+v; want exit 2, not-found, a message saying there is no journal entry", id, code, o)
		}
	}
	if d := diffSnapshots(before, snapshot(t, notes)); len(d) > 0 {
		t.Errorf("undo of unknown IDs changed files: %v", d)
	}
	wantAuditOK(t, base)
}

// TestUndo_Move: a move undone moves back, content unchanged.
func TestUndo_Move(t *testing.T) {
	base, notes := newUndoFixture(t)
	mustCallAs(t, base, "bot", "notes_write", map[string]any{"path": "m.txt", "content": "move me", "mode": "create"})
	mustCallAs(t, base, "bot", "notes_mkdir", map[string]any{"path": "dest"})
	before := snapshot(t, notes)
	mv := mustCallAs(t, base, "bot", "notes_move", map[string]any{"from": "m.txt", "to": "dest/m2.txt"})
	wantFile(t, filepath.Join(notes, "dest", "m2.txt"), "move me", 0o644)
	mustUndo(t, base, mv, false)
	if d := diffSnapshots(before, snapshot(t, notes)); len(d) > 0 {
		t.Errorf("after undoing the move: %v", d)
	}
}

// TestUndo_RecursiveDelete: deleting a tree needs recursive: true in the
// grant; undone, the tree comes back exactly (content, modes, links).
func TestUndo_RecursiveDelete(t *testing.T) {
	base, notes := newUndoFixture(t)
	writeFiles(t, notes, map[string]string{"tree/a.txt": "alpha", "tree/sub/b.txt": "beta", "tree/sub/deeper/c.bin": "\x00\x01\xff"})
	for p, m := range map[string]fs.FileMode{"tree/a.txt": 0o600, "tree/sub": 0o750} {
		if err := os.Chmod(filepath.Join(notes, p), m); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(notes, "tree", "empty"), 0o700); err != nil {
		t.Fatal(err)
	}
	symlink(t, "a.txt", filepath.Join(notes, "tree", "link"))
	before := snapshot(t, notes)

	// Without the grant option the tree stays.
	o, code := callAs(t, base, "careful", "notes_delete", map[string]any{"path": "tree", "recursive": true})
	if code == 0 || o.Reason != "option-not-granted" {
		t.Errorf("recursive delete without recursive: true in the grant: exit %d, %+v", code, o)
	}
	if d := diffSnapshots(before, snapshot(t, notes)); len(d) > 0 {
		t.Fatalf("a refused recursive delete changed files: %v", d)
	}

	del := mustCallAs(t, base, "bot", "notes_delete", map[string]any{"path": "tree", "recursive": true})
	if _, err := os.Lstat(filepath.Join(notes, "tree")); !os.IsNotExist(err) {
		t.Fatalf("tree after a recursive delete: %v", err)
	}
	mustUndo(t, base, del, false)
	if d := diffSnapshots(before, snapshot(t, notes)); len(d) > 0 {
		t.Errorf("after undoing the recursive delete: %v", d)
	}
	wantAuditOK(t, base)
}
