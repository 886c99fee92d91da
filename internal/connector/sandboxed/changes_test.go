package sandboxed_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/warden-dev/warden/internal/connector/sandboxed"
	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/engine"
	"github.com/warden-dev/warden/internal/policy"
)

const changesPolicy = `version: 1
resources:
  build:
    kind: exec
    workdir: ./repo
    programs: [sh]
    limits: {write_bytes: 4KiB}
agents:
  dev:
    grants:
      - {resource: build, actions: [run], approval: none}
`

// openPolicy writes src beside a fresh ./repo, fills the repo with files
// (path → content; a path ending in / is a directory, "->x" a link to x,
// "!" before the content makes it executable) and opens an engine with
// state. It returns the engine, the policy's path and the repo.
func openPolicy(t *testing.T, src string, files map[string]string) (*engine.Engine, string, string) {
	t.Helper()
	dir := t.TempDir()
	repo := filepath.Join(dir, "repo")
	if err := os.Mkdir(repo, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		p, content := filepath.Join(repo, name), files[name]
		var err error
		switch {
		case strings.HasSuffix(name, "/"):
			err = os.Mkdir(p, 0o755)
		case strings.HasPrefix(content, "->"):
			err = os.Symlink(content[2:], p)
		case strings.HasPrefix(content, "!"):
			err = os.WriteFile(p, []byte(content[1:]), 0o755)
		default:
			err = os.WriteFile(p, []byte(content), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "warden.yaml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return openEngine(t, path), path, repo
}

func openEngine(t *testing.T, path string) *engine.Engine {
	t.Helper()
	p, err := policy.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(context.Background(), p, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// snapshot describes every entry beneath dir: type, mode and content hash
// or link target.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			out[rel] = "link " + target
		case fi.IsDir():
			out[rel] = "dir " + fi.Mode().Perm().String()
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			out[rel] = fi.Mode().String() + " " + hex.EncodeToString(sum[:8]) + " " + strings.ReplaceAll(string(b[:min(len(b), 20)]), "\n", "|")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func runIn(t *testing.T, e *engine.Engine, script string) (*engine.Outcome, sandboxed.Result) {
	t.Helper()
	args, _ := json.Marshal(map[string]any{"program": "sh", "args": []string{"-c", script}})
	o := e.Call(context.Background(), core.Call{Agent: "dev", Tool: "build_run", Args: args}, engine.CallOptions{})
	if o.Status != engine.StatusOK {
		t.Fatalf("status %v: %s (%v)", o.Status, o.Message, o.Err)
	}
	var r sandboxed.Result
	if err := json.Unmarshal(o.Value, &r); err != nil {
		t.Fatal(err)
	}
	if r.ExitCode != 0 {
		t.Fatalf("exit %d, stderr %q", r.ExitCode, r.Stderr)
	}
	return o, r
}

func diff(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	for _, k := range slices.Sorted(maps.Keys(maps.Collect(func(yield func(string, bool) bool) {
		for k := range got {
			yield(k, true)
		}
		for k := range want {
			yield(k, true)
		}
	}))) {
		if got[k] != want[k] {
			t.Errorf("%s: %s is %q, want %q", what, k, got[k], want[k])
		}
	}
}

// TestRun_changesAppliedAndUndone: what a run changes reaches the work
// directory through the journal, as one entry that warden undo (a new
// engine on the same policy) reverts exactly.
func TestRun_changesAppliedAndUndone(t *testing.T) {
	needSandbox(t)
	e, path, repo := openPolicy(t, changesPolicy, map[string]string{
		"keep.txt":       "keep\n",
		"tool":           "!#!/bin/sh\necho old\n",
		"gone.txt":       "gone\n",
		"olddir/":        "",
		"olddir/a":       "a\n",
		"olddir/sub/":    "",
		"olddir/sub/b":   "b\n",
		"redo/":          "",
		"redo/stale":     "stale\n",
		"redo/kept-name": "old\n",
		"plain":          "plain\n",
	})
	before := snapshot(t, repo)
	o, r := runIn(t, e, `set -e
printf '#!/bin/sh\necho new\n' > tool
rm gone.txt
rm -r olddir
mkdir newdir
printf 'x\n' > newdir/x
printf 'built\n' > bin; chmod 755 bin
ln -s keep.txt link
rm -r redo; mkdir redo; printf 'new\n' > redo/kept-name
rm plain; mkdir plain
cat keep.txt > /dev/null`)
	want := maps.Clone(before)
	for _, k := range []string{"gone.txt", "olddir", "olddir/a", "olddir/sub", "olddir/sub/b", "redo/stale", "plain"} {
		delete(want, k)
	}
	after := snapshot(t, repo)
	want["tool"] = "-rwxr-xr-x " + after["tool"][11:] // checked below
	want["newdir"], want["newdir/x"], want["bin"], want["redo/kept-name"], want["plain"] = after["newdir"], after["newdir/x"], after["bin"], after["redo/kept-name"], after["plain"]
	diff(t, "after the run", after, want)
	for k, v := range map[string]string{"tool": "-rwxr-xr-x", "bin": "-rwxr-xr-x", "newdir": "dir", "plain": "dir", "newdir/x": "-rw-r--r--"} {
		if !strings.HasPrefix(after[k], v) {
			t.Errorf("%s is %q, want %s", k, after[k], v)
		}
	}
	for k, v := range map[string]string{"tool": "echo new", "bin": "built", "redo/kept-name": "new", "newdir/x": "x"} {
		if !strings.Contains(after[k], v) {
			t.Errorf("%s is %q, want it to hold %q", k, after[k], v)
		}
	}
	if _, ok := after["link"]; ok || !strings.Contains(r.NotApplied, "symbolic link") {
		t.Errorf("the symbolic link was applied (%q) or not reported: %q", after["link"], r.NotApplied)
	}
	if r.ChangeCount != len(r.Changes) || r.ChangeCount < 8 || !slices.Contains(r.Changes, sandboxed.Change{Op: "skipped", Path: "link", Type: "symlink"}) {
		t.Errorf("changes %d: %+v", r.ChangeCount, r.Changes)
	}
	if slices.ContainsFunc(r.Changes, func(c sandboxed.Change) bool { return c.Path == "keep.txt" }) {
		t.Errorf("a file only read is among the changes: %+v", r.Changes)
	}

	e.Close()
	u := openEngine(t, path).Undo(context.Background(), o.AuditID, "test", false)
	if u.Status != engine.StatusOK {
		t.Fatalf("undo: %v: %s (%v)", u.Status, u.Message, u.Err)
	}
	diff(t, "after the undo", snapshot(t, repo), before)
}

// TestRun_overLimitAppliesNothing: a run that writes more than
// write_bytes changes nothing at all.
func TestRun_overLimitAppliesNothing(t *testing.T) {
	needSandbox(t)
	e, _, repo := openPolicy(t, changesPolicy, map[string]string{"a.txt": "a\n"})
	before := snapshot(t, repo)
	_, r := runIn(t, e, "rm a.txt; echo small > b; head -c 5000 /dev/zero > big")
	diff(t, "after the run", snapshot(t, repo), before)
	if !strings.Contains(r.NotApplied, "nothing was applied") || !strings.Contains(r.NotApplied, "write_bytes") {
		t.Errorf("not applied: %q", r.NotApplied)
	}
}

// TestRun_symlinkOutNotWrittenThrough: a link in the work directory to a
// file outside it is never written through, neither by the program nor
// when its changes are applied; the change before the failure is kept
// and undone with the rest.
func TestRun_symlinkOutNotWrittenThrough(t *testing.T) {
	needSandbox(t)
	outside := filepath.Join(t.TempDir(), "outside.txt")
	if err := os.WriteFile(outside, []byte("outside\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e, path, repo := openPolicy(t, changesPolicy, map[string]string{"out": "->" + outside})
	before := snapshot(t, repo)
	o, r := runIn(t, e, "echo through > out 2>/dev/null; echo a > a.txt; rm out && echo pwned > out")
	if b, _ := os.ReadFile(outside); string(b) != "outside\n" {
		t.Fatalf("the file outside was changed: %q", b)
	}
	if got, _ := os.Readlink(filepath.Join(repo, "out")); got != outside {
		t.Errorf("the link is now %q", got)
	}
	if b, err := os.ReadFile(filepath.Join(repo, "a.txt")); err != nil || string(b) != "a\n" {
		t.Errorf("a.txt, applied before the failure: %q, %v", b, err)
	}
	if !strings.Contains(r.NotApplied, "out failed") {
		t.Errorf("not applied: %q", r.NotApplied)
	}
	e.Close()
	if u := openEngine(t, path).Undo(context.Background(), o.AuditID, "test", false); u.Status != engine.StatusOK {
		t.Fatalf("undo: %v: %s", u.Status, u.Message)
	}
	diff(t, "after the undo", snapshot(t, repo), before)
}

// TestRun_fifoNotApplied: a FIFO the program makes stays in the sandbox.
func TestRun_fifoNotApplied(t *testing.T) {
	needSandbox(t)
	e, _, repo := openPolicy(t, changesPolicy, nil)
	_, r := runIn(t, e, "mkfifo pipe && echo f > f")
	got := snapshot(t, repo)
	if _, ok := got["pipe"]; ok || got["f"] == "" {
		t.Errorf("work directory: %v", got)
	}
	if !slices.Contains(r.Changes, sandboxed.Change{Op: "skipped", Path: "pipe", Type: "fifo"}) {
		t.Errorf("changes: %+v", r.Changes)
	}
}

// TestPreview: the approver sees the program's file and every argument
// exactly, quoted, control characters escaped.
func TestPreview(t *testing.T) {
	needSandbox(t)
	e, _, repo := openPolicy(t, changesPolicy, nil)
	spec := e.Policy().Resource("build")
	c, err := sandboxed.New(spec, core.Host{})
	if err != nil {
		t.Fatal(err)
	}
	args, _ := json.Marshal(map[string]any{"program": "sh", "args": []string{"-c", "echo hi > x", "it's", "\x1b[31m", "a\nb", "plain-arg", ""}})
	inv := &core.Invocation{Op: sandboxed.OpRun, Args: args}
	if err := c.Prepare(context.Background(), inv); err != nil {
		t.Fatal(err)
	}
	got, err := c.Preview(context.Background(), inv)
	if err != nil {
		t.Fatal(err)
	}
	sh, _ := filepath.EvalSymlinks("/bin/sh")
	want := "runs: " + sh + ` -c 'echo hi > x' 'it'\''s' $'\x1b[31m' $'a\nb' plain-arg ''; in ` + repo
	if !strings.HasPrefix(got, want) || !strings.Contains(got, "writes 4096 bytes") {
		t.Errorf("preview\n%s\nwant it to start\n%s", got, want)
	}
}

// TestPreview_inTheApproval: a run that needs approval shows the approver
// the command line in full, and nothing runs meanwhile.
func TestPreview_inTheApproval(t *testing.T) {
	needSandbox(t)
	e, _, repo := openPolicy(t, strings.Replace(changesPolicy, "approval: none", "approval: required", 1), nil)
	args, _ := json.Marshal(map[string]any{"program": "sh", "args": []string{"-c", "echo ran > ran.txt", "$'x'\x07"}})
	o := e.Call(context.Background(), core.Call{Agent: "dev", Tool: "build_run", Args: args}, engine.CallOptions{})
	if o.Status != engine.StatusPending || o.ApprovalID == "" {
		t.Fatalf("status %v (%s), approval %q", o.Status, o.Message, o.ApprovalID)
	}
	a, err := e.Approvals().Get(o.ApprovalID)
	if err != nil {
		t.Fatal(err)
	}
	if want := ` -c 'echo ran > ran.txt' $'$\'x\'\x07'; in ` + repo; !strings.Contains(a.Summary, want) {
		t.Errorf("summary %q\nwant it to hold %q", a.Summary, want)
	}
	if _, err := os.Stat(filepath.Join(repo, "ran.txt")); !os.IsNotExist(err) {
		t.Errorf("the program ran before approval: %v", err)
	}
}

// TestOpen_removesStaleScratch: Open removes the scratch directories a
// gone process of the resource left (with the overlay's mode-0
// directories in them) and keeps a live one's; Close removes its own.
func TestOpen_removesStaleScratch(t *testing.T) {
	needSandbox(t)
	e, _, _ := openPolicy(t, changesPolicy, nil)
	spec := e.Policy().Resource("build")
	gone := exec.Command("/bin/true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(os.TempDir(), "warden-exec-"+strconv.Itoa(os.Geteuid()))
	stale := filepath.Join(base, "build."+strconv.Itoa(gone.Process.Pid)+".test")
	live := filepath.Join(base, "build."+strconv.Itoa(os.Getppid())+".test")
	for _, d := range []string{filepath.Join(stale, "run-1", "work", "work"), live} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { os.RemoveAll(live) })
	os.Chmod(filepath.Join(stale, "run-1", "work", "work"), 0)
	pattern := filepath.Join(base, "build."+strconv.Itoa(os.Getpid())+".*")
	engines, _ := filepath.Glob(pattern) // the engine's connector's
	c, err := sandboxed.New(spec, core.Host{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(stale); !os.IsNotExist(err) {
		t.Errorf("the stale scratch directory is still there: %v", err)
	}
	if _, err := os.Lstat(live); err != nil {
		t.Errorf("a live process's scratch directory was removed: %v", err)
	}
	all, _ := filepath.Glob(pattern)
	own := slices.DeleteFunc(all, func(d string) bool { return slices.Contains(engines, d) })
	if len(own) != 1 {
		t.Fatalf("own scratch directories: %v (the engine's: %v)", own, engines)
	}
	c.Close()
	if _, err := os.Lstat(own[0]); !os.IsNotExist(err) {
		t.Errorf("Close left its scratch directory: %v", err)
	}
}

// BenchmarkRun_applyFiles: a run that creates 100 files of 1 KiB, applied
// and journaled one by one; compare with -bench Run_noChanges.
func BenchmarkRun_applyFiles(b *testing.B) {
	benchRun(b, `i=0; while [ $i -lt 100 ]; do head -c 1024 /dev/zero > f$i; i=$((i+1)); done`)
}

// BenchmarkRun_noChanges: a run that changes nothing.
func BenchmarkRun_noChanges(b *testing.B) {
	benchRun(b, `i=0; while [ $i -lt 100 ]; do head -c 1024 /dev/zero > /tmp/f$i; i=$((i+1)); done`)
}

func benchRun(b *testing.B, script string) {
	dir := b.TempDir()
	os.Mkdir(filepath.Join(dir, "repo"), 0o755)
	path := filepath.Join(dir, "warden.yaml")
	os.WriteFile(path, []byte(strings.Replace(changesPolicy, "4KiB", "1MiB", 1)), 0o644)
	p, err := policy.Load(path)
	if err != nil {
		b.Fatal(err)
	}
	e, err := engine.New(context.Background(), p, engine.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	args, _ := json.Marshal(map[string]any{"program": "sh", "args": []string{"-c", "rm -f f*; " + script}})
	for b.Loop() {
		if o := e.Call(context.Background(), core.Call{Agent: "dev", Tool: "build_run", Args: args}, engine.CallOptions{}); o.Status != engine.StatusOK {
			b.Fatalf("%v: %s", o.Status, o.Message)
		}
	}
}
