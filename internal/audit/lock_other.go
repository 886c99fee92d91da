//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package audit

import (
	"context"
	"errors"
	"os"
)

// lockFile is unsupported here: without an inter-process lock, concurrent
// writers would corrupt the chain, so the log refuses to work.
func lockFile(context.Context, *os.File, bool) error { return errors.ErrUnsupported }

func unlockFile(*os.File) error { return errors.ErrUnsupported }

func linkCount(os.FileInfo) (uint64, bool) { return 0, false }
