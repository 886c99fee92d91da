package core

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Result is what a connector returns for a successful call.
type Result struct {
	// Value is the structured result, encoded as JSON for the agent. With
	// a Content, it holds what describes the content (path, size, status).
	Value any
	// Content, if set, is the result's payload: a file's text, a response
	// body. It travels apart from Value so that faces send it once, as it
	// is, instead of escaped inside Value's JSON and again beside it.
	Content *Content
	// Bytes counts payload bytes read or written, for the audit log.
	Bytes int64
	// Truncated reports whether a limit cut the result short.
	Truncated bool
}

// Content is a result's payload.
type Content struct {
	// Field is the key Text belongs under when the whole result is shown
	// as one JSON object (`warden call`, the Go API): "content", "text".
	Field string
	// Text is the payload, valid UTF-8: text, base64, or a JSON document.
	Text string
	// JSON reports that Text is a JSON document, placed in the object as
	// it is rather than as a string.
	JSON bool
	// Release, if set, gives back the memory Text shares: a buffer the
	// connector lends for a large read. A face calls it once nothing
	// refers to Text any more (its bytes are escaped into a copy), and at
	// most once; a face that never calls it leaves the buffer to the
	// collector.
	Release func()
}

// Encoded returns Text as it stands in the whole result's JSON: the JSON
// document itself, or Text as a JSON string.
func (c *Content) Encoded() (json.RawMessage, error) {
	if c.JSON {
		return json.RawMessage(c.Text), nil
	}
	return json.Marshal(c.Text)
}

// JSON encodes the whole result as one JSON object, with the content under
// its Field, as `warden call` shows it.
func (r *Result) JSON() (json.RawMessage, error) {
	meta, err := json.Marshal(r.Value)
	if err != nil || r.Content == nil {
		return meta, err
	}
	v, err := r.Content.Encoded()
	if err != nil {
		return nil, err
	}
	return WithMember(meta, r.Content.Field, v)
}

// WithMember returns the JSON object obj with the member name: value
// added first.
func WithMember(obj json.RawMessage, name string, value json.RawMessage) (json.RawMessage, error) {
	if len(obj) < 2 || obj[0] != '{' {
		return nil, fmt.Errorf("a result with content must be a JSON object, not %.20s", obj)
	}
	key, err := json.Marshal(name)
	if err != nil {
		return nil, err
	}
	rest := obj[1:]
	out := make([]byte, 0, len(key)+len(value)+len(obj)+2)
	out = append(out, '{')
	out = append(out, key...)
	out = append(out, ':')
	out = append(out, value...)
	if !bytes.Equal(bytes.TrimSpace(rest), []byte("}")) {
		out = append(out, ',')
	}
	return append(out, rest...), nil
}
