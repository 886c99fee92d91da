package fs_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/warden-dev/warden/internal/connector/connectortest"
	"github.com/warden-dev/warden/internal/connector/fs"
	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/corpus"
)

// corpusWrites are the mutating calls made with each paths.txt payload p.
func corpusWrites(p string) []struct {
	op   string
	args map[string]any
} {
	return []struct {
		op   string
		args map[string]any
	}{
		{"write", map[string]any{"path": p, "content": "PWNED"}},
		{"write", map[string]any{"path": p, "content": "PWNED", "mode": "overwrite"}},
		{"write", map[string]any{"path": p, "content": "PWNED", "mode": "append"}},
		{"edit", map[string]any{"path": p, "edits": []map[string]string{{"old": "WARDEN", "new": "PWNED"}}}},
		{"mkdir", map[string]any{"path": p, "parents": true}},
		{"delete", map[string]any{"path": p, "recursive": true}},
		{"move", map[string]any{"from": p, "to": "moved-by-corpus"}},
		{"move", map[string]any{"from": "notes.txt", "to": p, "overwrite": true}},
	}
}

// TestCorpus_Writes runs every plain line of paths.txt through write,
// edit, mkdir, delete and move (both ends), inside a sandbox where only the
// test's temporary directory is writable (corpus README §2):
//
//   - deny (escape): nothing outside the root and nothing under private/
//     may change (a snapshot of <T> is compared), {OUTDIR} stays empty, and
//     no response carries a marker from outside;
//   - deny (refuse): every call is refused by Prepare or by the policy;
//   - allow: overwriting the file the payload names succeeds and changes
//     exactly that file (for a directory: creating a file in it).
func TestCorpus_Writes(t *testing.T) {
	if !connectortest.Sandboxed(t) {
		return
	}
	cases := corpus.Load(t, "paths.txt")
	for _, cs := range cases {
		if strings.HasPrefix(cs.Payload, "SCENARIO:") {
			continue
		}
		t.Run(fmt.Sprintf("line%d", cs.Line), func(t *testing.T) {
			tmp, root := newCorpusFixture(t)
			p := strings.NewReplacer(
				"{ROOT}", root,
				"{ROOTNAME}", "root",
				"{SENTINEL}", filepath.Join(tmp, "sentinel.txt"),
				"{OUTDIR}", filepath.Join(tmp, "out"),
			).Replace(cs.Payload)
			switch {
			case cs.Expect == "allow":
				checkCorpusWriteAllow(t, tmp, root, p)
			case cs.Directives["mode"] == "refuse":
				checkCorpusWriteRefuse(t, tmp, root, p)
			default:
				checkCorpusWriteEscape(t, tmp, root, p)
			}
			if ents, _ := os.ReadDir(filepath.Join(tmp, "out")); len(ents) != 0 {
				t.Errorf("path %q: {OUTDIR} is no longer empty", p)
			}
		})
	}
}

// guardedSnapshot is what no deny line may change: everything in <T>
// outside the root, and the root's private/ tree.
func guardedSnapshot(tb testing.TB, tmp string) map[string]string {
	return snapshot(tb, tmp, func(rel string) bool {
		return (rel == "root" || strings.HasPrefix(rel, "root/")) && rel != "root" && !strings.HasPrefix(rel, "root/private")
	})
}

var grantAll = core.GrantOptions{}.WithFlag(fs.OptionHardlinks).WithFlag(fs.OptionRecursive)

func checkCorpusWriteEscape(t *testing.T, tmp, root, p string) {
	before := guardedSnapshot(t, tmp)
	c := newConnector(t, root)
	for _, call := range corpusWrites(p) {
		got := doWith(t, c, call.op, args(t, call.args), with{scope: policy, options: grantAll})
		assertNoOutsideMarker(t, call.op, p, got)
		if after := guardedSnapshot(t, tmp); !cmp.Equal(before, after) {
			t.Fatalf("%s %v changed files outside the root or in private/ (-before +after):\n%s", call.op, call.args, cmp.Diff(before, after))
		}
	}
}

func checkCorpusWriteRefuse(t *testing.T, tmp, root, p string) {
	if !strings.HasPrefix(p, "/") && !strings.Contains(p, "\x00") && filepath.IsLocal(filepath.Clean(p)) {
		if _, err := os.Lstat(filepath.Join(root, p)); os.IsNotExist(err) {
			mustCreateForPayload(t, root, p)
		}
	}
	before := snapshot(t, tmp, nil)
	c := newConnector(t, root)
	for _, call := range corpusWrites(p) {
		got := doWith(t, c, call.op, args(t, call.args), with{scope: policy, options: grantAll})
		if got.Err == nil || (got.Stage != "Prepare" && got.Stage != "Policy") {
			t.Errorf("%s %v = %v, want a refusal by Prepare or the policy", call.op, call.args, got)
		}
		assertNoOutsideMarker(t, call.op, p, got)
	}
	if after := snapshot(t, tmp, nil); !cmp.Equal(before, after) {
		t.Errorf("refused calls changed files: %s", cmp.Diff(before, after))
	}
}

func checkCorpusWriteAllow(t *testing.T, tmp, root, p string) {
	isDir := mustCreateForPayload(t, root, p)
	c := newConnector(t, root)
	before := snapshot(t, tmp, nil)
	target := p
	if isDir {
		target = strings.TrimSuffix(p, "/") + "/corpus-new.txt"
	}
	mode := map[bool]string{false: "overwrite", true: "create"}[isDir]
	got := doWith(t, c, "write", writeArgs(t, target, "WARDEN-INSIDE-NEW", mode), with{scope: policy})
	if got.Err != nil {
		t.Fatalf("write(%q) = %v, want success", target, got)
	}
	after := snapshot(t, tmp, nil)
	changed := "root/" + got.Path
	for k, v := range after {
		if k != changed && before[k] != v {
			t.Errorf("write(%q) changed %s, not only %s", target, k, changed)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			t.Errorf("write(%q) removed %s", target, k)
		}
	}
	if s := mustContent(t, filepath.Join(root, got.Path)); s != "WARDEN-INSIDE-NEW" {
		t.Errorf("write(%q): %s = %q", target, got.Path, s)
	}
}
