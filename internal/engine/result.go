package engine

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/jsonesc"
)

// encodeResult encodes res.Value into out.Meta (and out.Value, when there
// is no payload), redacts it and the payload apart (the payload is scanned
// as text, not inside JSON), and escapes the payload once, into
// out.ContentJSON, which faces reuse. The whole result is joined only when
// asked for ([Outcome.JSON]): a 1 MiB copy an MCP session never needs. It
// returns the size of the whole result's JSON and whether anything was
// redacted.
func (e *Engine) encodeResult(res *core.Result, out *Outcome) (size int, redacted bool, err error) {
	meta, err := json.Marshal(res.Value)
	if err != nil {
		return 0, false, err
	}
	if red := e.redactor.Bytes(meta); !bytes.Equal(red, meta) {
		meta, redacted = red, true
	}
	out.Meta = meta
	if res.Content == nil {
		out.Value = meta
		return len(meta), redacted, nil
	}
	if len(meta) < 2 || meta[0] != '{' {
		return 0, false, fmt.Errorf("a result with content must be a JSON object, not %.20s", meta)
	}
	c := *res.Content
	if red := e.redactor.String(c.Text); red != c.Text {
		c.Text, redacted = red, true
		// A secret replaced inside a JSON document may have been a number
		// or spanned its syntax: what is left is sent as text.
		c.JSON = c.JSON && json.Valid([]byte(red))
	}
	if c.JSON {
		out.ContentJSON = json.RawMessage(c.Text)
	} else {
		// A face that writes it may give the buffer back when done.
		out.ContentJSON = jsonesc.String(c.Text)
	}
	out.Content = &c
	// {"field":content,…meta}: the key quoted, a colon and a comma.
	return len(meta) + len(c.Field) + 4 + len(out.ContentJSON), redacted, nil
}

// JSON returns a successful result as one JSON object, the payload under
// its name: what `warden call` prints and the Go API returns.
func (o *Outcome) JSON() json.RawMessage {
	if o.Content == nil {
		return o.Value
	}
	full, err := core.WithMember(o.Meta, o.Content.Field, o.ContentJSON)
	if err != nil {
		return nil // encodeResult checked that Meta is an object
	}
	return full
}
