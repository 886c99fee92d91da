package cli

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/warden-dev/warden/internal/policy"
	"github.com/warden-dev/warden/internal/sandbox"
)

const confinePolicy = `version: 1
resources:
  notes: {kind: fs, root: ./notes}
  drafts: {kind: fs, root: ./drafts}
agents:
  bot:
    grants:
      - {resource: notes, actions: [read, list]}
      - {resource: drafts, actions: [read]}
  ci:
    token: file:token.txt
    grants:
      - {resource: drafts, actions: [write], approval: required}
`

// confineFixture writes the policy above with its roots and secret file
// into base, and a private key outside everything in home.
func confineFixture(t *testing.T) (base, home string) {
	t.Helper()
	base, home = t.TempDir(), t.TempDir()
	files := map[string]string{
		filepath.Join(base, "warden.yaml"):          confinePolicy,
		filepath.Join(base, "token.txt"):            "WARDEN-CI-TOKEN\n",
		filepath.Join(base, "notes", "a.txt"):       "alpha\n",
		filepath.Join(base, "drafts", "x", "f.txt"): "draft\n",
		filepath.Join(home, ".ssh", "id_rsa"):       "WARDEN-PRIVATE-KEY\n",
	}
	for p, content := range files {
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return base, home
}

func TestLandlockPaths(t *testing.T) {
	base, _ := confineFixture(t)
	p, err := policy.Load(filepath.Join(base, "warden.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := landlockPaths(p)
	if err != nil {
		t.Fatalf("landlockPaths() error: %v", err)
	}
	want := append([]sandbox.Path{
		{Path: filepath.Join(base, "notes"), Access: sandbox.Read, Dir: true, Why: "resource notes (read)"},
		{Path: filepath.Join(base, "drafts"), Access: sandbox.Write, Dir: true, Why: "resource drafts (write)"},
		{Path: filepath.Join(base, ".warden"), Access: sandbox.Write, Dir: true, Why: "state directory"},
		{Path: filepath.Join(base, "warden.yaml"), Access: sandbox.Read, Why: "policy file"},
		{Path: filepath.Join(base, "token.txt"), Access: sandbox.Read, Why: "secret file"},
	}, sandbox.SystemPaths()...)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("landlockPaths() mismatch (-want +got):\n%s", diff)
	}
}

func TestLandlockPaths_defaultPolicyHasNoFile(t *testing.T) {
	dir := t.TempDir()
	p, err := policy.Default(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := landlockPaths(p)
	if err != nil {
		t.Fatalf("landlockPaths(default) error: %v", err)
	}
	for _, path := range got[:2] {
		if !strings.HasPrefix(path.Path, dir) {
			t.Errorf("landlockPaths(default) = %v, want the root and the state directory first", got)
		}
	}
	for _, path := range got {
		if path.Why == "policy file" {
			t.Errorf("landlockPaths(default) lists %v, but the default policy has no file", path)
		}
	}
}

// The confine child: the test binary re-executed with envConfineChild set
// to a policy file loads it, confines itself as serve does, tries each
// access and prints "name outcome" lines. The test process itself is never
// confined.
const (
	envConfineChild = "WARDEN_CLI_CONFINE_POLICY"
	envConfineHome  = "WARDEN_CLI_CONFINE_HOME"
)

func TestConfineChild(t *testing.T) {
	file := os.Getenv(envConfineChild)
	if file == "" {
		t.Skip("runs only as the child of TestConfine")
	}
	base, home := filepath.Dir(file), os.Getenv(envConfineHome)
	p, err := policy.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	// The engine creates the state directory before serve confines itself.
	if err := os.MkdirAll(filepath.Join(p.Settings().StateDir, "journal", "objects"), 0o700); err != nil {
		t.Fatal(err)
	}
	r, err := confine(p)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("mode", r.Mode)
	drafts := filepath.Join(base, "drafts")
	probes := []struct {
		name string
		try  func() error
	}{
		{"read-notes", func() error { _, err := os.ReadFile(filepath.Join(base, "notes", "a.txt")); return err }},
		{"write-notes", func() error { return os.WriteFile(filepath.Join(base, "notes", "a.txt"), []byte("x"), 0o600) }},
		{"read-ssh-key", func() error { _, err := os.ReadFile(filepath.Join(home, ".ssh", "id_rsa")); return err }},
		{"read-secret-file", func() error { _, err := os.ReadFile(filepath.Join(base, "token.txt")); return err }},
		{"write-policy", func() error { return os.WriteFile(file, []byte("x"), 0o600) }},
		{"create-beside-policy", func() error { return os.WriteFile(filepath.Join(base, "evil.txt"), []byte("x"), 0o600) }},
		{"write-drafts", func() error { return os.WriteFile(filepath.Join(drafts, "new.txt"), []byte("new\n"), 0o600) }},
		{"move-in-drafts", func() error {
			if err := os.Mkdir(filepath.Join(drafts, "y"), 0o700); err != nil {
				return err
			}
			return os.Rename(filepath.Join(drafts, "x", "f.txt"), filepath.Join(drafts, "y", "f.txt"))
		}},
		// What the journal does before a write replaces a file.
		{"link-drafts-to-journal", func() error {
			return os.Link(filepath.Join(drafts, "y", "f.txt"), filepath.Join(p.Settings().StateDir, "journal", "objects", "kept"))
		}},
	}
	for _, pr := range probes {
		err := pr.try()
		switch {
		case err == nil:
			fmt.Println(pr.name, "ok")
		case errors.Is(err, syscall.EACCES):
			fmt.Println(pr.name, "EACCES")
		default:
			fmt.Println(pr.name, "error:", err)
		}
	}
}

// TestConfine proves that the paths serve computes from a policy are
// enough for what it does (read a read-only root, write, move and journal
// in a writable one) and that Landlock then stops a read of a private key
// and changes to the policy, whatever the policy or os.Root would allow.
func TestConfine(t *testing.T) {
	if r := sandbox.Probe(); !r.Supported {
		t.Skipf("LANDLOCK NOT TESTED: %s", r)
	}
	base, home := confineFixture(t)
	file := filepath.Join(base, "warden.yaml")
	cmd := exec.Command(os.Args[0], "-test.run=^TestConfineChild$", "-test.v")
	// testscript.Main keeps a directory in $TMPDIR until the child exits,
	// so it must be one the child may still remove.
	tmp := filepath.Join(base, ".warden", "tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	cmd.Env = append(os.Environ(), envConfineChild+"="+file, envConfineHome+"="+home, "TMPDIR="+tmp)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	got := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if name, result, ok := strings.Cut(sc.Text(), " "); ok && !strings.HasPrefix(name, "=") && !strings.HasPrefix(name, "-") {
			got[name] = result
		}
	}
	want := map[string]string{
		"mode":                   "enforced",
		"read-notes":             "ok",
		"write-notes":            "EACCES",
		"read-ssh-key":           "EACCES",
		"read-secret-file":       "ok",
		"write-policy":           "EACCES",
		"create-beside-policy":   "EACCES",
		"write-drafts":           "ok",
		"move-in-drafts":         "ok",
		"link-drafts-to-journal": "ok",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("confined child mismatch (-want +got):\n%s\noutput:\n%s", diff, out)
	}
	if bytes.Contains(out, []byte("WARDEN-PRIVATE-KEY")) {
		t.Errorf("child printed the private key:\n%s", out)
	}
	// Effects, seen from this unconfined process.
	for path, content := range map[string]string{
		filepath.Join(base, "notes", "a.txt"):                        "alpha\n",
		filepath.Join(base, "warden.yaml"):                           confinePolicy,
		filepath.Join(home, ".ssh", "id_rsa"):                        "WARDEN-PRIVATE-KEY\n",
		filepath.Join(base, "drafts", "new.txt"):                     "new\n",
		filepath.Join(base, ".warden", "journal", "objects", "kept"): "draft\n",
	} {
		if b, err := os.ReadFile(path); err != nil || string(b) != content {
			t.Errorf("ReadFile(%s) = %q, %v; want %q", path, b, err, content)
		}
	}
	if _, err := os.Lstat(filepath.Join(base, "evil.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Lstat(evil.txt) = %v, want it not to exist", err)
	}
}
