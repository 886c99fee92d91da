package fs_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	policyfile "github.com/warden-dev/warden/internal/policy"
)

// TestBroadRoots pins the roots that once loaded without a word: an empty
// root (silently the policy's directory) and / or a system directory
// (where etc/shadow was readable and Landlock narrowed nothing).
func TestBroadRoots(t *testing.T) {
	base := t.TempDir()
	if err := os.Mkdir(filepath.Join(base, "notes"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/", filepath.Join(base, "slash")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc", filepath.Join(base, "etc-link")); err != nil {
		t.Fatal(err)
	}
	up := strings.Repeat("../", strings.Count(base, "/")+2)
	tests := []struct {
		name, root, extra string
		wantErr           string // "" means it compiles
		wantWarn          string
	}{
		{name: "empty", root: `""`, wantErr: `root is empty (write root: . for the policy's own directory`},
		{name: "blank", root: `"  "`, wantErr: `root is empty`},
		{name: "slash", root: `/`, wantErr: `root "/" is the file system's root /, which would expose the whole system`},
		{name: "etc", root: `/etc`, wantErr: `root "/etc" is the system directory /etc`},
		{name: "etc trailing slash", root: `/etc/`, wantErr: `is the system directory /etc`},
		{name: "usr", root: `/usr`, wantErr: `is the system directory /usr`},
		{name: "tmp", root: `/tmp`, wantErr: `is the system directory /tmp`},
		{name: "dot-dot to slash", root: up, wantErr: `is the file system's root /`},
		{name: "symlink to slash", root: `./slash`, wantErr: `root "./slash" is the file system's root /`},
		{name: "symlink to etc", root: `./etc-link`, wantErr: `is the system directory /etc`},
		{name: "allowed", root: `/`, extra: "allow_broad_root: true", wantWarn: `root "/" is the file system's root / (allow_broad_root: true)`},
		{name: "allow must be a boolean", root: `/`, extra: `allow_broad_root: "yes"`, wantErr: `allow_broad_root must be true or false`},
		{name: "subdirectory", root: `./notes`},
		{name: "below a system directory", root: `/usr/share`},
		{name: "dot", root: `.`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			extra := ""
			if tt.extra != "" {
				extra = ", " + tt.extra
			}
			src := fmt.Sprintf("version: 1\nresources:\n  files: {kind: fs, root: %s%s}\nagents:\n  a:\n    grants:\n      - {resource: files, actions: [read]}\n", tt.root, extra)
			p, err := policyfile.Compile([]byte(src), policyfile.WithSource("warden.yaml"), policyfile.WithBaseDir(base))
			if tt.wantErr != "" {
				var errs policyfile.Errors
				if !errors.As(err, &errs) {
					t.Fatalf("Compile(root: %s) = %v, want an error containing %q", tt.root, err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "warden.yaml:3:") {
					t.Errorf("Compile(root: %s) error = %q, want it at warden.yaml:3 and containing %q", tt.root, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Compile(root: %s) = %v", tt.root, err)
			}
			var warns []string
			for _, w := range p.Warnings() {
				warns = append(warns, w.Error())
			}
			if got := strings.Join(warns, "\n"); tt.wantWarn == "" && got != "" || !strings.Contains(got, tt.wantWarn) {
				t.Errorf("Compile(root: %s) warnings = %q, want %q", tt.root, got, tt.wantWarn)
			}
		})
	}
}
