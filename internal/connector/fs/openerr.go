package fs

import (
	"fmt"
	iofs "io/fs"
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
	cause := err.Error()
	if pe, ok := err.(*iofs.PathError); ok {
		cause = pe.Err.Error()
	}
	return &rootError{text: fmt.Sprintf("cannot open the root directory %s: %s", path, cause), err: err}
}
