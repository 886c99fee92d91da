package fs_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/warden-dev/warden/internal/connector/fs"
	"github.com/warden-dev/warden/internal/core"
)

// swapLoop runs swap repeatedly in a goroutine until the test's cleanup.
func swapLoop(t testing.TB, swap func() error) {
	t.Helper()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var failed atomic.Value
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := swap(); err != nil {
				failed.Store(err)
				return
			}
		}
	})
	t.Cleanup(func() {
		close(stop)
		wg.Wait()
		if err := failed.Load(); err != nil {
			t.Errorf("swap loop: %v", err)
		}
	})
}

// TestRace_SymlinkSwap reads d/x.txt thousands of times while another
// goroutine swaps d between a real directory and a symbolic link. Every
// successful read must be consistent: inv.Path "d/x.txt" with the real
// directory's content, or (when d was a link at Prepare time and the link
// points inside the root) inv.Path "private/x.txt" with private content,
// which the policy would then deny. Content from outside never appears.
func TestRace_SymlinkSwap(t *testing.T) {
	tests := []struct {
		name string
		link func(tmp string) string // the link's target
	}{
		{"outside absolute", func(tmp string) string { return filepath.Join(tmp, "outside") }},
		{"outside relative", func(string) string { return "../outside" }},
		{"inside private", func(string) string { return "private" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp, root := newFixture(t, "d/x.txt = inside", "private/x.txt = WARDEN-PRIVATE")
			mustBuild(t, tmp, "outside/x.txt = WARDEN-OUTSIDE")
			mustBuild(t, root, "dlink => "+tt.link(tmp))
			c := newConnector(t, root)
			d, real, link := filepath.Join(root, "d"), filepath.Join(root, "dreal"), filepath.Join(root, "dlink")
			swapLoop(t, func() error {
				for _, mv := range [][2]string{{d, real}, {link, d}, {d, link}, {real, d}} {
					if err := os.Rename(mv[0], mv[1]); err != nil {
						return err
					}
				}
				return nil
			})

			counts := map[string]int{}
			const workers, reads = 4, 750
			var mu sync.Mutex
			var wg sync.WaitGroup
			for range workers {
				wg.Go(func() {
					for range reads {
						got := do(t, c, "read", pathArgs(t, "d/x.txt"), allVisible)
						key := "error " + string(core.ReasonOf(got.Err))
						if got.Err == nil {
							content := readContent(t, got)
							switch {
							case got.Path == "d/x.txt" && content == "inside":
							case got.Path == "private/x.txt" && content == "WARDEN-PRIVATE":
							default:
								t.Errorf("read(d/x.txt) = path %q with content %q: inconsistent", got.Path, content)
							}
							key = got.Path
						}
						assertNoOutsideMarker(t, "read", "d/x.txt", outcome{JSON: strings.ReplaceAll(got.JSON, "WARDEN-PRIVATE", "")})
						mu.Lock()
						counts[key]++
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			t.Logf("outcomes of %d reads: %v", workers*reads, counts)
		})
	}
}

// TestRace_RenameDir is the corpus scenario go-root/race-rename-dir (Go's
// TestRootRaceRenameDir): while a/a/a moves to a shallower place and back,
// "a/a/a/a/../../../../a/f" must read the root's a/f or fail, and never
// climb above the root to one of the outside a/f files.
func TestRace_RenameDir(t *testing.T) { raceRenameDir(t) }

func raceRenameDir(t testing.TB) {
	tmp := t.TempDir()
	root := filepath.Join(tmp, "x", "y", "root")
	mustBuild(t, root, "a/a/a/a/", "a/f = inside")
	for _, out := range []string{"x/y", "x", "."} {
		mustBuild(t, filepath.Join(tmp, out), "a/f = outside")
	}
	c := newConnector(t, root)
	swapLoop(t, func() error {
		if err := os.Rename(filepath.Join(root, "a/a/a"), filepath.Join(root, "b")); err != nil {
			return err
		}
		return os.Rename(filepath.Join(root, "b"), filepath.Join(root, "a/a/a"))
	})
	const p = "a/a/a/a/../../../../a/f"
	ok := 0
	for range 200 {
		got := do(t, c, "read", pathArgs(t, p), allVisible)
		if got.Err != nil {
			continue
		}
		ok++
		if content := readContent(t, got); content != "inside" || got.Path != "a/f" {
			t.Fatalf("read(%q) = path %q content %q, want a/f with \"inside\"", p, got.Path, content)
		}
	}
	t.Logf("%d of 200 reads succeeded", ok)
}

// TestRace_SwapBeforeOpen swaps a directory for a link at the exact moment
// between the Lstat that classified it and the open, using the test hook.
// The identity check must refuse what the open found.
func TestRace_SwapBeforeOpen(t *testing.T) {
	tests := []struct {
		name string
		dest func(tmp string) string
	}{
		{"link inside the root", func(string) string { return "private" }},
		{"link outside the root", func(tmp string) string { return filepath.Join(tmp, "outside") }},
		{"fifo", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp, root := newFixture(t, "d/x.txt = inside", "private/x.txt = WARDEN-PRIVATE")
			mustBuild(t, tmp, "outside/x.txt = WARDEN-OUTSIDE")
			c := newConnector(t, root)
			fs.SetHookForTest(c, func(event, rel string) {
				if event != "open" || rel != "d" {
					return
				}
				if err := os.Rename(filepath.Join(root, "d"), filepath.Join(root, "d.old")); err != nil {
					t.Error(err)
				}
				var err error
				if tt.dest == nil {
					err = syscall.Mkfifo(filepath.Join(root, "d"), 0o644)
				} else {
					err = os.Symlink(tt.dest(tmp), filepath.Join(root, "d"))
				}
				if err != nil {
					t.Error(err)
				}
			})
			got := doWithin(t, 5*time.Second, c, "read", pathArgs(t, "d/x.txt"))
			if got.Err == nil {
				t.Fatalf("read(d/x.txt) with d swapped before the open = %v, want a failure", got)
			}
			if k := core.KindOf(got.Err); k != core.KindConflict {
				t.Errorf("read(d/x.txt) error kind = %v, want %v (%v)", k, core.KindConflict, got)
			}
			assertNoOutsideMarker(t, "read", "d/x.txt", got)
		})
	}
}

// TestRace_ReopenChanged closes levels of a deep path, swaps one of them
// while it is closed, and climbs back with "..": the re-opened level has
// another identity and the call must fail closed.
func TestRace_ReopenChanged(t *testing.T) {
	var chain []string
	for i := range 40 {
		chain = append(chain, string(rune('A'+i%26))+string(rune('a'+i/26)))
	}
	deep := "c/" + strings.Join(chain, "/") + "/"
	back := deep + strings.Repeat("../", len(chain)-1) + "f.txt" // = c/Aa/f.txt
	for _, swap := range []bool{false, true} {
		name := map[bool]string{false: "unchanged", true: "swapped"}[swap]
		t.Run(name, func(t *testing.T) {
			_, root := newFixture(t, deep, "c/Aa/f.txt = inside", "c/other/f.txt = WARDEN-PRIVATE")
			c := newConnector(t, root)
			reopened := false
			fs.SetHookForTest(c, func(event, rel string) {
				if event != "reopen" {
					return
				}
				reopened = true
				if swap {
					for _, mv := range [][2]string{{"c/Aa", "c/Aa.old"}, {"c/other", "c/Aa"}} {
						if err := os.Rename(filepath.Join(root, mv[0]), filepath.Join(root, mv[1])); err != nil {
							t.Error(err)
						}
					}
				}
			})
			got := do(t, c, "read", pathArgs(t, back), allVisible)
			if !reopened {
				t.Fatalf("read(%q) never re-opened a closed level; the test does not exercise it", back)
			}
			if !swap {
				if got.Err != nil || got.Path != "c/Aa/f.txt" || readContent(t, got) != "inside" {
					t.Errorf("read(%q) = %v, want c/Aa/f.txt with \"inside\"", back, got)
				}
				return
			}
			if got.Err == nil || core.KindOf(got.Err) != core.KindConflict {
				t.Errorf("read(%q) with a swapped closed level = %v, want a conflict", back, got)
			}
			assertNoOutsideMarker(t, "read", back, got)
		})
	}
}

// TestRace_FileSwappedAfterPrepare replaces the target between Prepare
// and Execute. Execute opens the name from the directory handle Prepare
// resolved and must refuse anything that is not the object Prepare saw.
func TestRace_FileSwappedAfterPrepare(t *testing.T) {
	tests := []struct {
		name string
		swap func(t *testing.T, root string)
	}{
		{"other file", func(t *testing.T, root string) {
			mustBuild(t, root, "d/x.txt = WARDEN-CHANGED")
		}},
		{"private file moved in", func(t *testing.T, root string) {
			if err := os.Rename(filepath.Join(root, "private/secret.txt"), filepath.Join(root, "d/x.txt")); err != nil {
				t.Fatal(err)
			}
		}},
		{"link to sibling", func(t *testing.T, root string) {
			mustBuild(t, root, "d/y.txt = WARDEN-CHANGED", "d/x.txt => y.txt")
		}},
		{"link out of the directory", func(t *testing.T, root string) {
			mustBuild(t, root, "d/x.txt => ../private/secret.txt")
		}},
		{"fifo", func(t *testing.T, root string) {
			if err := syscall.Mkfifo(filepath.Join(root, "d/x.txt"), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		for _, op := range []string{"read", "stat"} {
			t.Run(tt.name+"/"+op, func(t *testing.T) {
				_, root := newFixture(t, "d/x.txt = inside", "private/secret.txt = WARDEN-PRIVATE")
				c := newConnector(t, root)
				inv := &core.Invocation{Op: op, Args: pathArgs(t, "d/x.txt")}
				if err := c.Prepare(context.Background(), inv); err != nil {
					t.Fatalf("Prepare(%s d/x.txt) error: %v", op, err)
				}
				defer inv.State.(interface{ Close() error }).Close()
				if err := os.Rename(filepath.Join(root, "d/x.txt"), filepath.Join(root, "d/x.old")); err != nil {
					t.Fatal(err)
				}
				tt.swap(t, root)
				done := make(chan error, 1)
				go func() {
					_, err := c.Execute(context.Background(), inv, allVisible)
					done <- err
				}()
				select {
				case err := <-done:
					if core.KindOf(err) != core.KindConflict {
						t.Errorf("Execute(%s d/x.txt) after the swap error = %v, want a conflict", op, err)
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("Execute(%s d/x.txt) after the swap blocked", op)
				}
			})
		}
	}
}

// doWithin is do with a deadline: a call that blocks fails the test.
func doWithin(t testing.TB, d time.Duration, c core.Connector, op string, a []byte) outcome {
	t.Helper()
	ch := make(chan outcome, 1)
	go func() { ch <- do(t, c, op, a, allVisible) }()
	select {
	case o := <-ch:
		return o
	case <-time.After(d):
		t.Fatalf("%s(%s) blocked for %v", op, a, d)
	}
	return outcome{Err: errors.New("unreachable")}
}

// TestRace_WriteSymlinkSwap runs writes, edits, mkdirs, moves and deletes
// under d/ while another goroutine keeps swapping d between a real
// directory and a link (to a directory outside the root, or to private/,
// which the policy denies). Nothing outside the root and nothing under
// private/ may ever change.
func TestRace_WriteSymlinkSwap(t *testing.T) {
	tests := []struct {
		name string
		link func(tmp string) string
	}{
		{"outside absolute", func(tmp string) string { return filepath.Join(tmp, "outside") }},
		{"outside relative", func(string) string { return "../outside" }},
		{"inside private", func(string) string { return "private" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp, root := newFixture(t, "d/x.txt = inside", "private/x.txt = WARDEN-PRIVATE")
			mustBuild(t, tmp, "outside/x.txt = WARDEN-OUTSIDE")
			mustBuild(t, root, "dlink => "+tt.link(tmp))
			guarded := func() map[string]string {
				return snapshot(t, tmp, func(rel string) bool {
					return rel == "root" || strings.HasPrefix(rel, "root/") && !strings.HasPrefix(rel, "root/private")
				})
			}
			before := guarded()
			c := newConnector(t, root)
			d, real, link := filepath.Join(root, "d"), filepath.Join(root, "dreal"), filepath.Join(root, "dlink")
			var swaps atomic.Int64
			swapLoop(t, func() error {
				for _, mv := range [][2]string{{d, real}, {link, d}, {d, link}, {real, d}} {
					if err := os.Rename(mv[0], mv[1]); err != nil {
						return err
					}
				}
				swaps.Add(1)
				// Leave the calls time to run between swaps.
				time.Sleep(50 * time.Microsecond)
				return nil
			})
			const workers, rounds = 4, 40
			var ok atomic.Int64
			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					for i := range rounds {
						n := fmt.Sprintf("%d-%d", w, i)
						calls := []struct {
							op   string
							args map[string]any
						}{
							{"write", map[string]any{"path": "d/x.txt", "content": "W" + n, "mode": "overwrite"}},
							{"write", map[string]any{"path": "d/new-" + n, "content": "N"}},
							{"write", map[string]any{"path": "d/x.txt", "content": "+", "mode": "append"}},
							{"edit", map[string]any{"path": "d/x.txt", "edits": []map[string]string{{"old": "x", "new": "y"}}}},
							// Not with parents: while d is missing that would
							// rightly create d, and the swapping would stop.
							{"mkdir", map[string]any{"path": "d/sub-" + n}},
							{"mkdir", map[string]any{"path": "d/sub-" + n + "/a"}},
							{"move", map[string]any{"from": "d/new-" + n, "to": "d/moved-" + n}},
							{"delete", map[string]any{"path": "d/moved-" + n}},
							{"delete", map[string]any{"path": "d/sub-" + n, "recursive": true}},
						}
						for _, call := range calls {
							got := doWith(t, c, call.op, args(t, call.args), with{scope: policy, options: core.GrantOptions{}.WithFlag(fs.OptionRecursive)})
							if got.Err == nil {
								ok.Add(1)
							}
						}
					}
				})
			}
			wg.Wait()
			if after := guarded(); !cmp.Equal(before, after) {
				t.Errorf("calls raced with a link swap changed files outside the root or in private/: %s", cmp.Diff(before, after))
			}
			t.Logf("%d swaps; %d of %d calls succeeded", swaps.Load(), ok.Load(), workers*rounds*9)
		})
	}
}

// TestRace_LeafPlantedBeforeWrite is the corpus scenario
// mcp-race-leaf-planted-before-write: while a link to the sentinel appears
// and disappears at new.txt, creating new.txt never writes the sentinel.
func TestRace_LeafPlantedBeforeWrite(t *testing.T) {
	tmp, root := newFixture(t)
	sentinelPath := filepath.Join(tmp, "sentinel.txt")
	leaf := filepath.Join(root, "new.txt")
	swapLoop(t, func() error {
		if err := os.Symlink(sentinelPath, leaf); err != nil && !os.IsExist(err) {
			return err
		}
		os.Remove(leaf)
		return nil
	})
	c := newConnector(t, root)
	for range 500 {
		doWith(t, c, "write", writeArgs(t, "new.txt", "PWNED", "create"), with{scope: allVisible})
		// Whatever won, remove a file the write created, so the next write
		// creates again.
		if fi, err := os.Lstat(leaf); err == nil && fi.Mode().IsRegular() {
			os.Remove(leaf)
		}
	}
	if s := mustContent(t, sentinelPath); s != sentinel {
		t.Fatalf("the sentinel was written: %q", s)
	}
}

// TestRace_DirReplacedBySymlink is the corpus scenario
// mcp-dir-replaced-by-symlink: d is replaced by a link to {OUTDIR} and back
// while d/x.txt is written 500 times; {OUTDIR} stays empty.
func TestRace_DirReplacedBySymlink(t *testing.T) {
	tmp, root := newFixture(t, "d/")
	mustBuild(t, tmp, "out/")
	d, real := filepath.Join(root, "d"), filepath.Join(root, "dreal")
	swapLoop(t, func() error {
		if err := os.Rename(d, real); err != nil {
			return err
		}
		if err := os.Symlink(filepath.Join(tmp, "out"), d); err != nil {
			return err
		}
		if err := os.Remove(d); err != nil {
			return err
		}
		return os.Rename(real, d)
	})
	c := newConnector(t, root)
	for range 500 {
		doWith(t, c, "write", writeArgs(t, "d/x.txt", "PWNED", "overwrite"), with{scope: allVisible})
	}
	if ents, _ := os.ReadDir(filepath.Join(tmp, "out")); len(ents) != 0 {
		t.Fatalf("{OUTDIR} holds %d entries after the race", len(ents))
	}
}
