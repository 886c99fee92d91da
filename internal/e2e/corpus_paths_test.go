package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/warden-dev/warden/internal/corpus"
	"github.com/warden-dev/warden/internal/engine"
	"github.com/warden-dev/warden/internal/mcpserver"
	"github.com/warden-dev/warden/internal/policy"
)

// pathsPolicy is the corpus fixture's policy: the root, read-only tools, and
// the private/ sub-tree denied.
const pathsPolicy = `version: 1
resources:
  files: {kind: fs, root: ./root}
agents:
  agent:
    grants:
      - resource: files
        actions: [read, list, search, stat]
    deny:
      - resource: files
        paths: ["private/**"]
`

// pathsFixtureFiles is the corpus README's fixture (section 2), relative
// to <T>.
var pathsFixtureFiles = map[string]string{
	"sentinel.txt":            "WARDEN-SENTINEL-OUTSIDE",
	"other/secret.txt":        "WARDEN-OUTSIDE-OTHER",
	"root/notes.txt":          "WARDEN-INSIDE",
	"root/target":             "WARDEN-INSIDE",
	"root/sub/inner.txt":      "WARDEN-INSIDE",
	"root/private/secret.txt": "WARDEN-PRIVATE",
	"root2/secret.txt":        "WARDEN-SIBLING",
	"root-old/secret.txt":     "WARDEN-SIBLING",
	"root_backup/secret.txt":  "WARDEN-SIBLING",
	"root.bak/secret.txt":     "WARDEN-SIBLING",
	"rootile/secret.txt":      "WARDEN-SIBLING",
	"root_sibling/secret.txt": "WARDEN-SIBLING",
}

// pathsFixture builds the tree of the corpus README, section 2.
func pathsFixture(t testing.TB) (base string, vars map[string]string) {
	t.Helper()
	base = t.TempDir()
	writeFiles(t, base, pathsFixtureFiles)
	if err := os.Mkdir(filepath.Join(base, "out"), 0o755); err != nil {
		t.Fatal(err)
	}
	writePolicy(t, base, pathsPolicy)
	root := filepath.Join(base, "root")
	return base, map[string]string{
		"ROOT": root, "ROOTNAME": "root", "SENTINEL": filepath.Join(base, "sentinel.txt"), "OUTDIR": filepath.Join(base, "out"),
	}
}

// tempPrefix starts the names of Warden's temporary files. A write's
// replaced file goes under one and is removed in the background, so one
// may still be there, or vanish, just after a call returns.
const tempPrefix = ".warden-tmp-"

// snapshot records every name, type and content under dir, except
// Warden's own state and temporary files.
func snapshot(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if strings.HasPrefix(filepath.Base(p), tempPrefix) {
			return nil
		}
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == ".warden" {
			return filepath.SkipDir
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		desc := info.Mode().String()
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			desc += " -> " + target
		case info.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			desc += " " + hex.EncodeToString(sum[:8])
		}
		out[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func diffSnapshots(before, after map[string]string) []string {
	var diffs []string
	for k, v := range before {
		if after[k] != v {
			diffs = append(diffs, fmt.Sprintf("%s: %q -> %q", k, v, after[k]))
		}
	}
	for k, v := range after {
		if _, ok := before[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s: created %q", k, v))
		}
	}
	return diffs
}

// leaks reports markers that must never reach the model: anything from
// outside the root or from the denied sub-tree, and system files.
func leaks(s string) []string {
	var found []string
	for _, m := range []string{"WARDEN-SENTINEL", "WARDEN-OUTSIDE", "WARDEN-SIBLING", "WARDEN-PRIVATE", "WARDEN-OTHERDB", "root:x:0:0", "root:*:", "daemon:x:", "Linux version", "BOOT_IMAGE="} {
		if strings.Contains(s, m) {
			found = append(found, m)
		}
	}
	return found
}

// TestCorpusPaths runs every line of the public path corpus through the real
// warden binary over MCP stdio (deny lines) and through the MCP server in
// process with a fresh fixture per line (allow lines and scenarios).
func TestCorpusPaths(t *testing.T) {
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
	t.Logf("paths.txt: %d deny, %d allow, %d scenario lines", len(denies), len(allows), len(scenarios))
	t.Run("deny", func(t *testing.T) { corpusDenies(t, denies) })
	t.Run("allow", func(t *testing.T) { corpusAllows(t, allows) })
	t.Run("scenario", func(t *testing.T) { corpusScenarios(t, scenarios) })
}

var readOnlyOps = []struct {
	tool string
	args func(path string) map[string]any
}{
	{"files_read", func(p string) map[string]any { return map[string]any{"path": p} }},
	{"files_stat", func(p string) map[string]any { return map[string]any{"path": p} }},
	{"files_list", func(p string) map[string]any { return map[string]any{"path": p, "recursive": true} }},
	{"files_search", func(p string) map[string]any { return map[string]any{"path": p, "text": "WARDEN"} }},
}

func corpusDenies(t *testing.T, cases []corpus.Case) {
	base, vars := pathsFixture(t)
	before := snapshot(t, base)
	cs := connectStdio(t, base, nil, nil)
	for _, c := range cases {
		payload := corpus.Substitute(c.Payload, vars)
		for _, op := range readOnlyOps {
			res := callTool(t, cs, op.tool, op.args(payload))
			got := text(res)
			if l := leaks(got); len(l) > 0 {
				t.Errorf("%v: %s leaked %v: %s", c, op.tool, l, clip(got))
			}
			if !res.IsError {
				t.Errorf("%v: %s succeeded, want it refused: %s", c, op.tool, clip(got))
				continue
			}
			if c.Directives["mode"] == "refuse" {
				// The object exists inside the root: the refusal must come
				// from the policy, not from "not found".
				if r := structured(t, res)["reason"]; r == "not-found" {
					t.Errorf("%v: %s answered not-found for an existing denied object", c, op.tool)
				}
			}
		}
	}
	if d := diffSnapshots(before, snapshot(t, base)); len(d) > 0 {
		t.Errorf("the corpus changed files: %v", d)
	}
}

// inProcess serves the corpus policy in this process over in-memory MCP
// transports: the whole pipeline, without a process per fixture.
func inProcess(t testing.TB, base string) *mcp.ClientSession {
	t.Helper()
	cs, err := serveInProcess(t, base)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// serveInProcess is inProcess for policies Warden may refuse: it returns
// the error of loading the policy or starting the engine.
func serveInProcess(t testing.TB, base string) (*mcp.ClientSession, error) {
	t.Helper()
	p, err := policy.Load(filepath.Join(base, "warden.yaml"))
	if err != nil {
		return nil, err
	}
	e, err := engine.New(context.Background(), p, engine.Options{})
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { e.Close() })
	ct, st := mcp.NewInMemoryTransports()
	ctx := context.Background()
	ss, err := mcpserver.NewServer(e, "agent", mcpserver.Options{}).Connect(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ss.Close() })
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "corpus"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs, nil
}

// createNamed creates inside root the object an allow payload names: every
// intermediate directory (also ones followed by ".."), then a directory if
// the payload ends in "/", "." or "..", otherwise a file with content.
func createNamed(t testing.TB, root, payload, content string) (isDir bool) {
	t.Helper()
	comps := strings.Split(payload, "/")
	cur := root
	last := len(comps) - 1
	for last > 0 && comps[last] == "" {
		last--
	}
	isDir = strings.HasSuffix(payload, "/") || comps[last] == "." || comps[last] == ".."
	for i, c := range comps[:last+1] {
		switch {
		case c == "" || c == ".":
			continue
		case c == "..":
			cur = filepath.Dir(cur)
			continue
		case i == last && !isDir:
			if err := os.WriteFile(filepath.Join(cur, c), []byte(content), 0o644); err != nil {
				t.Fatalf("create %q: %v", payload, err)
			}
			return false
		}
		cur = filepath.Join(cur, c)
		if err := os.MkdirAll(cur, 0o755); err != nil {
			t.Fatalf("create %q: %v", payload, err)
		}
	}
	return isDir
}

func corpusAllows(t *testing.T, cases []corpus.Case) {
	for _, c := range cases {
		base, vars := pathsFixture(t)
		payload := corpus.Substitute(c.Payload, vars)
		content := fmt.Sprintf("WARDEN-INSIDE-%d", c.Line)
		isDir := createNamed(t, vars["ROOT"], payload, content)
		cs := inProcess(t, base)
		if isDir {
			res := callTool(t, cs, "files_list", map[string]any{"path": payload})
			if res.IsError {
				t.Errorf("%v: list failed: %s", c, clip(text(res)))
			}
			continue
		}
		res := callTool(t, cs, "files_read", map[string]any{"path": payload})
		if res.IsError || firstText(res) != content {
			t.Errorf("%v: read = %s, want %q", c, clip(text(res)), content)
		}
		if res := callTool(t, cs, "files_stat", map[string]any{"path": payload}); res.IsError {
			t.Errorf("%v: stat failed: %s", c, clip(text(res)))
		}
	}
}

func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// readContent reads a file through the tools, returning its content or "".
func readContent(t testing.TB, cs *mcp.ClientSession, path string) (string, bool) {
	t.Helper()
	res := callTool(t, cs, "files_read", map[string]any{"path": path})
	if res.IsError {
		return text(res), false
	}
	s := firstText(res)
	return s, true
}

func symlink(t testing.TB, target, link string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func mkfile(t testing.TB, path, content string) {
	t.Helper()
	writeFiles(t, filepath.Dir(path), map[string]string{filepath.Base(path): content})
}

// scenarios implements the corpus's SCENARIO lines by name. Parts that need
// write tools are covered by the write connector's tests; here every
// scenario runs its read, list and stat parts.
var scenarios = map[string]func(t *testing.T, base string, vars map[string]string){
	"path-null": func(t *testing.T, base string, _ map[string]string) {
		wantSchemaRefusal(t, base, map[string]any{"path": nil})
	},
	"path-number": func(t *testing.T, base string, _ map[string]string) {
		wantSchemaRefusal(t, base, map[string]any{"path": 123})
	},
	"path-array": func(t *testing.T, base string, _ map[string]string) {
		wantSchemaRefusal(t, base, map[string]any{"path": []any{"../sentinel.txt"}})
	},
	"path-missing": func(t *testing.T, base string, _ map[string]string) { wantSchemaRefusal(t, base, map[string]any{}) },
	"mcp-symlink-to-outside-file": func(t *testing.T, base string, v map[string]string) {
		symlink(t, v["SENTINEL"], filepath.Join(v["ROOT"], "link"))
		wantRefused(t, inProcess(t, base), "link")
	},
	"mcp-root-reached-through-symlink": func(t *testing.T, base string, v map[string]string) {
		symlink(t, v["ROOT"], filepath.Join(base, "rootlink"))
		writePolicy(t, base, strings.Replace(pathsPolicy, "root: ./root", "root: ./rootlink", 1))
		cs := inProcess(t, base)
		if got, ok := readContent(t, cs, "notes.txt"); !ok || got != "WARDEN-INSIDE" {
			t.Errorf("read notes.txt through a symlinked root = %q", got)
		}
		if res := callTool(t, cs, "files_list", map[string]any{"path": "."}); res.IsError {
			t.Errorf("list . through a symlinked root: %s", text(res))
		}
		wantRefused(t, cs, "../sentinel.txt")
	},
	"mcp-symlink-chain-out": func(t *testing.T, base string, v map[string]string) {
		symlink(t, v["SENTINEL"], filepath.Join(v["ROOT"], "link1"))
		symlink(t, "link1", filepath.Join(v["ROOT"], "link2"))
		symlink(t, "link2", filepath.Join(v["ROOT"], "file"))
		wantRefused(t, inProcess(t, base), "file")
	},
	"mcp-race-leaf-planted-before-write": func(t *testing.T, base string, v map[string]string) {
		cs := inProcess(t, base)
		leaf := filepath.Join(v["ROOT"], "new.txt")
		race(t, func() { _ = os.Symlink(v["SENTINEL"], leaf); _ = os.Remove(leaf) }, 500, func() {
			if got, _ := readContent(t, cs, "new.txt"); len(leaks(got)) > 0 {
				t.Errorf("read new.txt during the race leaked: %s", got)
			}
		})
	},
	"mcp-dir-replaced-by-symlink": func(t *testing.T, base string, v map[string]string) {
		cs := inProcess(t, base)
		d := filepath.Join(v["ROOT"], "d")
		mkfile(t, filepath.Join(v["OUTDIR"], "x.txt"), "WARDEN-OUTSIDE-OUTDIR")
		race(t, func() {
			_ = os.RemoveAll(d)
			_ = os.Mkdir(d, 0o755)
			_ = os.WriteFile(filepath.Join(d, "x.txt"), []byte("WARDEN-INSIDE"), 0o644)
			_ = os.RemoveAll(d)
			_ = os.Symlink(v["OUTDIR"], d)
		}, 500, func() {
			if got, _ := readContent(t, cs, "d/x.txt"); len(leaks(got)) > 0 {
				t.Errorf("read d/x.txt during the swap leaked: %s", got)
			}
		})
	},
	"mcp-new-file-under-dir-symlink": func(t *testing.T, base string, v map[string]string) {
		mkfile(t, filepath.Join(v["OUTDIR"], "new.txt"), "WARDEN-OUTSIDE-OUTDIR")
		symlink(t, v["OUTDIR"], filepath.Join(v["ROOT"], "out"))
		cs := inProcess(t, base)
		wantRefused(t, cs, "out/new.txt")
		wantRefused(t, cs, "out")
	},
	"mcp-deep-path-under-dir-symlink": func(t *testing.T, base string, v map[string]string) {
		mkfile(t, filepath.Join(v["OUTDIR"], "sub2", "file.txt"), "WARDEN-OUTSIDE-OUTDIR")
		symlink(t, v["OUTDIR"], filepath.Join(v["ROOT"], "sub1"))
		wantRefused(t, inProcess(t, base), "sub1/sub2/file.txt")
	},
	"go-root/symlink": func(t *testing.T, base string, v map[string]string) {
		symlink(t, "target", filepath.Join(v["ROOT"], "link"))
		wantContent(t, inProcess(t, base), "link", "WARDEN-INSIDE")
	},
	"go-root/symlink-dotdot-slash": func(t *testing.T, base string, v map[string]string) {
		symlink(t, "../", filepath.Join(v["ROOT"], "link"))
		wantRefused(t, inProcess(t, base), "link")
	},
	"go-root/symlink-ending-in-slash": func(t *testing.T, base string, v map[string]string) {
		mkfile(t, filepath.Join(v["ROOT"], "dir", "target"), "WARDEN-INSIDE-DIR")
		symlink(t, "dir/", filepath.Join(v["ROOT"], "link"))
		wantContent(t, inProcess(t, base), "link/target", "WARDEN-INSIDE-DIR")
	},
	"go-root/slash-after-symlink-to-file": func(t *testing.T, base string, v map[string]string) {
		symlink(t, "../root/target", filepath.Join(v["ROOT"], "link"))
		wantRefused(t, inProcess(t, base), "link/")
	},
	"go-root/slash-after-symlink-to-dir": func(t *testing.T, base string, v map[string]string) {
		_ = os.Remove(filepath.Join(v["ROOT"], "target"))
		if err := os.Mkdir(filepath.Join(v["ROOT"], "target"), 0o755); err != nil {
			t.Fatal(err)
		}
		symlink(t, "../root/target", filepath.Join(v["ROOT"], "link"))
		wantRefused(t, inProcess(t, base), "link/")
	},
	"go-root/symlink-dotdot-dotdot-slash": func(t *testing.T, base string, v map[string]string) {
		symlink(t, "../../", filepath.Join(v["ROOT"], "dir", "link"))
		wantRefused(t, inProcess(t, base), "dir/link")
	},
	"go-root/symlink-chain": func(t *testing.T, base string, v map[string]string) {
		r := v["ROOT"]
		symlink(t, "a/b/c/target", filepath.Join(r, "link"))
		symlink(t, "e", filepath.Join(r, "a", "b"))
		symlink(t, "../f", filepath.Join(r, "a", "e"))
		symlink(t, "g/h/i", filepath.Join(r, "f"))
		symlink(t, "..", filepath.Join(r, "g", "h", "i"))
		mkfile(t, filepath.Join(r, "g", "c", "target"), "WARDEN-INSIDE-CHAIN")
		wantContent(t, inProcess(t, base), "link", "WARDEN-INSIDE-CHAIN")
	},
	"go-root/dotdot-after-symlink": func(t *testing.T, base string, v map[string]string) {
		r := v["ROOT"]
		symlink(t, "b/c", filepath.Join(r, "a"))
		mkfile(t, filepath.Join(r, "b", "c", "keep"), "")
		mkfile(t, filepath.Join(r, "b", "target"), "WARDEN-INSIDE-B")
		wantContent(t, inProcess(t, base), "a/../target", "WARDEN-INSIDE-B")
	},
	"go-root/dotdot-before-symlink": func(t *testing.T, base string, v map[string]string) {
		r := v["ROOT"]
		symlink(t, "b/c", filepath.Join(r, "a"))
		mkfile(t, filepath.Join(r, "b", "c", "target"), "WARDEN-INSIDE-BC")
		wantContent(t, inProcess(t, base), "b/../a/target", "WARDEN-INSIDE-BC")
	},
	"go-root/symlink-ends-in-dot": func(t *testing.T, base string, v map[string]string) {
		r := v["ROOT"]
		symlink(t, "b/.", filepath.Join(r, "a"))
		mkfile(t, filepath.Join(r, "b", "target"), "WARDEN-INSIDE-B")
		wantContent(t, inProcess(t, base), "a/target", "WARDEN-INSIDE-B")
	},
	"go-root/symlink-cycle": func(t *testing.T, base string, v map[string]string) {
		symlink(t, "a", filepath.Join(v["ROOT"], "a"))
		start := time.Now()
		wantRefused(t, inProcess(t, base), "a")
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("a symlink cycle took %v to refuse", d)
		}
	},
	"go-root/absolute-symlink": func(t *testing.T, base string, v map[string]string) {
		symlink(t, filepath.Join(v["ROOT"], "target"), filepath.Join(v["ROOT"], "link"))
		wantRefused(t, inProcess(t, base), "link")
	},
	"go-root/relative-symlink-out-and-back": func(t *testing.T, base string, v map[string]string) {
		symlink(t, "../root/target", filepath.Join(v["ROOT"], "link"))
		wantRefused(t, inProcess(t, base), "link")
	},
	"go-root/symlink-chain-escapes": func(t *testing.T, base string, v map[string]string) {
		r := v["ROOT"]
		symlink(t, "a/b/c/target", filepath.Join(r, "link"))
		symlink(t, "e", filepath.Join(r, "a", "b"))
		symlink(t, "../../root", filepath.Join(r, "a", "e"))
		if err := os.MkdirAll(filepath.Join(r, "c"), 0o755); err != nil {
			t.Fatal(err)
		}
		wantRefused(t, inProcess(t, base), "link")
	},
	"go-root/symlink-to-root-parent": func(t *testing.T, base string, v map[string]string) {
		symlink(t, "..", filepath.Join(v["ROOT"], "d", "d"))
		wantContent(t, inProcess(t, base), "d/d/d/d/notes.txt", "WARDEN-INSIDE")
	},
	"go-root/race-rename-dir": func(t *testing.T, base string, v map[string]string) {
		// {ROOT} = <T>/x/y/root for this scenario.
		root := filepath.Join(base, "x", "y", "root")
		mkfile(t, filepath.Join(root, "a", "f"), "inside")
		if err := os.MkdirAll(filepath.Join(root, "a", "a", "a", "a"), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"x/y/a/f", "x/a/f", "a/f"} {
			mkfile(t, filepath.Join(base, p), "WARDEN-OUTSIDE-RACE")
		}
		writePolicy(t, base, strings.Replace(pathsPolicy, "root: ./root", "root: ./x/y/root", 1))
		cs := inProcess(t, base)
		race(t, func() {
			_ = os.Rename(filepath.Join(root, "a", "a", "a"), filepath.Join(root, "b"))
			_ = os.Rename(filepath.Join(root, "b"), filepath.Join(root, "a", "a", "a"))
		}, 200, func() {
			if got, ok := readContent(t, cs, "a/a/a/a/../../../../a/f"); ok && got != "inside" || len(leaks(got)) > 0 {
				t.Errorf("read during renames = %q", got)
			}
		})
	},
	"go-root/remove-dot": func(t *testing.T, base string, v map[string]string) {
		// Without delete tools, the root can only be read; it must survive.
		cs := inProcess(t, base)
		if res := callTool(t, cs, "files_list", map[string]any{"path": "."}); res.IsError {
			t.Errorf("list .: %s", text(res))
		}
		if _, err := os.Stat(filepath.Join(v["ROOT"], "notes.txt")); err != nil {
			t.Errorf("the root lost its content: %v", err)
		}
	},
}

func corpusScenarios(t *testing.T, cases []corpus.Case) {
	for _, c := range cases {
		name := c.Scenario()
		run, ok := scenarios[name]
		if !ok {
			t.Errorf("%v: unknown scenario %q; implement it", c, name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			base, vars := pathsFixture(t)
			before := snapshot(t, filepath.Join(base, "sentinel.txt"))
			run(t, base, vars)
			if d := diffSnapshots(before, snapshot(t, filepath.Join(base, "sentinel.txt"))); len(d) > 0 {
				t.Errorf("the sentinel changed: %v", d)
			}
		})
	}
}

func wantSchemaRefusal(t *testing.T, base string, args map[string]any) {
	t.Helper()
	cs := inProcess(t, base)
	for _, op := range readOnlyOps {
		res := callTool(t, cs, op.tool, args)
		if !res.IsError || structured(t, res)["reason"] != "invalid-arguments" {
			t.Errorf("%s(%v) = %s, want an invalid-arguments refusal", op.tool, args, clip(text(res)))
		}
	}
}

func wantRefused(t *testing.T, cs *mcp.ClientSession, path string) {
	t.Helper()
	for _, op := range readOnlyOps {
		res := callTool(t, cs, op.tool, op.args(path))
		if l := leaks(text(res)); len(l) > 0 {
			t.Errorf("%s(%q) leaked %v", op.tool, path, l)
		}
		if !res.IsError && op.tool != "files_search" {
			t.Errorf("%s(%q) succeeded: %s", op.tool, path, clip(text(res)))
		}
	}
}

func wantContent(t *testing.T, cs *mcp.ClientSession, path, want string) {
	t.Helper()
	if got, ok := readContent(t, cs, path); !ok || got != want {
		t.Errorf("read %q = %q, want %q", path, got, want)
	}
}

// race runs mutate in a loop while check runs n times.
func race(t *testing.T, mutate func(), n int, check func()) {
	t.Helper()
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			mutate()
		}
	}()
	for i := 0; i < n; i++ {
		check()
	}
	stop.Store(true)
	wg.Wait()
}
