package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"

	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/engine"
)

// configError is a problem of configuration: the policy file, a setting,
// the state directory. Its exit code is ExitConfig.
type configError struct{ err error }

func (c *configError) Error() string { return c.err.Error() }
func (c *configError) Unwrap() error { return c.err }

// exitCodeOf returns the exit code of an error that stopped a command
// before it ran anything (see the table at ExitOK): configuration for the
// policy, the state directory and, under --strict, a resource that cannot
// be opened; failure for what is unavailable now; configuration
// otherwise, since nothing ran.
func exitCodeOf(err error) int {
	var ce *configError
	var se *engine.StateError
	var re *engine.ResourceError
	switch {
	case errors.As(err, &ce), errors.As(err, &se), errors.As(err, &re):
		return ExitConfig
	}
	switch core.KindOf(err) {
	case core.KindUnavailable, core.KindTimeout:
		return ExitToolFailed
	}
	return ExitConfig
}

// fail prints err as the operator reads it and returns its exit code.
func fail(e *env, err error) int {
	fmt.Fprintf(e.stderr, "warden: %v\n", err)
	return exitCodeOf(err)
}

// policyReadError says why a policy file cannot be read, the cause once.
func policyReadError(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("cannot read the policy file %s: %w", path, pe.Err)
	}
	return fmt.Errorf("cannot read the policy file %s: %w", path, err)
}

// listenError says why the HTTP address cannot be listened on, in plain
// words.
func listenError(addr string, err error) error {
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return fmt.Errorf("cannot listen on %s: the address is already in use", addr)
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return fmt.Errorf("cannot listen on %s: the address is not one of this machine's", addr)
	case errors.Is(err, syscall.EACCES):
		return fmt.Errorf("cannot listen on %s: permission denied (ports below 1024 need privileges)", addr)
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return fmt.Errorf("cannot listen on %s: %w", addr, errno)
	}
	return fmt.Errorf("cannot listen on %s: %w", addr, err)
}

// writeFailed reports a file that cannot be written and returns
// ExitToolFailed.
func writeFailed(e *env, file string, err error) int {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	fmt.Fprintf(e.stderr, "warden: cannot write %s: %v\n", file, err)
	return ExitToolFailed
}
