package fs

import (
	"fmt"

	"github.com/warden-dev/warden/internal/core"
)

// rootError is a root that does not open, in an operator's words. It
// keeps the cause for errors.Is, but says it once, without the name of
// the system call.
type rootError struct {
	text string
	err  error
}

func (e *rootError) Error() string { return e.text }
func (e *rootError) Unwrap() error { return e.err }

// rootOpenError says why the root directory at path does not open.
func rootOpenError(path string, err error) error {
	return &rootError{text: fmt.Sprintf("cannot open the root directory %s: %s", path, core.Cause(err)), err: err}
}
