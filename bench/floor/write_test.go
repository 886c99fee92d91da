package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func newFloor(t *testing.T, files map[string]string) *floor {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	return &floor{root: root}
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// dirNames lists the root, to show that no temporary file is left behind.
func dirNames(t *testing.T, f *floor) []string {
	t.Helper()
	ents, err := os.ReadDir(f.root)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestFloorWrite(t *testing.T) {
	tests := []struct {
		name        string
		path        string
		wantCreated bool
		wantMode    os.FileMode
	}{
		{"overwrite keeps the mode", "a.txt", false, 0o640},
		{"create", "new.txt", true, 0o644},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFloor(t, map[string]string{"a.txt": "old content\n"})
			content := "new\x00content\n" + strings.Repeat("x", 5000)
			v, err := f.write(mustJSON(t, map[string]any{"path": tt.path, "content": content}))
			if err != nil {
				t.Fatalf("write(%s) error: %v", tt.path, err)
			}
			if got := v.(writeResult); got.Created != tt.wantCreated || got.Size != int64(len(content)) || got.SHA256 != sum(content) {
				t.Errorf("write(%s) = %+v, want created %v, size %d, sha256 %s", tt.path, got, tt.wantCreated, len(content), sum(content))
			}
			got, err := os.ReadFile(filepath.Join(f.root, tt.path))
			if err != nil || string(got) != content {
				t.Fatalf("after write, %s holds %q (%v), want the %d bytes written", tt.path, got, err, len(content))
			}
			fi, err := os.Stat(filepath.Join(f.root, tt.path))
			if err != nil || fi.Mode().Perm() != tt.wantMode {
				t.Errorf("after write, mode of %s = %v (%v), want %v", tt.path, fi.Mode().Perm(), err, tt.wantMode)
			}
			want := []string{"a.txt"}
			if tt.wantCreated {
				want = append(want, tt.path)
			}
			slices.Sort(want)
			if names := dirNames(t, f); !slices.Equal(names, want) {
				t.Errorf("after write, directory holds %v, want %v", names, want)
			}
		})
	}
}

func TestFloorEdit(t *testing.T) {
	const before = "one\ntwo\nthree\ntwo-two\n"
	tests := []struct {
		name     string
		old, new string
		want     string // "" when the edit must fail
	}{
		{"one exact replacement", "three", "THREE", "one\ntwo\nTHREE\ntwo-two\n"},
		{"old text twice", "two", "2", ""},
		{"old text missing", "four", "4", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFloor(t, map[string]string{"f.txt": before})
			v, err := f.edit(mustJSON(t, map[string]any{"path": "f.txt", "edits": []map[string]string{{"old": tt.old, "new": tt.new}}}))
			got, rerr := os.ReadFile(filepath.Join(f.root, "f.txt"))
			if rerr != nil {
				t.Fatal(rerr)
			}
			if tt.want == "" {
				if err == nil || string(got) != before {
					t.Errorf("edit(%q→%q) = %v, file %q; want an error and the file unchanged", tt.old, tt.new, err, got)
				}
			} else {
				if err != nil || string(got) != tt.want {
					t.Fatalf("edit(%q→%q) = %v, file %q; want file %q", tt.old, tt.new, err, got, tt.want)
				}
				diff := v.(editResult).Diff
				if !strings.Contains(diff, "\n-"+tt.old+"\n") || !strings.Contains(diff, "\n+"+tt.new+"\n") {
					t.Errorf("edit(%q→%q) diff = %q, want -%s and +%s lines", tt.old, tt.new, diff, tt.old, tt.new)
				}
			}
			if names := dirNames(t, f); !slices.Equal(names, []string{"f.txt"}) {
				t.Errorf("after edit, directory holds %v, want only f.txt", names)
			}
		})
	}
}
