package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/warden-dev/warden/internal/disktest"
)

// diskFullPolicy keeps the resource and the state directory on one file
// system, the test's tmpfs.
const diskFullPolicy = `version: 1
resources:
  data: {kind: fs, root: ./data}
agents:
  bot:
    grants:
      - {resource: data, actions: [read, list, stat, write, delete]}
`

// TestDiskFull fills the file system that holds both a resource's root and
// the state directory. A write is then refused as disk-full and changes
// nothing; a read and a delete still work; every call has its audit record
// and the log verifies. Once space is freed, writes work again.
func TestDiskFull(t *testing.T) {
	base := disktest.Mount(t, 24<<20)
	data := filepath.Join(base, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	writePolicy(t, base, diskFullPolicy)
	mustCallAs(t, base, "bot", "data_write", map[string]any{"path": "keep.txt", "content": "kept"})
	big := bytes.Repeat([]byte("0123456789abcdef"), 32<<10) // 512 KiB
	if err := os.WriteFile(filepath.Join(data, "old.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	filler := filepath.Join(base, "filler")
	disktest.FillTo(t, filler, 0)
	before := dirNames(t, data)

	var ids []string
	// Under 1 KiB of arguments, so the audit record holds them whole.
	w, _ := callAs(t, base, "bot", "data_write", map[string]any{"path": "new.txt", "content": strings.Repeat("n", 900)})
	if w.Reason != "disk-full" || w.AuditID == "" {
		t.Errorf("write on a full disk: %+v; want reason disk-full with an audit id", w)
	}
	ids = append(ids, w.AuditID)
	if after := dirNames(t, data); after != before {
		t.Errorf("the refused write changed the root: %v, was %v", after, before)
	}

	// Enough reads that their audit records need new blocks.
	for range 10 {
		r, code := callAs(t, base, "bot", "data_read", map[string]any{"path": "keep.txt"})
		if code != 0 || !strings.Contains(string(r.Result), "kept") {
			t.Fatalf("read on a full disk: exit %d: %+v", code, r)
		}
		ids = append(ids, r.AuditID)
	}
	// The reserve is in use: a write is refused before it runs.
	w2, _ := callAs(t, base, "bot", "data_write", map[string]any{"path": "new.txt", "content": "x"})
	if w2.Reason != "disk-full" || w2.Decision != "deny" || w2.AuditID == "" {
		t.Errorf("write once the reserve is in use: %+v; want a denial, disk-full, with an audit id", w2)
	}
	ids = append(ids, w2.AuditID)
	if after := dirNames(t, data); after != before {
		t.Errorf("the refused write changed the root: %v, was %v", after, before)
	}

	d, code := callAs(t, base, "bot", "data_delete", map[string]any{"path": "old.bin"})
	if code != 0 || d.AuditID == "" {
		t.Errorf("delete on a full disk: exit %d: %+v", code, d)
	}
	ids = append(ids, d.AuditID)
	if _, err := os.Lstat(filepath.Join(data, "old.bin")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("old.bin after its delete: %v", err)
	}

	// The operator frees space: writes work again, the reserve whole.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	ids = append(ids, mustCallAs(t, base, "bot", "data_write", map[string]any{"path": "new.txt", "content": "after"}))
	wantFile(t, filepath.Join(data, "new.txt"), "after", 0o644)

	recs := auditRecords(t, base)
	for i, id := range ids {
		if id == "" || recordByID(recs, id) == nil {
			t.Errorf("call %d (audit id %q) has no audit record", i, id)
		}
	}
	if rec := recordByID(recs, w.AuditID); rec != nil && !strings.HasPrefix(fmt.Sprint(rec["error"]), "disk-full:") {
		t.Errorf("the failed write's record does not say disk-full: %v", rec)
	}
	if rec := recordByID(recs, w2.AuditID); rec != nil && !slices.Contains(rec["reasons"].([]any), any("disk-full")) {
		t.Errorf("the refused write's record does not say disk-full: %v", rec)
	}
	wantAuditOK(t, base)
	// The delete is journaled: undo brings old.bin back.
	mustUndo(t, base, d.AuditID, false)
	if got, err := os.ReadFile(filepath.Join(data, "old.bin")); err != nil || !bytes.Equal(got, big) {
		t.Errorf("old.bin after undoing its delete: %d bytes, %v", len(got), err)
	}
}

// TestDiskFull_LongArguments fills the disk before any call whose
// arguments are long enough to go to the audit log's blob store: a search
// still answers, and a write is refused as disk-full, not
// audit-unavailable, and changes nothing.
func TestDiskFull_LongArguments(t *testing.T) {
	base := disktest.Mount(t, 24<<20)
	data := filepath.Join(base, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	writePolicy(t, base, strings.Replace(diskFullPolicy, "[read,", "[read, search,", 1))
	mustCallAs(t, base, "bot", "data_write", map[string]any{"path": "keep.txt", "content": "kept"})
	disktest.FillTo(t, filepath.Join(base, "filler"), 0)
	before := dirNames(t, data)

	s, code := callAs(t, base, "bot", "data_search", map[string]any{"path": ".", "name": "*.md", "text": strings.Repeat("q", 1000)})
	if code != 0 || s.AuditID == "" || !strings.Contains(strings.Join(strings.Fields(string(s.Result)), ""), `"matches":[]`) {
		t.Errorf("search with 1 KiB of arguments on a full disk: exit %d: %+v; want an answer with an audit id", code, s)
	}
	w, _ := callAs(t, base, "bot", "data_write", map[string]any{"path": "long.txt", "content": strings.Repeat("l", 4096)})
	if w.Reason != "disk-full" || w.AuditID == "" {
		t.Errorf("write of 4 KiB on a full disk: %+v; want reason disk-full with an audit id", w)
	}
	if after := dirNames(t, data); after != before {
		t.Errorf("the refused write changed the root: %v, was %v", after, before)
	}
	recs := auditRecords(t, base)
	for _, id := range []string{s.AuditID, w.AuditID} {
		if id != "" && recordByID(recs, id) == nil {
			t.Errorf("call %s has no audit record", id)
		}
	}
	wantAuditOK(t, base)
}
