package redact

import (
	"bytes"
	"encoding/hex"
	"io"
	"slices"
	"strings"
)

// FragmentBytes is the shortest piece of a secret that [Redactor.Pieces]
// removes. Shorter pieces are too common in ordinary text to remove
// without destroying it.
const FragmentBytes = 4

// Margin returns how many bytes on each side of a window must be seen to
// tell whether a byte of the window belongs to a secret: one less than the
// longest form searched for.
func (r *Redactor) Margin() int { return max(r.Longest()-1, 0) }

// Window returns b[lo:hi] with every byte that belongs to an occurrence of
// a secret in b replaced by [Marker], one marker per run. b is the window
// with the bytes around it: with [Redactor.Margin] bytes on each side (or
// up to the start and end of the whole text), a piece of a secret that the
// window cuts is still recognised. b is unchanged; the result is a new
// slice when anything matched.
func (r *Redactor) Window(b []byte, lo, hi int) []byte {
	win := b[lo:hi]
	if r == nil || len(r.patterns) == 0 {
		return win
	}
	var out []byte
	last := lo
	for _, sp := range r.spans(b) {
		s, e := max(sp.start, lo), min(sp.end, hi)
		if s >= e {
			continue
		}
		if out == nil {
			out = make([]byte, 0, len(win))
		}
		out = append(out, b[last:s]...)
		out = append(out, Marker...)
		last = e
	}
	if out == nil {
		return win
	}
	return append(out, b[last:hi]...)
}

// spans returns the merged spans of every form of every value in b.
func (r *Redactor) spans(b []byte) []span {
	return scan(r, b)
}

// Pieces is like [Redactor.String], and also removes every run of at least
// [FragmentBytes] bytes that is a piece of a value (or of its hex form, at
// twice the length). It is for text computed from a secret without its
// surroundings, such as a database's substr(secret, 5, 4): such a piece
// cannot be recognised from context. The price is false positives: any
// four bytes of ordinary text that happen to occur in a secret go too.
func (r *Redactor) Pieces(s string) string {
	if r == nil || len(r.patterns) == 0 {
		return s
	}
	spans := scan(r, s)
	for _, g := range r.grams {
		for i := 0; i+g.n <= len(s); i++ {
			if _, ok := g.set[s[i:i+g.n]]; ok {
				spans = append(spans, span{i, i + g.n})
			}
		}
	}
	if spans == nil {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	last := 0
	for _, sp := range merge(spans) {
		b.WriteString(s[last:sp.start])
		b.WriteString(Marker)
		last = sp.end
	}
	b.WriteString(s[last:])
	return b.String()
}

// gramSet holds every n-byte piece of some form of the values.
type gramSet struct {
	n   int
	set map[string]struct{}
}

// fragments returns the pieces [Redactor.Pieces] removes: FragmentBytes
// of each value, and twice that of its hex forms. Values no longer than a
// piece are left to the whole-value patterns.
func fragments(values []string) []gramSet {
	raw := gramSet{n: FragmentBytes, set: map[string]struct{}{}}
	hx := gramSet{n: 2 * FragmentBytes, set: map[string]struct{}{}}
	for _, v := range values {
		if len(v) <= FragmentBytes {
			continue
		}
		for i := 0; i+raw.n <= len(v); i++ {
			raw.set[v[i:i+raw.n]] = struct{}{}
		}
		h := hex.EncodeToString([]byte(v))
		for _, f := range []string{h, strings.ToUpper(h)} {
			// Whole bytes only: hex(substr(v, i, n)) starts on a byte.
			for i := 0; i+hx.n <= len(f); i += 2 {
				hx.set[f[i:i+hx.n]] = struct{}{}
			}
		}
	}
	if len(raw.set) == 0 {
		return nil
	}
	return []gramSet{raw, hx}
}

// merge sorts spans and joins those that overlap or touch.
func merge(spans []span) []span {
	slices.SortFunc(spans, func(a, b span) int { return a.start - b.start })
	merged := spans[:1]
	for _, sp := range spans[1:] {
		last := &merged[len(merged)-1]
		if sp.start <= last.end {
			last.end = max(last.end, sp.end)
			continue
		}
		merged = append(merged, sp)
	}
	return merged
}

// Mask returns b with every byte of an occurrence of a secret, in any
// form, replaced by fill, except line feeds: [Redactor.MaskReader] for
// text already in memory. b is unchanged; it is returned itself when
// nothing matched.
func (r *Redactor) Mask(b []byte, fill byte) []byte {
	if r == nil || len(r.patterns) == 0 {
		return b
	}
	spans := r.spans(b)
	if spans == nil {
		return b
	}
	out := bytes.Clone(b)
	for _, sp := range spans {
		for i := sp.start; i < sp.end; i++ {
			if out[i] != '\n' {
				out[i] = fill
			}
		}
	}
	return out
}

// maskChunk is how much a mask reader reads from its source at once.
const maskChunk = 32 << 10

// MaskReader returns a reader of src's bytes in which every byte of an
// occurrence of a secret, in any form, is replaced by fill, except line
// feeds, which are kept so that line numbers still count. Its output has
// exactly the length of src's, so offsets and sizes hold; a search run on
// it can never match any part of a secret. It holds back [Redactor.Margin]
// bytes until it has seen what follows them. With no secrets it returns
// src itself.
func (r *Redactor) MaskReader(src io.Reader, fill byte) io.Reader {
	if r == nil || len(r.patterns) == 0 {
		return src
	}
	return &maskReader{r: r, src: src, fill: fill, hold: r.Margin()}
}

type maskReader struct {
	r    *Redactor
	src  io.Reader
	fill byte
	hold int

	raw    []byte // read from src, not yet masked: the last hold bytes of what came before and new bytes
	maskTo int    // raw[:maskTo] belong to an occurrence found earlier
	out    []byte // masked, not yet returned
	err    error  // src's error, once it has one
}

func (m *maskReader) Read(p []byte) (int, error) {
	for len(m.out) == 0 {
		if m.err != nil && len(m.raw) == 0 {
			return 0, m.err
		}
		if m.err == nil {
			n := len(m.raw)
			m.raw = slices.Grow(m.raw, maskChunk)[:n+maskChunk]
			k, err := m.src.Read(m.raw[n:])
			m.raw = m.raw[:n+k]
			if err != nil {
				m.err = err
			}
		}
		m.mask()
	}
	n := copy(p, m.out)
	m.out = m.out[n:]
	return n, nil
}

// mask moves what can be decided from raw to out: all of it once src has
// ended, otherwise all but the last hold bytes, which an occurrence
// starting there could still extend past.
func (m *maskReader) mask() {
	ready := len(m.raw)
	if m.err == nil {
		ready -= m.hold
	}
	if ready <= 0 {
		return
	}
	out := make([]byte, ready)
	copy(out, m.raw[:ready])
	reach := m.maskTo
	m.fillRange(out, 0, min(reach, ready))
	for _, sp := range m.r.spans(m.raw) {
		if sp.start >= ready {
			break // seen again, whole, next time
		}
		m.fillRange(out, sp.start, min(sp.end, ready))
		reach = max(reach, sp.end)
	}
	m.maskTo = max(reach-ready, 0)
	m.raw = append(m.raw[:0], m.raw[ready:]...)
	m.out = out
}

func (m *maskReader) fillRange(b []byte, from, to int) {
	for i := from; i < to; i++ {
		if b[i] != '\n' {
			b[i] = m.fill
		}
	}
}
