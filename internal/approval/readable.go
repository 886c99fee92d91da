package approval

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Readable renders canonical arguments for the human who approves them:
// the same JSON, indented with prefix and indent when indent is not empty,
// with <, > and & as they are. Canonical arguments escape them, and
// "echo a \u003e b" hides a redirection from the person reading it.
// Anything that does not decode is returned as it is.
func Readable(canon []byte, prefix, indent string) string {
	dec := json.NewDecoder(bytes.NewReader(canon))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return string(canon)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if indent != "" {
		enc.SetIndent(prefix, indent)
	}
	if enc.Encode(v) != nil {
		return string(canon)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}
