package e2e

import (
	"bufio"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/warden-dev/warden/internal/corpus"
)

// pathsWritePolicy grants every action on the corpus root, recursive
// deletes included, and denies the private/ sub-tree.
const pathsWritePolicy = `version: 1
resources:
  files: {kind: fs, root: ./root}
agents:
  agent:
    grants:
      - resource: files
        actions: [read, list, search, stat, write, edit, mkdir, move, delete]
        recursive: true
    deny:
      - resource: files
        paths: ["private/**"]
`

// writeOp maps a corpus payload onto one mutating tool call.
type writeOp struct {
	name string
	tool string
	args func(p, content string) map[string]any
	// prepare sets up, on disk, what the call needs besides the payload.
	prepare func(t testing.TB, root string)
}

// moveSource is the fixed in-root file the move-to operation moves.
const moveSource = "corpus-move-src.txt"

var writeOps = []writeOp{
	{name: "write-create", tool: "files_write", args: func(p, c string) map[string]any {
		return map[string]any{"path": p, "content": c, "mode": "create"}
	}},
	{name: "write-overwrite", tool: "files_write", args: func(p, c string) map[string]any {
		return map[string]any{"path": p, "content": c, "mode": "overwrite"}
	}},
	{name: "write-append", tool: "files_write", args: func(p, c string) map[string]any {
		return map[string]any{"path": p, "content": c, "mode": "append"}
	}},
	// A dry run returns a diff: it must not become a way to read outside.
	{name: "edit-dry-run", tool: "files_edit", args: func(p, c string) map[string]any {
		return map[string]any{"path": p, "edits": []any{map[string]any{"old": "WARDEN", "new": c}}, "dry_run": true}
	}},
	{name: "edit", tool: "files_edit", args: func(p, c string) map[string]any {
		return map[string]any{"path": p, "edits": []any{map[string]any{"old": "WARDEN", "new": c}}}
	}},
	{name: "move-from", tool: "files_move", args: func(p, _ string) map[string]any {
		return map[string]any{"from": p, "to": "corpus-moved-in.txt", "overwrite": true}
	}},
	{name: "move-to", tool: "files_move", args: func(p, _ string) map[string]any {
		return map[string]any{"from": moveSource, "to": p, "overwrite": true}
	}, prepare: func(t testing.TB, root string) {
		// Never through a symlink: during a race another process may have
		// left one at the source name, and the test must not write through
		// it itself.
		p := filepath.Join(root, moveSource)
		_ = os.Remove(p)
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString("WARDEN-INSIDE move source"); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}},
	{name: "mkdir", tool: "files_mkdir", args: func(p, _ string) map[string]any {
		return map[string]any{"path": p, "parents": true}
	}},
	{name: "delete", tool: "files_delete", args: func(p, _ string) map[string]any {
		return map[string]any{"path": p, "recursive": true}
	}},
}

// existenceReasons are refusals that would tell the model whether an object
// exists; a policy refusal of a denied path must not be one of them.
var existenceReasons = []string{"not-found", "exists", "not-empty", "is-directory", "not-directory", "edit-no-match", "dangling-symlink"}

// TestCorpusPathsWrite runs every line of the public path corpus through the
// real warden binary's mutating tools (write, edit, mkdir, move, delete),
// inside bubblewrap: deny lines are real attacks.
func TestCorpusPathsWrite(t *testing.T) {
	if !sandboxed(t) {
		return
	}
	cases := corpus.Load(t, "paths.txt")
	var denies, allows, scenarios []corpus.Case
	for _, c := range cases {
		switch {
		case c.Scenario() != "":
			scenarios = append(scenarios, c)
		case c.Expect == "deny":
			denies = append(denies, c)
		default:
			allows = append(allows, c)
		}
	}
	// Calls that change files wait on fsync more than on the CPU: shards,
	// each with its own fixture and server, run side by side.
	sharded := func(name string, cases []corpus.Case, run func(*testing.T, []corpus.Case)) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			const shards = 2
			for i := range shards {
				t.Run(fmt.Sprint(i), func(t *testing.T) {
					t.Parallel()
					run(t, shard(cases, i, shards))
				})
			}
		})
	}
	sharded("deny", denies, corpusWriteDenies)
	sharded("allow", allows, corpusWriteAllows)
	t.Run("scenario", func(t *testing.T) {
		t.Parallel()
		corpusWriteScenarios(t, scenarios)
	})
}

// shard returns every n-th case, starting at i.
func shard(cases []corpus.Case, i, n int) []corpus.Case {
	var out []corpus.Case
	for j := i; j < len(cases); j += n {
		out = append(out, cases[j])
	}
	return out
}

// writeFixture builds the corpus fixture with the write policy.
func writeFixture(t testing.TB) (base string, vars map[string]string) {
	t.Helper()
	base, vars = pathsFixture(t)
	writePolicy(t, base, pathsWritePolicy)
	return base, vars
}

// outsideSnapshot snapshots everything a corpus call must not change: <T>
// except the root's content, but with the root itself and its private/.
func outsideSnapshot(t testing.TB, base, rootRel string) map[string]string {
	t.Helper()
	out := snapshot(t, base)
	for k := range out {
		if strings.HasPrefix(k, rootRel+"/") && k != rootRel+"/private" && !strings.HasPrefix(k, rootRel+"/private/") {
			delete(out, k)
		}
	}
	return out
}

// resetRoot puts the fixture's root content back. The root directory itself
// stays, since the server holds it open.
func resetRoot(t testing.TB, root string) {
	t.Helper()
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(root, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	for name, content := range pathsFixtureFiles {
		if rel, ok := strings.CutPrefix(name, "root/"); ok {
			mkfile(t, filepath.Join(root, rel), content)
		}
	}
}

func reasonOf(t testing.TB, res *mcp.CallToolResult) string {
	t.Helper()
	if !res.IsError {
		return "ok"
	}
	r, _ := structured(t, res)["reason"].(string)
	return r
}

func corpusWriteDenies(t *testing.T, cases []corpus.Case) {
	base, vars := writeFixture(t)
	root := vars["ROOT"]
	outside := outsideSnapshot(t, base, vars["ROOTNAME"])
	inside := snapshot(t, root)
	cs := connectStdio(t, base, nil, nil)
	tally := map[string]map[string]int{}
	for _, c := range cases {
		payload := corpus.Substitute(c.Payload, vars)
		refuse := c.Directives["mode"] == "refuse"
		content := fmt.Sprintf("WARDEN-INSIDE-PWNED-%d", c.Line)
		for _, op := range writeOps {
			if op.prepare != nil {
				op.prepare(t, root)
			}
			res := callTool(t, cs, op.tool, op.args(payload, content))
			reason := reasonOf(t, res)
			if tally[op.name] == nil {
				tally[op.name] = map[string]int{}
			}
			tally[op.name][reason]++
			if l := leaks(text(res)); len(l) > 0 {
				t.Errorf("%v: %s leaked %v: %s", c, op.name, l, clip(text(res)))
			}
			if refuse {
				// The object exists inside the root: the policy must refuse,
				// before anything could say whether it exists.
				if !res.IsError {
					t.Errorf("%v: %s succeeded on the denied sub-tree: %s", c, op.name, clip(text(res)))
				} else if slices.Contains(existenceReasons, reason) {
					t.Errorf("%v: %s refused with %q, not by the policy", c, op.name, reason)
				}
			}
			if reason == "internal-error" {
				// Inside the sandbox a write outside <T> fails with EROFS:
				// an internal error may be a guard that let it through.
				t.Errorf("%v: %s failed with internal-error, not a refusal: %s", c, op.name, clip(text(res)))
			}
			if now := outsideSnapshot(t, base, vars["ROOTNAME"]); !maps.Equal(now, outside) {
				t.Errorf("%v: %s changed files outside the root or under private/: %v", c, op.name, diffSnapshots(outside, now))
				outside = now // report each change once
			}
		}
		if !maps.Equal(snapshot(t, root), inside) {
			resetRoot(t, root)
			outside = outsideSnapshot(t, base, vars["ROOTNAME"]) // private/ is reset too
		}
	}
	t.Logf("write-tool outcomes over %d deny lines (op: reason=count): %s", len(cases), formatTally(tally))
}

func formatTally(tally map[string]map[string]int) string {
	var b strings.Builder
	for _, op := range writeOps {
		var parts []string
		for r, n := range tally[op.name] {
			parts = append(parts, fmt.Sprintf("%s=%d", r, n))
		}
		sort.Strings(parts)
		fmt.Fprintf(&b, "\n  %s: %s", op.name, strings.Join(parts, " "))
	}
	return b.String()
}

// namedRel is where an allow payload's object lives, relative to the root,
// following createNamed: intermediate directories are real, so ".." is
// lexical.
func namedRel(payload string) string {
	var stack []string
	for _, c := range strings.Split(payload, "/") {
		switch c {
		case "", ".":
		case "..":
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		default:
			stack = append(stack, c)
		}
	}
	return strings.Join(stack, "/")
}

// changedKeys lists the snapshot entries that differ, sorted.
func changedKeys(before, after map[string]string) []string {
	var keys []string
	for k, v := range before {
		if w, ok := after[k]; !ok || w != v {
			keys = append(keys, k)
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// allowStep is one call on an allow payload and the exact effect it must
// have inside the root.
type allowStep struct {
	tool    string
	args    map[string]any
	changed []string          // the only entries (relative to the root) that may change
	want    map[string]string // content each changed file must have; "" = gone
}

func corpusWriteAllows(t *testing.T, cases []corpus.Case) {
	base, vars := writeFixture(t)
	root := vars["ROOT"]
	cs := connectStdio(t, base, nil, nil)
	for _, c := range cases {
		resetRoot(t, root)
		payload := corpus.Substitute(c.Payload, vars)
		isDir := createNamed(t, root, payload, fmt.Sprintf("WARDEN-INSIDE-%d", c.Line))
		for _, s := range allowSteps(payload, namedRel(payload), isDir, c.Line) {
			before := snapshot(t, root)
			res := callTool(t, cs, s.tool, s.args)
			if res.IsError {
				t.Errorf("%v: %s(%v) failed: %s", c, s.tool, s.args, clip(text(res)))
				break
			}
			after := snapshot(t, root)
			if got := changedKeys(before, after); !slices.Equal(got, s.changed) {
				t.Errorf("%v: %s(%v) changed %q, want exactly %q", c, s.tool, s.args, got, s.changed)
				break
			}
			for rel, want := range s.want {
				b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
				switch {
				case want == "" && !os.IsNotExist(err):
					t.Errorf("%v: %s(%v): %s still exists (%v)", c, s.tool, s.args, rel, err)
				case want != "" && (err != nil || string(b) != want):
					t.Errorf("%v: %s(%v): %s = %q, %v; want %q", c, s.tool, s.args, rel, b, err, want)
				}
			}
		}
	}
	waitNoTemps(t, root)
}

// waitNoTemps fails unless the temporary files under dir, which Warden
// removes in the background, are gone within a few seconds.
func waitNoTemps(t *testing.T, dir string) {
	t.Helper()
	var left []string
	for range 100 {
		left = left[:0]
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && strings.HasPrefix(d.Name(), tempPrefix) {
				left = append(left, p)
			}
			return nil
		})
		if len(left) == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Errorf("temporary files left behind: %q", left)
}

// allowSteps writes, appends to, edits, moves away and back, deletes and
// re-creates the object an allow payload names (for a directory, a new file
// and a new directory in it), each step changing exactly that object.
func allowSteps(p, rel string, isDir bool, line int) []allowStep {
	n1, n2 := fmt.Sprintf("WARDEN-INSIDE-written-%d", line), fmt.Sprintf("WARDEN-INSIDE-recreated-%d", line)
	if isDir {
		dirP := p
		if !strings.HasSuffix(dirP, "/") {
			dirP += "/"
		}
		fp, frel := dirP+"corpus-new.txt", path.Join(rel, "corpus-new.txt")
		drel := path.Join(rel, "corpus-newdir")
		return []allowStep{
			{"files_write", map[string]any{"path": fp, "content": n1, "mode": "create"}, []string{frel}, map[string]string{frel: n1}},
			{"files_write", map[string]any{"path": fp, "content": n2, "mode": "overwrite"}, []string{frel}, map[string]string{frel: n2}},
			{"files_mkdir", map[string]any{"path": dirP + "corpus-newdir"}, []string{drel}, nil},
			{"files_delete", map[string]any{"path": fp}, []string{frel}, map[string]string{frel: ""}},
		}
	}
	const moved = "corpus-moved.txt"
	return []allowStep{
		{"files_write", map[string]any{"path": p, "content": n1, "mode": "overwrite"}, []string{rel}, map[string]string{rel: n1}},
		{"files_write", map[string]any{"path": p, "content": "+A", "mode": "append"}, []string{rel}, map[string]string{rel: n1 + "+A"}},
		{"files_edit", map[string]any{"path": p, "edits": []any{map[string]any{"old": "+A", "new": "+E"}}}, []string{rel}, map[string]string{rel: n1 + "+E"}},
		{"files_move", map[string]any{"from": p, "to": moved}, sortedPair(rel, moved), map[string]string{rel: "", moved: n1 + "+E"}},
		{"files_move", map[string]any{"from": moved, "to": p}, sortedPair(rel, moved), map[string]string{rel: n1 + "+E", moved: ""}},
		{"files_delete", map[string]any{"path": p}, []string{rel}, map[string]string{rel: ""}},
		{"files_write", map[string]any{"path": p, "content": n2, "mode": "create"}, []string{rel}, map[string]string{rel: n2}},
	}
}

func sortedPair(a, b string) []string {
	s := []string{a, b}
	sort.Strings(s)
	return s
}

// writeScenario runs one SCENARIO line's write part. setup runs first on a
// fresh fixture; then the server starts and the scenario acts. The runner
// checks afterwards that nothing outside the root changed since setup.
type writeScenario struct {
	rootRel string // the root relative to <T>; default "root"
	setup   func(t *testing.T, base string, v map[string]string)
	act     func(t *testing.T, cs *mcp.ClientSession, base string, v map[string]string)
}

// wantWritesRefused runs every write op on p: write, edit and mkdir must be
// refused; none may leak a marker. (Delete and the moves may act on an
// in-root link itself, not its target; the runner's outside check covers
// them.)
func wantWritesRefused(t *testing.T, cs *mcp.ClientSession, root, p string) {
	t.Helper()
	for _, op := range writeOps {
		if op.prepare != nil {
			op.prepare(t, root)
		}
		res := callTool(t, cs, op.tool, op.args(p, "WARDEN-INSIDE-PWNED"))
		if l := leaks(text(res)); len(l) > 0 {
			t.Errorf("%s(%q) leaked %v: %s", op.name, p, l, clip(text(res)))
		}
		switch op.name {
		case "delete", "move-from", "move-to":
			continue
		}
		if !res.IsError {
			t.Errorf("%s(%q) succeeded, want it refused: %s", op.name, p, clip(text(res)))
		}
	}
}

// outdirEmpty fails unless {OUTDIR} is still empty.
func outdirEmpty(t *testing.T, v map[string]string) {
	t.Helper()
	entries, err := os.ReadDir(v["OUTDIR"])
	if err != nil || len(entries) > 0 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("{OUTDIR} is not empty: %q (%v)", names, err)
	}
}

func opNamed(name string) writeOp {
	i := slices.IndexFunc(writeOps, func(op writeOp) bool { return op.name == name })
	return writeOps[i]
}

// raceOps is what the race scenarios run on a path, round robin.
func raceOps(t *testing.T, cs *mcp.ClientSession, root, p string, i int) *mcp.CallToolResult {
	names := []string{"write-create", "write-overwrite", "write-append", "move-to", "mkdir"}
	op := opNamed(names[i%len(names)])
	if op.prepare != nil {
		op.prepare(t, root)
	}
	return callTool(t, cs, op.tool, op.args(p, "PWNED"))
}

var writeScenarios = map[string]writeScenario{
	"path-null":    {act: schemaRefusals(nil)},
	"path-number":  {act: schemaRefusals(123)},
	"path-array":   {act: schemaRefusals([]any{"../sentinel.txt"})},
	"path-missing": {act: schemaRefusals(missing{})},
	"mcp-symlink-to-outside-file": {
		setup: func(t *testing.T, _ string, v map[string]string) {
			symlink(t, v["SENTINEL"], filepath.Join(v["ROOT"], "link"))
		},
		act: func(t *testing.T, cs *mcp.ClientSession, _ string, v map[string]string) {
			wantWritesRefused(t, cs, v["ROOT"], "link")
		},
	},
	"mcp-symlink-chain-out": {
		setup: func(t *testing.T, _ string, v map[string]string) {
			symlink(t, v["SENTINEL"], filepath.Join(v["ROOT"], "link1"))
			symlink(t, "link1", filepath.Join(v["ROOT"], "link2"))
			symlink(t, "link2", filepath.Join(v["ROOT"], "file"))
		},
		act: func(t *testing.T, cs *mcp.ClientSession, _ string, v map[string]string) {
			wantWritesRefused(t, cs, v["ROOT"], "file")
		},
	},
	"mcp-race-leaf-planted-before-write": {
		act: func(t *testing.T, cs *mcp.ClientSession, _ string, v map[string]string) {
			leaf := filepath.Join(v["ROOT"], "new.txt")
			i := 0
			race(t, func() { _ = os.Symlink(v["SENTINEL"], leaf); _ = os.Remove(leaf) }, 500, func() {
				if l := leaks(text(raceOps(t, cs, v["ROOT"], "new.txt", i))); len(l) > 0 {
					t.Errorf("write new.txt during the race leaked %v", l)
				}
				i++
			})
		},
	},
	"mcp-dir-replaced-by-symlink": {
		act: func(t *testing.T, cs *mcp.ClientSession, _ string, v map[string]string) {
			d := filepath.Join(v["ROOT"], "d")
			i := 0
			race(t, func() {
				_ = os.RemoveAll(d)
				_ = os.Mkdir(d, 0o755)
				_ = os.RemoveAll(d)
				_ = os.Symlink(v["OUTDIR"], d)
			}, 500, func() {
				if l := leaks(text(raceOps(t, cs, v["ROOT"], "d/x.txt", i))); len(l) > 0 {
					t.Errorf("write d/x.txt during the swap leaked %v", l)
				}
				i++
			})
			outdirEmpty(t, v)
		},
	},
	"mcp-new-file-under-dir-symlink": {
		setup: func(t *testing.T, _ string, v map[string]string) {
			symlink(t, v["OUTDIR"], filepath.Join(v["ROOT"], "out"))
		},
		act: func(t *testing.T, cs *mcp.ClientSession, _ string, v map[string]string) {
			wantWritesRefused(t, cs, v["ROOT"], "out/new.txt")
			wantWritesRefused(t, cs, v["ROOT"], "out/newdir")
			outdirEmpty(t, v)
		},
	},
	"mcp-deep-path-under-dir-symlink": {
		setup: func(t *testing.T, _ string, v map[string]string) {
			symlink(t, v["OUTDIR"], filepath.Join(v["ROOT"], "sub1"))
		},
		act: func(t *testing.T, cs *mcp.ClientSession, _ string, v map[string]string) {
			wantWritesRefused(t, cs, v["ROOT"], "sub1/sub2/file.txt")
			wantWritesRefused(t, cs, v["ROOT"], "sub1/sub2")
			outdirEmpty(t, v)
		},
	},
	"go-root/symlink-dotdot-slash": {
		setup: func(t *testing.T, _ string, v map[string]string) { symlink(t, "../", filepath.Join(v["ROOT"], "link")) },
		act:   refusedPaths("link", "link/sentinel.txt", "link/newdir"),
	},
	"go-root/slash-after-symlink-to-file": {
		setup: func(t *testing.T, _ string, v map[string]string) {
			symlink(t, "../root/target", filepath.Join(v["ROOT"], "link"))
		},
		act: refusedPaths("link/"),
	},
	"go-root/slash-after-symlink-to-dir": {
		setup: func(t *testing.T, _ string, v map[string]string) {
			_ = os.Remove(filepath.Join(v["ROOT"], "target"))
			if err := os.Mkdir(filepath.Join(v["ROOT"], "target"), 0o755); err != nil {
				t.Fatal(err)
			}
			symlink(t, "../root/target", filepath.Join(v["ROOT"], "link"))
		},
		act: refusedPaths("link/", "link/x.txt"),
	},
	"go-root/symlink-dotdot-dotdot-slash": {
		setup: func(t *testing.T, _ string, v map[string]string) {
			symlink(t, "../../", filepath.Join(v["ROOT"], "dir", "link"))
		},
		act: refusedPaths("dir/link", "dir/link/sentinel.txt", "dir/link/newdir"),
	},
	"go-root/symlink-cycle": {
		setup: func(t *testing.T, _ string, v map[string]string) { symlink(t, "a", filepath.Join(v["ROOT"], "a")) },
		act:   refusedPaths("a", "a/x.txt"),
	},
	"go-root/absolute-symlink": {
		setup: func(t *testing.T, _ string, v map[string]string) {
			symlink(t, filepath.Join(v["ROOT"], "target"), filepath.Join(v["ROOT"], "link"))
		},
		act: refusedPaths("link"),
	},
	"go-root/relative-symlink-out-and-back": {
		setup: func(t *testing.T, _ string, v map[string]string) {
			symlink(t, "../root/target", filepath.Join(v["ROOT"], "link"))
		},
		act: refusedPaths("link"),
	},
	"go-root/symlink-chain-escapes": {
		setup: func(t *testing.T, _ string, v map[string]string) {
			r := v["ROOT"]
			symlink(t, "a/b/c/target", filepath.Join(r, "link"))
			symlink(t, "e", filepath.Join(r, "a", "b"))
			symlink(t, "../../root", filepath.Join(r, "a", "e"))
			if err := os.MkdirAll(filepath.Join(r, "c"), 0o755); err != nil {
				t.Fatal(err)
			}
		},
		act: refusedPaths("link"),
	},
	"go-root/race-rename-dir": {
		rootRel: "x/y/root",
		setup: func(t *testing.T, base string, _ map[string]string) {
			root := filepath.Join(base, "x", "y", "root")
			mkfile(t, filepath.Join(root, "a", "f"), "inside")
			if err := os.MkdirAll(filepath.Join(root, "a", "a", "a", "a"), 0o755); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{"x/y/a/f", "x/a/f", "a/f"} {
				mkfile(t, filepath.Join(base, p), "WARDEN-OUTSIDE-RACE")
			}
			writePolicy(t, base, strings.Replace(pathsWritePolicy, "root: ./root", "root: ./x/y/root", 1))
		},
		act: func(t *testing.T, cs *mcp.ClientSession, base string, _ map[string]string) {
			root := filepath.Join(base, "x", "y", "root")
			i := 0
			race(t, func() {
				_ = os.Rename(filepath.Join(root, "a", "a", "a"), filepath.Join(root, "b"))
				_ = os.Rename(filepath.Join(root, "b"), filepath.Join(root, "a", "a", "a"))
			}, 200, func() {
				if l := leaks(text(raceOps(t, cs, root, "a/a/a/a/../../../../a/f", i))); len(l) > 0 {
					t.Errorf("write during renames leaked %v", l)
				}
				i++
			})
		},
	},
	"go-root/remove-dot": {
		act: func(t *testing.T, cs *mcp.ClientSession, _ string, v map[string]string) {
			before := snapshot(t, v["ROOT"])
			for _, p := range []string{".", "./", "sub/..", ""} {
				for _, args := range []map[string]any{
					{"path": p}, {"path": p, "recursive": true},
				} {
					if res := callTool(t, cs, "files_delete", args); !res.IsError {
						t.Errorf("files_delete(%v) succeeded: %s", args, clip(text(res)))
					}
				}
				if res := callTool(t, cs, "files_move", map[string]any{"from": p, "to": "sub/moved-root"}); !res.IsError {
					t.Errorf("files_move(%q → sub/moved-root) succeeded: %s", p, clip(text(res)))
				}
			}
			if d := diffSnapshots(before, snapshot(t, v["ROOT"])); len(d) > 0 {
				t.Errorf("deleting the root changed it: %v", d)
			}
		},
	},
}

// missing stands for an absent path argument.
type missing struct{}

// schemaRefusals checks that every mutating tool refuses a path argument of
// the wrong type (or none) at the schema.
func schemaRefusals(pathValue any) func(t *testing.T, cs *mcp.ClientSession, _ string, _ map[string]string) {
	return func(t *testing.T, cs *mcp.ClientSession, _ string, _ map[string]string) {
		for _, op := range writeOps {
			args := op.args("x", "WARDEN-INSIDE")
			key := "path"
			if op.name == "move-from" {
				key = "from"
			} else if op.name == "move-to" {
				key = "to"
			}
			delete(args, key)
			if _, ok := pathValue.(missing); !ok {
				args[key] = pathValue
			}
			res := callTool(t, cs, op.tool, args)
			if !res.IsError || structured(t, res)["reason"] != "invalid-arguments" {
				t.Errorf("%s(%v) = %s, want an invalid-arguments refusal", op.tool, args, clip(text(res)))
			}
		}
	}
}

func refusedPaths(paths ...string) func(t *testing.T, cs *mcp.ClientSession, _ string, v map[string]string) {
	return func(t *testing.T, cs *mcp.ClientSession, _ string, v map[string]string) {
		for _, p := range paths {
			wantWritesRefused(t, cs, v["ROOT"], p)
		}
	}
}

func corpusWriteScenarios(t *testing.T, cases []corpus.Case) {
	for _, name := range scenariosNeedingWrites(t) {
		if _, ok := writeScenarios[name]; !ok {
			t.Errorf("SCENARIO:%s mentions a write tool but has no write implementation", name)
		}
	}
	for _, c := range cases {
		name := c.Scenario()
		sc, ok := writeScenarios[name]
		if !ok {
			continue // a read-only scenario: TestCorpusPaths runs it
		}
		t.Run(name, func(t *testing.T) {
			base, vars := writeFixture(t)
			rootRel := sc.rootRel
			if rootRel == "" {
				rootRel = vars["ROOTNAME"]
			}
			if sc.setup != nil {
				sc.setup(t, base, vars)
			}
			before := outsideSnapshot(t, base, rootRel)
			cs := connectStdio(t, base, nil, nil)
			sc.act(t, cs, base, vars)
			if d := diffSnapshots(before, outsideSnapshot(t, base, rootRel)); len(d) > 0 {
				t.Errorf("files outside the root or under private/ changed: %v", d)
			}
		})
	}
}

var writeWords = regexp.MustCompile(`\b(write|delete|mkdir|move)\b`)

// scenariosNeedingWrites names the SCENARIO lines of paths.txt whose comment
// block mentions a mutating tool.
func scenariosNeedingWrites(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(corpus.Dir(), "paths.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []string
	var block []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		ln := sc.Text()
		if strings.HasPrefix(ln, "#") {
			if strings.HasPrefix(ln, "# SCENARIO ") {
				block = nil
			}
			block = append(block, ln)
			continue
		}
		_, payload, _ := strings.Cut(ln, "\t")
		if name, ok := strings.CutPrefix(strings.Split(payload, "\t")[0], "SCENARIO:"); ok {
			if writeWords.MatchString(strings.Join(block, "\n")) {
				names = append(names, name)
			}
			continue
		}
		block = nil
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return names
}
