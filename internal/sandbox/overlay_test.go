package sandbox_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warden-dev/warden/internal/sandbox"
	"github.com/warden-dev/warden/internal/sandbox/inside"
)

// A directory with a scratch directory is an overlay: the program reads
// and changes it, the host's stays unchanged and the changes are in the
// upper directory, a removal as a whiteout.
func TestRun_overlayKeepsChangesApart(t *testing.T) {
	needSandbox(t)
	dir, scratch := t.TempDir(), t.TempDir()
	write(t, filepath.Join(dir, "old"), "old\n")
	write(t, filepath.Join(dir, "gone"), "gone\n")
	for _, d := range []string{sandbox.ScratchUpper, sandbox.ScratchWork} {
		if err := os.Mkdir(filepath.Join(scratch, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	r := run(t, sandbox.Command{
		Program: "/bin/sh",
		Args:    []string{"-c", "cat old && echo new > old && echo made > made && rm gone && mkdir sub"},
		Dir:     dir,
		Paths:   []sandbox.Path{{Path: dir, Access: sandbox.Write, Scratch: scratch}},
	})
	if r.ExitCode != 0 || string(r.Stdout) != "old\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.ExitCode, r.Stdout, r.Stderr)
	}
	for name, want := range map[string]string{"old": "old\n", "gone": "gone\n"} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(b) != want {
			t.Errorf("host %s: %q, %v; want it unchanged", name, b, err)
		}
	}
	for _, name := range []string{"made", "sub"} {
		if _, err := os.Lstat(filepath.Join(dir, name)); !os.IsNotExist(err) {
			t.Errorf("host %s exists (%v); want the change kept apart", name, err)
		}
	}
	upper := filepath.Join(scratch, sandbox.ScratchUpper)
	if b, err := os.ReadFile(filepath.Join(upper, "old")); err != nil || string(b) != "new\n" {
		t.Errorf("upper old: %q, %v", b, err)
	}
	if fi, err := os.Lstat(filepath.Join(upper, "gone")); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		t.Errorf("upper gone: %v, %v; want a whiteout", fi, err)
	}
}

// A scratch directory beyond the launcher's envelope is refused.
func TestLauncher_scratchBeyondEnvelope(t *testing.T) {
	needSandbox(t)
	dir, scratch := t.TempDir(), t.TempDir()
	l, err := sandbox.StartLauncher(sandbox.Envelope{Programs: []string{"/bin/true"}, Paths: []sandbox.Path{{Path: dir, Access: sandbox.Write}}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = l.Run(t.Context(), sandbox.Command{Program: "/bin/true", Paths: []sandbox.Path{{Path: dir, Access: sandbox.Write, Scratch: scratch}}})
	var ce *sandbox.CommandError
	if !errors.As(err, &ce) {
		t.Fatalf("err %v, want a CommandError", err)
	}
}

// An overlay that cannot be mounted (here: no upper directory) is a
// SetupError naming it, and nothing runs.
func TestRun_overlayFailsClosed(t *testing.T) {
	needSandbox(t)
	dir, scratch := t.TempDir(), t.TempDir()
	_, err := sandbox.Run(t.Context(), sandbox.Command{
		Program: "/bin/sh",
		Args:    []string{"-c", "echo ran > ran"},
		Dir:     dir,
		Paths:   []sandbox.Path{{Path: dir, Access: sandbox.Write, Scratch: scratch}},
	})
	var se *sandbox.SetupError
	if !errors.As(err, &se) || se.Layer != sandbox.LayerNamespaces || !strings.Contains(err.Error(), "overlay on "+dir) {
		t.Fatalf("err %v, want a SetupError naming the overlay", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("something ran: %v", entries)
	}
}

// Without the sandbox's own mounts (a test switching them off), a Path
// with a scratch directory is refused: the program would change the host's
// directory itself. Landlock stays on.
func TestRun_overlayNeedsNamespaces(t *testing.T) {
	needSandbox(t)
	sandbox.SwitchOff(t, sandbox.LayerNamespaces)
	dir, scratch := t.TempDir(), t.TempDir()
	_, err := sandbox.Run(t.Context(), sandbox.Command{
		Program: "/bin/sh",
		Args:    []string{"-c", "echo ran > ran"},
		Dir:     dir,
		Paths:   []sandbox.Path{{Path: dir, Access: sandbox.Write, Scratch: scratch}},
	})
	var se *sandbox.SetupError
	if !errors.As(err, &se) || se.Layer != sandbox.LayerNamespaces {
		t.Fatalf("err %v, want a SetupError", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("something ran: %v", entries)
	}
}

// The names a caller makes are the ones the sandbox's first process
// mounts.
func TestScratchNames(t *testing.T) {
	if sandbox.ScratchUpper != inside.ScratchUpper || sandbox.ScratchWork != inside.ScratchWork {
		t.Errorf("scratch names differ: %s/%s, inside %s/%s", sandbox.ScratchUpper, sandbox.ScratchWork, inside.ScratchUpper, inside.ScratchWork)
	}
}
