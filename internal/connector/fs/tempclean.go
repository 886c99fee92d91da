package fs

import (
	"os"
	"time"
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
	sweepDir(d.root)
}

// sweepDir removes the stale temporary files in dir.
func sweepDir(dir *os.Root) {
	ents, err := readDirents(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if isTempName(e.name) {
			removeStaleTemp(dir, e.name)
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

// sweepRoot removes stale temporary files from the root directory at Open.
// Deeper directories are swept by the next write in them: walking the
// whole tree here would make start-up as slow as the tree is large, and
// list and search hide temporary files anyway.
func (c *Connector) sweepRoot(o *opened) {
	sweepDir(o.root)
}
