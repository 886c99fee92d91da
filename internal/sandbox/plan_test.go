package sandbox

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Plan never restricts, so these run in the test process itself.

func TestPlan(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "policy.yaml")
	mustWrite(t, file, "version: 1\n")
	missing := filepath.Join(dir, "missing")

	tests := []struct {
		name      string
		in        []Path
		want      []Path
		wantNotes []string
	}{
		{
			name: "directory and file detected",
			in:   []Path{{Path: dir, Why: "root"}, {Path: file, Dir: true, Why: "policy"}},
			want: []Path{{Path: dir, Dir: true, Why: "root"}, {Path: file, Why: "policy"}},
		},
		{
			name:      "missing skipped and noted",
			in:        []Path{{Path: missing, Access: Write, Why: "state"}, {Path: dir, Why: "root"}},
			want:      []Path{{Path: dir, Dir: true, Why: "root"}},
			wantNotes: []string{"skipped missing " + missing + " (state)"},
		},
		{
			name: "duplicates merged with the wider access",
			in:   []Path{{Path: dir, Why: "root"}, {Path: dir + "/", Access: Write, Why: "state"}, {Path: dir, Why: "root"}},
			want: []Path{{Path: dir, Access: Write, Dir: true, Why: "root, state"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Plan(tt.in)
			if err != nil {
				t.Fatalf("Plan(%v) error: %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, r.Paths); diff != "" {
				t.Errorf("Plan(%v) paths mismatch (-want +got):\n%s", tt.in, diff)
			}
			for _, n := range tt.wantNotes {
				if !containsString(r.Notes, n) {
					t.Errorf("Plan(%v) notes = %q, want one %q", tt.in, r.Notes, n)
				}
			}
			if r.Enforced || r.Mode == ModeEnforced {
				t.Errorf("Plan(%v) = %+v, claims enforcement", tt.in, r)
			}
		})
	}
}

// TestPlan_refusesToRestrictToNothing checks Plan's refusals; TestRestrict_refuses
// checks, in a child process, that Restrict refuses the same and restricts
// nothing.
func TestPlan_refusesToRestrictToNothing(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	tests := []struct {
		name    string
		in      []Path
		wantErr string
	}{
		{"empty", nil, "no paths"},
		{"relative", []Path{{Path: "notes"}}, `path "notes" is not absolute`},
		{"all missing", []Path{{Path: missing}}, "none of the 1 paths exists"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Plan(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Plan(%v) error = %v, want one containing %q", tt.in, err, tt.wantErr)
			}
		})
	}
}

func TestSystemPaths(t *testing.T) {
	t.Setenv("SSL_CERT_FILE", "relative.pem") // ignored: not absolute
	t.Setenv("SSL_CERT_DIR", t.TempDir())
	paths := SystemPaths()
	if len(paths) == 0 {
		t.Fatal("SystemPaths() is empty")
	}
	sawCertDir := false
	for _, p := range paths {
		fi, err := os.Stat(p.Path)
		if err != nil {
			t.Errorf("SystemPaths() lists %s, which does not exist: %v", p, err)
			continue
		}
		if fi.IsDir() != p.Dir {
			t.Errorf("SystemPaths() lists %s with Dir %v, but IsDir is %v", p, p.Dir, fi.IsDir())
		}
		if p.Access == Write && p.Path != "/dev/null" {
			t.Errorf("SystemPaths() lists %s writable; only /dev/null may be", p)
		}
		for _, private := range []string{"/etc/ssl/private", "/etc/pki/tls/private", "/etc/ssl", "/etc", "/"} {
			if p.Path == private {
				t.Errorf("SystemPaths() lists %s, which holds private keys", p)
			}
		}
		if p.Path == "relative.pem" {
			t.Errorf("SystemPaths() lists a relative SSL_CERT_FILE")
		}
		sawCertDir = sawCertDir || strings.Contains(p.Why, "SSL_CERT_DIR")
	}
	if !sawCertDir {
		t.Errorf("SystemPaths() = %v, want the SSL_CERT_DIR directory", paths)
	}
}

func TestReport_String(t *testing.T) {
	tests := []struct {
		r    Report
		want string
	}{
		{Report{Supported: true, ABI: 7, Enforced: true, Mode: ModeEnforced, Paths: make([]Path, 6)}, "landlock: enforced (ABI 7), 6 paths"},
		{Report{Supported: true, ABI: 3, Enforced: true, Mode: ModeEnforced, Paths: make([]Path, 1), Notes: []string{"a", "b"}}, "landlock: enforced (ABI 3), 1 path (a; b)"},
		{Report{Supported: true, ABI: 7, Mode: ModeAvailable}, "landlock: available (ABI 7), not enforced"},
		{Report{Mode: ModeUnsupported}, "landlock: unsupported by this kernel"},
		{Report{Supported: true, ABI: 7, Mode: ModeDisabled}, "landlock: disabled"},
	}
	for _, tt := range tests {
		if got := tt.r.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.r, got, tt.want)
		}
	}
}

func TestSameFileSystem(t *testing.T) {
	dir := t.TempDir()
	same, err := SameFileSystem(dir, filepath.Join(dir, "not", "yet", "created"))
	if err != nil || !same {
		t.Errorf("SameFileSystem(%s, a path beneath it) = %v, %v; want true", dir, same, err)
	}
	if _, err := os.Stat("/proc/self"); err != nil {
		t.Skip("no /proc to compare against")
	}
	same, err = SameFileSystem(dir, "/proc/self")
	if err != nil || same {
		t.Errorf("SameFileSystem(%s, /proc/self) = %v, %v; want false", dir, same, err)
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
