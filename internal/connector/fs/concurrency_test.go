package fs_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/warden-dev/warden/internal/connector/fs"
	"github.com/warden-dev/warden/internal/core"
)

// TestConcurrentOverwrites: 8 writers replace the same file with distinct
// 1 MiB patterns while readers read it. Every read and the final content
// must be exactly one pattern, never a mix or a short file.
func TestConcurrentOverwrites(t *testing.T) {
	const size, writers, rounds = 1 << 20, 8, 3
	_, root := newFixture(t)
	patterns := make([][]byte, writers)
	for i := range patterns {
		patterns[i] = bytes.Repeat([]byte{byte('a' + i)}, size)
	}
	p := filepath.Join(root, "big.txt")
	if err := os.WriteFile(p, patterns[0], 0o644); err != nil {
		t.Fatal(err)
	}
	c := newConnector(t, root)
	isPattern := func(b []byte) bool {
		return len(b) == size && b[0] >= 'a' && b[0] < 'a'+writers && bytes.Equal(b, patterns[b[0]-'a'])
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	var reads int
	readers.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			b, err := os.ReadFile(p)
			if err != nil {
				t.Errorf("read during writes: %v", err)
				return
			}
			if !isPattern(b) {
				t.Errorf("read during writes saw a mixed or short file (%d bytes)", len(b))
				return
			}
			if reads++; reads%4 == 0 {
				got := do(t, c, "read", pathArgs(t, "big.txt"), allVisible)
				if got.Err != nil || !isPattern([]byte(readContent(t, got))) {
					t.Errorf("connector read during writes = error %v or a mixed file", got.Err)
					return
				}
			}
		}
	})
	writeCalls := make([][]byte, writers)
	for i := range writers {
		writeCalls[i] = writeArgs(t, "big.txt", string(patterns[i]), "overwrite")
	}
	var writersWG sync.WaitGroup
	for i := range writers {
		writersWG.Go(func() {
			// Writers take turns: one whose file another writer replaced
			// since its Prepare writes over the latest file.
			for range rounds {
				if got := do(t, c, "write", writeCalls[i], allVisible); got.Err != nil {
					t.Errorf("writer %d: %v", i, got)
					return
				}
			}
		})
	}
	writersWG.Wait()
	close(stop)
	readers.Wait()
	b, err := os.ReadFile(p)
	if err != nil || !isPattern(b) {
		t.Errorf("final content is not one of the patterns (err %v, %d bytes)", err, len(b))
	}
	assertNoTemps(t, root)
	t.Logf("%d reads during %d writes", reads, writers*rounds)
}

// TestWrite_WaitsForTheDirectoryLock: a writer holding the directory's
// flock (here: this test, like another process) keeps a write from
// starting; the write gives up when its context ends, changing nothing.
func TestWrite_WaitsForTheDirectoryLock(t *testing.T) {
	_, root := newFixture(t, "f.txt = old")
	c := newConnector(t, root)
	d, err := os.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := unix.Flock(int(d.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	got := doCtx(t, ctx, c, "write", writeArgs(t, "f.txt", "new", "overwrite"), allVisible)
	if core.KindOf(got.Err) != core.KindTimeout {
		t.Errorf("write while the directory is locked = %v, want a timeout", got)
	}
	if s := mustContent(t, filepath.Join(root, "f.txt")); s != "old" {
		t.Errorf("f.txt = %q while locked", s)
	}
	unix.Flock(int(d.Fd()), unix.LOCK_UN)
	if got := do(t, c, "write", writeArgs(t, "f.txt", "new", "overwrite"), allVisible); got.Err != nil {
		t.Errorf("write after the lock was released = %v", got)
	}
}

// TestWrite_ChangedAfterPrepare: what Prepare saw is checked again under
// the lock; a file replaced or created since is never overwritten.
func TestWrite_ChangedAfterPrepare(t *testing.T) {
	tests := []struct {
		name   string
		specs  []string
		args   []byte
		change func(t *testing.T, root string)
		kind   core.Kind
	}{
		{"replaced", []string{"f.txt = old", "other = OTHER"}, nil, func(t *testing.T, root string) {
			if err := os.Rename(filepath.Join(root, "other"), filepath.Join(root, "f.txt")); err != nil {
				t.Fatal(err)
			}
		}, core.KindConflict},
		{"removed", []string{"f.txt = old"}, nil, func(t *testing.T, root string) { mustRemove(t, root, "f.txt") }, core.KindConflict},
		{"created", nil, nil, func(t *testing.T, root string) { mustBuild(t, root, "f.txt = OTHER") }, core.KindExists},
		{"created as a link", []string{"x = OTHER"}, nil, func(t *testing.T, root string) { mustBuild(t, root, "f.txt => x") }, core.KindExists},
	}
	for _, tt := range tests {
		for _, mode := range []string{"create", "overwrite"} {
			if tt.name != "created" && tt.name != "created as a link" && mode == "create" {
				continue
			}
			t.Run(tt.name+"/"+mode, func(t *testing.T) {
				_, root := newFixture(t, tt.specs...)
				c := newConnector(t, root)
				inv := &core.Invocation{Op: "write", Args: writeArgs(t, "f.txt", "NEW", mode)}
				if err := c.Prepare(t.Context(), inv); err != nil {
					t.Fatal(err)
				}
				defer inv.State.(interface{ Close() error }).Close()
				tt.change(t, root)
				before := snapshot(t, root, nil)
				_, err := c.Execute(t.Context(), inv, allVisible)
				want := tt.kind
				if mode == "overwrite" && want == core.KindExists {
					want = core.KindConflict
				}
				if core.KindOf(err) != want {
					t.Errorf("Execute after the change = %v, want kind %v", err, want)
				}
				if after := snapshot(t, root, nil); len(after) != len(before) || after["f.txt"] != before["f.txt"] {
					t.Errorf("a refused write changed f.txt: %v -> %v", before["f.txt"], after["f.txt"])
				}
			})
		}
	}
}

// TestWrite_ReplacedAtCommit: a file swapped in by another process after
// every check, just before the rename, is neither overwritten nor lost:
// the exchange brings it back and the call fails.
func TestWrite_ReplacedAtCommit(t *testing.T) {
	for _, op := range []string{"write", "delete"} {
		t.Run(op, func(t *testing.T) {
			_, root := newFixture(t, "f.txt = old", "foreign = FOREIGN")
			c := newConnector(t, root)
			fs.SetHookForTest(c, func(event, rel string) {
				if event == "commit" {
					if err := os.Rename(filepath.Join(root, "foreign"), filepath.Join(root, "f.txt")); err != nil {
						t.Error(err)
					}
				}
			})
			j := newMemJournal(t)
			a := writeArgs(t, "f.txt", "NEW", "overwrite")
			if op == "delete" {
				a = pathArgs(t, "f.txt")
			}
			got := doWith(t, c, op, a, with{scope: allVisible, journal: j})
			if core.KindOf(got.Err) != core.KindConflict {
				t.Errorf("%s with the file swapped at commit = %v, want a conflict", op, got)
			}
			if s := mustContent(t, filepath.Join(root, "f.txt")); s != "FOREIGN" {
				t.Errorf("f.txt = %q, want the foreign file untouched", s)
			}
			if ch := j.Changes(); len(ch) != 0 {
				t.Errorf("journal = %+v after a failed call", ch)
			}
			assertNoTemps(t, root)
		})
	}
}
