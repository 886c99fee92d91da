package fs

import (
	"context"
	"errors"
	"fmt"
	iofs "io/fs"
	"maps"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/warden-dev/warden/internal/core"
)

// undoResult is the value of an undo.
type undoResult struct {
	Undone   string   `json:"undone"`   // the ID of the entry undone
	Restored []string `json:"restored"` // the paths put back, in the order it was done
}

// maxConflictsShown bounds the conflicts one refusal lists.
const maxConflictsShown = 10

// Undo reverses the changes e records, newest first. Unless force is set
// it first checks every path against the state the entry left (type,
// content hash, mode) and refuses, changing nothing, if any differs. Paths
// are physical: a symbolic link found on the way is a conflict, never
// followed. Whatever the undo replaces or removes is kept in j first, and
// every effect is recorded in j, so that an undo can be undone too.
func (c *Connector) Undo(ctx context.Context, e *core.JournalEntry, objects core.Objects, j core.Journal, force bool) (*core.Result, error) {
	const op = "fs.undo"
	o, err := c.current(op)
	if err != nil {
		return nil, err
	}
	if e == nil || (e.Resource != "" && e.Resource != c.resource) {
		return nil, core.E(op, core.KindInvalid, core.ReasonInvalidArguments, "The journal entry does not belong to "+quote(c.resource)+".", nil)
	}
	u := &undo{
		mutation: &mutation{c: c, ctx: ctx, op: op, s: &call{}, j: j},
		o:        o,
		objects:  objects,
		virtual:  map[string]core.ObjectState{},
	}
	for _, ch := range e.Changes {
		if err := u.validate(ch); err != nil {
			return nil, err
		}
	}
	var conflicts []string
	for i := len(e.Changes) - 1; i >= 0; i-- {
		found, err := u.check(e.Changes[i])
		if err != nil {
			return nil, err
		}
		conflicts = append(conflicts, found...)
	}
	if len(conflicts) > 0 && !force {
		shown := conflicts[:min(len(conflicts), maxConflictsShown)]
		more := ""
		if len(conflicts) > len(shown) {
			more = fmt.Sprintf(" (and %d more)", len(conflicts)-len(shown))
		}
		return nil, core.E(op, core.KindConflict, core.ReasonUndoConflict,
			"Nothing was undone, because the files changed after the call: "+strings.Join(shown, "; ")+more+". To restore anyway, undo with force (warden undo --force).", nil)
	}
	res := undoResult{Undone: e.ID, Restored: []string{}}
	for i := len(e.Changes) - 1; i >= 0; i-- {
		if err := ctx.Err(); err != nil {
			return nil, ctxError(op, err)
		}
		ch := e.Changes[i]
		if err := u.apply(ch); err != nil {
			return nil, err
		}
		res.Restored = append(res.Restored, ch.Path)
	}
	return &core.Result{Value: res}, nil
}

// undo is one run of Undo.
type undo struct {
	*mutation
	o       *opened
	objects core.Objects
	// virtual holds the state each path will have once the changes
	// checked so far are undone, so that later checks see it.
	virtual map[string]core.ObjectState
}

// validate refuses journal paths that are not clean paths inside the root
// or that Warden keeps for itself.
func (u *undo) validate(ch core.Change) error {
	ps := []string{ch.Path}
	if ch.Op == "move" {
		ps = append(ps, ch.To)
	}
	switch ch.Op {
	case "create", "replace", "remove", "mkdir", "move":
	default:
		return core.E(u.op, core.KindInvalid, core.ReasonInvalidArguments, "The journal entry holds an unknown change "+quote(ch.Op)+".", nil)
	}
	for _, p := range ps {
		if p == "" || p == "." || path.Clean(p) != p || !isLocal(p) || hasTempComponent(p) {
			return core.E(u.op, core.KindInvalid, core.ReasonInvalidPath, "The journal entry holds an invalid path "+quote(p)+".", nil)
		}
		if u.o.isReservedPath(p) {
			return reservedError(u.op, p)
		}
	}
	return nil
}

// isLocal reports whether the clean slash-separated path p stays inside
// the root.
func isLocal(p string) bool {
	return !strings.HasPrefix(p, "/") && p != ".." && !strings.HasPrefix(p, "../")
}

// locate resolves a journal path strictly (no links followed) to the
// directory holding it.
func (u *undo) locate(p string) (*target, error) {
	r := resolver{root: u.o.root, rootInfo: u.o.rootInfo, reserved: u.o.isReserved, parent: true, strict: true}
	t, err := r.resolve(u.ctx, u.op, p)
	if err != nil {
		return nil, err
	}
	if t.fail == nil && t.rel != p {
		t.close()
		return nil, core.E(u.op, core.KindConflict, core.ReasonUndoConflict, quote(p)+" now resolves elsewhere.", nil)
	}
	return t, nil
}

// actual returns the state at p now. deep includes a directory's entries.
// problem describes why the state cannot be known (a link on the way).
func (u *undo) actual(p string, deep bool) (st core.ObjectState, problem string, err error) {
	t, err := u.locate(p)
	if err != nil {
		if core.KindOf(err) == core.KindConflict {
			return st, core.MessageOf(err), nil
		}
		return st, "", err
	}
	defer t.close()
	switch {
	case t.fail != nil && core.KindOf(t.fail) == core.KindNotFound:
		return st, "", nil
	case t.fail != nil:
		return st, quote(p) + ": " + core.MessageOf(t.fail), nil
	case t.missing:
		return st, "", nil
	}
	st, err = u.stateOfEntry(t, deep)
	return st, "", err
}

// stateOfEntry describes t's entry, which exists.
func (u *undo) stateOfEntry(t *target, deep bool) (core.ObjectState, error) {
	fi := t.info
	switch {
	case fi.Mode()&iofs.ModeSymlink != 0:
		dest, err := t.dir.Readlink(t.name)
		if err != nil {
			return core.ObjectState{}, fsError(u.op, t.rel, err)
		}
		return core.ObjectState{Type: "symlink", Target: dest}, nil
	case fi.Mode().IsRegular():
		f, err := openSame(t.dir, t.name, fi)
		if err != nil {
			return core.ObjectState{}, changedWrite(u.op, t.rel, err)
		}
		defer f.Close()
		sum, err := hashFile(u.ctx, f)
		if err != nil {
			return core.ObjectState{}, fsError(u.op, t.rel, err)
		}
		return stateOf(fi, sum), nil
	case fi.IsDir() && deep:
		sub, err := openDir(t.dir, t.name, fi)
		if err != nil {
			return core.ObjectState{}, changedWrite(u.op, t.rel, err)
		}
		defer sub.Close()
		snap, err := snapshotTree(u.ctx, sub, fi, t.rel, u.c.limits.MaxSearchFiles, func(string, iofs.FileInfo) error { return nil }, nil)
		if err != nil {
			return core.ObjectState{}, u.treeError(t.rel, err)
		}
		return snap.state, nil
	}
	return stateOf(fi, ""), nil
}

// stateAt returns the state p will have when the check reaches it: the
// virtual state if an undone change set it, nothing if an undone change
// removed a directory above it, or what is on disk.
func (u *undo) stateAt(p string, deep bool) (core.ObjectState, string, error) {
	if v, ok := u.virtual[p]; ok {
		return v, "", nil
	}
	for a := path.Dir(p); a != "."; a = path.Dir(a) {
		if v, ok := u.virtual[a]; ok && !v.Exists() {
			return core.ObjectState{}, "", nil
		}
	}
	return u.actual(p, deep)
}

// check compares the state ch left with the state its path will have when
// the undo reaches it, and returns what differs.
func (u *undo) check(ch core.Change) ([]string, error) {
	var problems []string
	want := func(p string, st core.ObjectState, deep bool) error {
		got, problem, err := u.stateAt(p, deep)
		if err != nil {
			return err
		}
		if problem == "" {
			problem = diffState(p, st, got, deep)
		}
		if problem != "" {
			problems = append(problems, problem)
		}
		return nil
	}
	var err error
	switch ch.Op {
	case "create":
		err = want(ch.Path, ch.After, ch.After.Type == "dir")
		u.virtual[ch.Path] = core.ObjectState{}
	case "replace":
		err = want(ch.Path, ch.After, false)
		u.virtual[ch.Path] = ch.Before
	case "remove":
		err = want(ch.Path, core.ObjectState{}, false)
		u.virtual[ch.Path] = ch.Before
	case "mkdir":
		if err = want(ch.Path, ch.After, false); err == nil {
			var n int
			if n, err = u.childrenAt(ch.Path); n > 0 {
				problems = append(problems, quote(ch.Path)+" is no longer empty")
			}
		}
		u.virtual[ch.Path] = core.ObjectState{}
	case "move":
		if err = want(ch.To, ch.After, false); err == nil {
			err = want(ch.Path, core.ObjectState{}, false)
		}
		u.virtual[ch.To] = core.ObjectState{}
		u.virtual[ch.Path] = ch.Before
	}
	return problems, err
}

// childrenAt counts the entries the directory p will hold when the check
// reaches it.
func (u *undo) childrenAt(p string) (int, error) {
	names := map[string]bool{}
	t, err := u.locate(p)
	if err == nil && t.fail == nil && !t.missing && t.info.IsDir() {
		sub, err := openDir(t.dir, t.name, t.info)
		if err == nil {
			ents, err := readDir(sub)
			sub.Close()
			if err == nil {
				for _, e := range ents {
					if !isTempName(e.name) {
						names[e.name] = true
					}
				}
			}
		}
	}
	if t != nil {
		t.close()
	}
	for v, st := range u.virtual {
		if path.Dir(v) == p {
			names[path.Base(v)] = st.Exists()
		}
	}
	n := 0
	for _, ok := range names {
		if ok {
			n++
		}
	}
	return n, nil
}

// diffState describes how got differs from want at p, or returns "".
// Directories compare by mode, and with deep by their entries too.
func diffState(p string, want, got core.ObjectState, deep bool) string {
	q := quote(p)
	switch {
	case !want.Exists() && got.Exists():
		return q + " exists now (a " + got.Type + ")"
	case want.Exists() && !got.Exists():
		return q + " no longer exists"
	case want.Type != got.Type:
		return q + " is a " + got.Type + " now, not a " + want.Type
	case !want.Exists():
		return ""
	case want.Type == "file" && want.SHA256 != got.SHA256:
		return q + " has different content"
	case want.Type == "symlink" && want.Target != got.Target:
		return q + " points elsewhere"
	case want.Type != "symlink" && want.Mode.Perm() != got.Mode.Perm():
		return fmt.Sprintf("%s has mode %#o, not %#o", q, got.Mode.Perm(), want.Mode.Perm())
	}
	if want.Type == "dir" && deep {
		for _, name := range slices.Sorted(maps.Keys(mergeKeys(want.Entries, got.Entries))) {
			if d := diffState(p+"/"+name, want.Entries[name], got.Entries[name], true); d != "" {
				return d
			}
		}
	}
	return ""
}

func mergeKeys(a, b map[string]core.ObjectState) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// apply undoes one change.
func (u *undo) apply(ch core.Change) error {
	switch ch.Op {
	case "create", "mkdir":
		return u.remove(ch.Path, ch.Op == "mkdir")
	case "replace":
		return u.restore(ch.Path, ch.Before, true)
	case "remove":
		return u.restore(ch.Path, ch.Before, false)
	case "move":
		return u.moveBack(ch)
	}
	return nil
}

// lockEntry locates p and locks the directory holding it.
func (u *undo) lockEntry(p string) (*target, *dirHandle, error) {
	t, err := u.locate(p)
	if err != nil {
		return nil, nil, err
	}
	if t.fail != nil {
		t.close()
		return nil, nil, t.fail
	}
	if t.name == "" || len(t.rest) > 0 {
		t.close()
		return nil, nil, core.E(u.op, core.KindConflict, core.ReasonUndoConflict, "The directory holding "+quote(p)+" no longer exists.", nil)
	}
	d, err := openDirHandle(t.dir)
	if err == nil {
		if err = d.lock(u.ctx); err != nil {
			d.close()
		}
	}
	if err != nil {
		t.close()
		return nil, nil, fsError(u.op, p, err)
	}
	return t, d, nil
}

// current re-examines t's entry under the lock.
func (u *undo) current(t *target) (iofs.FileInfo, error) {
	fi, err := t.dir.Lstat(t.name)
	if errors.Is(err, iofs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fsError(u.op, t.rel, err)
	}
	if u.o.isReserved(fi) {
		return nil, reservedError(u.op, t.rel)
	}
	return fi, nil
}

// remove undoes a create or a mkdir: whatever is at p is kept and removed
// (for a mkdir, only an empty directory).
func (u *undo) remove(p string, emptyDir bool) error {
	t, d, err := u.lockEntry(p)
	if err != nil {
		return err
	}
	defer t.close()
	defer d.close()
	fi, err := u.current(t)
	switch {
	case err != nil:
		return err
	case fi == nil:
		return nil // already gone (force)
	case emptyDir:
		if !fi.IsDir() {
			return core.E(u.op, core.KindConflict, core.ReasonUndoConflict, quote(p)+" is no longer a directory.", nil)
		}
		ch := core.Change{Op: "remove", Path: p, Before: stateOf(fi, "")}
		if err := u.announce(ch); err != nil {
			return err
		}
		if err := d.unlink(t.name, true); err != nil {
			return core.E(u.op, core.KindConflict, core.ReasonUndoConflict, quote(p)+" is not empty, so it was not removed.", err)
		}
		u.record(ch)
		return d.sync()
	case fi.IsDir():
		sub, err := openDir(t.dir, t.name, fi)
		if err != nil {
			return changedWrite(u.op, p, err)
		}
		defer sub.Close()
		keep := func(dir *os.Root, name, rel string, fi iofs.FileInfo, sum string) error {
			if u.j == nil {
				return nil
			}
			dh, err := openDirHandle(dir)
			if err != nil {
				return err
			}
			defer dh.close()
			return u.keep(dh, name, rel, fi, sum)
		}
		snap, err := snapshotTree(u.ctx, sub, fi, p, u.c.limits.MaxSearchFiles, func(rel string, fi iofs.FileInfo) error {
			if u.o.isReserved(fi) || u.o.isReservedPath(rel) {
				return reservedError(u.op, rel)
			}
			return nil
		}, keep)
		if err != nil {
			return u.treeError(p, err)
		}
		ch := core.Change{Op: "remove", Path: p, Before: snap.state}
		if err := u.announce(ch); err != nil {
			return err
		}
		tmp, err := d.detach(t.name, fi)
		if err != nil {
			return writeError(u.op, p, err)
		}
		u.record(ch)
		if err := removeSnapshot(u.ctx, sub, fi, snap, p, 2*u.c.limits.MaxSearchFiles); err != nil {
			return leftover(u.op, p, err)
		}
		if err := d.unlink(tmp, true); err != nil {
			return leftover(u.op, p, err)
		}
		return d.sync()
	}
	var before core.ObjectState
	if fi.Mode().IsRegular() {
		sum, err := u.hashEntry(t, fi, p)
		if err != nil {
			return err
		}
		if err := u.keep(d, t.name, p, fi, sum); err != nil {
			return err
		}
		before = stateOf(fi, sum)
	} else if before, err = u.stateOfEntry(&target{dir: t.dir, name: t.name, info: fi, rel: p}, false); err != nil {
		return err
	}
	ch := core.Change{Op: "remove", Path: p, Before: before}
	if err := u.announce(ch); err != nil {
		return err
	}
	tmp, err := d.detach(t.name, fi)
	if err != nil {
		return writeError(u.op, p, err)
	}
	u.noteLeft(d, t.name, nil)
	u.record(ch)
	d.unlink(tmp, false)
	return d.sync()
}

// restore puts st back at p: over what is there if replace is set (which
// is kept first), otherwise where nothing is.
func (u *undo) restore(p string, st core.ObjectState, replace bool) error {
	t, d, err := u.lockEntry(p)
	if err != nil {
		return err
	}
	defer t.close()
	defer d.close()
	cur, err := u.current(t)
	if err != nil {
		return err
	}
	if cur != nil && (!replace || !cur.Mode().IsRegular() || st.Type != "file") {
		return core.E(u.op, core.KindConflict, core.ReasonUndoConflict, quote(p)+" is in the way; it was not replaced.", nil)
	}
	switch st.Type {
	case "file":
		var oldSum string
		if cur != nil {
			if oldSum, err = u.hashEntry(t, cur, p); err != nil {
				return err
			}
		}
		nf := newFile{perm: st.Mode, keep: true, uid: -1, gid: -1}
		if cur != nil {
			nf.uid, nf.gid = owner(cur)
		}
		return u.restoreFile(d, t, p, cur, oldSum, st, nf)
	case "dir", "symlink":
		ch := core.Change{Op: "create", Path: p, After: st}
		if err := u.announce(ch); err != nil {
			return err
		}
		if st.Type == "dir" {
			err = u.restoreTree(d, t.name, p, st)
		} else if err = d.symlink(st.Target, t.name); err != nil {
			err = writeError(u.op, p, err)
		}
		if err != nil {
			return err
		}
		u.record(ch)
		return d.sync()
	}
	return core.E(u.op, core.KindInvalid, core.ReasonInvalidArguments, "The journal entry holds an unknown object type "+quote(st.Type)+".", nil)
}

// restoreFile writes the preserved content st describes at t's entry.
func (u *undo) restoreFile(d *dirHandle, t *target, p string, cur iofs.FileInfo, oldSum string, st core.ObjectState, nf newFile) error {
	if u.objects == nil {
		return core.E(u.op, core.KindUnavailable, core.ReasonInternal, "The journal's preserved files are not available.", nil)
	}
	src, err := u.objects.Open(st.SHA256)
	if err != nil {
		return core.E(u.op, core.KindUnavailable, core.ReasonInternal, "The preserved content of "+quote(p)+" is missing from the journal.", err)
	}
	defer src.Close()
	tmp, sum, fi, err := d.writeTemp(u.ctx, src, nf)
	if err != nil {
		return writeError(u.op, p, err)
	}
	if sum != st.SHA256 {
		d.unlink(tmp, false)
		return core.E(u.op, core.KindUnavailable, core.ReasonInternal, "The preserved content of "+quote(p)+" is damaged (its hash differs).", nil)
	}
	after := stateOf(fi, sum)
	if cur == nil {
		ch := core.Change{Op: "create", Path: p, After: after}
		if err := u.announce(ch); err != nil {
			d.unlink(tmp, false)
			return err
		}
		if err := moveNoReplace(d, tmp, d, t.name, false); err != nil {
			d.unlink(tmp, false)
			return writeError(u.op, p, err)
		}
		u.noteLeft(d, t.name, fi)
		u.record(ch)
	} else {
		if err := u.keep(d, t.name, p, cur, oldSum); err != nil {
			d.unlink(tmp, false)
			return err
		}
		ch := core.Change{Op: "replace", Path: p, Before: stateOf(cur, oldSum), After: after}
		if err := u.announce(ch); err != nil {
			d.unlink(tmp, false)
			return err
		}
		if err := replaceEntry(d, tmp, d, t.name, cur); err != nil {
			if !errors.Is(err, errKeepTemp) {
				d.unlink(tmp, false)
			}
			return writeError(u.op, p, err)
		}
		u.noteLeft(d, t.name, fi)
		u.record(ch)
		d.unlink(tmp, false) // it holds the replaced file, kept in the journal
	}
	return d.sync()
}

// restoreTree recreates the directory st describes as name in d, with
// everything in it.
func (u *undo) restoreTree(d *dirHandle, name, rel string, st core.ObjectState) error {
	if err := d.mkdir(name, st.Mode); err != nil {
		return writeError(u.op, rel, err)
	}
	if err := d.root.Chmod(name, st.Mode.Perm()); err != nil {
		return writeError(u.op, rel, err)
	}
	fi, err := d.root.Lstat(name)
	if err != nil || !fi.IsDir() {
		return changedWrite(u.op, rel, err)
	}
	sub, err := openDir(d.root, name, fi)
	if err != nil {
		return changedWrite(u.op, rel, err)
	}
	defer sub.Close()
	if len(st.Entries) > 0 && u.objects == nil {
		return core.E(u.op, core.KindUnavailable, core.ReasonInternal, "The journal's preserved files are not available.", nil)
	}
	sd, err := openDirHandle(sub)
	if err != nil {
		return fsError(u.op, rel, err)
	}
	defer sd.close()
	for _, n := range slices.Sorted(maps.Keys(st.Entries)) {
		e, p := st.Entries[n], rel+"/"+n
		if strings.Contains(n, "/") || n == "" || n == "." || n == ".." {
			return core.E(u.op, core.KindInvalid, core.ReasonInvalidPath, "The journal entry holds an invalid name under "+quote(rel)+".", nil)
		}
		switch e.Type {
		case "file":
			src, err := u.objects.Open(e.SHA256)
			if err != nil {
				return core.E(u.op, core.KindUnavailable, core.ReasonInternal, "The preserved content of "+quote(p)+" is missing from the journal.", err)
			}
			tmp, sum, _, err := sd.writeTemp(u.ctx, src, newFile{perm: e.Mode, keep: true, uid: -1, gid: -1})
			src.Close()
			if err != nil {
				return writeError(u.op, p, err)
			}
			if sum != e.SHA256 {
				sd.unlink(tmp, false)
				return core.E(u.op, core.KindUnavailable, core.ReasonInternal, "The preserved content of "+quote(p)+" is damaged (its hash differs).", nil)
			}
			if err := moveNoReplace(sd, tmp, sd, n, false); err != nil {
				sd.unlink(tmp, false)
				return writeError(u.op, p, err)
			}
		case "dir":
			if err := u.restoreTree(sd, n, p, e); err != nil {
				return err
			}
		case "symlink":
			if err := sd.symlink(e.Target, n); err != nil {
				return writeError(u.op, p, err)
			}
		default:
			return core.E(u.op, core.KindInvalid, core.ReasonInvalidArguments, "The journal entry holds an unknown object type under "+quote(rel)+".", nil)
		}
	}
	return sd.sync()
}

// moveBack undoes a move.
func (u *undo) moveBack(ch core.Change) error {
	var ts [2]*target
	var ds [2]*dirHandle
	defer func() {
		for i := range 2 {
			ds[i].close()
			if ts[i] != nil {
				ts[i].close()
			}
		}
	}()
	for i, p := range []string{ch.To, ch.Path} {
		t, err := u.locate(p)
		if err != nil {
			return err
		}
		ts[i] = t
		if t.fail != nil || t.name == "" || len(t.rest) > 0 {
			return core.E(u.op, core.KindConflict, core.ReasonUndoConflict, "The directory holding "+quote(p)+" no longer exists.", nil)
		}
		if ds[i], err = openDirHandle(t.dir); err != nil {
			return fsError(u.op, p, err)
		}
	}
	if _, err := lockAll(u.ctx, ds[0], ds[1]); err != nil {
		return fsError(u.op, ch.Path, err)
	}
	fi, err := u.current(ts[0])
	if err != nil {
		return err
	}
	if fi == nil {
		return core.E(u.op, core.KindConflict, core.ReasonUndoConflict, quote(ch.To)+" no longer exists.", nil)
	}
	back := core.Change{Op: "move", Path: ch.To, To: ch.Path, Before: ch.After, After: ch.After}
	if err := u.announce(back); err != nil {
		return err
	}
	if err := moveNoReplace(ds[0], ts[0].name, ds[1], ts[1].name, fi.IsDir()); err != nil {
		return core.E(u.op, core.KindConflict, core.ReasonUndoConflict, quote(ch.Path)+" is in the way; nothing was moved back.", err)
	}
	u.noteLeft(ds[0], ts[0].name, nil)
	if moved, err := ts[1].dir.Lstat(ts[1].name); err == nil {
		u.noteLeft(ds[1], ts[1].name, moved)
	}
	u.record(back)
	return errors.Join(ds[0].sync(), ds[1].sync())
}

var _ core.Undoer = (*Connector)(nil)
