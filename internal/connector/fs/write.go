package fs

import (
	"bytes"
	"errors"
	"io"
	iofs "io/fs"
	"os"

	"github.com/warden-dev/warden/internal/core"
	"golang.org/x/sys/unix"
)

// writeResult is the value of a write.
type writeResult struct {
	Path    string `json:"path"`
	Bytes   int64  `json:"bytes"` // bytes this call wrote (for append: appended)
	Size    int64  `json:"size"`  // the file's size afterwards
	Created bool   `json:"created"`
	SHA256  string `json:"sha256"`
}

// checkFileTarget refuses targets that can never be a file to write.
func (m *mutation) checkFileTarget(t *target, p string) error {
	switch {
	case t.missing && t.dirOnly:
		return core.E(m.op, core.KindInvalid, core.ReasonIsDirectory,
			quote(p)+` ends in "/", so it names a directory, not a file.`, nil)
	case t.missing:
		return m.checkNewName(t, p)
	case t.name == "" || t.info.IsDir():
		return isDirectory(m.op, p)
	case !t.info.Mode().IsRegular():
		return notRegularWrite(m.op, p)
	}
	return nil
}

func (m *mutation) write() (*core.Result, error) {
	s, t := m.s, m.s.target
	if err := m.checkFileTarget(t, s.path); err != nil {
		return nil, err
	}
	if !t.missing && s.writeMode == "create" {
		return nil, exists(m.op, s.path)
	}
	d, err := m.lockTarget(t)
	if err != nil {
		return nil, err
	}
	defer d.close()
	cur, err := m.recheck(t, s.path)
	switch {
	case errors.Is(err, errAppeared) && s.writeMode == "create":
		return nil, exists(m.op, s.path)
	case errors.Is(err, errAppeared):
		return nil, changedWrite(m.op, s.path, err)
	case err != nil:
		return nil, err
	}

	content := io.Reader(bytes.NewReader(s.content))
	var oldSum string
	nf := newFile{uid: -1, gid: -1}
	if cur != nil {
		if err := m.checkReplaceable(t, cur, s.path); err != nil {
			return nil, err
		}
		f, err := openSame(t.dir, t.name, cur)
		if err != nil {
			return nil, changedWrite(m.op, s.path, err)
		}
		if s.writeMode == "append" {
			// Append also writes a new file, so that readers never see half
			// of it and the journal's copy of the old file stays intact.
			old, sum, tooBig, err := readBounded(m.ctx, f, m.c.limits.MaxWriteBytes-int64(len(s.content)))
			f.Close()
			switch {
			case err != nil:
				return nil, writeError(m.op, s.path, err)
			case tooBig:
				return nil, tooLarge(m.op, "The file with the appended content", m.c.limits.MaxWriteBytes)
			}
			oldSum = sum
			content = io.MultiReader(bytes.NewReader(old), content)
		} else {
			oldSum, err = hashFile(m.ctx, f)
			f.Close()
			if err != nil {
				return nil, writeError(m.op, s.path, err)
			}
		}
		nf.perm, nf.keep = cur.Mode().Perm(), true
		nf.uid, nf.gid = owner(cur)
	}
	after, err := m.commitFile(d, t, s.path, cur, oldSum, content, nf)
	if err != nil {
		return nil, err
	}
	return &core.Result{
		Value: writeResult{Path: t.rel, Bytes: int64(len(s.content)), Size: after.Size, Created: cur == nil, SHA256: after.SHA256},
		Bytes: int64(len(s.content)),
	}, nil
}

// commitFile writes content to a temporary file next to t's entry and
// puts it in place atomically: as a new name if cur is nil (failing if one
// appeared), or in place of cur, which is kept in the journal first. The
// directory is flushed and the change recorded. It returns the new state.
func (m *mutation) commitFile(d *dirHandle, t *target, p string, cur iofs.FileInfo, oldSum string, content io.Reader, nf newFile) (core.ObjectState, error) {
	tmp, sum, fi, f, err := d.writeTempOpen(m.ctx, content, nf)
	if err != nil {
		if m.ctx.Err() != nil {
			return core.ObjectState{}, ctxError(m.op, m.ctx.Err())
		}
		return core.ObjectState{}, writeError(m.op, p, err)
	}
	done := false
	defer func() {
		f.Close()
		if !done {
			d.unlink(tmp, false)
		}
	}()
	after := stateOf(fi, sum)
	if cur == nil {
		ch := core.Change{Op: "create", Path: t.rel, After: after}
		if err := m.syncAnnouncing(f, ch, p); err != nil {
			return core.ObjectState{}, err
		}
		m.commitHook(t.rel)
		if err := moveNoReplace(d, tmp, d, t.name, false); err != nil {
			if errors.Is(err, unix.EEXIST) {
				return core.ObjectState{}, exists(m.op, p)
			}
			return core.ObjectState{}, writeError(m.op, p, err)
		}
		done = true
		m.record(ch)
	} else {
		if err := m.keep(d, t.name, t.rel, cur, oldSum); err != nil {
			return core.ObjectState{}, err
		}
		ch := core.Change{Op: "replace", Path: t.rel, Before: stateOf(cur, oldSum), After: after}
		if err := m.syncAnnouncing(f, ch, p); err != nil {
			return core.ObjectState{}, err
		}
		m.commitHook(t.rel)
		if err := replaceEntry(d, tmp, d, t.name, cur); err != nil {
			done = errors.Is(err, errKeepTemp)
			return core.ObjectState{}, writeError(m.op, p, err)
		}
		done = true
		m.record(ch)
		defer m.c.release(d, tmp) // after the flush: tmp holds the old file
	}
	if err := d.sync(); err != nil {
		return after, writeError(m.op, p, err)
	}
	return after, nil
}

// syncAnnouncing flushes the new content of f to disk with the journal's
// announcement of ch, in one round: on a journaling file system the two
// then share one commit instead of waiting for each other. Both must be
// durable before ch may happen.
func (m *mutation) syncAnnouncing(f *os.File, ch core.Change, p string) error {
	if m.j == nil {
		if err := f.Sync(); err != nil {
			return writeError(m.op, p, err)
		}
		return nil
	}
	if err := m.j.Prepare(ch, f); err != nil {
		return journalError(m.op, ch.Path, err)
	}
	return nil
}

// commitHook calls the test hook, if any, just before a directory entry
// is changed.
func (m *mutation) commitHook(rel string) {
	if m.c.hook != nil {
		m.c.hook("commit", rel)
	}
}
