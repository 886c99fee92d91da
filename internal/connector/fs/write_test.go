package fs_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/warden-dev/warden/internal/connector/fs"
	"github.com/warden-dev/warden/internal/core"
)

// snapshot records every entry under dir (type, permission bits, and the
// content of files or the target of links), for before/after comparisons.
// skip, if set, leaves out an entry and everything below it.
func snapshot(tb testing.TB, dir string, skip func(rel string) bool) map[string]string {
	tb.Helper()
	out := map[string]string{}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if skip != nil && rel != "." && skip(filepath.ToSlash(rel)) {
			if fi.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		desc := fi.Mode().String()
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			dest, _ := os.Readlink(p)
			desc += " -> " + dest
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			desc += " " + hashOf(b)
		}
		out[filepath.ToSlash(rel)] = desc
		return nil
	})
	if err != nil {
		tb.Fatalf("snapshot %s: %v", dir, err)
	}
	return out
}

func hashOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// mustContent returns the content of the file p.
func mustContent(tb testing.TB, p string) string {
	tb.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		tb.Fatalf("reading %s: %v", p, err)
	}
	return string(b)
}

// assertMissing fails if p exists.
func assertMissing(tb testing.TB, p string) {
	tb.Helper()
	if _, err := os.Lstat(p); !os.IsNotExist(err) {
		tb.Errorf("%s exists (err %v), want nothing there", p, err)
	}
}

// failsWith checks a call's failure kind and reason.
func failsWith(tb testing.TB, what string, got outcome, kind core.Kind, reason core.Reason) {
	tb.Helper()
	if got.Err == nil || core.KindOf(got.Err) != kind || core.ReasonOf(got.Err) != reason {
		tb.Errorf("%s = %v, want kind %v reason %s", what, got, kind, reason)
	}
}

func writeArgs(tb testing.TB, p, content, mode string) json.RawMessage {
	return args(tb, map[string]any{"path": p, "content": content, "mode": mode})
}

func TestWrite(t *testing.T) {
	tests := []struct {
		name    string
		specs   []string
		args    map[string]any
		file    string // relative to the root
		want    string // the file's content afterwards
		perm    os.FileMode
		created bool
	}{
		{"create", nil, map[string]any{"path": "new.txt", "content": "hello\n"}, "new.txt", "hello\n", 0o644, true},
		{"create in a subdirectory", []string{"sub/"}, map[string]any{"path": "sub/new.txt", "content": "x", "mode": "create"}, "sub/new.txt", "x", 0o644, true},
		{"create empty", nil, map[string]any{"path": "empty", "content": ""}, "empty", "", 0o644, true},
		{"overwrite", []string{"f.txt = old content"}, map[string]any{"path": "f.txt", "content": "new", "mode": "overwrite"}, "f.txt", "new", 0o644, false},
		{"overwrite creates", nil, map[string]any{"path": "f.txt", "content": "new", "mode": "overwrite"}, "f.txt", "new", 0o644, true},
		{"append", []string{"log.txt = line1\n"}, map[string]any{"path": "log.txt", "content": "line2\n", "mode": "append"}, "log.txt", "line1\nline2\n", 0o644, false},
		{"append creates", nil, map[string]any{"path": "log.txt", "content": "line1\n", "mode": "append"}, "log.txt", "line1\n", 0o644, true},
		{"base64", nil, map[string]any{"path": "bin", "content": base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 255}), "encoding": "base64"}, "bin", "\x00\x01\x02\xff", 0o644, true},
		{"through a link inside the root", []string{"real.txt = old", "link => real.txt"}, map[string]any{"path": "link", "content": "new", "mode": "overwrite"}, "real.txt", "new", 0o644, false},
		{"dot-dot after a link", []string{"a => b/c", "b/c/"}, map[string]any{"path": "a/../x.txt", "content": "x"}, "b/x.txt", "x", 0o644, true},
		{"percent name is literal", nil, map[string]any{"path": "%2e%2e%2fx", "content": "x"}, "%2e%2e%2fx", "x", 0o644, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp, root := newFixture(t, tt.specs...)
			outside := snapshot(t, tmp, func(rel string) bool { return rel == "root" })
			c := newConnector(t, root)
			j := newMemJournal(t)
			got := doWith(t, c, "write", args(t, tt.args), with{scope: allVisible, journal: j})
			if got.Err != nil {
				t.Fatalf("write(%v) = %v, want success", tt.args, got)
			}
			if got.Path != tt.file {
				t.Errorf("write(%v) inv.Path = %q, want %q", tt.args, got.Path, tt.file)
			}
			p := filepath.Join(root, tt.file)
			if content := mustContent(t, p); content != tt.want {
				t.Errorf("after write(%v), %s = %q, want %q", tt.args, tt.file, content, tt.want)
			}
			fi, _ := os.Lstat(p)
			if fi.Mode() != tt.perm {
				t.Errorf("after write(%v), mode of %s = %v, want %v", tt.args, tt.file, fi.Mode(), tt.perm)
			}
			var res struct {
				Path    string
				Bytes   int64
				Size    int64
				Created bool
				SHA256  string
			}
			json.Unmarshal([]byte(got.JSON), &res)
			wantRes := struct {
				Path    string
				Bytes   int64
				Size    int64
				Created bool
				SHA256  string
			}{tt.file, res.Bytes, int64(len(tt.want)), tt.created, hashOf([]byte(tt.want))}
			if diff := cmp.Diff(wantRes, res); diff != "" {
				t.Errorf("write(%v) result mismatch (-want +got):\n%s", tt.args, diff)
			}
			if after := snapshot(t, tmp, func(rel string) bool { return rel == "root" }); !cmp.Equal(outside, after) {
				t.Errorf("write(%v) changed something outside the root: %s", tt.args, cmp.Diff(outside, after))
			}
			assertNoTemps(t, root)
			changes := j.Changes()
			if len(changes) != 1 || changes[0].Path != tt.file || changes[0].After.SHA256 != hashOf([]byte(tt.want)) {
				t.Fatalf("journal after write(%v) = %+v, want one change of %s", tt.args, changes, tt.file)
			}
			if want := map[bool]string{true: "create", false: "replace"}[tt.created]; changes[0].Op != want {
				t.Errorf("journal op = %q, want %q", changes[0].Op, want)
			}
		})
	}
}

// assertNoTemps fails if a temporary file remains anywhere under root.
func assertNoTemps(tb testing.TB, root string) {
	tb.Helper()
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err == nil && strings.HasPrefix(fi.Name(), ".warden-tmp-") {
			tb.Errorf("temporary file left behind: %s", p)
		}
		return nil
	})
}

func TestWrite_KeepsModeAndJournalsOldContent(t *testing.T) {
	_, root := newFixture(t, "f.txt = the old content")
	if err := os.Chmod(filepath.Join(root, "f.txt"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := newConnector(t, root)
	j := newMemJournal(t)
	got := doWith(t, c, "write", writeArgs(t, "f.txt", "new", "overwrite"), with{scope: allVisible, journal: j})
	if got.Err != nil {
		t.Fatalf("write = %v", got)
	}
	fi, _ := os.Stat(filepath.Join(root, "f.txt"))
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode after overwrite = %v, want 0600", fi.Mode().Perm())
	}
	ch := j.Changes()
	if len(ch) != 1 || ch[0].Op != "replace" || ch[0].Before.SHA256 != hashOf([]byte("the old content")) || ch[0].Before.Mode != 0o600 {
		t.Fatalf("journal = %+v, want a replace from the old content, mode 0600", ch)
	}
	f, err := j.Open(ch[0].Before.SHA256)
	if err != nil {
		t.Fatalf("old content not kept: %v", err)
	}
	defer f.Close()
	if b, _ := os.ReadFile(f.Name()); string(b) != "the old content" {
		t.Errorf("kept copy = %q, want the old content", b)
	}
}

// The replaced file's name is removed in the background; Close waits for
// it, so nothing is left once the connector is closed.
func TestWrite_CloseWaitsForRelease(t *testing.T) {
	_, root := newFixture(t, "f.txt = v0", "g.txt = v0")
	c := newConnector(t, root)
	j := newMemJournal(t)
	for i := range 20 {
		for _, name := range []string{"f.txt", "g.txt"} {
			inv := &core.Invocation{Op: "write", Args: writeArgs(t, name, fmt.Sprint("v", i+1), "overwrite"), Journal: j}
			if err := c.Prepare(t.Context(), inv); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Execute(t.Context(), inv, allVisible); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	assertNoTemps(t, root)
	for _, name := range []string{"f.txt", "g.txt"} {
		if b, err := os.ReadFile(filepath.Join(root, name)); err != nil || string(b) != "v20" {
			t.Errorf("%s = %q, %v; want v20", name, b, err)
		}
	}
	if n := len(j.Changes()); n != 40 {
		t.Errorf("journal holds %d changes, want 40", n)
	}
}

// Under a root on tmpfs the replaced file's name is removed before the
// call returns, not in the background.
func TestWrite_ReleaseInMemory(t *testing.T) {
	shm, err := os.MkdirTemp("/dev/shm", "fs-release-")
	if err != nil {
		t.Skip("no /dev/shm:", err)
	}
	t.Cleanup(func() { os.RemoveAll(shm) })
	root := filepath.Join(shm, "root")
	mustMkdir(t, root)
	mustBuild(t, root, "f.txt = v0")
	c := newConnector(t, root)
	j := newMemJournal(t)
	for i := range 5 {
		inv := &core.Invocation{Op: "write", Args: writeArgs(t, "f.txt", fmt.Sprint("v", i+1), "overwrite"), Journal: j}
		if err := c.Prepare(t.Context(), inv); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Execute(t.Context(), inv, allVisible); err != nil {
			t.Fatal(err)
		}
		if !fs.InMemory(c) {
			t.Skip("/dev/shm is not tmpfs")
		}
		assertNoTemps(t, root)
	}
	if b, err := os.ReadFile(filepath.Join(root, "f.txt")); err != nil || string(b) != "v5" {
		t.Errorf("f.txt = %q, %v; want v5", b, err)
	}
}

func TestWrite_Refusals(t *testing.T) {
	tests := []struct {
		name   string
		specs  []string
		args   map[string]any
		kind   core.Kind
		reason core.Reason
		absent []string // must not exist afterwards (relative to <T>)
	}{
		{"create over an existing file", []string{"f.txt = keep"}, map[string]any{"path": "f.txt", "content": "x"}, core.KindExists, core.ReasonExists, nil},
		{"a directory", []string{"d/"}, map[string]any{"path": "d", "content": "x", "mode": "overwrite"}, core.KindInvalid, core.ReasonIsDirectory, nil},
		{"the root", nil, map[string]any{"path": ".", "content": "x", "mode": "overwrite"}, core.KindInvalid, core.ReasonIsDirectory, nil},
		{"a name ending in a slash", nil, map[string]any{"path": "new/", "content": "x"}, core.KindInvalid, core.ReasonIsDirectory, []string{"root/new"}},
		{"missing parent", nil, map[string]any{"path": "nodir/x.txt", "content": "x"}, core.KindNotFound, core.ReasonNotFound, []string{"root/nodir"}},
		{"dangling link inside the root", []string{"dl => missing.txt"}, map[string]any{"path": "dl", "content": "x", "mode": "overwrite"}, core.KindDenied, core.ReasonDanglingLink, []string{"root/missing.txt"}},
		{"dangling link into a subdirectory", []string{"sub/", "dl => sub/new.txt"}, map[string]any{"path": "dl", "content": "x"}, core.KindDenied, core.ReasonDanglingLink, []string{"root/sub/new.txt"}},
		{"dangling link chain", []string{"l1 => l2", "l2 => gone.txt"}, map[string]any{"path": "l1", "content": "x", "mode": "append"}, core.KindDenied, core.ReasonDanglingLink, []string{"root/gone.txt"}},
		{"dangling link ending in a slash", []string{"dl => newdir/"}, map[string]any{"path": "dl", "content": "x"}, core.KindInvalid, core.ReasonIsDirectory, []string{"root/newdir"}},
		{"dangling link leading outside", []string{"dl => ../created.txt"}, map[string]any{"path": "dl", "content": "x"}, core.KindDenied, core.ReasonPathEscapes, []string{"created.txt"}},
		{"link to an outside file", []string{"lo => ../sentinel.txt"}, map[string]any{"path": "lo", "content": "x", "mode": "overwrite"}, core.KindDenied, core.ReasonPathEscapes, nil},
		{"link to an outside directory", []string{"od => ../out"}, map[string]any{"path": "od/new.txt", "content": "x"}, core.KindDenied, core.ReasonPathEscapes, []string{"out/new.txt"}},
		{"link to a sibling with the root's name as prefix", []string{"s => ../root2"}, map[string]any{"path": "s/x.txt", "content": "x", "mode": "overwrite"}, core.KindDenied, core.ReasonPathEscapes, nil},
		{"temporary name", nil, map[string]any{"path": ".warden-tmp-0123", "content": "x"}, core.KindDenied, core.ReasonReservedPath, []string{"root/.warden-tmp-0123"}},
		{"temporary name below", []string{"sub/"}, map[string]any{"path": "sub/.warden-tmp-x/../y", "content": "x"}, core.KindDenied, core.ReasonReservedPath, []string{"root/sub/y"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp, root := newFixture(t, tt.specs...)
			mustBuild(t, tmp, "out/", "root2/x.txt = WARDEN-SIBLING")
			if abs, ok := tt.args["path"].(string); ok && strings.Contains(abs, "$T") {
				tt.args["path"] = strings.ReplaceAll(abs, "$T", tmp)
			}
			before := snapshot(t, tmp, nil)
			c := newConnector(t, root)
			j := newMemJournal(t)
			got := doWith(t, c, "write", args(t, tt.args), with{scope: allVisible, journal: j})
			failsWith(t, "write("+string(mustJSON(t, tt.args))+")", got, tt.kind, tt.reason)
			if after := snapshot(t, tmp, nil); !cmp.Equal(before, after) {
				t.Errorf("a refused write changed files: %s", cmp.Diff(before, after))
			}
			for _, a := range tt.absent {
				assertMissing(t, filepath.Join(tmp, a))
			}
			if ch := j.Changes(); len(ch) != 0 {
				t.Errorf("a refused write recorded %+v", ch)
			}
		})
	}
}

func TestWrite_Limits(t *testing.T) {
	limit := func(n int64) func(*setup) {
		return func(s *setup) { s.Limits.MaxWriteBytes = n }
	}
	t.Run("content", func(t *testing.T) {
		_, root := newFixture(t)
		c := newConnector(t, root, limit(8))
		if got := do(t, c, "write", writeArgs(t, "ok.txt", "12345678", "create"), allVisible); got.Err != nil {
			t.Errorf("write of 8 bytes with an 8-byte limit = %v", got)
		}
		got := do(t, c, "write", writeArgs(t, "big.txt", "123456789", "create"), allVisible)
		failsWith(t, "write of 9 bytes", got, core.KindTooLarge, core.ReasonTooLarge)
		assertMissing(t, filepath.Join(root, "big.txt"))
		b64 := base64.StdEncoding.EncodeToString([]byte("123456789"))
		got = do(t, c, "write", args(t, map[string]any{"path": "big.bin", "content": b64, "encoding": "base64"}), allVisible)
		failsWith(t, "write of 9 decoded bytes", got, core.KindTooLarge, core.ReasonTooLarge)
	})
	t.Run("append", func(t *testing.T) {
		_, root := newFixture(t, "log = 12345")
		c := newConnector(t, root, limit(8))
		got := do(t, c, "write", writeArgs(t, "log", "6789", "append"), allVisible)
		failsWith(t, "append past the limit", got, core.KindTooLarge, core.ReasonTooLarge)
		if s := mustContent(t, filepath.Join(root, "log")); s != "12345" {
			t.Errorf("log after a refused append = %q", s)
		}
		if got := do(t, c, "write", writeArgs(t, "log", "678", "append"), allVisible); got.Err != nil {
			t.Errorf("append up to the limit = %v", got)
		}
		if s := mustContent(t, filepath.Join(root, "log")); s != "12345678" {
			t.Errorf("log = %q, want 12345678", s)
		}
	})
	t.Run("overwrite of a large file", func(t *testing.T) {
		_, root := newFixture(t, "big = "+strings.Repeat("x", 100))
		c := newConnector(t, root, limit(8))
		if got := do(t, c, "write", writeArgs(t, "big", "small", "overwrite"), allVisible); got.Err != nil {
			t.Errorf("overwrite of a file above the limit with small content = %v", got)
		}
	})
}

func TestWrite_Hardlinks(t *testing.T) {
	for _, allowed := range []bool{false, true} {
		t.Run(map[bool]string{false: "refused", true: "granted"}[allowed], func(t *testing.T) {
			tmp, root := newFixture(t, "a.txt = shared")
			if err := os.Link(filepath.Join(root, "a.txt"), filepath.Join(tmp, "other.txt")); err != nil {
				t.Fatal(err)
			}
			c := newConnector(t, root)
			for _, op := range []struct {
				name string
				args json.RawMessage
			}{
				{"write", writeArgs(t, "a.txt", "changed", "overwrite")},
				{"write", writeArgs(t, "a.txt", "more", "append")},
				{"edit", args(t, map[string]any{"path": "a.txt", "edits": []map[string]string{{"old": "shared", "new": "edited"}}})},
			} {
				got := doWith(t, c, op.name, op.args, with{scope: allVisible, options: hardlinksIf(allowed)})
				if !allowed {
					failsWith(t, op.name+" of a hard-linked file", got, core.KindDenied, core.ReasonHardlinked)
					if !strings.Contains(core.MessageOf(got.Err), "hardlinks: true") {
						t.Errorf("message %q does not name the grant option", core.MessageOf(got.Err))
					}
				} else if got.Err != nil {
					t.Fatalf("%s with hardlinks granted = %v", op.name, got)
				}
				if allowed {
					break
				}
			}
			if s := mustContent(t, filepath.Join(tmp, "other.txt")); s != "shared" {
				t.Errorf("the other link = %q, want it unchanged", s)
			}
			want := map[bool]string{false: "shared", true: "changed"}[allowed]
			if s := mustContent(t, filepath.Join(root, "a.txt")); s != want {
				t.Errorf("a.txt = %q, want %q", s, want)
			}
		})
	}
}

func TestWrite_SpecialFiles(t *testing.T) {
	_, root := newFixture(t, "zero => /dev/zero", "zero2 => ../../../../../../../../../../dev/zero")
	if err := syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustBuild(t, root, "fifolink => fifo")
	hasDevice := syscall.Mknod(filepath.Join(root, "null"), syscall.S_IFCHR|0o666, 1<<8|3) == nil
	c := newConnector(t, root)
	tests := []struct {
		name, path string
		reason     core.Reason
		skip       bool
	}{
		{"fifo", "fifo", core.ReasonNotRegularFile, false},
		{"link to a fifo", "fifolink", core.ReasonNotRegularFile, false},
		{"device", "null", core.ReasonNotRegularFile, !hasDevice},
		{"absolute link to /dev/zero", "zero", core.ReasonPathEscapes, false},
		{"relative link to /dev/zero", "zero2", core.ReasonPathEscapes, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.skip {
				t.Skip("mknod is not permitted here")
			}
			for _, call := range []struct {
				op   string
				args json.RawMessage
			}{
				{"write", writeArgs(t, tt.path, "x", "overwrite")},
				{"write", writeArgs(t, tt.path, "x", "append")},
				{"edit", args(t, map[string]any{"path": tt.path, "edits": []map[string]string{{"old": "a", "new": "b"}}})},
				{"delete", pathArgs(t, tt.path)},
			} {
				start := time.Now()
				got := doWithin(t, 5*time.Second, c, call.op, call.args)
				if d := time.Since(start); d > time.Second {
					t.Errorf("%s %s took %v", call.op, call.args, d)
				}
				if got.Err == nil || core.ReasonOf(got.Err) != tt.reason {
					t.Errorf("%s %s = %v, want reason %s", call.op, call.args, got, tt.reason)
				}
			}
			fi, err := os.Lstat(filepath.Join(root, tt.path))
			if err != nil {
				t.Fatalf("%s is gone after refused calls: %v", tt.path, err)
			}
			if fi.Mode().IsRegular() {
				t.Errorf("%s became a regular file", tt.path)
			}
		})
	}
}

func TestWrite_Reserved(t *testing.T) {
	tmp, root := newFixture(t, ".warden/state = WARDEN-STATE", "warden.yaml = policy", "notes.txt")
	if err := os.Link(filepath.Join(root, "warden.yaml"), filepath.Join(root, "hard.yaml")); err != nil {
		t.Fatal(err)
	}
	c := newConnector(t, root, func(s *setup) {
		s.Host.Reserved = []string{filepath.Join(root, ".warden"), filepath.Join(root, "warden.yaml")}
	})
	before := snapshot(t, tmp, nil)
	calls := []struct {
		op   string
		args map[string]any
	}{
		{"write", map[string]any{"path": ".warden/state", "content": "x", "mode": "overwrite"}},
		{"write", map[string]any{"path": ".warden/new", "content": "x"}},
		{"write", map[string]any{"path": "warden.yaml", "content": "x", "mode": "overwrite"}},
		{"write", map[string]any{"path": "hard.yaml", "content": "x", "mode": "overwrite"}},
		{"edit", map[string]any{"path": "hard.yaml", "edits": []map[string]string{{"old": "policy", "new": "x"}}}},
		{"mkdir", map[string]any{"path": ".warden/d", "parents": true}},
		{"delete", map[string]any{"path": "warden.yaml"}},
		{"delete", map[string]any{"path": "hard.yaml"}},
		{"delete", map[string]any{"path": ".warden", "recursive": true}},
		{"delete", map[string]any{"path": ".", "recursive": true}},
		{"move", map[string]any{"from": "notes.txt", "to": "warden.yaml", "overwrite": true}},
		{"move", map[string]any{"from": "notes.txt", "to": ".warden/notes.txt"}},
		{"move", map[string]any{"from": "warden.yaml", "to": "moved.yaml"}},
		{"move", map[string]any{"from": "hard.yaml", "to": "moved.yaml"}},
		{"move", map[string]any{"from": ".warden", "to": "w"}},
	}
	for _, call := range calls {
		got := doWith(t, c, call.op, args(t, call.args), with{scope: allVisible, options: core.GrantOptions{}.WithFlag(fs.OptionHardlinks).WithFlag(fs.OptionRecursive)})
		if got.Err == nil || (core.ReasonOf(got.Err) != core.ReasonReservedPath && !strings.Contains(core.MessageOf(got.Err), "root")) {
			t.Errorf("%s %v = %v, want a refusal", call.op, call.args, got)
		}
	}
	if after := snapshot(t, tmp, nil); !cmp.Equal(before, after) {
		t.Errorf("calls on reserved paths changed files: %s", cmp.Diff(before, after))
	}
}

func TestWrite_TempNamesHidden(t *testing.T) {
	_, root := newFixture(t, "notes.txt", ".warden-tmp-abc = WARDEN-TEMP", "sub/.warden-tmp-def = WARDEN-TEMP")
	c := newConnector(t, root)
	got := do(t, c, "list", args(t, map[string]any{"path": ".", "recursive": true}), allVisible)
	if got.Err != nil || strings.Contains(got.JSON, "warden-tmp") || !strings.Contains(got.JSON, "notes.txt") {
		t.Errorf("list = %v, want notes.txt and no temporary files", got)
	}
	got = do(t, c, "search", args(t, map[string]any{"path": ".", "text": "WARDEN"}), allVisible)
	if got.Err != nil || strings.Contains(got.JSON, "warden-tmp") {
		t.Errorf("search = %v, want no temporary files", got)
	}
	for _, op := range []string{"read", "stat", "delete"} {
		got := do(t, c, op, pathArgs(t, ".warden-tmp-abc"), allVisible)
		failsWith(t, op+"(.warden-tmp-abc)", got, core.KindDenied, core.ReasonReservedPath)
	}
	got = do(t, c, "move", args(t, map[string]any{"from": "notes.txt", "to": "sub/.warden-tmp-def", "overwrite": true}), allVisible)
	failsWith(t, "move onto a temporary name", got, core.KindDenied, core.ReasonReservedPath)
	if s := mustContent(t, filepath.Join(root, "sub/.warden-tmp-def")); s != "WARDEN-TEMP" {
		t.Errorf("temporary file changed: %q", s)
	}
}

func TestWrite_StaleTempsSwept(t *testing.T) {
	_, root := newFixture(t, "d/.warden-tmp-old = x", "d/.warden-tmp-new = x", ".warden-tmp-rootold = x")
	old := time.Now().Add(-2 * time.Minute)
	for _, n := range []string{"d/.warden-tmp-old", ".warden-tmp-rootold"} {
		if err := os.Chtimes(filepath.Join(root, n), old, old); err != nil {
			t.Fatal(err)
		}
	}
	c := newConnector(t, root) // Open sweeps the root
	assertMissing(t, filepath.Join(root, ".warden-tmp-rootold"))
	if _, err := os.Lstat(filepath.Join(root, "d/.warden-tmp-old")); err != nil {
		t.Errorf("Open swept below the root (it should not walk the tree): %v", err)
	}
	// A write in d sweeps d.
	if got := do(t, c, "write", args(t, map[string]any{"path": "d/new.txt", "content": "x"}), allVisible); got.Err != nil {
		t.Fatalf("write: %v", got.Err)
	}
	assertMissing(t, filepath.Join(root, "d/.warden-tmp-old"))
	if _, err := os.Lstat(filepath.Join(root, "d/.warden-tmp-new")); err != nil {
		t.Errorf("a fresh temporary file was swept: %v", err)
	}
}

// TestWrite_JournalLinkIsNotAHardLink: a hard link the journal holds to a
// live file (a call killed between Keep and its rename leaves one) does not
// make the file hard-linked; any other link still does.
func TestWrite_JournalLinkIsNotAHardLink(t *testing.T) {
	tests := []struct {
		name      string
		linkInJ   bool // the extra link is in the journal's store
		holder    bool // the journal reports its links
		wantError bool
	}{
		{"journal's link", true, true, false},
		{"journal that cannot tell", true, false, true},
		{"link elsewhere", false, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp, root := newFixture(t, "f.txt = old")
			mj := newMemJournal(t)
			link := filepath.Join(tmp, "elsewhere")
			if tt.linkInJ {
				link = filepath.Join(mj.dir, hashOf([]byte("old")))
			}
			if err := os.Link(filepath.Join(root, "f.txt"), link); err != nil {
				t.Fatal(err)
			}
			var j core.Journal = mj
			if tt.holder {
				j = linkingJournal{mj}
			}
			c := newConnector(t, root)
			got := doWith(t, c, "write", writeArgs(t, "f.txt", "new", "overwrite"), with{scope: allVisible, journal: j})
			if tt.wantError {
				failsWith(t, "write", got, core.KindDenied, core.ReasonHardlinked)
			} else if got.Err != nil {
				t.Fatalf("write = %v, want success", got)
			}
			if s := mustContent(t, link); s != "old" {
				t.Errorf("the other link = %q, want the old content", s)
			}
		})
	}
}
