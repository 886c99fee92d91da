package core

import (
	"errors"
	"fmt"
)

// Kind classifies a failure so callers can branch without matching strings.
type Kind uint8

// Kinds. Append only: never reorder or reuse a value.
const (
	KindOther       Kind = iota // unclassified
	KindInvalid                 // bad input: arguments, configuration, paths
	KindDenied                  // refused by policy or by a safety rule
	KindNotFound                // the target does not exist
	KindExists                  // the target exists and must not
	KindUnavailable             // a dependency (disk, database, network) failed
	KindInternal                // a bug
	KindTooLarge                // a size limit was hit
	KindTimeout                 // a time limit was hit
	KindConflict                // the target changed underneath the call
)

func (k Kind) String() string {
	switch k {
	case KindInvalid:
		return "invalid"
	case KindDenied:
		return "denied"
	case KindNotFound:
		return "not found"
	case KindExists:
		return "exists"
	case KindUnavailable:
		return "unavailable"
	case KindInternal:
		return "internal"
	case KindTooLarge:
		return "too large"
	case KindTimeout:
		return "timeout"
	case KindConflict:
		return "conflict"
	}
	return "other"
}

// Error is Warden's structured error. Msg is safe to show to the model: it
// names only what the agent already supplied and never host paths or secrets.
// Err carries the detail for operators and is never sent to the agent.
type Error struct {
	Op     string // the operation, such as "fs.read" or "policy.Compile"
	Kind   Kind
	Reason Reason
	Msg    string // one plain sentence for the model
	Err    error  // the underlying cause, for logs only
}

func (e *Error) Error() string {
	s := e.Op
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// E builds an *Error. It exists to keep call sites short.
func E(op string, kind Kind, reason Reason, msg string, err error) *Error {
	return &Error{Op: op, Kind: kind, Reason: reason, Msg: msg, Err: err}
}

// Errorf builds an *Error whose model-facing message is formatted.
func Errorf(op string, kind Kind, reason Reason, format string, args ...any) *Error {
	return &Error{Op: op, Kind: kind, Reason: reason, Msg: fmt.Sprintf(format, args...)}
}

// KindOf returns the Kind of the first *Error in err's chain, or KindOther.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindOther
}

// ReasonOf returns the Reason of the first *Error in err's chain that has
// one, or [ReasonInternal].
func ReasonOf(err error) Reason {
	for err != nil {
		var e *Error
		if !errors.As(err, &e) {
			break
		}
		if e.Reason != "" {
			return e.Reason
		}
		err = e.Err
	}
	return ReasonInternal
}

// MessageOf returns the model-safe message of the first *Error in err's chain
// that has one, or a generic sentence that reveals nothing.
func MessageOf(err error) string {
	for err != nil {
		var e *Error
		if !errors.As(err, &e) {
			break
		}
		if e.Msg != "" {
			return e.Msg
		}
		err = e.Err
	}
	return "The call failed because of an internal error; nothing was changed."
}
