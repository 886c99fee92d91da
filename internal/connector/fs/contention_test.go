package fs_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/warden-dev/warden/internal/connector/fs"
	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/journal"
)

// journaled runs one call with a transaction of store (nil: no journal),
// committed or aborted as the engine would.
func journaled(t testing.TB, store *journal.Store, c *fs.Connector, op string, a []byte) outcome {
	t.Helper()
	if store == nil {
		return do(t, c, op, a, allVisible)
	}
	tx, err := store.Begin(core.JournalEntry{ID: newCallID(), Resource: "notes"})
	if err != nil {
		t.Errorf("journal Begin: %v", err)
		return outcome{Err: err}
	}
	got := doWith(t, c, op, a, with{scope: allVisible, journal: tx})
	if got.Err != nil {
		tx.Abort()
	} else if err := tx.Commit(); err != nil {
		t.Errorf("journal Commit: %v", err)
	}
	return got
}

var callSeq atomic.Int64

func newCallID() string { return fmt.Sprintf("c%d-%d", os.Getpid(), callSeq.Add(1)) }

// appendLines appends "<who>-<i>\n" for i in [0, n) to log.txt, one call
// each, and returns the failures.
func appendLines(t testing.TB, store *journal.Store, c *fs.Connector, who string, n int) []string {
	var failed []string
	for i := range n {
		line := fmt.Sprintf("%s-%d\n", who, i)
		if got := journaled(t, store, c, "write", writeArgs(t, "log.txt", line, "append")); got.Err != nil {
			failed = append(failed, fmt.Sprintf("append %q: %v", strings.TrimSpace(line), got))
		}
	}
	return failed
}

// checkLines requires log.txt to hold every line of want exactly once.
func checkLines(t *testing.T, root string, want []string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "log.txt"))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("log.txt holds %d lines, want each of %d appends exactly once", len(got), len(want))
	}
}

// TestContention_Appends: writers appending to one file concurrently take
// turns; none fails because another ran, and every line lands once, with
// or without the journal, whether the file exists at first or not.
func TestContention_Appends(t *testing.T) {
	const writers, each = 8, 10
	for _, withJournal := range []bool{false, true} {
		for _, exists := range []bool{true, false} {
			t.Run(fmt.Sprintf("journal=%v/exists=%v", withJournal, exists), func(t *testing.T) {
				var specs []string
				if exists {
					specs = []string{"log.txt = "}
				}
				_, root := newFixture(t, specs...)
				if exists {
					os.Truncate(filepath.Join(root, "log.txt"), 0)
				}
				c := newConnector(t, root)
				var store *journal.Store
				if withJournal {
					var err error
					if store, err = journal.Open(t.TempDir(), journal.Options{}); err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { store.Close() })
				}
				var wg sync.WaitGroup
				var mu sync.Mutex
				var failed, want []string
				for g := range writers {
					who := fmt.Sprintf("g%d", g)
					for i := range each {
						want = append(want, fmt.Sprintf("%s-%d", who, i))
					}
					wg.Go(func() {
						f := appendLines(t, store, c, who, each)
						mu.Lock()
						failed = append(failed, f...)
						mu.Unlock()
					})
				}
				wg.Wait()
				if len(failed) > 0 {
					t.Errorf("%d of %d appends failed under contention, first: %s", len(failed), writers*each, failed[0])
				}
				checkLines(t, root, want)
				assertNoTemps(t, root)
			})
		}
	}
}

// TestContention_Mixed: overwrites, appends and edits of one file run
// concurrently without a failure. Every version of the file holds the
// marker once, so each edit finds it in the latest content.
func TestContention_Mixed(t *testing.T) {
	const workers, each = 6, 8
	_, root := newFixture(t, "f.txt = [M]\n")
	c := newConnector(t, root)
	var wg sync.WaitGroup
	var failures atomic.Int64
	var first atomic.Value
	for g := range workers {
		wg.Go(func() {
			for i := range each {
				var op string
				var a []byte
				switch (g + i) % 3 {
				case 0:
					op, a = "write", writeArgs(t, "f.txt", fmt.Sprintf("[M]\nw%d-%d\n", g, i), "overwrite")
				case 1:
					op, a = "write", writeArgs(t, "f.txt", fmt.Sprintf("a%d-%d\n", g, i), "append")
				default:
					op, a = "edit", args(t, map[string]any{"path": "f.txt", "edits": []map[string]string{{"old": "[M]\n", "new": fmt.Sprintf("[M]\ne%d-%d\n", g, i)}}})
				}
				if got := do(t, c, op, a, allVisible); got.Err != nil {
					failures.Add(1)
					first.CompareAndSwap(nil, fmt.Sprintf("%s: %v", op, got))
				}
			}
		})
	}
	wg.Wait()
	if n := failures.Load(); n > 0 {
		t.Errorf("%d of %d calls failed under contention, first: %v", n, workers*each, first.Load())
	}
	if s := mustContent(t, filepath.Join(root, "f.txt")); strings.Count(s, "[M]\n") != 1 {
		t.Errorf("f.txt = %q, want the marker exactly once", s)
	}
	assertNoTemps(t, root)
}

// TestContention_MoveOverwrite: moves onto one name with overwrite run
// concurrently; none reports that the name exists or changed.
func TestContention_MoveOverwrite(t *testing.T) {
	const movers, each = 6, 6
	_, root := newFixture(t)
	c := newConnector(t, root)
	var wg sync.WaitGroup
	var failures atomic.Int64
	var first atomic.Value
	for g := range movers {
		wg.Go(func() {
			for i := range each {
				src := fmt.Sprintf("src%d.txt", g)
				if got := do(t, c, "write", writeArgs(t, src, fmt.Sprintf("%d-%d", g, i), "create"), allVisible); got.Err != nil {
					t.Errorf("write %s: %v", src, got)
					return
				}
				a := args(t, map[string]any{"from": src, "to": "target.txt", "overwrite": true})
				if got := do(t, c, "move", a, allVisible); got.Err != nil {
					failures.Add(1)
					first.CompareAndSwap(nil, got.String())
					os.Remove(filepath.Join(root, src))
				}
			}
		})
	}
	wg.Wait()
	if n := failures.Load(); n > 0 {
		t.Errorf("%d of %d moves with overwrite failed under contention, first: %v", n, movers*each, first.Load())
	}
	ents, _ := os.ReadDir(root)
	if len(ents) != 1 || ents[0].Name() != "target.txt" {
		t.Errorf("root holds %v, want target.txt alone", ents)
	}
}

// prepare runs Prepare for one call and returns the invocation, closed
// when the test ends.
func prepare(t *testing.T, c *fs.Connector, op string, a []byte) *core.Invocation {
	t.Helper()
	inv := &core.Invocation{Op: op, Args: a}
	if err := c.Prepare(t.Context(), inv); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inv.State.(interface{ Close() error }).Close() })
	return inv
}

// TestContention_PreparedBeforeAnotherWrite: a call prepared before
// another Warden call changed its file applies to the latest content; a
// file changed outside Warden meanwhile still fails the call as changed,
// and is left as it is.
func TestContention_PreparedBeforeAnotherWrite(t *testing.T) {
	editArgs := func(old, new string) []byte {
		return args(t, map[string]any{"path": "f.txt", "edits": []map[string]string{{"old": old, "new": new}}})
	}
	tests := []struct {
		name    string
		op      string
		args    []byte
		between func(t *testing.T, c *fs.Connector, root string) // after Prepare
		want    string                                           // f.txt afterwards; "-" for none
		kind    core.Kind                                        // 0: success
	}{
		{"append after an append", "write", writeArgs(t, "f.txt", "B\n", "append"), func(t *testing.T, c *fs.Connector, _ string) {
			mustDo(t, c, "write", writeArgs(t, "f.txt", "A\n", "append"))
		}, "old\nA\nB\n", 0},
		{"append after a create", "write", writeArgs(t, "new.txt", "B\n", "append"), func(t *testing.T, c *fs.Connector, _ string) {
			mustDo(t, c, "write", writeArgs(t, "new.txt", "A\n", "create"))
		}, "", 0},
		{"create after a create", "write", writeArgs(t, "new.txt", "B\n", "create"), func(t *testing.T, c *fs.Connector, _ string) {
			mustDo(t, c, "write", writeArgs(t, "new.txt", "A\n", "create"))
		}, "old\n", core.KindExists},
		{"edit after an overwrite", "edit", editArgs("two", "TWO"), func(t *testing.T, c *fs.Connector, _ string) {
			mustDo(t, c, "write", writeArgs(t, "f.txt", "one two three\n", "overwrite"))
		}, "one TWO three\n", 0},
		{"edit after an edit", "edit", editArgs("old", "new"), func(t *testing.T, c *fs.Connector, _ string) {
			mustDo(t, c, "edit", editArgs("old", "old and more"))
		}, "new and more\n", 0},
		{"delete after an overwrite", "delete", pathArgs(t, "f.txt"), func(t *testing.T, c *fs.Connector, _ string) {
			mustDo(t, c, "write", writeArgs(t, "f.txt", "newer\n", "overwrite"))
		}, "-", 0},
		{"overwrite after a delete", "write", writeArgs(t, "f.txt", "B\n", "overwrite"), func(t *testing.T, c *fs.Connector, _ string) {
			mustDo(t, c, "delete", pathArgs(t, "f.txt"))
		}, "B\n", 0},
		{"edit after a delete", "edit", editArgs("old", "new"), func(t *testing.T, c *fs.Connector, _ string) {
			mustDo(t, c, "delete", pathArgs(t, "f.txt"))
		}, "-", core.KindNotFound},
		{"append after a move onto it", "write", writeArgs(t, "f.txt", "B\n", "append"), func(t *testing.T, c *fs.Connector, root string) {
			mustBuild(t, root, "g.txt = moved\n")
			mustDo(t, c, "move", args(t, map[string]any{"from": "g.txt", "to": "f.txt", "overwrite": true}))
		}, "moved\nB\n", 0},
		{"move with overwrite after a create there", "move", args(t, map[string]any{"from": "f.txt", "to": "new.txt", "overwrite": true}), func(t *testing.T, c *fs.Connector, _ string) {
			mustDo(t, c, "write", writeArgs(t, "new.txt", "A\n", "create"))
		}, "-", 0},
		// Changes outside Warden, after a Warden write or not.
		{"outside replace after a Warden write", "write", writeArgs(t, "f.txt", "B\n", "append"), func(t *testing.T, c *fs.Connector, root string) {
			mustDo(t, c, "write", writeArgs(t, "f.txt", "A\n", "append"))
			mustBuild(t, root, "other = OUTSIDE\n")
			if err := os.Rename(filepath.Join(root, "other"), filepath.Join(root, "f.txt")); err != nil {
				t.Fatal(err)
			}
		}, "OUTSIDE\n", core.KindConflict},
		{"outside change in place after a Warden write", "edit", editArgs("old", "new"), func(t *testing.T, c *fs.Connector, root string) {
			mustDo(t, c, "write", writeArgs(t, "f.txt", "A\n", "append"))
			f, err := os.OpenFile(filepath.Join(root, "f.txt"), os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString("OUTSIDE\n")
			f.Close()
		}, "old\nA\nOUTSIDE\n", core.KindConflict},
		{"outside create after a Warden delete", "write", writeArgs(t, "f.txt", "B\n", "overwrite"), func(t *testing.T, c *fs.Connector, root string) {
			mustDo(t, c, "delete", pathArgs(t, "f.txt"))
			mustBuild(t, root, "f.txt = OUTSIDE\n")
		}, "OUTSIDE\n", core.KindConflict},
		{"outside create before a move with overwrite", "move", args(t, map[string]any{"from": "f.txt", "to": "new.txt", "overwrite": true}), func(t *testing.T, c *fs.Connector, root string) {
			mustBuild(t, root, "new.txt = OUTSIDE\n")
		}, "old\n", core.KindConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, root := newFixture(t, "f.txt = old\n")
			c := newConnector(t, root)
			inv := prepare(t, c, tt.op, tt.args)
			tt.between(t, c, root)
			j := newMemJournal(t)
			inv.Journal = j
			_, err := c.Execute(t.Context(), inv, allVisible)
			fs.SettleForTest(c)
			switch {
			case tt.kind == 0 && err != nil:
				t.Fatalf("Execute = %v, want success", err)
			case tt.kind != 0 && core.KindOf(err) != tt.kind:
				t.Fatalf("Execute = %v, want kind %v", err, tt.kind)
			case tt.kind != 0 && len(j.Changes()) != 0:
				t.Errorf("journal = %+v after a refused call", j.Changes())
			}
			switch b, err := os.ReadFile(filepath.Join(root, "f.txt")); {
			case tt.want == "":
			case tt.want == "-" && err == nil:
				t.Errorf("f.txt = %q, want it gone", b)
			case tt.want != "-" && string(b) != tt.want:
				t.Errorf("f.txt = %q (%v), want %q", b, err, tt.want)
			}
			if tt.name == "append after a create" {
				if s := mustContent(t, filepath.Join(root, "new.txt")); s != "A\nB\n" {
					t.Errorf("new.txt = %q, want both appends", s)
				}
			}
		})
	}
}

func mustDo(t *testing.T, c *fs.Connector, op string, a []byte) {
	t.Helper()
	if got := do(t, c, op, a, allVisible); got.Err != nil {
		t.Fatalf("%s: %v", op, got)
	}
}

// contentionEnv names the root and state directory of the helper process
// of TestContention_Processes, separated by a newline.
const contentionEnv = "WARDEN_FS_CONTENTION"

// TestContentionHelper is not a test: run by TestContention_Processes as
// a child process, it says "ready", waits for a line on stdin, appends
// its lines to log.txt through its own connector and journal on the
// shared state directory, and prints each failure.
func TestContentionHelper(t *testing.T) {
	env := os.Getenv(contentionEnv)
	if env == "" {
		t.Skip("helper process for TestContention_Processes")
	}
	root, state, _ := strings.Cut(env, "\n")
	c, err := fs.New(&core.ResourceSpec{Name: "notes", Kind: "fs", Config: &fs.Config{Root: root}}, core.Host{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	store, err := journal.Open(state, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	fmt.Println("ready")
	bufio.NewReader(os.Stdin).ReadString('\n')
	for _, f := range appendLines(t, store, c, "child", contentionEach) {
		fmt.Println("FAILED", f)
	}
}

const contentionEach = 40

// TestContention_Processes: two processes sharing the state directory
// append to one file at once; neither fails, and every line lands once.
func TestContention_Processes(t *testing.T) {
	_, root := newFixture(t, "log.txt = ")
	os.Truncate(filepath.Join(root, "log.txt"), 0)
	state := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestContentionHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), contentionEnv+"="+root+"\n"+state)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(out)
	for {
		line, err := r.ReadString('\n')
		if strings.TrimSpace(line) == "ready" {
			break
		}
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("the helper process did not start: %v", err)
		}
	}
	var childOut strings.Builder
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			line, err := r.ReadString('\n')
			childOut.WriteString(line)
			if err != nil {
				return
			}
		}
	}()

	c := newConnector(t, root)
	store, err := journal.Open(state, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	stdin.Write([]byte("go\n"))
	failed := appendLines(t, store, c, "parent", contentionEach)
	<-done
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper process: %v\n%s", err, childOut.String())
	}
	if len(failed) > 0 {
		t.Errorf("%d appends of this process failed, first: %s", len(failed), failed[0])
	}
	if n := strings.Count(childOut.String(), "FAILED"); n > 0 {
		t.Errorf("%d appends of the other process failed:\n%s", n, childOut.String())
	}
	var want []string
	for i := range contentionEach {
		want = append(want, fmt.Sprintf("parent-%d", i), fmt.Sprintf("child-%d", i))
	}
	checkLines(t, root, want)
}
