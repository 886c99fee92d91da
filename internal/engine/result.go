package engine

import (
	"bytes"
	"encoding/json"

	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/jsonesc"
)

// encodedResult is a connector's result as the agent gets it: redacted
// and encoded once.
type encodedResult struct {
	full        json.RawMessage // the whole result as one JSON object
	meta        json.RawMessage // full without the content; full itself when there is none
	content     *core.Content   // the payload, redacted, or nil
	contentJSON json.RawMessage // the payload as full holds it
	redacted    bool
}

// encodeResult encodes res.Value, redacts it and the payload apart (the
// payload is scanned as text, not inside JSON), and joins them: the payload
// is escaped once, here, and faces reuse that encoding.
func (e *Engine) encodeResult(res *core.Result) (encodedResult, error) {
	var r encodedResult
	meta, err := json.Marshal(res.Value)
	if err != nil {
		return r, err
	}
	if red := e.redactor.Bytes(meta); !bytes.Equal(red, meta) {
		meta, r.redacted = red, true
	}
	r.meta, r.full = meta, meta
	if res.Content == nil {
		return r, nil
	}
	c := *res.Content
	if red := e.redactor.String(c.Text); red != c.Text {
		c.Text, r.redacted = red, true
		// A secret replaced inside a JSON document may have been a number
		// or spanned its syntax: what is left is sent as text.
		c.JSON = c.JSON && json.Valid([]byte(red))
	}
	if c.JSON {
		r.contentJSON = json.RawMessage(c.Text)
	} else {
		r.contentJSON = jsonesc.AppendString(nil, c.Text)
	}
	r.content = &c
	r.full, err = core.WithMember(meta, c.Field, r.contentJSON)
	return r, err
}
