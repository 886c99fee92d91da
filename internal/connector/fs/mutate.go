package fs

import (
	"context"
	"encoding/base64"
	"errors"
	iofs "io/fs"
	"os"

	"github.com/warden-dev/warden/internal/core"
)

// edit is one replacement of an edit call.
type edit struct {
	Old string `json:"old"`
	New string `json:"new"`
}

// decodeWrite fills s from the arguments of a mutating operation.
func (c *Connector) decodeWrite(op string, inv *core.Invocation, s *call) error {
	invalid := func(msg string) error {
		return core.E(op, core.KindInvalid, core.ReasonInvalidArguments, msg, nil)
	}
	switch inv.Op {
	case OpWrite:
		var a struct {
			Path     string  `json:"path"`
			Content  *string `json:"content"`
			Encoding string  `json:"encoding"`
			Mode     string  `json:"mode"`
		}
		if err := decodeArgs(op, inv, &a); err != nil {
			return err
		}
		s.path = a.Path
		if a.Content == nil {
			return invalid(`content is required (use "" for an empty file).`)
		}
		switch a.Encoding {
		case "", "text":
			s.content = []byte(*a.Content)
		case "base64":
			b, err := base64.StdEncoding.DecodeString(*a.Content)
			if err != nil {
				return core.E(op, core.KindInvalid, core.ReasonInvalidArguments, "content is not valid base64 (standard alphabet, with padding).", err)
			}
			s.content = b
		default:
			return invalid(`encoding must be "text" or "base64".`)
		}
		switch a.Mode {
		case "", "create":
			s.writeMode = "create"
		case "overwrite", "append":
			s.writeMode = a.Mode
		default:
			return invalid(`mode must be "create", "overwrite" or "append".`)
		}
		if int64(len(s.content)) > c.limits.MaxWriteBytes {
			return tooLarge(op, "The content", c.limits.MaxWriteBytes)
		}
	case OpEdit:
		var a struct {
			Path  string `json:"path"`
			Edits []struct {
				Old *string `json:"old"`
				New *string `json:"new"`
			} `json:"edits"`
			DryRun bool `json:"dry_run"`
		}
		if err := decodeArgs(op, inv, &a); err != nil {
			return err
		}
		s.path, s.dryRun = a.Path, a.DryRun
		if len(a.Edits) == 0 || len(a.Edits) > maxEdits {
			return invalid("edits must hold between 1 and " + itoa(maxEdits) + " replacements.")
		}
		for i, e := range a.Edits {
			switch {
			case e.Old == nil || e.New == nil:
				return invalid("edits[" + itoa(int64(i)) + "] needs both old and new.")
			case *e.Old == "":
				return invalid("edits[" + itoa(int64(i)) + "].old is empty; give the exact text to replace.")
			}
			s.edits = append(s.edits, edit{Old: *e.Old, New: *e.New})
		}
	case OpMkdir:
		var a struct {
			Path    string `json:"path"`
			Parents bool   `json:"parents"`
		}
		if err := decodeArgs(op, inv, &a); err != nil {
			return err
		}
		s.path, s.parents = a.Path, a.Parents
	case OpMove:
		var a struct {
			From      string `json:"from"`
			To        string `json:"to"`
			Overwrite bool   `json:"overwrite"`
		}
		if err := decodeArgs(op, inv, &a); err != nil {
			return err
		}
		s.path, s.to, s.overwrite = a.From, a.To, a.Overwrite
	case OpDelete:
		var a struct {
			Path      string `json:"path"`
			Recursive bool   `json:"recursive"`
		}
		if err := decodeArgs(op, inv, &a); err != nil {
			return err
		}
		s.path, s.recursive = a.Path, a.Recursive
	}
	return nil
}

// mutation is one execution of a mutating operation.
type mutation struct {
	c     *Connector
	ctx   context.Context
	op    string
	s     *call
	j     core.Journal // nil: the connector is used without a journal
	opts  core.GrantOptions
	scope core.Scope
}

// keep preserves the regular file name in d before it is replaced or
// removed.
func (m *mutation) keep(d *dirHandle, name, rel string, fi iofs.FileInfo, sum string) error {
	return m.keepRead(d, name, rel, fi, sum, nil)
}

// keepRead is keep for a file whose content the caller read (from the
// object fi describes), so that the journal need not read it again.
func (m *mutation) keepRead(d *dirHandle, name, rel string, fi iofs.FileInfo, sum string, content []byte) error {
	if m.j == nil {
		return nil
	}
	if err := m.j.Keep(d.f, name, fi, sum, content); err != nil {
		return journalError(m.op, rel, err)
	}
	return nil
}

// announce tells the journal about ch, which is about to happen, and makes
// it durable with what was kept. If the journal cannot, nothing may change.
func (m *mutation) announce(ch core.Change) error {
	if err := m.announceWhile(ch, nil); err != nil {
		return journalError(m.op, ch.Path, err)
	}
	return nil
}

// announceWhile is announce running during (if not nil) meanwhile, and
// returning its error or the journal's as they are; without a journal it
// only runs during. Either failing, nothing may change.
func (m *mutation) announceWhile(ch core.Change, during func() error) error {
	switch {
	case m.j != nil:
		return m.j.Prepare(ch, during)
	case during != nil:
		return during()
	}
	return nil
}

func (m *mutation) record(ch core.Change) {
	if m.j != nil {
		m.j.Record(ch)
	}
}

// stateOf describes fi (with the content hash sum of a file) for the journal.
func stateOf(fi iofs.FileInfo, sum string) core.ObjectState {
	st := core.ObjectState{Type: typeName(fi.Mode()), Mode: fi.Mode().Perm()}
	if st.Type == "file" {
		st.Size, st.SHA256 = fi.Size(), sum
	}
	return st
}

// lockTarget opens and locks the directory holding t's entry.
func (m *mutation) lockTarget(t *target) (*dirHandle, error) {
	d, err := openDirHandle(t.dir)
	if err != nil {
		return nil, fsError(m.op, m.s.path, err)
	}
	if err := d.lock(m.ctx); err != nil {
		d.close()
		if m.ctx.Err() != nil {
			return nil, ctxError(m.op, m.ctx.Err())
		}
		return nil, fsError(m.op, m.s.path, err)
	}
	m.c.sweepTemps(d)
	return d, nil
}

// lockExisting locks the directory of t's entry, which Prepare found, and
// returns its Lstat under the lock; an entry replaced since (by anything
// but Warden) fails, one Warden removed since is not found.
func (m *mutation) lockExisting(t *target, p string) (*dirHandle, iofs.FileInfo, error) {
	d, err := m.lockTarget(t)
	if err != nil {
		return nil, nil, err
	}
	cur, err := m.recheck(d, t, p)
	switch {
	case errors.Is(err, errAppeared):
		err = changedWrite(m.op, p, err)
	case err == nil && cur == nil:
		err = notFound(m.op, p, nil)
	}
	if err != nil {
		d.close()
		return nil, nil, err
	}
	return d, cur, nil
}

// errAppeared reports that an entry missing at Prepare exists now.
var errAppeared = errors.New("entry appeared since the call was prepared")

// recheck examines t's entry again, under the lock of d (its directory),
// and compares it with what Prepare saw. It returns the entry's Lstat, or
// nil if it does not exist. An entry changed since by another Warden call
// is taken as it is now (t is updated), so that writers queued on one
// file each apply to the latest content. Any other change fails: with
// errAppeared (and the Lstat) if the entry was missing at Prepare, and as
// a conflict if it was replaced or removed.
func (m *mutation) recheck(d *dirHandle, t *target, p string) (iofs.FileInfo, error) {
	cur, err := t.dir.Lstat(t.name)
	switch {
	case errors.Is(err, iofs.ErrNotExist):
		cur = nil
	case err != nil:
		return nil, fsError(m.op, p, err)
	}
	if !sameEntry(cur, t.info) {
		switch {
		case m.leftByWarden(d, t.name, cur):
			t.info, t.missing = cur, cur == nil
		case cur == nil:
			return nil, changedWrite(m.op, p, iofs.ErrNotExist)
		case t.info == nil:
			return cur, errAppeared
		default:
			return nil, changedWrite(m.op, p, errChanged)
		}
	}
	if cur == nil {
		return nil, nil
	}
	if m.c.isReservedInfo(cur) {
		return nil, reservedError(m.op, p)
	}
	return cur, nil
}

// sameEntry reports whether a and b (nil: nothing) are the same object,
// of the same type, and, for a file, unchanged: its inode's change time
// also tells a file changed in place, or a new file that got the inode
// number of one removed meanwhile, from the file a and b describe.
func sameEntry(a, b iofs.FileInfo) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	if !os.SameFile(a, b) || a.Mode().Type() != b.Mode().Type() {
		return false
	}
	return !a.Mode().IsRegular() || ctime(a) == ctime(b)
}

// isReservedInfo reports whether fi is one of the reserved objects.
func (c *Connector) isReservedInfo(fi iofs.FileInfo) bool {
	o, err := c.current("")
	return err == nil && o.isReserved(fi)
}

// checkReplaceable refuses to change the content of anything but a
// regular file with one link (or several, if the grant allows it), t's
// entry, whose Lstat under the lock is cur.
func (m *mutation) checkReplaceable(t *target, cur iofs.FileInfo, p string) error {
	switch {
	case cur.IsDir():
		return isDirectory(m.op, p)
	case !cur.Mode().IsRegular():
		return notRegularWrite(m.op, p)
	case nlink(cur) > 1 && !m.opts.Has(OptionHardlinks) && nlink(cur)-m.journalLinks(t, cur) > 1:
		return hardlinked(m.op, p)
	}
	return nil
}

// journalLinks counts the journal's own links to t's entry, whose Lstat
// is cur: a call killed after keeping the file leaves some. They are no
// name an agent or a user reaches, so they do not make the file
// hard-linked.
func (m *mutation) journalLinks(t *target, cur iofs.FileInfo) uint64 {
	if m.j == nil {
		return 0
	}
	sum, err := m.hashEntry(t, cur, m.s.path)
	if err != nil {
		return 0
	}
	return uint64(m.j.Links(sum, cur))
}

// checkNewName refuses a missing target that cannot be created: a
// dangling link, a missing parent directory.
func (m *mutation) checkNewName(t *target, p string) error {
	switch {
	case t.viaLink:
		return danglingLink(m.op, p)
	case len(t.rest) > 0:
		return core.E(m.op, core.KindNotFound, core.ReasonNotFound,
			"A directory on the way to "+quote(p)+" does not exist; create it first (mkdir with parents).", nil)
	case t.dir == nil:
		return notFound(m.op, p, nil)
	}
	return nil
}
