package fs

// SetHookForTest installs a function called at the points of path
// resolution where a concurrent change matters: "lstat" (after an entry was
// examined), "open" (before a directory is opened) and "reopen" (before
// closed levels are re-opened). rel is the root-relative path concerned.
func SetHookForTest(c *Connector, hook func(event, rel string)) { c.hook = hook }

// MaxOpenDirs exposes the descriptor bound of path resolution.
const MaxOpenDirs = maxOpenDirs
