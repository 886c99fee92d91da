package fs

import (
	"errors"
	iofs "io/fs"
	"os"
	"syscall"

	"github.com/warden-dev/warden/internal/core"
)

// deleteResult is the value of a delete.
type deleteResult struct {
	Path    string `json:"path"`
	Type    string `json:"type"`    // "file" or "dir"
	Entries int    `json:"entries"` // entries removed inside a directory
}

func (m *mutation) delete() (*core.Result, error) {
	s, t := m.s, m.s.target
	switch {
	case t.rel == "." || t.name == "":
		return nil, core.E(m.op, core.KindDenied, core.ReasonInvalidPath,
			"The root of "+quote(m.c.resource)+" cannot be deleted.", nil)
	case t.missing:
		return nil, notFound(m.op, s.path, nil)
	}
	d, cur, err := m.lockExisting(t, s.path)
	if err != nil {
		return nil, err
	}
	defer d.close()
	switch {
	case cur.IsDir():
		return m.deleteDir(d, t, cur)
	case !cur.Mode().IsRegular():
		return nil, notRegularWrite(m.op, s.path)
	}
	f, err := openSame(t.dir, t.name, cur)
	if err != nil {
		return nil, changedWrite(m.op, s.path, err)
	}
	sum, err := hashFile(m.ctx, f)
	f.Close()
	if err != nil {
		return nil, writeError(m.op, s.path, err)
	}
	if err := m.keep(d, t.name, t.rel, cur, sum); err != nil {
		return nil, err
	}
	ch := core.Change{Op: "remove", Path: t.rel, Before: stateOf(cur, sum)}
	if err := m.announce(ch); err != nil {
		return nil, err
	}
	m.commitHook(t.rel)
	tmp, err := d.detach(t.name, cur)
	if err != nil {
		return nil, writeError(m.op, s.path, err)
	}
	m.noteLeft(d, t.name, nil)
	m.record(ch)
	// The file is gone from its name; its data is in the journal.
	defer m.c.release(d, tmp)
	if err := d.sync(); err != nil {
		return nil, writeError(m.op, s.path, err)
	}
	return &core.Result{Value: deleteResult{Path: t.rel, Type: "file"}}, nil
}

// deleteDir deletes the directory t names, whose Lstat is cur, with d (its
// parent) locked.
func (m *mutation) deleteDir(d *dirHandle, t *target, cur iofs.FileInfo) (*core.Result, error) {
	s := m.s
	empty := core.Change{Op: "remove", Path: t.rel, Before: stateOf(cur, "")}
	if err := m.announce(empty); err != nil {
		return nil, err
	}
	err := d.unlink(t.name, true)
	switch {
	case err == nil:
		m.record(empty)
		if err := d.sync(); err != nil {
			return nil, writeError(m.op, s.path, err)
		}
		return &core.Result{Value: deleteResult{Path: t.rel, Type: "dir"}}, nil
	case !errors.Is(err, syscall.ENOTEMPTY) && !errors.Is(err, syscall.EEXIST):
		return nil, writeError(m.op, s.path, err)
	case !s.recursive:
		return nil, core.E(m.op, core.KindInvalid, core.ReasonNotEmpty,
			quote(s.path)+" is a directory that is not empty; nothing was deleted. Pass recursive: true to delete it with everything in it.", nil)
	case !m.opts.Has(OptionRecursive):
		return nil, core.E(m.op, core.KindDenied, core.ReasonNotGranted,
			"The grant does not allow recursive deletion, so "+quote(s.path)+" (a directory that is not empty) was not deleted. Delete its content first, or ask for a grant with recursive: true.", nil)
	}

	// Describe and keep everything first; refuse the whole call if any
	// entry may not be deleted.
	sub, err := openDir(t.dir, t.name, cur)
	if err != nil {
		return nil, changedWrite(m.op, s.path, err)
	}
	defer sub.Close()
	o, err := m.c.current(m.op)
	if err != nil {
		return nil, err
	}
	check := func(rel string, fi iofs.FileInfo) error {
		switch {
		case o.isReserved(fi) || o.isReservedPath(rel):
			return reservedError(m.op, s.path)
		case !m.scope.Visible(rel):
			return core.E(m.op, core.KindDenied, core.ReasonDenyRule,
				quote(s.path)+" holds entries this grant may not delete; nothing was deleted.", nil)
		}
		return nil
	}
	keep := func(dir *os.Root, name, rel string, fi iofs.FileInfo, sum string) error {
		if m.j == nil {
			return nil
		}
		dh, err := openDirHandle(dir)
		if err != nil {
			return err
		}
		defer dh.close()
		return m.keep(dh, name, rel, fi, sum)
	}
	snap, err := snapshotTree(m.ctx, sub, cur, t.rel, m.c.limits.MaxSearchFiles, check, keep)
	if err != nil {
		return nil, m.treeError(s.path, err)
	}

	// Take the directory away from its name in one step, then empty it.
	ch := core.Change{Op: "remove", Path: t.rel, Before: snap.state}
	if err := m.announce(ch); err != nil {
		return nil, err
	}
	tmp, err := d.detach(t.name, cur)
	if err != nil {
		return nil, writeError(m.op, s.path, err)
	}
	m.noteLeft(d, t.name, nil)
	m.record(ch)
	n := entryCount(snap.state)
	if err := removeSnapshot(m.ctx, sub, cur, snap, t.rel, 2*m.c.limits.MaxSearchFiles); err != nil {
		return nil, leftover(m.op, s.path, err)
	}
	if err := d.unlink(tmp, true); err != nil {
		return nil, leftover(m.op, s.path, err)
	}
	if err := d.sync(); err != nil {
		return nil, writeError(m.op, s.path, err)
	}
	return &core.Result{Value: deleteResult{Path: t.rel, Type: "dir", Entries: n}}, nil
}

// treeError maps a failure while examining a directory tree to be moved
// or deleted.
func (m *mutation) treeError(p string, err error) error {
	var ce *core.Error
	switch {
	case errors.As(err, &ce):
		return err
	case errors.Is(err, errWalkBudget), errors.Is(err, errTooManyNames):
		return core.E(m.op, core.KindTooLarge, core.ReasonTooLarge,
			quote(p)+" holds more than "+itoa(int64(m.c.limits.MaxSearchFiles))+" entries, too many for one call; nothing was changed.", err)
	case errors.Is(err, errSpecialInTree):
		return core.E(m.op, core.KindDenied, core.ReasonNotRegularFile,
			quote(p)+" holds a device, pipe or socket, which Warden cannot keep for undo; nothing was changed.", err)
	}
	return writeError(m.op, p, err)
}

// leftover reports a directory that was deleted from its path but whose
// content could not all be removed (something was added to it meanwhile).
func leftover(op, p string, err error) error {
	return core.E(op, core.KindUnavailable, core.ReasonToolFailed,
		quote(p)+" was deleted and can be undone, but some of its content could not be removed from the disk; it is hidden.", err)
}
