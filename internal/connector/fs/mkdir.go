package fs

import (
	"errors"
	iofs "io/fs"
	"os"

	"github.com/warden-dev/warden/internal/core"
)

// mkdirResult is the value of a mkdir.
type mkdirResult struct {
	Path    string   `json:"path"`
	Created []string `json:"created"` // the directories this call created, outermost first
}

// dirPerm is the mode of new directories, less the umask.
const dirPerm = 0o755

func (m *mutation) mkdir() (*core.Result, error) {
	s, t := m.s, m.s.target
	if !t.missing {
		if (t.name == "" || t.info.IsDir()) && s.parents {
			return &core.Result{Value: mkdirResult{Path: t.rel, Created: []string{}}}, nil
		}
		return nil, exists(m.op, s.path)
	}
	if len(t.rest) > 0 && !s.parents && !t.viaLink {
		return nil, core.E(m.op, core.KindNotFound, core.ReasonNotFound,
			"The parent directory of "+quote(s.path)+" does not exist; pass parents: true to create it too.", nil)
	}
	if t.viaLink {
		return nil, danglingLink(m.op, s.path)
	}
	// Create the missing components one at a time, each in the directory
	// handle of the one before, never by a multi-component path.
	names := append([]string{t.name}, t.rest...)
	dir, rel := t.dir, t.dirRel
	var opened []*os.Root
	defer func() {
		for _, r := range opened {
			r.Close()
		}
	}()
	created := []string{}
	for i, name := range names {
		rel = join(rel, name)
		last := i == len(names)-1
		fi, made, err := m.mkdirOne(dir, name, rel, last)
		if err != nil {
			return nil, err
		}
		if made {
			created = append(created, rel)
		}
		if !last {
			sub, err := openDir(dir, name, fi)
			if err != nil {
				return nil, fsError(m.op, s.path, err)
			}
			opened = append(opened, sub)
			dir = sub
		}
	}
	return &core.Result{Value: mkdirResult{Path: t.rel, Created: created}}, nil
}

// mkdirOne creates the directory name in dir under dir's lock and returns
// its Lstat. last reports that it is the directory the call asked for. A
// directory that appeared on the way is used as it is (made is false); the
// last one existing is success only with parents.
func (m *mutation) mkdirOne(dir *os.Root, name, rel string, last bool) (fi iofs.FileInfo, made bool, err error) {
	p := m.s.path
	d, err := openDirHandle(dir)
	if err != nil {
		return nil, false, fsError(m.op, p, err)
	}
	defer d.close()
	if err := d.lock(m.ctx); err != nil {
		if m.ctx.Err() != nil {
			return nil, false, ctxError(m.op, m.ctx.Err())
		}
		return nil, false, fsError(m.op, p, err)
	}
	cur, err := dir.Lstat(name)
	switch {
	case err == nil && m.c.isReservedInfo(cur):
		return nil, false, reservedError(m.op, p)
	case err == nil && cur.IsDir() && (!last || m.s.parents):
		return cur, false, nil
	case err == nil && cur.IsDir():
		return nil, false, exists(m.op, p)
	case err == nil:
		// A file, or a link (which is never followed here).
		return nil, false, core.E(m.op, core.KindExists, core.ReasonExists,
			quote(rel)+" exists and is not a directory; nothing more was created.", nil)
	case !errors.Is(err, iofs.ErrNotExist):
		return nil, false, fsError(m.op, p, err)
	}
	// The mode announced is before the umask; the one recorded is real.
	if err := m.announce(core.Change{Op: "mkdir", Path: rel, After: core.ObjectState{Type: "dir", Mode: dirPerm}}); err != nil {
		return nil, false, err
	}
	if err := d.mkdir(name, dirPerm); err != nil {
		if errors.Is(err, iofs.ErrExist) {
			return nil, false, changedWrite(m.op, p, err)
		}
		return nil, false, writeError(m.op, p, err)
	}
	fi, err = dir.Lstat(name)
	if err != nil || !fi.IsDir() {
		return nil, false, changedWrite(m.op, p, err)
	}
	m.record(core.Change{Op: "mkdir", Path: rel, After: stateOf(fi, "")})
	if err := d.sync(); err != nil {
		return nil, false, writeError(m.op, p, err)
	}
	return fi, true, nil
}
