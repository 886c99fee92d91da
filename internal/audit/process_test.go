package audit

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The helper process appends to a log when the test binary is re-executed
// with these variables set: WARDEN_AUDIT_HELPER is "append" (append
// WARDEN_AUDIT_N records, then exit) or "loop" (append until killed).
const (
	envHelper = "WARDEN_AUDIT_HELPER"
	envDir    = "WARDEN_AUDIT_DIR"
	envN      = "WARDEN_AUDIT_N"
)

func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(envHelper)
	if mode == "" {
		t.Skip("only runs as a helper process")
	}
	l, err := Open(os.Getenv(envDir), Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	pid := strconv.Itoa(os.Getpid())
	big := `{"data":"` + strings.Repeat("z", 256<<10) + `"}`
	n, _ := strconv.Atoi(os.Getenv(envN))
	for i := 0; mode == "loop" || i < n; i++ {
		rec := callRecord(i)
		rec.Agent = "pid-" + pid
		if mode == "loop" && i%4 == 3 {
			// Big records make a kill in the middle of a write likely.
			rec.Args = []byte(big)
		}
		if _, err := l.Append(context.Background(), rec); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if i == 0 {
			fmt.Println("appending") // tells the parent we are under way
		}
	}
	if err := l.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// helperCmd returns a command re-running this test binary as a helper.
func helperCmd(tb testing.TB, mode, dir string, n int) *exec.Cmd {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), envHelper+"="+mode, envDir+"="+dir, envN+"="+strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	return cmd
}

func TestLog_Append_multiProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	const children, each, parent = 3, 200, 200
	dir := t.TempDir()
	l := newLog(t, dir, Options{})

	var wg sync.WaitGroup
	for range children {
		cmd := helperCmd(t, "append", dir, each)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			if err := cmd.Wait(); err != nil {
				t.Errorf("helper process: %v", err)
			}
		})
	}
	for i := range parent {
		mustAppend(t, l, callRecord(i))
	}
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	const total = children*each + parent
	rep := mustVerify(t, dir, VerifyOptions{})
	wantOK(t, rep)
	if rep.Records != total || rep.Unanchored != 0 || rep.Partial != "" {
		t.Errorf("Verify() = %s, want %d records, all anchored, no partial", rep, total)
	}
	recs := readAll(t, dir)
	checkChain(t, recs)
	perAgent := make(map[string]int)
	for _, r := range recs {
		perAgent[r.Agent]++
	}
	if len(perAgent) != children+2 { // each child's pid, plus alice and bob
		t.Errorf("records by agent = %v, want %d agents", perAgent, children+2)
	}
}

func TestLog_Append_survivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	var partials, unanchored int
	for i := range 20 {
		cmd := helperCmd(t, "loop", dir, 0)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Wait until the child has appended once, then kill it at a
		// random moment.
		buf := make([]byte, len("appending"))
		if _, err := out.Read(buf); err != nil {
			t.Fatalf("round %d: helper did not start: %v", i, err)
		}
		time.Sleep(time.Duration(rand.IntN(20_000)) * time.Microsecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()

		rep := mustVerify(t, dir, VerifyOptions{})
		if !rep.OK {
			t.Fatalf("round %d: Verify() after SIGKILL = %s, want OK", i, rep)
		}
		if rep.Partial != "" {
			partials++
		}
		unanchored += rep.Unanchored

		l, err := Open(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		r, err := l.Append(context.Background(), &Record{Event: "start"})
		if err != nil {
			t.Fatalf("round %d: Append() after SIGKILL error: %v", i, err)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		rep = mustVerify(t, dir, VerifyOptions{})
		if !rep.OK || rep.Partial != "" || rep.Unanchored != 0 || rep.LastSeq != r.Seq {
			t.Fatalf("round %d: Verify() after recovery = %s, want OK up to seq %d, nothing partial or unanchored", i, rep, r.Seq)
		}
	}
	t.Logf("kills left %d partial records and %d records after the head", partials, unanchored)
}
