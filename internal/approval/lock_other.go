//go:build !unix

package approval

import (
	"errors"
	"fmt"
)

const (
	openNoFollow = 0
	openNonBlock = 0
)

// lockFile fails: without flock, processes sharing the store could both use
// one approval, so the store refuses to work rather than run unlocked.
func lockFile(path string) (unlock func(), err error) {
	return nil, fmt.Errorf("lock %s: %w", path, errors.ErrUnsupported)
}
