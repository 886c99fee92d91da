package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestWriteCrash_SIGKILL kills warden call with SIGKILL at random points
// while it overwrites an 8 MiB file, alternating two known patterns, and
// checks every survivor: the file is byte for byte the old or the new
// content, never torn; the next calls still work (audit and journal recover
// from the torn state); and after a final write no temporary file shows.
func TestWriteCrash_SIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPED in -short: kills 40+ writers of 8 MiB")
	}
	const size = 8 << 20
	const minKills = 40
	bin := bigPayloadWarden(t)
	base, data := newBigWriteFixture(t)
	target := filepath.Join(data, "big.txt")
	contents := map[string][]byte{"A": pattern('A', size), "B": pattern('B', size)}
	args := map[string][]byte{}
	for name, c := range contents {
		raw, err := json.Marshal(map[string]any{"path": "big.txt", "content": string(c), "mode": "overwrite"})
		if err != nil {
			t.Fatal(err)
		}
		args[name] = raw
	}
	other := map[string]string{"A": "B", "B": "A"}

	// Calibrate: one whole call, and how long its write phase lasts (from
	// the temporary file's appearance to the end).
	if err := os.WriteFile(target, contents["B"], 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	w := startWriter(t, bin, base, args["A"])
	tmpSeen := waitTempFile(t, data, w.done, 30*time.Second)
	if <-w.done; w.err != nil {
		t.Fatalf("calibration write: %v", w.err)
	}
	whole := time.Since(start)
	phase := whole - tmpSeen
	if got, _ := os.ReadFile(target); !bytes.Equal(got, contents["A"]) {
		t.Fatalf("calibration write left %s", describeContent(got, contents))
	}
	if tmpSeen == 0 || phase <= 0 {
		t.Logf("no .warden-tmp-* file seen during the calibration write; killing at uniform random delays only")
		phase = whole / 2
	}
	t.Logf("one 8 MiB write through warden call takes %v; its write phase about %v", whole.Round(time.Millisecond), phase.Round(time.Millisecond))

	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	t.Logf("random seed %d", seed)
	deadline := time.Now().Add(150 * time.Second)
	if d, ok := t.Deadline(); ok && d.Add(-30*time.Second).Before(deadline) {
		deadline = d.Add(-30 * time.Second)
	}
	current := "A"
	var kills, attempts, sawNew, sawOld, sawTmp int
	for kills < minKills && attempts < 4*minKills && time.Now().Before(deadline) {
		attempts++
		next := other[current]
		w := startWriter(t, bin, base, args[next])
		// Half the kills land anywhere in the call, half inside the write
		// phase, once its temporary file exists.
		if attempts%2 == 0 && tmpSeen > 0 {
			if waitTempFile(t, data, w.done, whole*2) > 0 {
				sawTmp++
			}
			time.Sleep(time.Duration(rng.Int64N(int64(phase))))
		} else {
			time.Sleep(time.Duration(rng.Int64N(int64(whole))))
		}
		_ = w.cmd.Process.Signal(syscall.SIGKILL)
		<-w.done
		if ws, ok := w.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			kills++
		} else if w.err != nil {
			// It ended by itself: then it must have succeeded.
			t.Fatalf("attempt %d, after %d kills: warden call failed (%v): %s", attempts, kills, w.err, w.out.String())
		}
		// A kill between keeping the old file and the rename leaves the
		// journal's own links to it; those are fine (the next write, which
		// must succeed, shows they do not count as hard links). Any other
		// link is not.
		for _, o := range otherLinks(t, base, target) {
			if !strings.HasPrefix(o, filepath.Join(".warden", "journal", "objects")+string(filepath.Separator)) {
				t.Fatalf("kill %d left big.txt hard-linked to %q", kills, o)
			}
		}
		got, err := os.ReadFile(target)
		switch {
		case err != nil:
			t.Fatalf("kill %d: the file is gone: %v", kills, err)
		case bytes.Equal(got, contents[next]):
			sawNew++
			current = next
		case bytes.Equal(got, contents[current]):
			sawOld++
		default:
			t.Fatalf("kill %d (writing %s over %s): the file is %s", kills, next, current, describeContent(got, contents))
		}
	}
	left := tempNamesOnDisk(t, data)
	t.Logf("%d attempts, %d SIGKILLs; survivors: %d old, %d new content; %d kills waited for the temporary file; %d temporary files left on disk", attempts, kills, sawOld, sawNew, sawTmp, len(left))
	if kills < minKills {
		t.Errorf("only %d writers were killed before the time bound, want at least %d", kills, minKills)
	}

	// A final write succeeds and leaves nothing temporary in view.
	next := other[current]
	if out, code := runWardenAt(t, bin, base, args[next], "call", "data_write", "-"); code != 0 {
		t.Fatalf("final write after the kills: exit %d: %s", code, out)
	}
	if got, _ := os.ReadFile(target); !bytes.Equal(got, contents[next]) {
		t.Fatalf("final write left %s", describeContent(got, contents))
	}
	if tmp := tempNamesVisible(t, base, "data_list"); len(tmp) > 0 {
		t.Errorf("files_list shows temporary files after the final write: %q", tmp)
	}
	if out, code := runWarden(t, base, nil, "audit", "verify"); code != 0 {
		t.Errorf("audit verify after the kills: exit %d: %s", code, out)
	}
}

// writer is a running warden call.
type writer struct {
	cmd  *exec.Cmd
	out  bytes.Buffer
	done chan struct{} // closed once the process ended and was waited for
	err  error
}

func startWriter(t testing.TB, bin, base string, args []byte) *writer {
	t.Helper()
	w := &writer{cmd: wardenAt(t, bin, base, nil, "call", "data_write", "-"), done: make(chan struct{})}
	w.cmd.Stdin = bytes.NewReader(args)
	w.cmd.Stdout = &w.out
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { w.err = w.cmd.Wait(); close(w.done) }()
	return w
}

// waitTempFile waits until a new .warden-tmp-* file appears in dir, and
// returns how long that took, or 0 if none appeared before the writer
// ended or the limit passed.
func waitTempFile(t testing.TB, dir string, done <-chan struct{}, limit time.Duration) time.Duration {
	old := map[string]bool{}
	for _, name := range tempNamesOnDisk(t, dir) {
		old[name] = true
	}
	start := time.Now()
	for time.Since(start) < limit {
		for _, name := range tempNamesOnDisk(t, dir) {
			if !old[name] {
				return time.Since(start)
			}
		}
		select {
		case <-done:
			return 0
		case <-time.After(500 * time.Microsecond):
		}
	}
	return 0
}

// otherLinks lists the names under base, other than target, of target's
// file when it has more than one link.
func otherLinks(t testing.TB, base, target string) []string {
	t.Helper()
	fi, err := os.Lstat(target)
	if err != nil {
		t.Fatal(err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st.Nlink <= 1 {
		return nil
	}
	var names []string
	filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() || p == target {
			return nil
		}
		if other, err := os.Lstat(p); err == nil && os.SameFile(fi, other) {
			rel, _ := filepath.Rel(base, p)
			names = append(names, rel)
		}
		return nil
	})
	if len(names) == 0 {
		names = append(names, fmt.Sprintf("(%d links, none under <T>)", st.Nlink))
	}
	return names
}
