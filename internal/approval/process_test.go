package approval

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// helperDirEnv, when set, turns TestHelperProcess into one racing process
// that uses the store in that directory.
const helperDirEnv = "WARDEN_APPROVAL_HELPER_DIR"

// TestStore_Request_processes checks the flock: processes racing to use one
// approval see exactly one Proceed between them.
func TestStore_Request_processes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	const n = 3
	dir := t.TempDir()
	s := newStore(t, dir, nil)
	a, _ := mustRequest(t, s, defaultCall)
	mustDecide(t, s, a.ID, true)

	start := filepath.Join(dir, "start")
	cmds := make([]*exec.Cmd, n)
	outs := make([]*bytes.Buffer, n)
	for i := range cmds {
		outs[i] = new(bytes.Buffer)
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), helperDirEnv+"="+dir)
		cmd.Stdout = outs[i]
		cmd.Stderr = outs[i]
		if err := cmd.Start(); err != nil {
			t.Fatalf("start helper %d: %v", i, err)
		}
		cmds[i] = cmd
	}
	// Release all helpers at once, after each has opened its store.
	if err := os.WriteFile(start, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("helper %d: %v\n%s", i, err, outs[i])
		}
		out, ok := helperOutcome(outs[i].String())
		if !ok {
			t.Fatalf("helper %d printed no outcome:\n%s", i, outs[i])
		}
		counts[out]++
	}
	want := map[string]int{Proceed.String(): 1, Created.String(): 1, Pending.String(): n - 2}
	if diff := cmp.Diff(want, counts); diff != "" {
		t.Errorf("outcomes of %d racing processes mismatch (-want +got):\n%s", n, diff)
	}
	if got := mustGet(t, s, a.ID).Status; got != StatusUsed {
		t.Errorf("Get(%s).Status after the race = %s, want %s", a.ID, got, StatusUsed)
	}
}

func helperOutcome(out string) (string, bool) {
	for line := range strings.Lines(out) {
		if o, ok := strings.CutPrefix(strings.TrimSpace(line), "outcome="); ok {
			return o, true
		}
	}
	return "", false
}

// TestHelperProcess is not a test: it is one process of
// TestStore_Request_processes, and skips unless started by it.
func TestHelperProcess(t *testing.T) {
	dir := os.Getenv(helperDirEnv)
	if dir == "" {
		t.Skip("helper process for TestStore_Request_processes")
	}
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("Open(%q) error: %v", dir, err)
	}
	if err := waitForFile(filepath.Join(dir, "start"), 30*time.Second); err != nil {
		t.Fatal(err)
	}
	_, out, err := s.Request(defaultCall)
	if err != nil {
		t.Fatalf("Request() error: %v", err)
	}
	fmt.Printf("outcome=%s\n", out)
}

func waitForFile(path string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		_, err := os.Stat(path)
		if err == nil {
			return nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("wait for %s: timed out after %v", path, timeout)
		}
		time.Sleep(time.Millisecond)
	}
}
