package fs_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/warden-dev/warden/internal/connector/fs"
	"github.com/warden-dev/warden/internal/core"
)

// TestPrepare_Resolve covers path resolution: the inv.Path the policy sees
// and, when the call must fail, the stage and reason. The fixture is the
// corpus fixture ($T/sentinel.txt outside, $T/root inside) plus the row's
// layout (Go os.Root table syntax: "d/" directory, "a => b" link).
func TestPrepare_Resolve(t *testing.T) {
	tests := []struct {
		name     string
		layout   []string
		op       string // default "read"
		path     string
		wantPath string
		// wantStage and wantReason are set when the call must fail.
		wantStage  string
		wantReason core.Reason
	}{
		{name: "plain", path: "notes.txt", wantPath: "notes.txt"},
		{name: "dots", layout: []string{"a/b"}, path: "./a/./b", wantPath: "a/b"},
		{name: "dotdot", path: "a/../target", layout: []string{"a/"}, wantPath: "target"},
		{name: "double slash", layout: []string{"sub/x"}, path: "sub//x", wantPath: "sub/x"},
		{name: "root", op: "list", path: ".", wantPath: "."},
		{name: "root slash", op: "list", path: "./", wantPath: "."},
		{name: "root via dotdot", op: "list", layout: []string{"sub/"}, path: "sub/..", wantPath: "."},
		{name: "dir dot", op: "list", layout: []string{"sub/x"}, path: "sub/.", wantPath: "sub"},
		{name: "dir slash", op: "list", layout: []string{"sub/x"}, path: "sub/", wantPath: "sub"},
		{name: "read dir", layout: []string{"sub/x"}, path: "sub", wantPath: "sub", wantStage: "Execute", wantReason: core.ReasonIsDirectory},
		{name: "read root", path: ".", wantPath: ".", wantStage: "Execute", wantReason: core.ReasonIsDirectory},
		{name: "list file", op: "list", path: "notes.txt", wantPath: "notes.txt", wantStage: "Execute", wantReason: core.ReasonNotDirectory},
		{name: "symlink to file", layout: []string{"link => target"}, path: "link", wantPath: "target"},
		{name: "symlink to dir", layout: []string{"sub/x", "dl => sub"}, path: "dl/x", wantPath: "sub/x"},
		{name: "chain", layout: []string{"l1 => l2", "l2 => l3", "l3 => target"}, path: "l1", wantPath: "target"},
		{name: "go-root symlink-chain", layout: []string{"link => a/b/c/target", "a/b => e", "a/e => ../f", "f => g/h/i", "g/h/i => ..", "g/c/target"}, path: "link", wantPath: "g/c/target"},
		{name: "cycle", layout: []string{"a => a"}, path: "a", wantPath: "a", wantStage: "Execute", wantReason: core.ReasonInvalidPath},
		{name: "cycle of two", layout: []string{"a => b", "b => a"}, path: "a/x", wantStage: "Execute", wantReason: core.ReasonInvalidPath},
		{name: "absolute symlink inside", layout: []string{"link => $ROOT/target"}, path: "link", wantPath: "link", wantStage: "Execute", wantReason: core.ReasonPathEscapes},
		{name: "absolute symlink outside", layout: []string{"link => $T/sentinel.txt"}, path: "link", wantStage: "Execute", wantReason: core.ReasonPathEscapes},
		{name: "out and back", layout: []string{"link => ../root/target"}, path: "link", wantStage: "Execute", wantReason: core.ReasonPathEscapes},
		{name: "symlink-dotdot-slash", layout: []string{"link => ../"}, path: "link", wantStage: "Execute", wantReason: core.ReasonPathEscapes},
		{name: "symlink-dotdot-dotdot-slash", layout: []string{"dir/link => ../../"}, path: "dir/link", wantStage: "Execute", wantReason: core.ReasonPathEscapes},
		{name: "symlink-chain-escapes", layout: []string{"link => a/b/c/target", "a/b => e", "a/e => ../../root", "c/"}, path: "link", wantStage: "Execute", wantReason: core.ReasonPathEscapes},
		{name: "link to dot then dotdot", layout: []string{"here => ."}, path: "here/../notes.txt", wantStage: "Execute", wantReason: core.ReasonPathEscapes},
		{name: "symlink to root parent", layout: []string{"d/", "d/d => .."}, path: "d/d/d/d/notes.txt", wantPath: "notes.txt"},
		{name: "dotdot after symlink", layout: []string{"a => b/c", "b/c/"}, path: "a/../target", wantPath: "b/target", wantStage: "Execute", wantReason: core.ReasonNotFound},
		{name: "dotdot after symlink exists", layout: []string{"a => b/c", "b/c/", "b/target"}, path: "a/../target", wantPath: "b/target"},
		{name: "dotdot before symlink", layout: []string{"a => b/c", "b/c/target"}, path: "b/../a/target", wantPath: "b/c/target"},
		{name: "symlink ends in dot", layout: []string{"a => b/.", "b/target"}, path: "a/target", wantPath: "b/target"},
		{name: "symlink ending in slash", layout: []string{"dir/target", "link => dir/"}, path: "link/target", wantPath: "dir/target"},
		{name: "slash after symlink to file", layout: []string{"link => target"}, path: "link/", wantStage: "Execute", wantReason: core.ReasonNotDirectory},
		{name: "slash after symlink leaving", layout: []string{"link => ../root/target", "target2/"}, path: "link/", wantStage: "Execute", wantReason: core.ReasonPathEscapes},
		{name: "symlink to file with slash target", layout: []string{"link => target/"}, path: "link", wantStage: "Execute", wantReason: core.ReasonNotDirectory},
		{name: "file with slash", path: "notes.txt/", wantPath: "notes.txt", wantStage: "Execute", wantReason: core.ReasonNotDirectory},
		{name: "file in the middle", path: "notes.txt/x", wantPath: "notes.txt", wantStage: "Execute", wantReason: core.ReasonNotDirectory},
		{name: "file dotdot", path: "notes.txt/../target", wantPath: "notes.txt", wantStage: "Execute", wantReason: core.ReasonNotDirectory},
		{name: "private", path: "private/secret.txt", wantPath: "private/secret.txt", wantStage: "Policy"},
		{name: "link into private", layout: []string{"p => private"}, path: "p/secret.txt", wantPath: "private/secret.txt", wantStage: "Policy"},
		{name: "link to private file", layout: []string{"s => private/secret.txt"}, path: "s", wantPath: "private/secret.txt", wantStage: "Policy"},
		{name: "link into private missing", layout: []string{"n => private/new.txt"}, path: "n", wantPath: "private/new.txt", wantStage: "Policy"},
		{name: "private missing", path: "private/nothere/../x", wantPath: "private/x", wantStage: "Policy"},
		{name: "private file as dir", path: "private/secret.txt/", wantPath: "private/secret.txt", wantStage: "Policy"},
		{name: "private link escaping", layout: []string{"private/out => ../../sentinel.txt"}, path: "private/out", wantPath: "private/out", wantStage: "Policy"},
		{name: "missing keeps remainder", path: "nope/x/../y", wantPath: "nope/y", wantStage: "Execute", wantReason: core.ReasonNotFound},
		{name: "missing then dotdot", path: "nope/..", wantPath: ".", wantStage: "Execute", wantReason: core.ReasonNotFound},
		{name: "missing below dir", layout: []string{"sub/"}, path: "sub/a/b", wantPath: "sub/a/b", wantStage: "Execute", wantReason: core.ReasonNotFound},
		{name: "missing link target climbs", layout: []string{"l => nothere/../../x"}, path: "l", wantStage: "Execute", wantReason: core.ReasonPathEscapes},
		{name: "dangling link", layout: []string{"l => nothere"}, path: "l", wantPath: "nothere", wantStage: "Execute", wantReason: core.ReasonNotFound},
		{name: "percent literal", layout: []string{"%2e%2e%2fnotes.txt"}, path: "%2e%2e%2fnotes.txt", wantPath: "%2e%2e%2fnotes.txt"},
		{name: "backslash literal", layout: []string{"back\\slash.txt"}, path: "back\\slash.txt", wantPath: "back\\slash.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp, root := newFixture(t, "notes.txt", "target", "private/secret.txt = WARDEN-PRIVATE")
			var layout []string
			for _, l := range tt.layout {
				l = strings.ReplaceAll(l, "$ROOT", root)
				layout = append(layout, strings.ReplaceAll(l, "$T", tmp))
			}
			mustBuild(t, root, layout...)
			c := newConnector(t, root)
			op := tt.op
			if op == "" {
				op = "read"
			}
			start := time.Now()
			got := do(t, c, op, pathArgs(t, tt.path), policy)
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("%s(%q) took %v", op, tt.path, d)
			}
			if tt.wantPath != "" && got.Path != tt.wantPath {
				t.Errorf("%s(%q): inv.Path = %q, want %q (%v)", op, tt.path, got.Path, tt.wantPath, got)
			}
			if tt.wantStage == "" {
				if got.Err != nil {
					t.Fatalf("%s(%q) = %v, want success", op, tt.path, got)
				}
				if op == "read" {
					if content := readContent(t, got); content != inside {
						t.Errorf("read(%q) content = %q, want %q", tt.path, content, inside)
					}
				}
				return
			}
			if got.Err == nil || got.Stage != tt.wantStage {
				t.Fatalf("%s(%q) = %v, want a failure at %s", op, tt.path, got, tt.wantStage)
			}
			if tt.wantReason != "" && core.ReasonOf(got.Err) != tt.wantReason {
				t.Errorf("%s(%q) reason = %s, want %s (%v)", op, tt.path, core.ReasonOf(got.Err), tt.wantReason, got)
			}
			for _, leak := range []string{root, tmp, "WARDEN-"} {
				if strings.Contains(core.MessageOf(got.Err), leak) {
					t.Errorf("%s(%q) message %q contains %q", op, tt.path, core.MessageOf(got.Err), leak)
				}
			}
		})
	}
}

// TestPrepare_Deep resolves paths far deeper than the descriptor bound,
// including ones that climb back down through levels that were closed and
// must be re-opened.
func TestPrepare_Deep(t *testing.T) {
	_, root := newFixture(t, "notes.txt")
	deep := mustDeepDirs(t, root, "a", 1000) + "file.txt"
	mustBuild(t, root, deep)
	c := newConnector(t, root)

	tests := []struct {
		name, path, want string
	}{
		{"1000 levels", deep, deep},
		{"down 600 and up", strings.Repeat("a/", 600) + strings.Repeat("../", 600) + "notes.txt", "notes.txt"},
		{"down, up half, down", strings.Repeat("a/", 200) + strings.Repeat("../", 100) + strings.Repeat("a/", 900) + "file.txt", deep},
		{"zigzag", strings.Repeat("a/a/a/../", 200) + strings.Repeat("../", 400) + "notes.txt", "notes.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.path) > fs.MaxPathLen {
				t.Fatalf("test path is %d bytes, over the limit", len(tt.path))
			}
			got := do(t, c, "read", pathArgs(t, tt.path), allVisible)
			if got.Err != nil || got.Path != tt.want {
				t.Fatalf("read(%d-byte path) = %v, want success with path %.40q…", len(tt.path), got, tt.want)
			}
			if content := readContent(t, got); content != inside {
				t.Errorf("read content = %q, want %q", content, inside)
			}
		})
	}
}

// TestPrepare_DeepBoundsDescriptors checks that resolving a 700-level path
// and climbing back out never holds more than about MaxOpenDirs directory handles.
func TestPrepare_DeepBoundsDescriptors(t *testing.T) {
	if _, err := os.ReadDir("/proc/self/fd"); err != nil {
		t.Skip("no /proc/self/fd to count descriptors")
	}
	_, root := newFixture(t, "notes.txt")
	deep := mustDeepDirs(t, root, "d", 700)
	c := newConnector(t, root)
	countFDs := func() int {
		ents, _ := os.ReadDir("/proc/self/fd")
		return len(ents)
	}
	base := countFDs()
	peak := 0
	fs.SetHookForTest(c, func(event, _ string) {
		if event == "lstat" || event == "reopen" {
			peak = max(peak, countFDs()-base)
		}
	})
	p := deep + strings.Repeat("../", 700) + "notes.txt"
	if got := do(t, c, "read", pathArgs(t, p), allVisible); got.Err != nil || got.Path != "notes.txt" {
		t.Fatalf("read(deep path) = %v, want notes.txt", got)
	}
	if limit := fs.MaxOpenDirs + 4; peak > limit {
		t.Errorf("resolution held %d descriptors at its peak, want at most %d", peak, limit)
	}
}
