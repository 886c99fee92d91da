package mcpserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"github.com/warden-dev/warden/internal/bufpool"
	"github.com/warden-dev/warden/internal/jsonesc"
)

// The SDK encodes a tool result three times on its way out (the result to
// JSON, that JSON again as the response's raw result, the response as a
// message), re-escaping or re-validating every byte of a large text each
// time: 80% of the CPU of a 1 MiB read. A transport of Warden's own
// (stdio, and the HTTP face's response writer) can do better: the result
// handed to the SDK carries a short placeholder instead of a large text,
// and the transport puts the text, escaped once, in its place as it writes
// the message. Any other transport never sees a placeholder: the handler
// uses one only when the context says the transport will expand it.

// inlineMinBytes is the smallest text worth a placeholder: its cost (a
// random name, a map entry, a scan of the message) is a few microseconds,
// the SDK's three passes over a 4 KiB text are a quarter of that read's
// CPU.
const inlineMinBytes = 1 << 10

// Bounds on the texts held for messages not yet written. A text whose
// message is never written (the client went away) is dropped after
// inlineKeep; beyond inlineMaxHeld bytes, results go the SDK's way.
const (
	inlineKeep    = 10 * time.Minute
	inlineMaxHeld = 128 << 20
)

// placeholderPrefix starts every placeholder. A placeholder is the whole
// value of a JSON string: the prefix, 32 hex digits, nothing to escape.
const placeholderPrefix = "warden-inline:"

const placeholderLen = len(placeholderPrefix) + 32

// inliner holds the encoded texts of results until their messages are
// written. Safe for concurrent use.
type inliner struct {
	mu    sync.Mutex
	held  map[string]heldText
	bytes int
	swept time.Time
}

type heldText struct {
	encoded []byte // a JSON string, quotes included
	at      time.Time
}

func newInliner() *inliner { return &inliner{held: map[string]heldText{}} }

type inlinerKey struct{}

// withInliner returns ctx telling tool handlers that the transport expands
// placeholders held by in.
func withInliner(ctx context.Context, in *inliner) context.Context {
	return context.WithValue(ctx, inlinerKey{}, in)
}

func inlinerFrom(ctx context.Context) *inliner {
	in, _ := ctx.Value(inlinerKey{}).(*inliner)
	return in
}

// text returns what to put in a text block for s: s itself, or, when s is
// large and the transport expands placeholders, a placeholder for s
// escaped once. encoded, if not nil, is s already encoded as a JSON string
// (from jsonesc.String), and the inliner's from then on: the caller must
// not refer to it again, since it is recycled once written.
func (in *inliner) text(s string, encoded []byte) string {
	if in == nil || len(s) < inlineMinBytes {
		return s
	}
	if encoded == nil {
		encoded = jsonesc.String(s)
	}
	var id [16]byte
	_, _ = rand.Read(id[:]) // crypto/rand.Read never fails on Linux
	p := placeholderPrefix + hex.EncodeToString(id[:])
	now := time.Now()
	in.mu.Lock()
	defer in.mu.Unlock()
	in.sweep(now)
	if in.bytes+len(encoded) > inlineMaxHeld {
		return s
	}
	in.held[p] = heldText{encoded: encoded, at: now}
	in.bytes += len(encoded)
	return p
}

// sweep drops texts held longer than inlineKeep, at most once a minute.
func (in *inliner) sweep(now time.Time) {
	if now.Sub(in.swept) < time.Minute {
		return
	}
	in.swept = now
	for p, h := range in.held {
		if now.Sub(h.at) > inlineKeep {
			delete(in.held, p)
			in.bytes -= len(h.encoded)
		}
	}
}

// split returns msg cut at its held placeholders, each replaced by its
// text: the parts, written in order, are the expanded message. A
// transport writes them one by one instead of joining a large copy, then
// calls done, which recycles the texts' buffers: no part may be used
// after done.
func (in *inliner) split(msg []byte) (parts [][]byte, done func()) {
	if in == nil {
		return [][]byte{msg}, func() {}
	}
	quoted := []byte(`"` + placeholderPrefix)
	i := bytes.Index(msg, quoted)
	if i < 0 {
		return [][]byte{msg}, func() {}
	}
	var texts [][]byte
	last := 0
	for i >= 0 {
		end := i + 1 + placeholderLen
		if end < len(msg) && msg[end] == '"' && !escaped(msg, i) {
			p := string(msg[i+1 : end])
			in.mu.Lock()
			h, ok := in.held[p]
			if ok {
				delete(in.held, p)
				in.bytes -= len(h.encoded)
			}
			in.mu.Unlock()
			if ok {
				parts = append(parts, msg[last:i], h.encoded)
				texts = append(texts, h.encoded)
				last = end + 1
			}
		}
		j := bytes.Index(msg[i+1:], quoted)
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return append(parts, msg[last:]), func() {
		for _, t := range texts {
			bufpool.Put(t)
		}
	}
}

// escaped reports whether the quote at msg[i] is escaped: preceded by an
// odd number of backslashes.
func escaped(msg []byte, i int) bool {
	n := 0
	for i > 0 && msg[i-1] == '\\' {
		n++
		i--
	}
	return n%2 == 1
}
