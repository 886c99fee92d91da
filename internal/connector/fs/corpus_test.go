package fs_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/corpus"
)

// newCorpusFixture builds the paths.txt fixture and returns <T> and {ROOT}.
func newCorpusFixture(tb testing.TB) (tmp, root string) {
	tb.Helper()
	tmp, root = newFixture(tb, "notes.txt", "target", "sub/inner.txt", "private/secret.txt = WARDEN-PRIVATE")
	mustBuild(tb, tmp, "out/", "other/secret.txt = WARDEN-OUTSIDE-OTHER")
	for _, sib := range []string{"root2", "root-old", "root_backup", "root.bak", "rootile", "root_sibling"} {
		mustBuild(tb, tmp, sib+"/secret.txt = WARDEN-SIBLING")
	}
	return tmp, root
}

// TestCorpus_Paths runs every plain line of the public paths.txt corpus
// through read, stat, list and search with a policy that denies private/.
// SCENARIO lines are implemented by TestCorpus_Scenarios.
//
// The connector changes nothing, so the escape lines, which create nothing,
// share one fixture; allow and refuse lines, which create what they name,
// get a fresh one each.
func TestCorpus_Paths(t *testing.T) {
	cases := corpus.Load(t, "paths.txt")
	sharedTmp, sharedRoot := newCorpusFixture(t)
	for _, cs := range cases {
		if strings.HasPrefix(cs.Payload, "SCENARIO:") {
			continue
		}
		t.Run(fmt.Sprintf("line%d", cs.Line), func(t *testing.T) {
			tmp, root := sharedTmp, sharedRoot
			if cs.Expect == "allow" || cs.Directives["mode"] == "refuse" {
				tmp, root = newCorpusFixture(t)
			}
			p := strings.NewReplacer(
				"{ROOT}", root,
				"{ROOTNAME}", "root",
				"{SENTINEL}", filepath.Join(tmp, "sentinel.txt"),
				"{OUTDIR}", filepath.Join(tmp, "out"),
			).Replace(cs.Payload)
			switch {
			case cs.Expect == "allow":
				checkCorpusAllow(t, root, p)
			case cs.Directives["mode"] == "refuse":
				checkCorpusRefuse(t, root, p)
			default:
				checkCorpusEscape(t, root, p)
			}
			if ents, _ := os.ReadDir(filepath.Join(tmp, "out")); len(ents) != 0 {
				t.Errorf("path %q: {OUTDIR} is no longer empty", p)
			}
		})
	}
}

var corpusOps = []string{"read", "stat", "list", "search"}

func corpusArgs(tb testing.TB, op, p string) json.RawMessage {
	if op == "search" {
		return args(tb, map[string]any{"path": p, "text": "WARDEN"})
	}
	return pathArgs(tb, p)
}

// checkCorpusEscape: read, stat, list and search must all fail, and
// nothing may carry a marker other than WARDEN-INSIDE.
func checkCorpusEscape(t testing.TB, root, p string) {
	c := newConnector(t, root)
	for _, op := range corpusOps {
		got := do(t, c, op, corpusArgs(t, op, p), policy)
		if got.Err == nil {
			t.Errorf("%s(%q) = %v, want a failure", op, p, got)
		}
		assertNoOutsideMarker(t, op, p, got)
	}
}

// checkCorpusRefuse: the named object exists inside the root (the harness
// creates it when the fixture does not have it), and every operation must
// be refused, by Prepare or by the policy, never by a not-found.
func checkCorpusRefuse(t testing.TB, root, p string) {
	if !strings.HasPrefix(p, "/") && !strings.Contains(p, "\x00") && filepath.IsLocal(filepath.Clean(p)) {
		if _, err := os.Lstat(filepath.Join(root, p)); os.IsNotExist(err) {
			mustCreateForPayload(t, root, p)
		}
	}
	c := newConnector(t, root)
	for _, op := range corpusOps {
		got := do(t, c, op, corpusArgs(t, op, p), policy)
		if got.Err == nil || (got.Stage != "Prepare" && got.Stage != "Policy") {
			t.Errorf("%s(%q) = %v, want a refusal by Prepare or the policy", op, p, got)
		}
		assertNoOutsideMarker(t, op, p, got)
	}
}

// checkCorpusAllow creates what the payload names and requires read (for
// a file) or list (for a directory) to work on it.
func checkCorpusAllow(t testing.TB, root, p string) {
	isDir := mustCreateForPayload(t, root, p)
	c := newConnector(t, root)
	if isDir {
		if got := do(t, c, "list", pathArgs(t, p), policy); got.Err != nil {
			t.Errorf("list(%q) = %v, want success", p, got)
		}
		return
	}
	got := do(t, c, "read", pathArgs(t, p), policy)
	if got.Err != nil {
		t.Fatalf("read(%q) = %v, want success", p, got)
	}
	if content := readContent(t, got); content != inside {
		t.Errorf("read(%q) content = %q, want %q", p, content, inside)
	}
	if got := do(t, c, "stat", pathArgs(t, p), policy); got.Err != nil {
		t.Errorf("stat(%q) = %v, want success", p, got)
	}
}

// mustCreateForPayload creates the object a payload names inside root, as
// the corpus README describes: every directory named on the way (also ones
// followed by ".."), then a directory if the payload ends in "/", "." or
// "..", otherwise a file containing WARDEN-INSIDE. It works through
// os.Root, one level at a time, so even a broken payload cannot create
// anything outside root. It reports whether the object is a directory.
func mustCreateForPayload(tb testing.TB, root, p string) (isDir bool) {
	tb.Helper()
	base, err := os.OpenRoot(root)
	if err != nil {
		tb.Fatal(err)
	}
	stack := []*os.Root{base}
	defer func() {
		for _, r := range stack {
			r.Close()
		}
	}()
	parts := strings.Split(p, "/")
	last := len(parts) - 1
	isDir = strings.HasSuffix(p, "/") || parts[last] == "." || parts[last] == ".."
	for i, part := range parts {
		top := stack[len(stack)-1]
		switch {
		case part == "" || part == ".":
		case part == "..":
			if len(stack) == 1 {
				tb.Fatalf("payload %q climbs above the root", p)
			}
			top.Close()
			stack = stack[:len(stack)-1]
		case i == last:
			if err := top.WriteFile(part, []byte(inside), 0o644); err != nil {
				tb.Fatalf("creating %q for payload %q: %v", part, p, err)
			}
		default:
			if err := top.Mkdir(part, 0o755); err != nil && !os.IsExist(err) {
				tb.Fatalf("creating %q for payload %q: %v", part, p, err)
			}
			next, err := top.OpenRoot(part)
			if err != nil {
				tb.Fatalf("opening %q for payload %q: %v", part, p, err)
			}
			stack = append(stack, next)
		}
	}
	return isDir
}

// TestCorpus_Scenarios implements the SCENARIO lines of paths.txt. The
// first subtest checks which operations are marked read-only.
func TestCorpus_Scenarios(t *testing.T) {
	cases := corpus.Load(t, "paths.txt")
	scenarios := map[string]func(t *testing.T){
		"path-null":    func(t *testing.T) { mustRefuseArgs(t, `{"path": null}`) },
		"path-number":  func(t *testing.T) { mustRefuseArgs(t, `{"path": 123}`) },
		"path-array":   func(t *testing.T) { mustRefuseArgs(t, `{"path": ["../sentinel.txt"]}`) },
		"path-missing": func(t *testing.T) { mustRefuseArgs(t, `{}`) },
		"mcp-symlink-to-outside-file": func(t *testing.T) {
			tmp, root := newCorpusFixture(t)
			mustBuild(t, root, "link => "+filepath.Join(tmp, "sentinel.txt"))
			checkCorpusEscape(t, root, "link")
		},
		"mcp-root-reached-through-symlink": func(t *testing.T) {
			tmp, root := newCorpusFixture(t)
			mustBuild(t, tmp, "rootlink => "+root)
			c := newConnector(t, filepath.Join(tmp, "rootlink"))
			if got := do(t, c, "read", pathArgs(t, "notes.txt"), policy); got.Err != nil || readContent(t, got) != inside {
				t.Errorf("read(notes.txt) via a linked root = %v, want WARDEN-INSIDE", got)
			}
			if got := do(t, c, "list", pathArgs(t, "."), policy); got.Err != nil {
				t.Errorf("list(.) via a linked root = %v, want success", got)
			}
			if got := do(t, c, "read", pathArgs(t, "../sentinel.txt"), policy); got.Err == nil {
				t.Errorf("read(../sentinel.txt) via a linked root = %v, want a failure", got)
			}
		},
		"mcp-symlink-chain-out": func(t *testing.T) {
			tmp, root := newCorpusFixture(t)
			mustBuild(t, root, "link1 => "+filepath.Join(tmp, "sentinel.txt"), "link2 => link1", "file => link2")
			checkCorpusEscape(t, root, "file")
		},
		"mcp-new-file-under-dir-symlink": func(t *testing.T) {
			tmp, root := newCorpusFixture(t)
			mustBuild(t, root, "out => "+filepath.Join(tmp, "out"))
			checkCorpusEscape(t, root, "out/new.txt")
			checkCorpusEscape(t, root, "out")
			mustRefuseWrites(t, tmp, root,
				[]string{"write", `{"path":"out/new.txt","content":"x"}`},
				[]string{"mkdir", `{"path":"out/newdir"}`},
				[]string{"mkdir", `{"path":"out/newdir","parents":true}`},
			)
		},
		"mcp-deep-path-under-dir-symlink": func(t *testing.T) {
			tmp, root := newCorpusFixture(t)
			mustBuild(t, root, "sub1 => "+filepath.Join(tmp, "out"))
			checkCorpusEscape(t, root, "sub1/sub2/file.txt")
			mustRefuseWrites(t, tmp, root,
				[]string{"mkdir", `{"path":"sub1/sub2","parents":true}`},
				[]string{"write", `{"path":"sub1/sub2/file.txt","content":"x"}`},
			)
		},
		"mcp-race-leaf-planted-before-write": TestRace_LeafPlantedBeforeWrite,
		"mcp-dir-replaced-by-symlink":        TestRace_DirReplacedBySymlink,
		"go-root/remove-dot": func(t *testing.T) {
			tmp, root := newCorpusFixture(t)
			mustRefuseWrites(t, tmp, root,
				[]string{"delete", `{"path":"."}`},
				[]string{"delete", `{"path":".","recursive":true}`},
				[]string{"delete", `{"path":"sub/..","recursive":true}`},
				[]string{"delete", `{"path":"./","recursive":true}`},
			)
		},
		"go-root/symlink":                     goRootScenario([]string{"link => target"}, "link", "target"),
		"go-root/symlink-dotdot-slash":        goRootScenario([]string{"link => ../"}, "link", ""),
		"go-root/symlink-ending-in-slash":     goRootScenario([]string{"dir/target", "link => dir/"}, "link/target", "dir/target"),
		"go-root/slash-after-symlink-to-file": goRootScenario([]string{"link => ../root/target"}, "link/", ""),
		"go-root/slash-after-symlink-to-dir":  goRootScenario([]string{"link => ../root/target2", "target2/"}, "link/", ""),
		"go-root/symlink-dotdot-dotdot-slash": goRootScenario([]string{"dir/link => ../../"}, "dir/link", ""),
		"go-root/symlink-chain": goRootScenario([]string{"link => a/b/c/target", "a/b => e", "a/e => ../f", "f => g/h/i", "g/h/i => ..", "g/c/target"},
			"link", "g/c/target"),
		"go-root/dotdot-after-symlink":          goRootScenario([]string{"a => b/c", "b/c/", "b/target"}, "a/../target", "b/target"),
		"go-root/dotdot-before-symlink":         goRootScenario([]string{"a => b/c", "b/c/target"}, "b/../a/target", "b/c/target"),
		"go-root/symlink-ends-in-dot":           goRootScenario([]string{"a => b/.", "b/target"}, "a/target", "b/target"),
		"go-root/symlink-cycle":                 goRootScenario([]string{"a => a"}, "a", ""),
		"go-root/absolute-symlink":              goRootScenario([]string{"link => $ROOT/target"}, "link", ""),
		"go-root/relative-symlink-out-and-back": goRootScenario([]string{"link => ../root/target"}, "link", ""),
		"go-root/symlink-chain-escapes":         goRootScenario([]string{"link => a/b/c/target", "a/b => e", "a/e => ../../root", "c/"}, "link", ""),
		"go-root/symlink-to-root-parent":        goRootScenario([]string{"d/", "d/d => .."}, "d/d/d/d/notes.txt", "notes.txt"),
		"go-root/race-rename-dir":               TestRace_RenameDir,
	}
	t.Run("read-only flags", func(t *testing.T) {
		_, root := newCorpusFixture(t)
		readOnly := map[string]bool{"read": true, "list": true, "search": true, "stat": true}
		for _, op := range newConnector(t, root).Operations() {
			if op.ReadOnly != readOnly[op.Name] {
				t.Errorf("operation %q: ReadOnly = %v, want %v", op.Name, op.ReadOnly, readOnly[op.Name])
			}
		}
	})
	for _, cs := range cases {
		name, ok := strings.CutPrefix(cs.Payload, "SCENARIO:")
		if !ok {
			continue
		}
		t.Run(name, func(t *testing.T) {
			f, ok := scenarios[name]
			if !ok {
				t.Fatalf("paths.txt:%d: scenario %q is not implemented", cs.Line, name)
			}
			f(t)
		})
	}
}

// goRootScenario builds a Go os.Root table layout and reads path: want is
// the resolved path of a successful read, or "" when the read must fail.
func goRootScenario(layout []string, path, want string) func(t *testing.T) {
	return func(t *testing.T) {
		_, root := newCorpusFixture(t)
		for _, l := range layout {
			mustBuild(t, root, strings.ReplaceAll(l, "$ROOT", root))
		}
		c := newConnector(t, root)
		got := do(t, c, "read", pathArgs(t, path), policy)
		if want == "" {
			if got.Err == nil {
				t.Errorf("read(%q) = %v, want a failure", path, got)
			}
			assertNoOutsideMarker(t, "read", path, got)
			return
		}
		if got.Err != nil || got.Path != want {
			t.Errorf("read(%q) = %v, want success at %q", path, got, want)
		}
	}
}

// mustRefuseArgs requires Prepare to refuse malformed path arguments.
func mustRefuseArgs(t testing.TB, a string) {
	t.Helper()
	_, root := newCorpusFixture(t)
	c := newConnector(t, root)
	for _, op := range corpusOps {
		inv := &core.Invocation{Op: op, Args: json.RawMessage(a)}
		if err := c.Prepare(t.Context(), inv); err == nil {
			t.Errorf("Prepare(%s %s) succeeded with path %q, want a refusal", op, a, inv.Path)
		} else if core.KindOf(err) != core.KindInvalid {
			t.Errorf("Prepare(%s %s) error kind = %v, want %v", op, a, core.KindOf(err), core.KindInvalid)
		}
	}
}

// mustRefuseWrites requires each call (op, JSON arguments) to fail, with
// every grant option given, and <T> to be unchanged afterwards.
func mustRefuseWrites(t *testing.T, tmp, root string, calls ...[]string) {
	t.Helper()
	before := snapshot(t, tmp, nil)
	c := newConnector(t, root)
	for _, call := range calls {
		got := doWith(t, c, call[0], json.RawMessage(call[1]), with{scope: policy, options: grantAll})
		if got.Err == nil {
			t.Errorf("%s %s = %v, want a refusal", call[0], call[1], got)
		}
	}
	if after := snapshot(t, tmp, nil); !cmp.Equal(before, after) {
		t.Errorf("refused calls changed files: %s", cmp.Diff(before, after))
	}
}
