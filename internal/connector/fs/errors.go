package fs

import (
	"context"
	"errors"
	iofs "io/fs"
	"strconv"
	"syscall"
	"unicode/utf8"

	"github.com/warden-dev/warden/internal/core"
)

// Operation names as they appear in errors ("fs.read").
func opName(op string) string { return "fs." + op }

// quote renders a path the agent gave for a model-facing message: quoted,
// with control characters escaped, and cut short if it is very long.
func quote(p string) string {
	const max = 160
	if len(p) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(p[cut]) {
			cut--
		}
		return strconv.Quote(p[:cut]) + "…"
	}
	return strconv.Quote(p)
}

// errInternalState reports an Execute call that did not come through
// Prepare; it is a bug in the caller.
var errInternalState = errors.New("invocation state missing or from another operation")

// errChanged reports that a directory entry was replaced between the moment
// it was examined (Lstat) and the moment it was opened.
var errChanged = errors.New("directory entry changed identity during the call")

// ctxError maps a context failure to a model-safe error.
func ctxError(op string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return core.E(op, core.KindTimeout, core.ReasonTimeout, "The call ran out of time before it finished.", err)
	}
	return core.E(op, core.KindTimeout, core.ReasonTimeout, "The call was cancelled before it finished.", err)
}

func notFound(op, p string, err error) error {
	return core.E(op, core.KindNotFound, core.ReasonNotFound,
		"There is no file or directory at "+quote(p)+".", err)
}

func isDirectory(op, p string) error {
	return core.E(op, core.KindInvalid, core.ReasonIsDirectory,
		quote(p)+" is a directory; use the list tool to see what it contains.", nil)
}

func notDirectory(op, p string, err error) error {
	return core.E(op, core.KindInvalid, core.ReasonNotDirectory,
		quote(p)+" is not a directory (or a path component before its end is a file).", err)
}

func notRegular(op, p string) error {
	return core.E(op, core.KindDenied, core.ReasonNotRegularFile,
		quote(p)+" is not a regular file (it is a device, pipe or socket); Warden only reads regular files.", nil)
}

func changed(op, p string, err error) error {
	return core.E(op, core.KindConflict, core.ReasonChanged,
		quote(p)+" changed while Warden was resolving or opening it; nothing was read. Try again.", err)
}

func escapesViaLink(op, p string) error {
	return core.E(op, core.KindDenied, core.ReasonPathEscapes,
		quote(p)+" leads outside the root through a symbolic link (or the link's target is absolute); Warden does not follow such links.", nil)
}

func unavailable(op, p string, err error) error {
	return core.E(op, core.KindUnavailable, core.ReasonInternal,
		"The file system failed while handling "+quote(p)+"; nothing was changed.", err)
}

// fsError maps an error from the file system to a model-safe *core.Error.
// The raw error, which may name host paths, stays in Err for the logs.
func fsError(op, p string, err error) error {
	var errno syscall.Errno
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return ctxError(op, err)
	case errors.Is(err, errChanged):
		return changed(op, p, err)
	case errors.Is(err, iofs.ErrNotExist):
		return notFound(op, p, err)
	case errors.Is(err, iofs.ErrPermission):
		return core.E(op, core.KindDenied, core.ReasonToolFailed,
			"The operating system refused access to "+quote(p)+".", err)
	case errors.As(err, &errno) && errno == syscall.ENOTDIR:
		return notDirectory(op, p, err)
	case errors.As(err, &errno) && errno == syscall.ENAMETOOLONG:
		return core.E(op, core.KindInvalid, core.ReasonInvalidPath,
			"A name in "+quote(p)+" is too long for the file system.", err)
	case errors.As(err, &errno) && errno == syscall.ELOOP:
		return core.E(op, core.KindInvalid, core.ReasonInvalidPath,
			quote(p)+" has too many levels of symbolic links.", err)
	}
	return unavailable(op, p, err)
}

func exists(op, p string) error {
	return core.E(op, core.KindExists, core.ReasonExists,
		quote(p)+" already exists; nothing was changed.", nil)
}

func danglingLink(op, p string) error {
	return core.E(op, core.KindDenied, core.ReasonDanglingLink,
		quote(p)+" is a symbolic link to something that does not exist; Warden never creates a file at a link's destination.", nil)
}

func hardlinked(op, p string) error {
	return core.E(op, core.KindDenied, core.ReasonHardlinked,
		quote(p)+" has other hard links, so changing it would change files elsewhere; the grant must allow this with hardlinks: true (then only this name is replaced).", nil)
}

func notRegularWrite(op, p string) error {
	return core.E(op, core.KindDenied, core.ReasonNotRegularFile,
		quote(p)+" is not a regular file (it is a device, pipe or socket); Warden only changes regular files and directories.", nil)
}

func changedWrite(op, p string, err error) error {
	return core.E(op, core.KindConflict, core.ReasonChanged,
		quote(p)+" changed while Warden was checking it; nothing was changed. Try again.", err)
}

func tooLarge(op, what string, limit int64) error {
	return core.E(op, core.KindTooLarge, core.ReasonTooLarge,
		what+" would be larger than the "+itoa(limit)+"-byte write limit; nothing was changed.", nil)
}

// journalError reports that what a call replaces could not be kept.
func journalError(op, p string, err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return core.E(op, core.KindUnavailable, core.ReasonDiskFull,
			"The disk holding Warden's undo journal is full, so no copy of "+quote(p)+" could be kept for undo; nothing was changed.", err)
	}
	return core.E(op, core.KindUnavailable, core.ReasonInternal,
		"Warden could not keep a copy of "+quote(p)+" for undo, so nothing was changed.", err)
}

// writeError maps a failure while changing the file system. The raw error
// stays in Err for the logs.
func writeError(op, p string, err error) error {
	var errno syscall.Errno
	switch {
	case errors.Is(err, errChanged):
		return changedWrite(op, p, err)
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return core.E(op, core.KindUnavailable, core.ReasonDiskFull,
			"The disk holding "+quote(p)+" is full; nothing was changed. Reads and deletes still work: free some space and try again.", err)
	case errors.Is(err, syscall.EROFS):
		return core.E(op, core.KindDenied, core.ReasonToolFailed,
			"The file system holding "+quote(p)+" is read-only; nothing was changed.", err)
	case errors.As(err, &errno) && errno == syscall.EXDEV:
		return core.E(op, core.KindInvalid, core.ReasonToolFailed,
			"Both paths must be on the same file system (a mount point lies between them); nothing was changed.", err)
	}
	return fsError(op, p, err)
}
