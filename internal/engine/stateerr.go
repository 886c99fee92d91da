package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
)

// StateError is a state directory Warden cannot use, in an operator's
// words: which part of it failed and why, the cause said once. It is a
// problem of configuration (settings.state_dir, or the directory's owner,
// mode or free space), not of a call.
type StateError struct {
	Dir  string // the state directory
	What string // the part that failed: "the audit log", "the approvals", ...
	Err  error
}

func (e *StateError) Error() string {
	if e.What == "" {
		return fmt.Sprintf("cannot create the state directory %s: %s", e.Dir, stateCause(e.Dir, e.Err))
	}
	return fmt.Sprintf("cannot open %s in the state directory %s: %s", e.What, e.Dir, stateCause(e.Dir, e.Err))
}

func (e *StateError) Unwrap() error { return e.Err }

// stateCause names why a file in the state directory failed: the file,
// relative to the directory, and the system's reason; or the package's
// own sentence without its operation prefix.
func stateCause(dir string, err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		p := pe.Path
		if rel, rerr := filepath.Rel(dir, p); rerr == nil && filepath.IsLocal(rel) {
			p = rel
		}
		if p == dir || p == "." {
			return pe.Err.Error()
		}
		return p + ": " + pe.Err.Error()
	}
	s := err.Error()
	for _, prefix := range []string{"audit open: ", "open approvals: ", "disk reserve: ", "disk reserve " + filepath.Join(dir, reserveFile) + ": "} {
		s = strings.TrimPrefix(s, prefix)
	}
	return s
}
