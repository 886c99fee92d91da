package fs_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/warden-dev/warden/internal/connector/fs"
	"github.com/warden-dev/warden/internal/core"
)

type listValue struct {
	Path    string `json:"path"`
	Entries []struct {
		Path     string `json:"path"`
		Type     string `json:"type"`
		Size     int64  `json:"size"`
		Modified string `json:"modified"`
	} `json:"entries"`
	NextCursor string `json:"next_cursor"`
	Truncated  bool   `json:"truncated"`
}

func (v listValue) paths() []string {
	out := []string{}
	for _, e := range v.Entries {
		out = append(out, e.Path)
	}
	return out
}

func mustList(tb testing.TB, c core.Connector, a map[string]any, scope core.Scope) listValue {
	tb.Helper()
	got := do(tb, c, "list", args(tb, a), scope)
	if got.Err != nil {
		tb.Fatalf("list(%v) = %v", a, got)
	}
	var v listValue
	if err := json.Unmarshal([]byte(got.JSON), &v); err != nil {
		tb.Fatal(err)
	}
	return v
}

// listAll follows next_cursor to the end and returns every path.
func listAll(tb testing.TB, c core.Connector, a map[string]any, scope core.Scope) (paths []string, pages int) {
	tb.Helper()
	for {
		v := mustList(tb, c, a, scope)
		pages++
		paths = append(paths, v.paths()...)
		if v.Truncated != (v.NextCursor != "") {
			tb.Fatalf("list(%v): truncated %v with next_cursor %q", a, v.Truncated, v.NextCursor)
		}
		if v.NextCursor == "" {
			return paths, pages
		}
		if pages > 10000 {
			tb.Fatal("listing does not end")
		}
		a["cursor"] = v.NextCursor
	}
}

func TestList_Paging(t *testing.T) {
	_, root := newFixture(t, "many/")
	var want []string
	for i := range 2500 {
		name := fmt.Sprintf("f%04d", i)
		want = append(want, "many/"+name)
		if err := os.WriteFile(filepath.Join(root, "many", name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c := newConnector(t, root)
	got, pages := listAll(t, c, map[string]any{"path": "many", "limit": 1000}, allVisible)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("paged list of 2,500 entries mismatch (-want +got):\n%s", diff)
	}
	if pages != 3 {
		t.Errorf("paged list of 2,500 entries took %d pages of 1,000, want 3", pages)
	}
}

func TestList_Recursive(t *testing.T) {
	_, root := newFixture(t,
		"a/x", "a/b/y", "a-b", "z.txt",
		"private/secret.txt", "private/sub/deeper.txt",
		"linkdir => a",
		"sub/private => ../private",
		".warden/state.json",
		"warden.yaml",
	)
	c := newConnector(t, root, func(s *setup) {
		s.Host.Reserved = []string{filepath.Join(root, ".warden"), filepath.Join(root, "warden.yaml"), "/elsewhere/state"}
	})
	want := []string{"a", "a/b", "a/b/y", "a/x", "a-b", "linkdir", "sub", "sub/private", "z.txt"}
	v := mustList(t, c, map[string]any{"path": ".", "recursive": true}, policy)
	if diff := cmp.Diff(want, v.paths()); diff != "" {
		t.Errorf("list(. recursive) mismatch (-want +got):\n%s", diff)
	}
	for _, e := range v.Entries {
		if e.Path == "linkdir" && e.Type != "symlink" {
			t.Errorf("list entry linkdir has type %q, want symlink", e.Type)
		}
		if e.Path == "a" && e.Type != "dir" {
			t.Errorf("list entry a has type %q, want dir", e.Type)
		}
	}

	// Small pages concatenate to the same listing.
	got, _ := listAll(t, c, map[string]any{"path": ".", "recursive": true, "limit": 2}, policy)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("list(. recursive) in pages of 2 mismatch (-want +got):\n%s", diff)
	}

	// Non-recursive.
	v = mustList(t, c, map[string]any{"path": "."}, policy)
	if diff := cmp.Diff([]string{"a", "a-b", "linkdir", "sub", "z.txt"}, v.paths()); diff != "" {
		t.Errorf("list(.) mismatch (-want +got):\n%s", diff)
	}
	// Listing a subdirectory gives root-relative paths.
	v = mustList(t, c, map[string]any{"path": "a/", "recursive": true}, policy)
	if diff := cmp.Diff([]string{"a/b", "a/b/y", "a/x"}, v.paths()); diff != "" || v.Path != "a" {
		t.Errorf("list(a/ recursive) path %q, mismatch (-want +got):\n%s", v.Path, diff)
	}
	// Through a link, the listing names the real location.
	v = mustList(t, c, map[string]any{"path": "linkdir"}, policy)
	if diff := cmp.Diff([]string{"a/b", "a/x"}, v.paths()); diff != "" || v.Path != "a" {
		t.Errorf("list(linkdir) path %q, mismatch (-want +got):\n%s", v.Path, diff)
	}
	// A nil scope hides everything (fail closed).
	v = mustList(t, c, map[string]any{"path": "."}, nil)
	if len(v.Entries) != 0 {
		t.Errorf("list(.) with a nil scope = %v, want no entries", v.paths())
	}
}

func TestList_Reserved(t *testing.T) {
	_, root := newFixture(t, ".warden/state.json", "warden.yaml = policy", "notes.txt")
	if err := os.Link(filepath.Join(root, "warden.yaml"), filepath.Join(root, "copy.yaml")); err != nil {
		t.Fatal(err)
	}
	mustBuild(t, root, "w => .warden", "p => warden.yaml")
	c := newConnector(t, root, func(s *setup) {
		s.Host.Reserved = []string{filepath.Join(root, ".warden"), filepath.Join(root, "warden.yaml")}
	})
	for _, p := range []string{".warden", ".warden/state.json", "./.warden/", "warden.yaml", "w/state.json", "w", "p", "copy.yaml", ".warden/new"} {
		for _, op := range []string{"read", "stat", "list"} {
			got := do(t, c, op, pathArgs(t, p), allVisible)
			if got.Err == nil || got.Stage != "Prepare" || core.ReasonOf(got.Err) != core.ReasonReservedPath {
				t.Errorf("%s(%q) = %v, want reserved-path from Prepare", op, p, got)
			}
		}
	}
	v := mustList(t, c, map[string]any{"path": ".", "recursive": true}, allVisible)
	if diff := cmp.Diff([]string{"notes.txt", "p", "w"}, v.paths()); diff != "" {
		t.Errorf("list(. recursive) with reserved paths mismatch (-want +got):\n%s", diff)
	}
	got := do(t, c, "search", args(t, map[string]any{"path": ".", "text": "policy"}), allVisible)
	if got.Err != nil || !strings.Contains(got.JSON, `"matches":[]`) {
		t.Errorf("search(policy) = %v, want no matches in reserved files", got)
	}
}

// TestOpen_RootInsideReserved refuses a root that is Warden's own state.
func TestOpen_RootInsideReserved(t *testing.T) {
	_, root := newFixture(t)
	spec := &core.ResourceSpec{Name: "notes", Kind: "fs", Config: &fs.Config{Root: root}}
	c := mustNew(t, spec, core.Host{Reserved: []string{filepath.Dir(root)}})
	if err := c.Open(t.Context()); err == nil || core.KindOf(err) != core.KindInvalid {
		t.Errorf("Open with the root inside a reserved path = %v, want KindInvalid", err)
	}
}

func TestList_Cursor(t *testing.T) {
	_, root := newFixture(t, "a/x", "b/y")
	c := newConnector(t, root)
	enc := base64.RawURLEncoding.EncodeToString
	tests := []struct {
		name   string
		a      map[string]any
		want   []string
		reason core.Reason
	}{
		{"after a", map[string]any{"path": ".", "recursive": true, "cursor": enc([]byte("a"))}, []string{"a/x", "b", "b/y"}, ""},
		{"after a/x", map[string]any{"path": ".", "recursive": true, "cursor": enc([]byte("a/x"))}, []string{"b", "b/y"}, ""},
		{"after the end", map[string]any{"path": ".", "cursor": enc([]byte("zzz"))}, []string{}, ""},
		{"malformed", map[string]any{"path": ".", "cursor": "***"}, nil, core.ReasonInvalidArguments},
		{"other listing", map[string]any{"path": "a", "cursor": enc([]byte("b/y"))}, nil, core.ReasonInvalidArguments},
		{"cursor is the directory", map[string]any{"path": "a", "cursor": enc([]byte("a"))}, nil, core.ReasonInvalidArguments},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.reason != "" {
				got := do(t, c, "list", args(t, tt.a), allVisible)
				if got.Err == nil || core.KindOf(got.Err) != core.KindInvalid || core.ReasonOf(got.Err) != tt.reason {
					t.Errorf("list(%v) = %v, want KindInvalid/%s", tt.a, got, tt.reason)
				}
				return
			}
			v := mustList(t, c, tt.a, allVisible)
			if diff := cmp.Diff(tt.want, v.paths()); diff != "" {
				t.Errorf("list(%v) mismatch (-want +got):\n%s", tt.a, diff)
			}
		})
	}
}
