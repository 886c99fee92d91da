package e2e

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// sandboxEnv marks a test process re-executed inside bubblewrap; its value
// is the one directory the process may write to.
const sandboxEnv = "WARDEN_E2E_SANDBOX"

// sandboxed runs the calling top-level test inside a mount namespace where
// everything but one temporary directory is read-only, because its cases
// are real attacks and CI runs as root: a guard that fails must not be able
// to write outside that directory. Outside the sandbox it re-executes the
// test binary under bwrap for this test (keeping any -run sub-pattern),
// reports the inner result, and returns false; inside it checks that the
// sandbox holds and returns true. It skips, loudly, without bwrap.
func sandboxed(t *testing.T) bool {
	t.Helper()
	return sandboxedWith(t, sandboxOptions{})
}

// sandboxOptions add to the sandbox: bwrap arguments placed before the
// command (more namespaces, files bound over system ones) and environment
// variables for the re-executed test.
type sandboxOptions struct {
	args func(dir string) []string
	env  []string
}

// sandboxedWith is sandboxed with more isolation: opts.args gets the
// writable directory, where it may have written files to bind.
func sandboxedWith(t *testing.T, opts sandboxOptions) bool {
	t.Helper()
	if dir := os.Getenv(sandboxEnv); dir != "" {
		mustBeSandboxed(t, dir)
		return true
	}
	bwrap, err := exec.LookPath("bwrap")
	if err != nil {
		t.Skip("SKIPPED: bwrap (bubblewrap) is not installed; these cases are real attacks and run only inside a read-only mount namespace. Install bubblewrap (.ci/run does).")
	}
	dir := t.TempDir()
	args := []string{"--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--bind", dir, dir, "--die-with-parent"}
	if opts.args != nil {
		args = append(args, opts.args(dir)...)
	}
	args = append(args, "--", os.Args[0], "-test.run", innerRunPattern(t.Name()), "-test.v", "-test.count=1", "-test.parallel=4")
	if d, ok := t.Deadline(); ok {
		args = append(args, "-test.timeout", time.Until(d).Round(time.Second).String())
	}
	if testing.Short() {
		args = append(args, "-test.short")
	}
	cmd := exec.Command(bwrap, args...)
	cmd.Env = append(append(os.Environ(), opts.env...), sandboxEnv+"="+dir, "TMPDIR="+dir, "GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err = cmd.Run()
	log := out.String()
	switch {
	case err != nil:
		t.Errorf("%s inside bwrap failed (%v) after %v; its output (without the servers' logs unless -v):\n%s", t.Name(), err, time.Since(start).Round(time.Millisecond), withoutServerLogs(log))
	case strings.Contains(log, "--- SKIP: "+t.Name()+" "):
		t.Skipf("skipped inside bwrap:\n%s", log)
	case !strings.Contains(log, "--- PASS: "+t.Name()+" "):
		t.Errorf("%s did not run inside bwrap; its output:\n%s", t.Name(), log)
	case testing.Verbose():
		t.Logf("output inside bwrap:\n%s", log)
	}
	return false
}

// withoutServerLogs drops the warden servers' log lines from a test's
// output, unless the run is verbose: on failure they would bury the
// failures.
func withoutServerLogs(log string) string {
	if testing.Verbose() {
		return log
	}
	var b strings.Builder
	for _, line := range strings.SplitAfter(log, "\n") {
		if !strings.Contains(line, "warden: time=") {
			b.WriteString(line)
		}
	}
	return b.String()
}

// innerRunPattern is the -test.run pattern for the re-executed test: this
// test, plus whatever sub-test pattern the outer run asked for.
func innerRunPattern(name string) string {
	p := "^" + regexp.QuoteMeta(name) + "$"
	if f := flag.Lookup("test.run"); f != nil {
		if _, rest, ok := strings.Cut(f.Value.String(), "/"); ok {
			p += "/" + rest
		}
	}
	return p
}

// mustBeSandboxed fails the test unless writing outside dir is refused by
// the kernel: a sandbox that does not hold would let the attacks loose.
func mustBeSandboxed(t *testing.T, dir string) {
	t.Helper()
	probe := filepath.Join(filepath.Dir(dir), fmt.Sprintf("warden-sandbox-probe-%d", os.Getpid()))
	err := os.WriteFile(probe, []byte("x"), 0o644)
	if err == nil {
		os.Remove(probe)
		t.Fatalf("%s=%s but %s is writable: the sandbox does not hold", sandboxEnv, dir, probe)
	}
	if !errors.Is(err, os.ErrPermission) && !strings.Contains(err.Error(), "read-only file system") {
		t.Fatalf("sandbox probe %s: unexpected error %v", probe, err)
	}
	if !strings.HasPrefix(t.TempDir(), dir) {
		t.Fatalf("t.TempDir() is outside the sandbox's writable %s", dir)
	}
}
