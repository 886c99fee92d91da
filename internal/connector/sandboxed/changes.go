package sandboxed

import (
	"context"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/warden-dev/warden/internal/connector/fs"
	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/sandbox"
)

// A run's program sees its work directory as an overlay: what it changes
// lands in a scratch directory of the call's, and the host's work
// directory stays as it was until the program has ended. Then the
// connector applies each change through the fs kind's code, so that the
// run is one journal entry that warden undo reverts like a write's.

// maxChanges bounds the changes one run may apply; over it, none is.
const maxChanges = 10_000

// maxChangesShown bounds the changes a result lists.
const maxChangesShown = 100

// Change is one change of a run to its work directory, in a Result.
type Change struct {
	// Op is "write" (a file created or replaced), "mkdir", "remove" (a
	// file or a directory with everything in it), or "skipped": an object
	// that is not applied (a symbolic link, a FIFO, a socket, a device).
	Op   string `json:"op"`
	Path string `json:"path"`           // relative to the work directory
	Type string `json:"type,omitempty"` // for "skipped": what it is
}

// scratchBase is the directory of every exec resource's scratch
// directories on this host for this user: private to the user, and named
// in the serving process's Landlock paths.
func scratchBase() string {
	return filepath.Join(os.TempDir(), "warden-exec-"+strconv.Itoa(os.Geteuid()))
}

// privateDir makes dir (mode 0700) if it is missing and checks that it
// is a directory of this user's that no one else may enter.
func privateDir(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, iofs.ErrExist) {
		return err
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || !ok || int(st.Uid) != os.Geteuid() || fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%s is not a directory of this user's alone (mode %v)", dir, fi.Mode())
	}
	return nil
}

// openScratch makes this process's scratch directory for the resource,
// removing those of processes of the same user that are gone.
func openScratch(resource string) (string, error) {
	base := scratchBase()
	if err := privateDir(base); err != nil {
		return "", fmt.Errorf("scratch directory: %w", err)
	}
	entries, _ := os.ReadDir(base)
	for _, e := range entries {
		// "<resource>.<pid>.<random>"
		parts := strings.Split(e.Name(), ".")
		if len(parts) != 3 || parts[0] != resource {
			continue
		}
		pid, err := strconv.Atoi(parts[1])
		if err != nil || pid <= 0 || syscall.Kill(pid, 0) != syscall.ESRCH {
			continue
		}
		removeScratch(filepath.Join(base, e.Name()))
	}
	dir, err := os.MkdirTemp(base, resource+"."+strconv.Itoa(os.Getpid())+".")
	if err != nil {
		return "", fmt.Errorf("scratch directory: %w", err)
	}
	return dir, nil
}

// newCallScratch makes the scratch directory of one run beneath dir, with
// the overlay's upper and work directories.
func newCallScratch(dir string) (string, error) {
	call, err := os.MkdirTemp(dir, "run-")
	if err != nil {
		return "", err
	}
	for _, d := range []string{sandbox.ScratchUpper, sandbox.ScratchWork} {
		if err := os.Mkdir(filepath.Join(call, d), 0o700); err != nil {
			removeScratch(call)
			return "", err
		}
	}
	return call, nil
}

// removeScratch removes a scratch directory. The overlay leaves
// directories of mode 0 (its own, or the program's) that must be opened
// first.
func removeScratch(dir string) {
	filepath.WalkDir(dir, func(p string, d iofs.DirEntry, err error) error {
		if d != nil && d.IsDir() {
			os.Chmod(p, 0o700)
		}
		return nil
	})
	os.RemoveAll(dir)
}

// step is one change to apply.
type step struct {
	op    string // "write", "mkdir", "remove"
	rel   string
	upper string // the file to copy, for "write"
	size  int64  // its size
	perm  iofs.FileMode
}

// plan is what a run changed, as found in its upper directory.
type plan struct {
	steps   []step
	skipped []Change
	bytes   int64
}

// planChanges walks the upper directory and lists the changes to make to
// the work directory tree as it is now, in an order that works: a
// directory before what is in it, a removal before what takes its place.
func planChanges(upper string, tree *fs.Tree) (*plan, error) {
	p := &plan{}
	var walk func(rel string) error
	walk = func(rel string) error {
		dir := filepath.Join(upper, filepath.FromSlash(rel))
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		if len(p.steps)+len(p.skipped)+len(entries) > maxChanges*2 {
			return errTooMany
		}
		names := map[string]bool{}
		for _, e := range entries {
			names[e.Name()] = true
		}
		if rel != "." && isOpaque(dir) {
			// The program removed the directory and made it again: what the
			// work directory holds in it and the upper does not is gone.
			if real, err := tree.Names(rel); err == nil {
				for _, n := range real {
					if !names[n] {
						p.steps = append(p.steps, step{op: "remove", rel: path.Join(rel, n)})
					}
				}
			}
		}
		for _, e := range entries { // ReadDir sorts by name
			r := path.Join(rel, e.Name())
			fi, err := e.Info()
			if err != nil {
				return err
			}
			cur, cerr := tree.Lstat(r)
			exists := cerr == nil
			switch m := fi.Mode(); {
			case m&iofs.ModeCharDevice != 0 && isWhiteout(fi):
				if exists {
					p.steps = append(p.steps, step{op: "remove", rel: r})
				}
			case m.IsDir():
				switch {
				case exists && !cur.IsDir():
					p.steps = append(p.steps, step{op: "remove", rel: r}, step{op: "mkdir", rel: r})
				case !exists:
					p.steps = append(p.steps, step{op: "mkdir", rel: r})
				}
				if err := walk(r); err != nil {
					return err
				}
			case m.IsRegular():
				if exists && cur.IsDir() {
					p.steps = append(p.steps, step{op: "remove", rel: r})
				}
				p.steps = append(p.steps, step{op: "write", rel: r, upper: filepath.Join(upper, filepath.FromSlash(r)), size: fi.Size(), perm: m.Perm()})
				p.bytes += fi.Size()
			default:
				p.skipped = append(p.skipped, Change{Op: "skipped", Path: r, Type: typeOf(m)})
			}
		}
		return nil
	}
	if err := walk("."); err != nil {
		return nil, err
	}
	if len(p.steps) > maxChanges {
		return nil, errTooMany
	}
	return p, nil
}

var errTooMany = fmt.Errorf("the run made more than %d changes", maxChanges)

// isWhiteout reports whether fi, a character device in the upper
// directory, is the overlay's mark of a removed entry: device 0:0.
func isWhiteout(fi iofs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Rdev == 0
}

// isOpaque reports whether the upper directory dir hides the work
// directory's (userxattr overlays mark it user.overlay.opaque=y).
func isOpaque(dir string) bool {
	buf := make([]byte, 8)
	n, err := unix.Lgetxattr(dir, "user.overlay.opaque", buf)
	return err == nil && n == 1 && buf[0] == 'y'
}

// typeOf names a file type that is not applied.
func typeOf(m iofs.FileMode) string {
	switch {
	case m&iofs.ModeSymlink != 0:
		return "symlink"
	case m&iofs.ModeNamedPipe != 0:
		return "fifo"
	case m&iofs.ModeSocket != 0:
		return "socket"
	case m&iofs.ModeDevice != 0:
		return "device"
	}
	return "other"
}

// applied is what applying a plan did.
type applied struct {
	changes []Change // applied, then skipped
	count   int
	problem string // why not every change was applied; "" when all were
}

// apply makes the plan's changes in the work directory, recording each
// in j. It stops at the first that fails: those made before stay, and
// are in the journal.
func (p *plan) apply(ctx context.Context, tree *fs.Tree, j core.Journal) applied {
	var a applied
	note := func(c Change) {
		a.count++
		if len(a.changes) < maxChangesShown {
			a.changes = append(a.changes, c)
		}
	}
	for _, s := range p.steps {
		var err error
		changed := true
		switch s.op {
		case "remove":
			err = tree.Remove(ctx, j, s.rel)
		case "mkdir":
			err = tree.Mkdir(ctx, j, s.rel)
		case "write":
			var content []byte
			if content, err = readUpper(s.upper, s.size); err == nil {
				changed, err = tree.WriteFile(ctx, j, s.rel, content, s.perm)
			}
		}
		if err != nil {
			a.problem = fmt.Sprintf("%s %s failed: %s", s.op, s.rel, core.MessageOf(err))
			break
		}
		if changed {
			note(Change{Op: s.op, Path: s.rel})
		}
	}
	for _, c := range p.skipped {
		note(c)
	}
	if a.problem == "" && len(p.skipped) > 0 {
		what := "objects that are not files or directories (symbolic links, FIFOs, sockets, devices) were"
		if len(p.skipped) == 1 {
			what = "object that is not a file or a directory (a symbolic link, FIFO, socket or device) was"
		}
		a.problem = fmt.Sprintf("%d %s not applied", len(p.skipped), what)
	}
	return a
}

// readUpper reads a file of the upper directory, which nothing changes
// any more, never following a symbolic link.
func readUpper(name string, size int64) ([]byte, error) {
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, size+1))
	if err == nil && int64(len(b)) != size {
		err = fmt.Errorf("%s changed size while it was applied", name)
	}
	return b, err
}

// changesOf applies what the run left in scratch to the work directory,
// within limit bytes, and returns the result's fields.
func (c *Connector) changesOf(ctx context.Context, scratch string, limit int64, j core.Journal) (applied, error) {
	tree, err := c.tree(ctx)
	if err != nil {
		return applied{}, err
	}
	p, err := planChanges(filepath.Join(scratch, sandbox.ScratchUpper), tree)
	switch {
	case errors.Is(err, errTooMany):
		return applied{problem: fmt.Sprintf("nothing was applied: %v", err)}, nil
	case err != nil:
		return applied{}, fmt.Errorf("read the run's changes: %w", err)
	case p.bytes > limit:
		return applied{count: len(p.steps), problem: fmt.Sprintf("nothing was applied: the run wrote %d bytes of files, over the %d-byte limit (write_bytes)", p.bytes, limit)}, nil
	}
	return p.apply(ctx, tree, j), nil
}
