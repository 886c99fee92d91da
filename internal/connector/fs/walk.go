package fs

import (
	"context"
	"errors"
	iofs "io/fs"
	"os"
	"slices"
	"strings"
	"syscall"

	"github.com/warden-dev/warden/internal/core"
)

// maxDirNames bounds the names read from one directory.
const maxDirNames = 1 << 20

var (
	// errTooManyNames reports a directory with more than maxDirNames entries.
	errTooManyNames = errors.New("directory has too many entries")
	// errWalkBudget reports a walk that examined more entries than allowed.
	errWalkBudget = errors.New("walk examined too many entries")
)

// dirent is one directory entry as listed, before it is examined.
type dirent struct {
	name  string
	typ   iofs.FileMode // type bits as the directory listing reports them
	known bool          // whether typ is known; if not, only an Lstat tells
	ino   uint64        // the inode the listing reports, or 0 if unknown
}

// readDir returns the entries of dir sorted by name in byte order.
func readDir(dir *os.Root) ([]dirent, error) {
	ents, err := readDirents(dir)
	if err != nil {
		return nil, err
	}
	sortDirents(ents)
	return ents, nil
}

// openDirFlags opens a directory to read its entries. O_DIRECTORY refuses
// anything else without blocking; O_NONBLOCK also spares os.OpenFile the
// system calls it otherwise makes to switch the descriptor to non-blocking
// mode and back (directories, like regular files, cannot be polled).
const openDirFlags = os.O_RDONLY | syscall.O_DIRECTORY | syscall.O_NONBLOCK

// readSubdir returns the sorted entries of the directory name in parent,
// which must be the object whose Lstat is want. It reads through a plain
// directory handle: opened with O_DIRECTORY, so it never blocks on a FIFO
// swapped in, and checked against want, so a swapped-in link (which
// os.Root follows only within parent) is refused. A walk opens a
// directory's os.Root only if it must look inside it further.
func readSubdir(parent *os.Root, name string, want iofs.FileInfo) ([]dirent, error) {
	f, err := parent.OpenFile(name, openDirFlags, 0)
	if err != nil {
		return nil, errors.Join(errChanged, err)
	}
	defer f.Close()
	got, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !os.SameFile(want, got) {
		return nil, errChanged
	}
	ents, err := readDirentsFile(f)
	if err != nil {
		return nil, err
	}
	sortDirents(ents)
	return ents, nil
}

func sortDirents(ents []dirent) {
	slices.SortFunc(ents, func(a, b dirent) int { return strings.Compare(a.name, b.name) })
}

// comparePaths orders root-relative paths component by component, which is
// depth-first order with the entries of each directory sorted by name: a
// directory's contents come right after it, before its next sibling ("a",
// "a/x", "a-b"). Because names never contain '/', this is byte order with
// '/' ranked below every other byte.
func comparePaths(a, b string) int {
	n := min(len(a), len(b))
	for i := range n {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if x == '/' {
			return -1
		}
		if y == '/' {
			return 1
		}
		if x < y {
			return -1
		}
		return 1
	}
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return 0
}

// walker visits a directory tree depth-first in comparePaths order without
// following symbolic links. Each directory is opened from its parent's
// handle by name, with the same identity check as path resolution, so a
// directory swapped for a link during the walk is skipped, never followed.
// Reserved paths and paths the scope hides are skipped before they are
// examined, and a hidden directory is not entered.
type walker struct {
	o     *opened
	scope core.Scope
	// skip, if set, is consulted before an entry is examined; it lets a
	// listing pass over everything before its cursor cheaply.
	skip func(rel string) bool
	// lazyFiles lets the walk pass entries that the directory listing
	// reports as regular files to visit without an Lstat (fi is nil). A
	// visitor that opens the file must Lstat it first. Directories are
	// always examined, because entering them needs their identity.
	lazyFiles bool
	// prefilter, if set, is consulted for entries whose type the directory
	// listing reports, other than directories, before anything else: an
	// entry it rejects is counted against the budget and skipped without a
	// visibility check or an Lstat. Search uses it to pass over names that
	// do not match cheaply.
	prefilter func(name string, typ iofs.FileMode) bool
	// budget bounds the entries examined (0: no bound).
	budget   int
	examined int
	// hook, set by tests, is called with "enter" before a directory is
	// opened to be read.
	hook func(event, rel string)
}

// visitFunc is called for each entry with its type, its Lstat (nil when
// lazyFiles let the walk skip it), a function returning the directory
// handle holding it (opened on demand) and its name there. It returns
// whether to enter the entry (if it is a directory) and whether to stop the
// walk.
type visitFunc func(rel string, typ iofs.FileMode, fi iofs.FileInfo, dir func() (*os.Root, error), name string) (enter, stop bool, err error)

// frame is one directory being walked.
type frame struct {
	rel  string
	ents []dirent
	next int
}

// walk visits the entries below base, a directory whose identity is
// baseInfo and whose root-relative path is baseRel. The walk checks ctx as
// it goes and returns its error when it is done.
func (w *walker) walk(ctx context.Context, base *os.Root, baseInfo iofs.FileInfo, baseRel string, visit visitFunc) error {
	stack := newDirStack(base, baseInfo, nil, nil)
	defer stack.closeAll()
	ents, err := readDir(base)
	if err != nil {
		return err
	}
	frames := []frame{{rel: baseRel, ents: ents}}
	for n := 0; len(frames) > 0; n++ {
		if n%64 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		fr := &frames[len(frames)-1]
		if fr.next == len(fr.ents) {
			frames = frames[:len(frames)-1]
			if len(frames) > 0 {
				stack.pop()
			}
			continue
		}
		e := fr.ents[fr.next]
		fr.next++
		if isTempName(e.name) {
			continue // Warden's own temporary files are never shown
		}
		if w.prefilter != nil && e.known && !e.typ.IsDir() && !w.prefilter(e.name, e.typ) {
			if w.examined++; w.budget > 0 && w.examined > w.budget {
				return errWalkBudget
			}
			continue
		}
		rel := join(fr.rel, e.name)
		if (w.skip != nil && w.skip(rel)) || w.o.isReservedPath(rel) || !w.scope.Visible(rel) {
			continue
		}
		if w.examined++; w.budget > 0 && w.examined > w.budget {
			return errWalkBudget
		}
		typ := e.typ
		var fi iofs.FileInfo
		if w.lazyFiles && e.known && typ.IsDir() && e.ino != 0 && len(rel) < MaxPathLen {
			// A directory in a walk that needs no Lstat of files: read it
			// straight away, checking the handle against the inode the
			// listing reported instead of a separate Lstat.
			if stop, err := w.enterListed(stack, &frames, e, rel, visit); err != nil || stop {
				return err
			}
			continue
		}
		if !w.lazyFiles || !e.known || typ != 0 {
			dir, err := stack.top()
			if err != nil {
				// This directory or one above it changed identity since the
				// walk entered it: abandon it.
				fr.next = len(fr.ents)
				continue
			}
			if fi, err = dir.Lstat(e.name); err != nil || w.o.isReserved(fi) {
				continue // gone since it was listed, or reserved under another name
			}
			typ = fi.Mode().Type()
		}
		enter, stop, err := visit(rel, typ, fi, stack.top, e.name)
		if err != nil || stop {
			return err
		}
		if !enter || !typ.IsDir() || len(rel) >= MaxPathLen {
			// Entries below a path this long could not be named in a
			// later call; not entering also bounds the walk's depth.
			continue
		}
		parent, err := stack.top()
		if err != nil {
			fr.next = len(fr.ents)
			continue
		}
		if w.hook != nil {
			w.hook("enter", rel)
		}
		ents, err := readSubdir(parent, e.name, fi)
		if err != nil {
			continue // swapped for something else: skip, never follow
		}
		stack.pushLazy(e.name, fi)
		frames = append(frames, frame{rel: rel, ents: ents})
	}
	return nil
}

// openWalk returns the opened root and the directory a list or search
// walks, and a function that releases the directory.
func (c *Connector) openWalk(op string, s *call) (*opened, *os.Root, iofs.FileInfo, func(), error) {
	o, err := c.current(op)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	dir, info, release, err := openTargetDir(op, s)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	return o, dir, info, release, nil
}

// openTargetDir returns the directory a list or search works in, and a
// function that releases it.
func openTargetDir(op string, s *call) (*os.Root, iofs.FileInfo, func(), error) {
	t := s.target
	switch {
	case t.missing:
		return nil, nil, nil, notFound(op, s.path, nil)
	case t.name == "":
		return t.dir, t.info, func() {}, nil
	case !t.info.IsDir():
		return nil, nil, nil, notDirectory(op, s.path, nil)
	}
	dir, err := openDir(t.dir, t.name, t.info)
	if err != nil {
		return nil, nil, nil, fsError(op, s.path, err)
	}
	return dir, t.info, func() { dir.Close() }, nil
}

// enterListed visits and enters a directory entry whose type and inode came
// from the directory listing (see walk). The handle is accepted if it is
// the listed inode on the parent's device; otherwise, for example on a mount
// point or a file system whose listing reports other inode numbers, only if
// it is what an Lstat of the name shows now. A directory swapped for a link
// is followed by os.Root only within its parent, fails both checks and is
// skipped.
func (w *walker) enterListed(stack *dirStack, frames *[]frame, e dirent, rel string, visit visitFunc) (stop bool, err error) {
	enter, stop, err := visit(rel, e.typ, nil, stack.top, e.name)
	if err != nil || stop || !enter {
		return stop, err
	}
	parent, err := stack.top()
	if err != nil {
		fr := &(*frames)[len(*frames)-1]
		fr.next = len(fr.ents)
		return false, nil
	}
	if w.hook != nil {
		w.hook("enter", rel)
	}
	f, err := parent.OpenFile(e.name, openDirFlags, 0)
	if err != nil {
		return false, nil
	}
	defer f.Close()
	got, err := f.Stat()
	if err != nil || !got.IsDir() {
		return false, nil
	}
	if !sameListed(got, e.ino, stack.levels[len(stack.levels)-1].info) {
		now, err := parent.Lstat(e.name)
		if err != nil || !os.SameFile(now, got) {
			return false, nil
		}
	}
	if w.o.isReserved(got) {
		return false, nil
	}
	ents, err := readDirentsFile(f)
	if err != nil {
		return false, nil
	}
	sortDirents(ents)
	stack.pushLazy(e.name, got)
	*frames = append(*frames, frame{rel: rel, ents: ents})
	return false, nil
}
