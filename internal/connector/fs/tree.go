package fs

import (
	"context"
	"errors"
	iofs "io/fs"
	"os"

	"github.com/warden-dev/warden/internal/core"
)

// treeFunc is called for an entry below a walked directory: dir holds it,
// parent is dir's root-relative path, fi is its Lstat.
type treeFunc func(dir *os.Root, parent, name string, fi iofs.FileInfo) error

// treeFrame is one directory being walked by walkTree.
type treeFrame struct {
	rel, name string
	info      iofs.FileInfo
	ents      []dirent
	next      int
}

// walkTree visits everything below base (whose Lstat is baseInfo and whose
// root-relative path is baseRel) depth-first, without following links.
// pre is called for every entry before a directory's content, post after
// it (for anything else, right after pre). Directories are entered from
// their parent's handle with the identity check, and at most maxOpenDirs
// stay open however deep the tree. Entries that vanish while the walk runs
// are skipped. More than budget entries fail with errWalkBudget.
func walkTree(ctx context.Context, base *os.Root, baseInfo iofs.FileInfo, baseRel string, budget int, pre, post treeFunc) error {
	st := newDirStack(base, baseInfo, nil, nil)
	defer st.closeAll()
	ents, err := readDir(base)
	if err != nil {
		return err
	}
	frames := []treeFrame{{rel: baseRel, info: baseInfo, ents: ents}}
	examined := 0
	for len(frames) > 0 {
		if examined%64 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		fr := &frames[len(frames)-1]
		if fr.next == len(fr.ents) {
			done := *fr
			frames = frames[:len(frames)-1]
			if len(frames) == 0 {
				return nil
			}
			st.pop()
			parent, err := st.top()
			if err != nil {
				return err
			}
			if post != nil {
				if err := post(parent, frames[len(frames)-1].rel, done.name, done.info); err != nil {
					return err
				}
			}
			continue
		}
		e := fr.ents[fr.next]
		fr.next++
		if examined++; budget > 0 && examined > budget {
			return errWalkBudget
		}
		dir, err := st.top()
		if err != nil {
			return err
		}
		fi, err := dir.Lstat(e.name)
		if errors.Is(err, iofs.ErrNotExist) {
			continue
		} else if err != nil {
			return err
		}
		if pre != nil {
			if err := pre(dir, fr.rel, e.name, fi); err != nil {
				return err
			}
		}
		if !fi.IsDir() {
			if post != nil {
				if err := post(dir, fr.rel, e.name, fi); err != nil {
					return err
				}
			}
			continue
		}
		sub, err := readSubdir(dir, e.name, fi)
		if err != nil {
			return err
		}
		rel := join(fr.rel, e.name)
		st.pushLazy(e.name, fi)
		frames = append(frames, treeFrame{rel: rel, name: e.name, info: fi, ents: sub})
	}
	return nil
}

// treeSnapshot is the content of a directory tree as the journal records
// it, and the identity of every object in it.
type treeSnapshot struct {
	state core.ObjectState
	ids   map[string]iofs.FileInfo // by root-relative path
}

// snapshotTree describes the tree below dir (whose Lstat is info and path
// rel): the state of every entry, with the SHA-256 of every file. check is
// called for each entry first and may refuse it; keep, if set, preserves
// each file.
func snapshotTree(ctx context.Context, dir *os.Root, info iofs.FileInfo, rel string, budget int,
	check func(rel string, fi iofs.FileInfo) error,
	keep func(dir *os.Root, name, rel string, fi iofs.FileInfo, sum string) error,
) (*treeSnapshot, error) {
	snap := &treeSnapshot{ids: map[string]iofs.FileInfo{rel: info}}
	root := &core.ObjectState{Type: "dir", Mode: info.Mode().Perm(), Entries: map[string]core.ObjectState{}}
	dirs := map[string]*core.ObjectState{rel: root}
	pre := func(d *os.Root, parent, name string, fi iofs.FileInfo) error {
		p := join(parent, name)
		if err := check(p, fi); err != nil {
			return err
		}
		snap.ids[p] = fi
		switch {
		case fi.IsDir():
			dirs[p] = &core.ObjectState{Type: "dir", Mode: fi.Mode().Perm(), Entries: map[string]core.ObjectState{}}
		case fi.Mode()&iofs.ModeSymlink != 0:
			dest, err := d.Readlink(name)
			if err != nil {
				return errors.Join(errChanged, err)
			}
			dirs[parent].Entries[name] = core.ObjectState{Type: "symlink", Target: dest}
		case fi.Mode().IsRegular():
			f, err := openSame(d, name, fi)
			if err != nil {
				return err
			}
			sum, err := hashFile(ctx, f)
			f.Close()
			if err != nil {
				return err
			}
			if keep != nil {
				if err := keep(d, name, p, fi, sum); err != nil {
					return err
				}
			}
			dirs[parent].Entries[name] = stateOf(fi, sum)
		default:
			return errSpecialInTree
		}
		return nil
	}
	post := func(_ *os.Root, parent, name string, fi iofs.FileInfo) error {
		p := join(parent, name)
		if fi.IsDir() {
			dirs[parent].Entries[name] = *dirs[p]
			delete(dirs, p)
		}
		return nil
	}
	if err := walkTree(ctx, dir, info, rel, budget, pre, post); err != nil {
		return nil, err
	}
	snap.state = *root
	return snap, nil
}

// errSpecialInTree reports a device, FIFO or socket inside a tree to be
// deleted, which the journal could not restore.
var errSpecialInTree = errors.New("the tree holds a device, pipe or socket")

// removeSnapshot removes what snap recorded from the tree below dir, the
// directory snap describes (now possibly under another name), deepest
// first. Only objects with the identity snap recorded are removed, so
// anything added since stays, and the directories holding it too.
func removeSnapshot(ctx context.Context, dir *os.Root, info iofs.FileInfo, snap *treeSnapshot, rel string, budget int) error {
	var kept error
	post := func(d *os.Root, parent, name string, fi iofs.FileInfo) error {
		want, ok := snap.ids[join(parent, name)]
		if !ok || !os.SameFile(want, fi) {
			kept = errChanged
			return nil
		}
		if err := d.Remove(name); err != nil {
			kept = errors.Join(kept, err)
		}
		return nil
	}
	if err := walkTree(ctx, dir, info, rel, budget, nil, post); err != nil {
		return err
	}
	return kept
}

// entryCount returns the number of entries in a state's tree.
func entryCount(st core.ObjectState) int {
	n := 0
	for _, e := range st.Entries {
		n += 1 + entryCount(e)
	}
	return n
}
