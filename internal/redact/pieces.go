package redact

import (
	"bytes"
	"encoding/hex"
	"io"
	"math"
	"slices"
	"strings"
)

// PieceBits is how much of a secret a piece must be able to carry before
// [Redactor.Pieces] removes it. Shorter pieces occur by chance in ordinary
// data too often: the 4-digit runs of a random hex password turn up in a
// few hundred prices, and a value such as 1151.92 would lose its digits.
// At 40 bits a piece matches a given position of random data with odds
// below one in 10^10.
const PieceBits = 40

// PieceBytes returns the shortest piece of secret that [Redactor.Pieces]
// removes: enough bytes to carry [PieceBits] drawn from the secret's
// alphabet (10 hex digits, 8 bytes of lower-case letters and digits, 7 of
// mixed case, 13 digits).
func PieceBytes(secret string) int {
	bits := math.Log2(float64(alphabet(secret)))
	return max(int(math.Ceil(PieceBits/bits)), 4)
}

// alphabet estimates how many symbols the secret's characters were drawn
// from, by the classes of characters it uses.
func alphabet(s string) int {
	var digit, lower, upper, hexLower, hexUpper, other, high bool
	hexLower, hexUpper = true, true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digit = true
		case c >= 'a' && c <= 'z':
			lower = true
			hexUpper = false
			hexLower = hexLower && c <= 'f'
		case c >= 'A' && c <= 'Z':
			upper = true
			hexLower = false
			hexUpper = hexUpper && c <= 'F'
		case c >= 0x80:
			high = true
		default:
			other = true
		}
	}
	switch {
	case !lower && !upper && !other && !high:
		return 10
	case !other && !high && (hexLower || hexUpper):
		return 16
	}
	n := 0
	for _, class := range []struct {
		used bool
		size int
	}{{digit, 10}, {lower, 26}, {upper, 26}, {other, 33}, {high, 128}} {
		if class.used {
			n += class.size
		}
	}
	return n
}

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
// [PieceBytes] bytes that is a piece of a value (or of its hex form, at
// twice the length). It is for text computed from a secret without its
// surroundings, such as a database's substr(secret, 5, 10): such a piece
// cannot be recognised from context. Shorter pieces are left, because
// removing them would remove ordinary data that happens to share a few
// bytes with a secret; copying a secret out in pieces that short, like
// computing with it, is stopped only by not granting it.
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

// fragments returns the pieces [Redactor.Pieces] removes: [PieceBytes] of
// each value, and twice that of its hex forms, grouped by length. Values
// no longer than a piece are left to the whole-value patterns.
func fragments(values []string) []gramSet {
	byLen := map[int]gramSet{}
	add := func(n int, piece string) {
		g, ok := byLen[n]
		if !ok {
			g = gramSet{n: n, set: map[string]struct{}{}}
			byLen[n] = g
		}
		g.set[piece] = struct{}{}
	}
	for _, v := range values {
		n := PieceBytes(v)
		if len(v) <= n {
			continue
		}
		for i := 0; i+n <= len(v); i++ {
			add(n, v[i:i+n])
		}
		h := hex.EncodeToString([]byte(v))
		for _, f := range []string{h, strings.ToUpper(h)} {
			// Whole bytes only: hex(substr(v, i, n)) starts on a byte.
			for i := 0; i+2*n <= len(f); i += 2 {
				add(2*n, f[i:i+2*n])
			}
		}
	}
	var grams []gramSet
	for _, g := range byLen {
		grams = append(grams, g)
	}
	slices.SortFunc(grams, func(a, b gramSet) int { return a.n - b.n })
	return grams
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
