package core

import "time"

// PolicyNode is one value of a policy file as a kind decodes it: the
// policy package's positioned decoder. Every problem reported through a
// node carries the file position of the value, and decoding goes on after
// one, so the user sees every mistake at once. The typed getters report a
// problem themselves when the value has the wrong type or range, naming it
// with what ("root", "max_rows"), and return ok false.
type PolicyNode interface {
	// Path is the value's place in the policy: "resources.notes.root".
	Path() string
	// Field returns the value of key in this mapping, or nil when the key
	// is absent.
	Field(key string) PolicyNode
	// Fields returns the entries of this mapping in file order. Keys not
	// in allowed (when allowed is not nil) are problems, and left out.
	Fields(what string, allowed []string) []PolicyField

	// Text returns a string scalar without reporting a problem when the
	// value is something else.
	Text() (string, bool)
	String(what string) (string, bool)
	// OneOf decodes a string that must be one of allowed; another is the
	// problem "unknown WHAT %q", with the closest one as a hint.
	OneOf(what string, allowed []string) (string, bool)
	// Strings decodes a list of strings; nodes are its elements, for
	// problems about one of them.
	Strings(what string) (list []string, nodes []PolicyNode, ok bool)
	Int(what string, minV, maxV int64) (int64, bool)
	Bool(what string) (bool, bool)
	Duration(what string, minV, maxV time.Duration) (time.Duration, bool)
	// Size decodes a byte count: 65536, "64KiB", "10MiB".
	Size(what string, minV, maxV int64) (int64, bool)
	// Secret resolves a secret reference (env:NAME, file:PATH); inline
	// values are refused. The secret is redacted everywhere.
	Secret(what string) (Secret, bool)
	// AddSecret registers a further secret found inside one (a DSN's
	// password alone), so it is redacted too.
	AddSecret(s Secret)
	// Abs resolves a path written in the policy against the policy's
	// directory.
	Abs(path string) string

	// Problem reports a problem at this value: format says what is wrong,
	// hint how to fix it ("" for none).
	Problem(hint, format string, args ...any)
	// KeyProblem reports a problem at this value's key (a key that is
	// valid only with another one).
	KeyProblem(hint, format string, args ...any)
	// Missing reports that this mapping lacks key.
	Missing(key, hint, format string, args ...any)
	// Warn reports something that does not stop the policy from loading.
	Warn(hint, format string, args ...any)
}

// PolicyField is one entry of a mapping.
type PolicyField struct {
	Key   string
	Value PolicyNode
}
