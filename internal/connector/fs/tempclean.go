package fs

import (
	"context"
	iofs "io/fs"
	"os"
	"time"

	"github.com/warden-dev/warden/internal/core"
)

// staleTempAge is how old a temporary file must be before a sweep removes
// it: old enough that no write still running can own it.
var staleTempAge = time.Minute

// sweepEvery bounds how often one directory is swept during writes.
const sweepEvery = time.Minute

// sweepTemps removes stale temporary files from d, which the caller has
// locked, at most once a minute per directory. Temporary files are left
// behind only when a writer is killed between creating and renaming one.
func (c *Connector) sweepTemps(d *dirHandle) {
	key := fileID(d.info)
	now := time.Now()
	if last, ok := c.swept.Load(key); ok && now.Sub(last.(time.Time)) < sweepEvery {
		return
	}
	c.swept.Store(key, now)
	ents, err := readDirents(d.root)
	if err != nil {
		return
	}
	for _, e := range ents {
		if isTempName(e.name) {
			removeStaleTemp(d.root, e.name)
		}
	}
}

// removeStaleTemp removes the temporary file name from dir if it is a
// regular file older than staleTempAge.
func removeStaleTemp(dir *os.Root, name string) {
	fi, err := dir.Lstat(name)
	if err != nil || !fi.Mode().IsRegular() || time.Since(fi.ModTime()) < staleTempAge {
		return
	}
	dir.Remove(name)
}

// sweepTree removes stale temporary files from the whole tree at Open, as
// far as a bounded walk reaches.
func (c *Connector) sweepTree(ctx context.Context, o *opened) {
	w := &walker{o: o, scope: core.ScopeFunc(func(string) bool { return true }), lazyFiles: true, budget: c.limits.MaxSearchFiles,
		temps: removeStaleTemp}
	w.walk(ctx, o.root, o.rootInfo, ".", func(string, iofs.FileMode, iofs.FileInfo, func() (*os.Root, error), string) (bool, bool, error) {
		return true, false, nil
	})
}
