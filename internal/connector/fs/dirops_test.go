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

func TestMkdir(t *testing.T) {
	tests := []struct {
		name    string
		specs   []string
		args    map[string]any
		created []string // directories that must exist afterwards
		changes []string // journal paths, in order
	}{
		{"one", nil, map[string]any{"path": "d"}, []string{"d"}, []string{"d"}},
		{"trailing slash", nil, map[string]any{"path": "d/"}, []string{"d"}, []string{"d"}},
		{"parents", []string{"a/"}, map[string]any{"path": "a/b/c/d", "parents": true}, []string{"a/b", "a/b/c", "a/b/c/d"}, []string{"a/b", "a/b/c", "a/b/c/d"}},
		{"parents, existing", []string{"a/b/"}, map[string]any{"path": "a/b", "parents": true}, []string{"a/b"}, nil},
		{"parents, the root", nil, map[string]any{"path": ".", "parents": true}, nil, nil},
		{"through a link to a directory", []string{"sub/", "l => sub"}, map[string]any{"path": "l/new"}, []string{"sub/new"}, []string{"sub/new"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp, root := newFixture(t, tt.specs...)
			outside := snapshot(t, tmp, func(rel string) bool { return rel == "root" })
			c := newConnector(t, root)
			j := newMemJournal(t)
			got := doWith(t, c, "mkdir", args(t, tt.args), with{scope: allVisible, journal: j})
			if got.Err != nil {
				t.Fatalf("mkdir(%v) = %v", tt.args, got)
			}
			for _, d := range tt.created {
				fi, err := os.Lstat(filepath.Join(root, d))
				if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o755 {
					t.Errorf("after mkdir(%v), %s = %v, %v; want a directory with mode 0755", tt.args, d, fi, err)
				}
			}
			var paths []string
			for _, ch := range j.Changes() {
				if ch.Op != "mkdir" || ch.After.Type != "dir" {
					t.Errorf("journal change %+v, want mkdir of a dir", ch)
				}
				paths = append(paths, ch.Path)
			}
			if diff := cmp.Diff(tt.changes, paths); diff != "" {
				t.Errorf("journal paths mismatch (-want +got):\n%s", diff)
			}
			if after := snapshot(t, tmp, func(rel string) bool { return rel == "root" }); !cmp.Equal(outside, after) {
				t.Errorf("mkdir changed something outside the root: %s", cmp.Diff(outside, after))
			}
		})
	}
}

func TestMkdir_Refusals(t *testing.T) {
	tests := []struct {
		name   string
		specs  []string
		args   map[string]any
		kind   core.Kind
		reason core.Reason
	}{
		{"exists", []string{"d/"}, map[string]any{"path": "d"}, core.KindExists, core.ReasonExists},
		{"the root", nil, map[string]any{"path": "."}, core.KindExists, core.ReasonExists},
		{"a file", []string{"f"}, map[string]any{"path": "f", "parents": true}, core.KindExists, core.ReasonExists},
		{"missing parent", nil, map[string]any{"path": "a/b"}, core.KindNotFound, core.ReasonNotFound},
		{"dot-dot after a missing directory", []string{"a/"}, map[string]any{"path": "a/m/../b", "parents": true}, core.KindNotFound, core.ReasonNotFound},
		{"a file in the way", []string{"a/f"}, map[string]any{"path": "a/f/b", "parents": true}, core.KindInvalid, core.ReasonNotDirectory},
		{"dangling link", []string{"dl => newdir"}, map[string]any{"path": "dl"}, core.KindDenied, core.ReasonDanglingLink},
		{"dangling link, parents", []string{"dl => newdir"}, map[string]any{"path": "dl/x/y", "parents": true}, core.KindDenied, core.ReasonDanglingLink},
		{"link to outside", []string{"out => ../out"}, map[string]any{"path": "out/newdir", "parents": true}, core.KindDenied, core.ReasonPathEscapes},
		{"deep under a link to outside", []string{"sub1 => ../out"}, map[string]any{"path": "sub1/sub2/x", "parents": true}, core.KindDenied, core.ReasonPathEscapes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp, root := newFixture(t, tt.specs...)
			mustBuild(t, tmp, "out/")
			before := snapshot(t, tmp, nil)
			c := newConnector(t, root)
			got := do(t, c, "mkdir", args(t, tt.args), allVisible)
			failsWith(t, "mkdir("+string(mustJSON(t, tt.args))+")", got, tt.kind, tt.reason)
			if after := snapshot(t, tmp, nil); !cmp.Equal(before, after) {
				t.Errorf("a refused mkdir changed files: %s", cmp.Diff(before, after))
			}
		})
	}
}

func moveArgs(tb testing.TB, from, to string, overwrite bool) json.RawMessage {
	return args(tb, map[string]any{"from": from, "to": to, "overwrite": overwrite})
}

func TestMove(t *testing.T) {
	tests := []struct {
		name      string
		specs     []string
		from, to  string
		overwrite bool
		paths     []string          // inv.Path and inv.Paths[0]
		want      map[string]string // relative path -> content ("dir" for a directory); "" for absent
		ops       []string          // journal ops
	}{
		{"rename a file", []string{"a.txt = A"}, "a.txt", "b.txt", false, []string{"a.txt", "b.txt"},
			map[string]string{"a.txt": "", "b.txt": "A"}, []string{"move"}},
		{"into a subdirectory", []string{"a.txt = A", "sub/"}, "a.txt", "sub/a.txt", false, []string{"a.txt", "sub/a.txt"},
			map[string]string{"a.txt": "", "sub/a.txt": "A"}, []string{"move"}},
		{"out of a subdirectory", []string{"sub/a.txt = A"}, "sub/a.txt", "a.txt", false, []string{"sub/a.txt", "a.txt"},
			map[string]string{"sub/a.txt": "", "a.txt": "A"}, []string{"move"}},
		{"a directory", []string{"d/x = X", "d/e/y = Y"}, "d", "moved", false, []string{"d", "moved"},
			map[string]string{"d": "", "moved/x": "X", "moved/e/y": "Y"}, []string{"move"}},
		{"over an existing file", []string{"a.txt = A", "b.txt = B"}, "a.txt", "b.txt", true, []string{"a.txt", "b.txt"},
			map[string]string{"a.txt": "", "b.txt": "A"}, []string{"remove", "move"}},
		{"a directory given with a slash", []string{"d/x = X"}, "d/", "e/", false, []string{"d", "e"},
			map[string]string{"d": "", "e/x": "X"}, []string{"move"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp, root := newFixture(t, tt.specs...)
			outside := snapshot(t, tmp, func(rel string) bool { return rel == "root" })
			c := newConnector(t, root)
			j := newMemJournal(t)
			inv := &core.Invocation{Op: "move", Args: moveArgs(t, tt.from, tt.to, tt.overwrite)}
			if err := c.Prepare(t.Context(), inv); err != nil {
				t.Fatalf("Prepare(move %s %s) = %v", tt.from, tt.to, err)
			}
			if got := append([]string{inv.Path}, inv.Paths...); !cmp.Equal(got, tt.paths) {
				t.Errorf("Prepare(move %s %s) paths = %q, want %q", tt.from, tt.to, got, tt.paths)
			}
			inv.Journal = j
			_, err := c.Execute(t.Context(), inv, allVisible)
			inv.State.(interface{ Close() error }).Close()
			if err != nil {
				t.Fatalf("move %s %s = %v", tt.from, tt.to, err)
			}
			for rel, want := range tt.want {
				p := filepath.Join(root, rel)
				switch want {
				case "":
					assertMissing(t, p)
				default:
					if got := mustContent(t, p); got != want {
						t.Errorf("after move, %s = %q, want %q", rel, got, want)
					}
				}
			}
			var ops []string
			for _, ch := range j.Changes() {
				ops = append(ops, ch.Op)
			}
			if !cmp.Equal(ops, tt.ops) {
				t.Errorf("journal ops = %q, want %q", ops, tt.ops)
			}
			if tt.overwrite {
				if ch := j.Changes()[0]; ch.Before.SHA256 != hashOf([]byte("B")) {
					t.Errorf("replaced file journaled as %+v, want B's content", ch)
				} else if f, err := j.Open(ch.Before.SHA256); err != nil {
					t.Errorf("replaced file not kept: %v", err)
				} else {
					f.Close()
				}
			}
			if after := snapshot(t, tmp, func(rel string) bool { return rel == "root" }); !cmp.Equal(outside, after) {
				t.Errorf("move changed something outside the root: %s", cmp.Diff(outside, after))
			}
			assertNoTemps(t, root)
		})
	}
}

func TestMove_Refusals(t *testing.T) {
	tests := []struct {
		name      string
		specs     []string
		from, to  string
		overwrite bool
		kind      core.Kind
		reason    core.Reason
	}{
		{"onto an existing file", []string{"a = A", "b = B"}, "a", "b", false, core.KindExists, core.ReasonExists},
		{"onto a directory", []string{"a = A", "d/"}, "a", "d", true, core.KindExists, core.ReasonExists},
		{"a directory onto a file", []string{"d/", "b = B"}, "d", "b", true, core.KindExists, core.ReasonExists},
		{"a directory into itself", []string{"d/e/"}, "d", "d/e/f", false, core.KindInvalid, core.ReasonInvalidArguments},
		{"a directory onto itself", []string{"d/"}, "d", "d", false, core.KindInvalid, core.ReasonInvalidArguments},
		{"a directory into itself through a link", []string{"d/e/", "l => d/e"}, "d", "l/f", false, core.KindInvalid, core.ReasonInvalidArguments},
		{"the root", []string{"d/"}, ".", "d/x", false, core.KindDenied, core.ReasonInvalidPath},
		{"missing source", nil, "nothing", "x", false, core.KindNotFound, core.ReasonNotFound},
		{"to a missing directory", []string{"a = A"}, "a", "nodir/a", false, core.KindNotFound, core.ReasonNotFound},
		{"onto a dangling link", []string{"a = A", "dl => gone"}, "a", "dl", false, core.KindDenied, core.ReasonDanglingLink},
		{"to outside through a link", []string{"a = A", "out => ../out"}, "a", "out/a", false, core.KindDenied, core.ReasonPathEscapes},
		{"from outside through a link", []string{"lo => ../sentinel.txt"}, "lo", "mine.txt", false, core.KindDenied, core.ReasonPathEscapes},
		{"a hard link onto itself", []string{"a = A"}, "a", "h", true, core.KindInvalid, core.ReasonHardlinked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp, root := newFixture(t, tt.specs...)
			mustBuild(t, tmp, "out/")
			if tt.name == "a hard link onto itself" {
				os.Link(filepath.Join(root, "a"), filepath.Join(root, "h"))
			}
			before := snapshot(t, tmp, nil)
			c := newConnector(t, root)
			got := do(t, c, "move", moveArgs(t, tt.from, tt.to, tt.overwrite), allVisible)
			failsWith(t, "move("+tt.from+", "+tt.to+")", got, tt.kind, tt.reason)
			if after := snapshot(t, tmp, nil); !cmp.Equal(before, after) {
				t.Errorf("a refused move changed files: %s", cmp.Diff(before, after))
			}
		})
	}
}

// TestMove_PolicyOnBothEnds: the pipeline decides on both paths, and a
// directory move needs every entry below visible at both ends.
func TestMove_PolicyOnBothEnds(t *testing.T) {
	tmp, root := newFixture(t, "a.txt = A", "d/x = X", "d/private/y = Y", "private/s = WARDEN-PRIVATE")
	before := snapshot(t, tmp, nil)
	c := newConnector(t, root)
	deny := core.ScopeFunc(func(p string) bool {
		return p != "d/private" && !strings.HasPrefix(p, "d/private/") && policy.Visible(p)
	})
	for _, call := range []struct{ from, to string }{
		{"a.txt", "private/a.txt"},
		{"private/s", "s"},
		{"d", "e"},
	} {
		got := do(t, c, "move", moveArgs(t, call.from, call.to, false), deny)
		if got.Err == nil || core.KindOf(got.Err) != core.KindDenied {
			t.Errorf("move(%s, %s) = %v, want a denial", call.from, call.to, got)
		}
	}
	if after := snapshot(t, tmp, nil); !cmp.Equal(before, after) {
		t.Errorf("denied moves changed files: %s", cmp.Diff(before, after))
	}
}

func TestDelete(t *testing.T) {
	tests := []struct {
		name      string
		specs     []string
		args      map[string]any
		options   core.GrantOptions
		gone      string
		kept      []string // kept by the journal, by name
		entries   int      // entries recorded under the removed directory
		wantError core.Reason
	}{
		{"file", []string{"f = F"}, map[string]any{"path": "f"}, core.GrantOptions{}, "f", []string{"f"}, 0, ""},
		{"empty directory", []string{"d/"}, map[string]any{"path": "d"}, core.GrantOptions{}, "d", nil, 0, ""},
		{"empty directory with a slash", []string{"d/"}, map[string]any{"path": "d/"}, core.GrantOptions{}, "d", nil, 0, ""},
		{"non-empty directory", []string{"d/f"}, map[string]any{"path": "d"}, core.GrantOptions{}.WithFlag(fs.OptionRecursive), "", nil, 0, core.ReasonNotEmpty},
		{"recursive without the grant", []string{"d/f"}, map[string]any{"path": "d", "recursive": true}, core.GrantOptions{}, "", nil, 0, core.ReasonNotGranted},
		{"recursive", []string{"d/f = F", "d/e/g = G", "d/e/l => ../f", "d/empty/"}, map[string]any{"path": "d", "recursive": true}, core.GrantOptions{}.WithFlag(fs.OptionRecursive),
			"d", []string{"g", "f"}, 5, ""},
		{"through a link", []string{"f = F", "l => f"}, map[string]any{"path": "l"}, core.GrantOptions{}, "f", []string{"f"}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp, root := newFixture(t, tt.specs...)
			before := snapshot(t, tmp, nil)
			c := newConnector(t, root)
			j := newMemJournal(t)
			got := doWith(t, c, "delete", args(t, tt.args), with{scope: allVisible, journal: j, options: tt.options})
			if tt.wantError != "" {
				if core.ReasonOf(got.Err) != tt.wantError {
					t.Errorf("delete(%v) = %v, want %s", tt.args, got, tt.wantError)
				}
				if tt.wantError == core.ReasonNotGranted && !strings.Contains(core.MessageOf(got.Err), "grant") {
					t.Errorf("message %q does not say the grant is missing", core.MessageOf(got.Err))
				}
				if after := snapshot(t, tmp, nil); !cmp.Equal(before, after) {
					t.Errorf("a refused delete changed files: %s", cmp.Diff(before, after))
				}
				return
			}
			if got.Err != nil {
				t.Fatalf("delete(%v) = %v", tt.args, got)
			}
			assertMissing(t, filepath.Join(root, tt.gone))
			j.mu.Lock()
			kept := j.kept
			j.mu.Unlock()
			if !cmp.Equal(kept, tt.kept, cmpEmpty) {
				t.Errorf("kept = %q, want %q", kept, tt.kept)
			}
			ch := j.Changes()
			if len(ch) != 1 || ch[0].Op != "remove" || ch[0].Path != tt.gone {
				t.Fatalf("journal = %+v, want one remove of %s", ch, tt.gone)
			}
			if n := countEntries(ch[0].Before); n != tt.entries {
				t.Errorf("recorded %d entries under %s, want %d: %+v", n, tt.gone, tt.entries, ch[0].Before)
			}
			assertNoTemps(t, root)
		})
	}
}

var cmpEmpty = cmp.FilterValues(func(a, b []string) bool { return len(a) == 0 && len(b) == 0 }, cmp.Ignore())

func countEntries(st core.ObjectState) int {
	n := 0
	for _, e := range st.Entries {
		n += 1 + countEntries(e)
	}
	return n
}

func TestDelete_Refusals(t *testing.T) {
	tmp, root := newFixture(t, "d/x = X", "d/private/y = Y", "private/s = WARDEN-PRIVATE", "dl => gone", "lo => ../sentinel.txt")
	before := snapshot(t, tmp, nil)
	c := newConnector(t, root)
	tests := []struct {
		path   string
		reason core.Reason
	}{
		{".", core.ReasonInvalidPath},
		{"./", core.ReasonInvalidPath},
		{"d/..", core.ReasonInvalidPath},
		{"d", core.ReasonDenyRule}, // holds private/, which the policy hides
		{"dl", core.ReasonNotFound},
		{"lo", core.ReasonPathEscapes},
		{"../sentinel.txt", core.ReasonPathEscapes},
	}
	for _, tt := range tests {
		deny := core.ScopeFunc(func(p string) bool {
			return policy.Visible(p) && p != "d/private" && !strings.HasPrefix(p, "d/private/")
		})
		got := doWith(t, c, "delete", args(t, map[string]any{"path": tt.path, "recursive": true}), with{scope: deny, options: core.GrantOptions{}.WithFlag(fs.OptionRecursive)})
		if core.ReasonOf(got.Err) != tt.reason {
			t.Errorf("delete(%q, recursive) = %v, want %s", tt.path, got, tt.reason)
		}
	}
	if after := snapshot(t, tmp, nil); !cmp.Equal(before, after) {
		t.Errorf("refused deletes changed files: %s", cmp.Diff(before, after))
	}
}
