package journal_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/warden-dev/warden/internal/journal"
)

// helperEnv, when set to "state:work:n", turns TestHelperProcess into one
// process committing to the journal in state.
const helperEnv = "WARDEN_JOURNAL_HELPER"

const processCalls = 20

// TestStore_processes checks the flock: processes committing, aborting and
// pruning one journal at once leave every entry and object intact.
func TestStore_processes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	state, work := t.TempDir(), t.TempDir()
	for i := range 3 {
		mustWrite(t, filepath.Join(work, fmt.Sprint("shared-", i)), []byte(fmt.Sprint("shared ", i)))
	}
	const n = 3
	cmds := make([]*exec.Cmd, n)
	outs := make([]*bytes.Buffer, n)
	for i := range cmds {
		outs[i] = new(bytes.Buffer)
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s:%s:%d", helperEnv, state, work, i))
		cmd.Stdout, cmd.Stderr = outs[i], outs[i]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds[i] = cmd
	}
	s := newStore(t, state, journal.Options{}, false)
	for range processCalls {
		if err := s.Prune(); err != nil {
			t.Error(err)
		}
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("helper %d: %v\n%s", i, err, outs[i])
		}
	}
	checkIntact(t, state, s, n*(processCalls-processCalls/4))
}

// TestHelperProcess is one process of TestStore_processes.
func TestHelperProcess(t *testing.T) {
	env := os.Getenv(helperEnv)
	if env == "" {
		t.Skip("helper process only")
	}
	parts := bytes.Split([]byte(env), []byte(":"))
	state, work := string(parts[0]), string(parts[1])
	n, _ := strconv.Atoi(string(parts[2]))
	s := newStore(t, state, journal.Options{}, n%2 == 1)
	dir := mustOpenDir(t, work)
	for i := range processCalls {
		id := fmt.Sprintf("p%d-c%d", n, i)
		own := fmt.Sprintf("own-%d-%d", n, i)
		mustWrite(t, filepath.Join(work, own), []byte("content "+id))
		tx := mustBegin(t, s, id)
		for _, name := range []string{own, fmt.Sprint("shared-", i%3)} {
			tx.Record(replaceChange(name, mustKeep(t, tx, dir, name)))
		}
		if i%4 == 3 {
			tx.Abort()
			continue
		}
		if err := tx.Commit(); err != nil {
			t.Fatalf("%s: Commit() = %v", id, err)
		}
	}
}
