package fs

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	iofs "io/fs"
	"slices"

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
	cur, err := m.recheck(d, t, s.path)
	switch {
	case errors.Is(err, errAppeared) && s.writeMode == "create":
		return nil, exists(m.op, s.path)
	case errors.Is(err, errAppeared):
		return nil, changedWrite(m.op, s.path, err)
	case err != nil:
		return nil, err
	case cur != nil && s.writeMode == "create":
		// Another Warden call created it since this one was prepared.
		return nil, exists(m.op, s.path)
	}

	content := s.content
	var oldSum string
	var oldContent []byte // when read whole, for the journal
	nf := newFile{uid: -1, gid: -1}
	if cur != nil {
		if err := m.checkReplaceable(t, cur, s.path); err != nil {
			return nil, err
		}
		f, err := d.openSame(t.name, cur)
		if err != nil {
			return nil, changedWrite(m.op, s.path, err)
		}
		if s.writeMode == "append" {
			// Append also writes a new file, so that readers never see half
			// of it and the journal's copy of the old file stays intact.
			old, sum, tooBig, err := readBounded(m.ctx, f, cur.Size(), m.c.limits.MaxWriteBytes-int64(len(s.content)))
			f.Close()
			switch {
			case err != nil:
				return nil, writeError(m.op, s.path, err)
			case tooBig:
				return nil, tooLarge(m.op, "The file with the appended content", m.c.limits.MaxWriteBytes)
			}
			oldSum, oldContent = sum, old
			content = slices.Concat(old, s.content)
		} else if cur.Size() <= keepReadMax {
			old, sum, tooBig, err := readBounded(m.ctx, f, cur.Size(), keepReadMax)
			f.Close()
			switch {
			case err != nil:
				return nil, writeError(m.op, s.path, err)
			case tooBig:
				return nil, changedWrite(m.op, s.path, errChanged)
			}
			oldSum, oldContent = sum, old
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
	if s.perm != nil {
		nf.perm, nf.keep = s.perm.Perm(), true
	}
	after, err := m.commitFile(d, t, s.path, cur, oldSum, oldContent, content, nf)
	if err != nil {
		return nil, err
	}
	return &core.Result{
		Value: writeResult{Path: t.rel, Bytes: int64(len(s.content)), Size: after.Size, Created: cur == nil, SHA256: after.SHA256},
		Bytes: int64(len(s.content)),
	}, nil
}

// keepReadMax is the largest file a write reads whole before replacing
// it, so that the journal, which copies small files, need not read it
// again.
const keepReadMax = 64 << 10

// commitFile writes content to a temporary file next to t's entry and
// puts it in place atomically: as a new name if cur is nil (failing if one
// appeared), or in place of cur, which is kept in the journal first (with
// oldContent, if the caller read it whole). The directory is flushed and
// the change recorded. It returns the new state.
//
// When it replaces cur, the journal's entry is flushed while the
// temporary file is written and flushed: the entry announces the new
// state, which content and nf determine, so nothing waits for the other.
func (m *mutation) commitFile(d *dirHandle, t *target, p string, cur iofs.FileInfo, oldSum string, oldContent, content []byte, nf newFile) (core.ObjectState, error) {
	var (
		tmp   string
		f     *fdFile
		fi    iofs.FileInfo // of the temporary file, which becomes t's entry
		after core.ObjectState
		werr  error // of writing the temporary file
	)
	// write writes the temporary file; if want is set, it must match, and
	// its hash is content's, not computed again.
	write := func(want *core.ObjectState) error {
		var sum, known string
		if want != nil {
			known = want.SHA256
		}
		tmp, sum, fi, f, werr = d.writeTempOpen(m.ctx, bytes.NewReader(content), known, nf)
		if werr != nil {
			return werr
		}
		after = stateOf(fi, sum)
		if want != nil && !sameFileState(after, *want) {
			werr = fmt.Errorf("wrote %+v, not the announced %+v", after, *want)
		}
		return werr
	}
	done := false
	defer func() {
		if f != nil {
			f.Close()
			if !done {
				d.unlink(tmp, false)
			}
		}
	}()
	failed := func(err error) error {
		switch {
		case werr == nil && m.j != nil:
			return journalError(m.op, t.rel, err)
		case m.ctx.Err() != nil:
			return ctxError(m.op, m.ctx.Err())
		}
		return writeError(m.op, p, err)
	}
	if cur == nil {
		if err := write(nil); err != nil {
			return core.ObjectState{}, failed(err)
		}
		ch := core.Change{Op: "create", Path: t.rel, After: after}
		if err := m.announceWhile(ch, f.Sync); err != nil {
			return core.ObjectState{}, failed(err)
		}
		m.commitHook(t.rel)
		if err := moveNoReplace(d, tmp, d, t.name, false); err != nil {
			if errors.Is(err, unix.EEXIST) {
				return core.ObjectState{}, exists(m.op, p)
			}
			return core.ObjectState{}, writeError(m.op, p, err)
		}
		done = true
		m.noteLeft(d, t.name, fi)
		m.record(ch)
	} else {
		if err := m.keepRead(d, t.name, t.rel, cur, oldSum, oldContent); err != nil {
			return core.ObjectState{}, err
		}
		sum := sha256.Sum256(content)
		want := core.ObjectState{Type: "file", Mode: nf.perm.Perm(), Size: int64(len(content)), SHA256: hex.EncodeToString(sum[:])}
		ch := core.Change{Op: "replace", Path: t.rel, Before: stateOf(cur, oldSum), After: want}
		err := m.announceWhile(ch, func() error {
			if err := write(&want); err != nil {
				return err
			}
			if err := f.Sync(); err != nil {
				werr = err
			}
			return werr
		})
		if err != nil {
			return core.ObjectState{}, failed(err)
		}
		m.commitHook(t.rel)
		if err := replaceEntry(d, tmp, d, t.name, cur); err != nil {
			done = errors.Is(err, errKeepTemp)
			return core.ObjectState{}, writeError(m.op, p, err)
		}
		done = true
		m.noteLeft(d, t.name, fi)
		m.record(ch)
		defer m.c.release(d, tmp) // after the flush: tmp holds the old file
	}
	if err := d.sync(); err != nil {
		return after, writeError(m.op, p, err)
	}
	return after, nil
}

// sameFileState reports whether two states describe the same file.
func sameFileState(a, b core.ObjectState) bool {
	return a.Type == b.Type && a.Mode == b.Mode && a.Size == b.Size && a.SHA256 == b.SHA256
}

// commitHook calls the test hook, if any, just before a directory entry
// is changed.
func (m *mutation) commitHook(rel string) {
	if m.c.hook != nil {
		m.c.hook("commit", rel)
	}
}
