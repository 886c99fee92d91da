package connectortest

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// SandboxEnv is set in the environment of a test that [Sandboxed] re-runs
// inside the sandbox.
const SandboxEnv = "WARDEN_TEST_SANDBOXED"

// Sandboxed runs the calling test inside a bubblewrap sandbox in which the
// whole file system is read-only except a fresh, empty tmpfs mounted at a
// temporary directory, which is also the sandboxed test's TMPDIR (so
// t.TempDir works there, and fsync costs nothing). Attack corpora use it:
// if a guard fails, the attack cannot change the machine.
//
// In the sandboxed process it returns true and the test goes on. Outside,
// it re-runs the current test binary under bwrap for just this test,
// reports the run's failure (with its output) as the test's failure, and
// returns false: the caller must return. Without bwrap the test is skipped.
//
//	func TestCorpus(t *testing.T) {
//		if !connectortest.Sandboxed(t) {
//			return
//		}
//		…
//	}
func Sandboxed(t *testing.T) bool {
	t.Helper()
	if os.Getenv(SandboxEnv) != "" {
		return true
	}
	bwrap, err := exec.LookPath("bwrap")
	if err != nil {
		t.Skip("bwrap is not installed; this test runs only inside a sandbox")
	}
	dir := t.TempDir()
	var run []string
	for _, part := range strings.Split(t.Name(), "/") {
		run = append(run, "^"+regexp.QuoteMeta(part)+"$")
	}
	ctx := context.Background()
	if d, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d.Add(-5*time.Second))
		defer cancel()
	}
	args := []string{
		"--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", dir,
		"--die-with-parent", "--",
		os.Args[0], "-test.run=" + strings.Join(run, "/"), "-test.count=1", "-test.v",
	}
	if testing.Short() {
		args = append(args, "-test.short")
	}
	cmd := exec.CommandContext(ctx, bwrap, args...)
	cmd.Env = append(os.Environ(), SandboxEnv+"=1", "TMPDIR="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil && strings.HasPrefix(string(out), "bwrap:") {
		t.Skipf("bwrap cannot create a sandbox here: %s", strings.TrimSpace(string(out)))
	}
	if err != nil {
		t.Errorf("the sandboxed run of %s failed (%v):\n%s", t.Name(), err, out)
		return false
	}
	if strings.Contains(string(out), "--- SKIP: "+t.Name()+" ") {
		// The test skipped itself inside (say, its corpus is missing): so
		// does the outer run, with the inner reason.
		t.Skipf("skipped inside the sandbox:\n%s", out)
	}
	if !strings.Contains(string(out), "--- PASS: "+t.Name()+" ") {
		t.Errorf("the sandboxed run did not run %s:\n%s", t.Name(), out)
		return false
	}
	t.Logf("ran in a read-only sandbox (bwrap); only %s was writable", dir)
	return false
}
