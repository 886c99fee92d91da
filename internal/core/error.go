package core

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"unicode"
	"unicode/utf8"
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

// Error is Warden's structured error, with one text for each of its two
// readers. Msg is the model's: one plain sentence, safe to show to the
// agent, naming only what the agent already supplied and never host paths
// or secrets; Reason goes with it. Err is the operator's: what failed and
// why, in plain words, for stderr and logs; it is never sent to the agent.
// Op names the operation for code that inspects the error; no reader sees
// it, since a Go function name means nothing to either.
type Error struct {
	Op     string // the operation, such as "fs.read" or "sql.open"
	Kind   Kind
	Reason Reason
	Msg    string // one plain sentence for the model
	Err    error  // the cause in an operator's words, for stderr and logs only
}

// Error returns the operator's text: the cause, said once. Without a
// cause it is the model's sentence, as an error reads (lower case, no
// closing full stop), so wrapping it never glues ".:" into a line. Neither
// Op nor, when there is a cause, Msg is part of it.
func (e *Error) Error() string {
	switch {
	case e.Err != nil:
		return e.Err.Error()
	case e.Msg != "":
		return errorText(e.Msg)
	case e.Reason != "":
		return string(e.Reason)
	}
	return e.Kind.String()
}

// errorText turns a sentence into an error's text: no closing full stop,
// and a first letter in lower case unless its word has other capitals (SQL,
// MySQL).
func errorText(s string) string {
	s = strings.TrimSuffix(s, ".")
	r, n := utf8.DecodeRuneInString(s)
	if !unicode.IsUpper(r) {
		return s
	}
	word, _, _ := strings.Cut(s[n:], " ")
	if strings.ToLower(word) != word {
		return s
	}
	return string(unicode.ToLower(r)) + s[n:]
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

// Cause is err's text for an operator's message that already names the
// file: without the system call and the path a *fs.PathError repeats
// ("no such file or directory", not "open /x/a.db: no such file or
// directory").
func Cause(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
