package fs

import (
	"errors"
	iofs "io/fs"
	"os"
	"syscall"

	"github.com/warden-dev/warden/internal/core"
	"golang.org/x/sys/unix"
)

// moveResult is the value of a move.
type moveResult struct {
	From     string `json:"from"`
	To       string `json:"to"`
	Type     string `json:"type"`     // "file" or "dir"
	Replaced bool   `json:"replaced"` // whether a file at to was replaced
}

func (m *mutation) move() (*core.Result, error) {
	s, from, to := m.s, m.s.target, m.s.toTarget
	switch {
	case from.rel == "." || from.name == "":
		return nil, core.E(m.op, core.KindDenied, core.ReasonInvalidPath,
			"The root of "+quote(m.c.resource)+" cannot be moved.", nil)
	case from.missing:
		return nil, notFound(m.op, s.path, nil)
	case to.name == "":
		return nil, exists(m.op, s.to)
	case to.missing:
		if err := m.checkNewName(to, s.to); err != nil {
			return nil, err
		}
	}
	isDir := from.info.IsDir()
	switch {
	case from.rel == to.rel:
		return nil, core.E(m.op, core.KindInvalid, core.ReasonInvalidArguments,
			"from and to name the same path; nothing was moved.", nil)
	case isDir && under(to.rel, from.rel):
		return nil, core.E(m.op, core.KindInvalid, core.ReasonInvalidArguments,
			"A directory cannot be moved into itself; nothing was moved.", nil)
	case !isDir && to.missing && to.dirOnly:
		return nil, core.E(m.op, core.KindInvalid, core.ReasonIsDirectory,
			quote(s.to)+` ends in "/", so it names a directory; give the file's new path.`, nil)
	}

	fd, err := openDirHandle(from.dir)
	if err != nil {
		return nil, fsError(m.op, s.path, err)
	}
	defer fd.close()
	td, err := openDirHandle(to.dir)
	if err != nil {
		return nil, fsError(m.op, s.to, err)
	}
	defer td.close()
	if _, err := lockAll(m.ctx, fd, td); err != nil {
		if m.ctx.Err() != nil {
			return nil, ctxError(m.op, m.ctx.Err())
		}
		return nil, fsError(m.op, s.path, err)
	}
	fromCur, err := m.recheck(fd, from, s.path)
	switch {
	case errors.Is(err, errAppeared):
		return nil, changedWrite(m.op, s.path, err)
	case err != nil:
		return nil, err
	case fromCur == nil:
		// Another Warden call moved or deleted it since.
		return nil, notFound(m.op, s.path, nil)
	case fromCur.IsDir() != isDir:
		return nil, changedWrite(m.op, s.path, errChanged)
	}
	toCur, err := m.recheck(td, to, s.to)
	switch {
	case errors.Is(err, errAppeared) && s.overwrite:
		// Created since the call was prepared, and not by Warden.
		return nil, changedWrite(m.op, s.to, err)
	case errors.Is(err, errAppeared):
		return nil, exists(m.op, s.to)
	case err != nil:
		return nil, err
	}
	if !isDir && !fromCur.Mode().IsRegular() {
		return nil, notRegularWrite(m.op, s.path)
	}
	if toCur != nil {
		switch {
		case !s.overwrite:
			return nil, exists(m.op, s.to)
		case toCur.IsDir():
			return nil, core.E(m.op, core.KindExists, core.ReasonExists,
				quote(s.to)+" is a directory; move never replaces a directory (give the full new path, not a directory to move into).", nil)
		case isDir:
			return nil, core.E(m.op, core.KindExists, core.ReasonExists,
				quote(s.to)+" exists; a directory is only moved to a new name.", nil)
		case !toCur.Mode().IsRegular():
			return nil, notRegularWrite(m.op, s.to)
		case os.SameFile(fromCur, toCur):
			return nil, core.E(m.op, core.KindInvalid, core.ReasonHardlinked,
				"from and to are hard links to the same file; nothing was moved.", nil)
		}
	}

	var fromSum string
	if isDir {
		if err := m.checkMovedTree(from, to, fromCur); err != nil {
			return nil, err
		}
	} else if fromSum, err = m.hashEntry(from, fromCur, s.path); err != nil {
		return nil, err
	}
	moved := stateOf(fromCur, fromSum)
	mv := core.Change{Op: "move", Path: from.rel, To: to.rel, Before: moved, After: moved}

	if toCur == nil {
		if err := m.announce(mv); err != nil {
			return nil, err
		}
		if err := moveNoReplace(fd, from.name, td, to.name, isDir); err != nil {
			if errors.Is(err, unix.EEXIST) && s.overwrite {
				// Created after the check, by something other than Warden.
				return nil, changedWrite(m.op, s.to, err)
			}
			return nil, m.moveError(err)
		}
	} else {
		toSum, err := m.hashEntry(to, toCur, s.to)
		if err != nil {
			return nil, err
		}
		if err := m.keep(td, to.name, to.rel, toCur, toSum); err != nil {
			return nil, err
		}
		// Only the move is announced: a write-ahead entry holds one change
		// to come. After a crash between the two, undo moves the file back;
		// the replaced file is in the journal but not named by the entry.
		if err := m.announce(mv); err != nil {
			return nil, err
		}
		if err := replaceEntry(fd, from.name, td, to.name, toCur); err != nil {
			return nil, m.moveError(err)
		}
		// The source's name holds the replaced file now: it goes at once.
		fd.unlink(from.name, false)
		m.record(core.Change{Op: "remove", Path: to.rel, Before: stateOf(toCur, toSum)})
	}
	m.noteLeft(fd, from.name, nil)
	if fi, err := td.root.Lstat(to.name); err == nil {
		// Lstat again: moving a directory may touch its times.
		m.noteLeft(td, to.name, fi)
	}
	m.record(mv)
	if err := errors.Join(fd.sync(), td.sync()); err != nil {
		return nil, writeError(m.op, s.to, err)
	}
	return &core.Result{Value: moveResult{From: from.rel, To: to.rel, Type: moved.Type, Replaced: toCur != nil}}, nil
}

// hashEntry returns the SHA-256 of t's regular file, which must be cur.
func (m *mutation) hashEntry(t *target, cur iofs.FileInfo, p string) (string, error) {
	f, err := openSame(t.dir, t.name, cur)
	if err != nil {
		return "", changedWrite(m.op, p, err)
	}
	defer f.Close()
	sum, err := hashFile(m.ctx, f)
	if err != nil {
		return "", writeError(m.op, p, err)
	}
	return sum, nil
}

// checkMovedTree requires every entry of the directory being moved to be
// visible to the grant both where it is and where it will be, and none to
// be reserved: moving a directory moves everything in it.
func (m *mutation) checkMovedTree(from, to *target, cur iofs.FileInfo) error {
	o, err := m.c.current(m.op)
	if err != nil {
		return err
	}
	sub, err := openDir(from.dir, from.name, cur)
	if err != nil {
		return changedWrite(m.op, m.s.path, err)
	}
	defer sub.Close()
	err = walkTree(m.ctx, sub, cur, from.rel, m.c.limits.MaxSearchFiles, func(_ *os.Root, parent, name string, fi iofs.FileInfo) error {
		rel := join(parent, name)
		dest := to.rel + rel[len(from.rel):]
		switch {
		case o.isReserved(fi) || o.isReservedPath(rel):
			return reservedError(m.op, m.s.path)
		case !m.scope.Visible(rel) || !m.scope.Visible(dest):
			return core.E(m.op, core.KindDenied, core.ReasonDenyRule,
				quote(m.s.path)+" holds entries this grant may not move (where they are or where they would go); nothing was moved.", nil)
		}
		return nil
	}, nil)
	if err != nil {
		return m.treeError(m.s.path, err)
	}
	return nil
}

// moveError maps a failed rename.
func (m *mutation) moveError(err error) error {
	var errno syscall.Errno
	switch {
	case errors.Is(err, unix.EEXIST), errors.Is(err, unix.ENOTEMPTY):
		return exists(m.op, m.s.to)
	case errors.As(err, &errno) && errno == syscall.EINVAL:
		return core.E(m.op, core.KindInvalid, core.ReasonInvalidArguments,
			"A directory cannot be moved into itself; nothing was moved.", err)
	}
	return writeError(m.op, m.s.path, err)
}
