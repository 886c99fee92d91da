package fs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	iofs "io/fs"

	"github.com/warden-dev/warden/internal/core"
)

// Tree changes a directory through the fs kind's own code, for another
// kind that applies changes made elsewhere (exec, which applies what a
// sandboxed program changed in its overlay): each change is resolved,
// checked, journaled and undone as an fs call's would be. Paths are
// relative to the root, slash-separated; a symbolic link met on the way
// is never written through.
type Tree struct{ c *Connector }

// OpenTree opens root as a Tree of the resource named resource. reserved
// are the host paths Warden keeps for itself, refused inside root;
// maxFileBytes bounds one file written.
func OpenTree(ctx context.Context, resource, root string, reserved []string, maxFileBytes int64) (*Tree, error) {
	spec := &core.ResourceSpec{Name: resource, Kind: "fs", Config: &Config{Root: root, Limits: Limits{MaxWriteBytes: maxFileBytes}}}
	c, err := New(spec, core.Host{Reserved: reserved})
	if err != nil {
		return nil, err
	}
	if err := c.Open(ctx); err != nil {
		return nil, err
	}
	return &Tree{c: c}, nil
}

// Close closes the root.
func (t *Tree) Close() error { return t.c.Close() }

// Lstat describes the entry at rel, not following a final symbolic link.
func (t *Tree) Lstat(rel string) (iofs.FileInfo, error) {
	o, err := t.c.current("fs.lstat")
	if err != nil {
		return nil, err
	}
	return o.root.Lstat(rel)
}

// Names lists the names in the directory rel.
func (t *Tree) Names(rel string) ([]string, error) {
	o, err := t.c.current("fs.list")
	if err != nil {
		return nil, err
	}
	f, err := o.root.Open(rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}

// WriteFile makes rel a regular file holding content with the permission
// bits of perm, creating or replacing it, and records the change in j. A
// file that already holds content with perm is left alone: changed is
// false. An entry at rel that is not a regular file is refused.
func (t *Tree) WriteFile(ctx context.Context, j core.Journal, rel string, content []byte, perm iofs.FileMode) (changed bool, err error) {
	if fi, err := t.Lstat(rel); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm() == perm.Perm() && fi.Size() == int64(len(content)) && t.holds(rel, content) {
		return false, nil
	}
	_, err = t.call(ctx, j, OpWrite, map[string]any{"path": rel, "content": "", "mode": "overwrite"}, func(s *call) {
		s.content, s.perm = content, &perm
	})
	return err == nil, err
}

// holds reports whether the file at rel holds content.
func (t *Tree) holds(rel string, content []byte) bool {
	o, err := t.c.current("fs.read")
	if err != nil {
		return false
	}
	f, err := o.root.Open(rel)
	if err != nil {
		return false
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, int64(len(content))+1))
	return err == nil && bytes.Equal(b, content)
}

// Mkdir makes the directory rel, whose parent exists, and records it in j.
func (t *Tree) Mkdir(ctx context.Context, j core.Journal, rel string) error {
	_, err := t.call(ctx, j, OpMkdir, map[string]any{"path": rel}, nil)
	return err
}

// Remove removes the file or directory (with everything in it) rel, and
// records what it removed in j.
func (t *Tree) Remove(ctx context.Context, j core.Journal, rel string) error {
	_, err := t.call(ctx, j, OpDelete, map[string]any{"path": rel, "recursive": true}, nil)
	return err
}

// Undo reverses a journal entry that a Tree's changes made, as the fs
// kind's undo does.
func (t *Tree) Undo(ctx context.Context, e *core.JournalEntry, objects core.Objects, j core.Journal, force bool) (*core.Result, error) {
	return t.c.Undo(ctx, e, objects, j, force)
}

// call runs one fs operation with args, letting set adjust the prepared
// call (content that is not passed through JSON).
func (t *Tree) call(ctx context.Context, j core.Journal, op string, args map[string]any, set func(*call)) (*core.Result, error) {
	b, err := json.Marshal(args)
	if err != nil {
		return nil, err
	}
	// A Tree's caller decided what to change: a directory goes with what
	// is in it.
	inv := &core.Invocation{Op: op, Args: b, Journal: j, Options: core.GrantOptions{}.WithFlag(OptionRecursive)}
	if err := t.c.Prepare(ctx, inv); err != nil {
		return nil, err
	}
	s, ok := inv.State.(*call)
	if !ok {
		return nil, errors.New("fs: call not prepared")
	}
	defer s.Close()
	if set != nil {
		set(s)
		if int64(len(s.content)) > t.c.limits.MaxWriteBytes {
			return nil, tooLarge(opName(op), "The content", t.c.limits.MaxWriteBytes)
		}
	}
	return t.c.Execute(ctx, inv, core.ScopeFunc(func(string) bool { return true }))
}
