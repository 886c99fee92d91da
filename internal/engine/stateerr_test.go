package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warden-dev/warden/internal/policy"
)

// TestNew_StateDirectoryErrors pins what an operator reads when the state
// directory cannot be used: which part, the directory, the cause once, and
// no Go function name.
func TestNew_StateDirectoryErrors(t *testing.T) {
	tests := []struct {
		name    string
		arrange func(t *testing.T, dir string)
		want    string
	}{
		{"a file where the directory should be", func(t *testing.T, dir string) {
			mustWriteFile(t, filepath.Join(dir, "state"), "x")
		}, "cannot create the state directory {dir}/state: not a directory"},
		{"a directory where the audit log should be", func(t *testing.T, dir string) {
			if err := os.MkdirAll(filepath.Join(dir, "state", "audit.log"), 0o700); err != nil {
				t.Fatal(err)
			}
		}, "cannot open the audit log in the state directory {dir}/state: "},
		{"a file where the approvals directory should be", func(t *testing.T, dir string) {
			if err := os.MkdirAll(filepath.Join(dir, "state"), 0o700); err != nil {
				t.Fatal(err)
			}
			mustWriteFile(t, filepath.Join(dir, "state", "approvals"), "x")
		}, "cannot open the approvals in the state directory {dir}/state: approvals: not a directory"},
		{"a file where the journal directory should be", func(t *testing.T, dir string) {
			if err := os.MkdirAll(filepath.Join(dir, "state"), 0o700); err != nil {
				t.Fatal(err)
			}
			mustWriteFile(t, filepath.Join(dir, "state", "journal"), "x")
		}, "cannot open the undo journal in the state directory {dir}/state: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.arrange(t, dir)
			if err := os.Mkdir(filepath.Join(dir, "notes"), 0o700); err != nil {
				t.Fatal(err)
			}
			src := "version: 1\nsettings:\n  state_dir: ./state\nresources:\n  notes: {kind: fs, root: ./notes}\nagents:\n  bot:\n    grants:\n      - {resource: notes, actions: [read]}\n"
			p, err := policy.Compile([]byte(src), policy.WithBaseDir(dir))
			if err != nil {
				t.Fatal(err)
			}
			e, err := New(context.Background(), p, Options{})
			if err == nil {
				e.Close()
				t.Fatal("New = nil error, want one")
			}
			var se *StateError
			if !errors.As(err, &se) {
				t.Errorf("New error %q (%T) is not a *StateError", err, err)
			}
			want := strings.ReplaceAll(tt.want, "{dir}", dir)
			got := err.Error()
			if strings.HasSuffix(want, ": ") && !strings.HasPrefix(got, want) || !strings.HasSuffix(want, ": ") && got != want {
				t.Errorf("New error = %q\nwant           %q", got, want)
			}
			if strings.Contains(got, "engine.New") || strings.Contains(got, "open approvals") || strings.Contains(got, "audit open") {
				t.Errorf("New error %q names an operation", got)
			}
		})
	}
}

func mustWriteFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
