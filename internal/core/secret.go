package core

import (
	"fmt"
	"strings"
)

// Secret is a credential loaded from a reference such as "env:NAME" or
// "file:PATH". Its value never prints: String, GoString, Format and
// MarshalJSON all show only the reference. Use [Secret.Reveal] at the single
// place the value is needed (an outgoing header, a token comparison).
type Secret struct {
	ref   string
	value string
}

// NewSecret returns a Secret for a resolved reference.
func NewSecret(ref, value string) Secret { return Secret{ref: ref, value: value} }

// Ref returns the reference the secret was loaded from, safe to print.
func (s Secret) Ref() string { return s.ref }

// Reveal returns the secret value. Callers must not log or return it.
func (s Secret) Reveal() string { return s.value }

// IsZero reports whether the secret is unset.
func (s Secret) IsZero() bool { return s.ref == "" && s.value == "" }

func (s Secret) String() string {
	if s.ref == "" {
		return "[secret]"
	}
	return "[secret " + s.ref + "]"
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return s.String() }

// Format keeps every fmt verb from printing the value.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.String())) }

// MarshalJSON encodes the reference only.
func (s Secret) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf("%q", s.String())), nil
}

// MarshalText encodes the reference only.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// IsSecretRef reports whether s is written as a secret reference
// ("env:NAME" or "file:PATH").
func IsSecretRef(s string) bool {
	return strings.HasPrefix(s, "env:") || strings.HasPrefix(s, "file:")
}
