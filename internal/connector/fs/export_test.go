package fs

import (
	"time"

	"github.com/warden-dev/warden/internal/core"
)

// SetHookForTest installs a function called at the points of path
// resolution where a concurrent change matters: "lstat" (after an entry was
// examined), "open" (before a directory is opened) and "reopen" (before
// closed levels are re-opened), and "commit" (before a write or delete
// changes the directory entry, all checks done). rel is the root-relative
// path concerned.
func SetHookForTest(c *Connector, hook func(event, rel string)) { c.hook = hook }

// SettleForTest waits for the removals release runs in the background.
func SettleForTest(c *Connector) { c.releasing.wait() }

// MaxOpenDirs exposes the descriptor bound of path resolution.
const MaxOpenDirs = maxOpenDirs

// SetStaleTempAgeForTest changes how old a temporary file must be before a
// sweep removes it, until the test ends.
func SetStaleTempAgeForTest(tb interface{ Cleanup(func()) }, d time.Duration) {
	old := staleTempAge
	staleTempAge = d
	tb.Cleanup(func() { staleTempAge = old })
}

// SetWriteContentForTest replaces the content of a prepared write, so that
// a test can write large files without paying for decoding them from JSON.
func SetWriteContentForTest(inv *core.Invocation, content []byte) {
	inv.State.(*call).content = content
}

// InMemory reports whether c's open root is on a file system in memory.
func InMemory(c *Connector) bool {
	o, err := c.current("")
	return err == nil && o.inMemory
}
