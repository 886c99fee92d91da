package approval

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/warden-dev/warden/internal/audit"
)

// sealKeyLabel derives the key that seals approval files from the audit
// key, so an approval's MAC can never pass for an audit record's hash or
// an audit head's MAC.
const sealKeyLabel = "warden approval v1"

// sealPrefix starts the suffix that seals a file: ,"mac":"<64 hex>"}\n.
const sealPrefix = `,"mac":"`

// sealLen is the length of that suffix.
const sealLen = len(sealPrefix) + 64 + len(`"}`) + 1

// sealer seals approval files with a key derived from the audit key. The
// MAC covers the file's exact bytes, so every field (the call's hash, the
// agent and tool, the status, the decision, the expiry, and any field
// added later) is covered without a canonical form to agree on.
type sealer struct {
	key []byte // nil: files are neither sealed nor checked
}

func newSealer(auditKey []byte) sealer {
	return sealer{key: audit.DeriveKey(auditKey, sealKeyLabel)}
}

// sum returns the MAC of body, a JSON object.
func (s sealer) sum(body []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write(body)
	return m.Sum(nil)
}

// seal turns body, a JSON object, into the file's content: with a key,
// the object's closing brace becomes ,"mac":"<HMAC of body>"}; a newline
// ends the file either way.
func (s sealer) seal(body []byte) []byte {
	if s.key == nil {
		return append(body, '\n')
	}
	out := append([]byte(nil), body[:len(body)-1]...)
	out = append(out, sealPrefix...)
	out = hex.AppendEncode(out, s.sum(body))
	return append(out, "\"}\n"...)
}

// check verifies a file's seal. Without a key every file passes (a mac
// field is then ignored, as any unknown field is). The error explains
// what is wrong for the operator, and wraps ErrForged.
func (s sealer) check(data []byte) error {
	if s.key == nil {
		return nil
	}
	n := len(data)
	if n < sealLen+2 || string(data[n-sealLen:n-sealLen+len(sealPrefix)]) != sealPrefix || string(data[n-3:]) != "\"}\n" {
		return fmt.Errorf("%w: it has no MAC, so it was not written by a Warden holding the key", ErrForged)
	}
	got := make([]byte, 32)
	if _, err := hex.Decode(got, data[n-sealLen+len(sealPrefix):n-3]); err != nil {
		return fmt.Errorf("%w: its MAC is malformed", ErrForged)
	}
	body := append(bytes.Clone(data[:n-sealLen]), '}')
	if !hmac.Equal(got, s.sum(body)) {
		return fmt.Errorf("%w: its MAC does not match, so it was written or edited without the key", ErrForged)
	}
	return nil
}
