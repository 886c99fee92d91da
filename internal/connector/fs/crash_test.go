package fs_test

import (
	"bufio"
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/warden-dev/warden/internal/connector/fs"
	"github.com/warden-dev/warden/internal/core"
)

// crashRootEnv names the root the crash helper process writes in.
const crashRootEnv = "WARDEN_FS_CRASH_ROOT"

const crashSize = 8 << 20

func crashPattern(i int) []byte { return bytes.Repeat([]byte{"AB"[i%2]}, crashSize) }

// TestCrashHelper is not a test: run by TestCrash_Overwrite as a child
// process, it overwrites big.bin with alternating 8 MiB patterns until it
// is killed, saying "ready" just before each write starts.
func TestCrashHelper(t *testing.T) {
	root := os.Getenv(crashRootEnv)
	if root == "" {
		t.Skip("helper process for TestCrash_Overwrite")
	}
	spec := &core.ResourceSpec{Name: "notes", Kind: "fs", Config: &fs.Config{Root: root}}
	c, err := fs.New(spec, core.Host{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	patterns := [2][]byte{crashPattern(0), crashPattern(1)}
	for i := 1; ; i++ {
		inv := &core.Invocation{Op: "write", Args: writeArgs(t, "big.bin", "", "overwrite")}
		if err := c.Prepare(context.Background(), inv); err != nil {
			t.Fatal(err)
		}
		fs.SetWriteContentForTest(inv, patterns[i%2])
		os.Stdout.WriteString("ready\n")
		if _, err := c.Execute(context.Background(), inv, allVisible); err != nil {
			t.Fatalf("write: %v", err)
		}
		inv.State.(interface{ Close() error }).Close()
	}
}

// TestCrash_Overwrite kills a process that overwrites a large file through
// the connector at random moments. After every kill the file holds the
// old or the new content exactly; temporary files may remain, hidden from
// list, and the next Open sweeps them.
func TestCrash_Overwrite(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	_, root := newFixture(t)
	p := filepath.Join(root, "big.bin")
	if err := os.WriteFile(p, crashPattern(0), 0o644); err != nil {
		t.Fatal(err)
	}
	want := [2][]byte{crashPattern(0), crashPattern(1)}
	leftovers := map[string]bool{}
	seen := [2]int{}
	for i := range 50 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashRootEnv+"="+root)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill during the first, second or third write, so that the file
		// has been replaced zero or more times.
		ready := make(chan bool, 1)
		writes := 1 + rand.IntN(3)
		go func() {
			r := bufio.NewReader(out)
			for range writes {
				if line, _ := r.ReadString('\n'); strings.TrimSpace(line) != "ready" {
					ready <- false
					return
				}
			}
			ready <- true
		}()
		select {
		case ok := <-ready:
			if !ok {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("run %d: the helper stopped writing", i)
			}
		case <-time.After(60 * time.Second):
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("run %d: the helper did not start writing within a minute", i)
		}
		time.Sleep(time.Duration(rand.IntN(30_000)) * time.Microsecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()

		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("run %d: big.bin after the kill: %v", i, err)
		}
		switch {
		case bytes.Equal(b, want[0]):
			seen[0]++
		case bytes.Equal(b, want[1]):
			seen[1]++
		default:
			t.Fatalf("run %d: big.bin after the kill is neither the old nor the new content (%d bytes)", i, len(b))
		}
		ents, _ := os.ReadDir(root)
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".warden-tmp-") {
				leftovers[e.Name()] = true
			}
		}
	}
	t.Logf("after 50 kills: %d times pattern A, %d times B; %d temporary files left", seen[0], seen[1], len(leftovers))

	c := newConnector(t, root)
	if got := do(t, c, "list", pathArgs(t, "."), allVisible); got.Err != nil || strings.Contains(got.JSON, "warden-tmp") {
		t.Errorf("list after the kills = %v, want no temporary files", got)
	}
	fs.SetStaleTempAgeForTest(t, 0)
	newConnector(t, root) // Open sweeps stale temporary files
	assertNoTemps(t, root)
}
