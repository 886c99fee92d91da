package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// Marker replaces each redacted span.
const Marker = "[REDACTED]"

// minCoreBytes is the shortest value slice whose shifted base64 encoding is
// matched; shorter cores are a handful of characters and would match noise.
const minCoreBytes = 6

// Redactor replaces registered secret values, and their common encodings,
// with [Marker]. Build one with [New]; the zero value and nil redact nothing.
type Redactor struct {
	values   []string // registered values, sorted and deduplicated
	patterns []string // every form of every value, longest first, deduplicated
	index    *prefixIndex
	grams    []gramSet
}

// New returns a Redactor for values. Empty values are ignored.
func New(values ...string) *Redactor {
	var vs []string
	for _, v := range values {
		if v != "" {
			vs = append(vs, v)
		}
	}
	slices.Sort(vs)
	vs = slices.Compact(vs)

	seen := make(map[string]bool)
	var pats []string
	for _, v := range vs {
		for _, p := range forms(v) {
			if p != "" && !seen[p] {
				seen[p] = true
				pats = append(pats, p)
			}
		}
	}
	// Longest first keeps the pattern order deterministic and finds the
	// most specific form first; spans are merged anyway.
	slices.SortFunc(pats, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	return &Redactor{values: vs, patterns: pats, index: newPrefixIndex(pats), grams: fragments(vs)}
}

// Add returns a new Redactor for r's values plus values. r is unchanged.
// Add on a nil Redactor is New(values...).
func (r *Redactor) Add(values ...string) *Redactor {
	if r == nil {
		return New(values...)
	}
	all := make([]string, 0, len(r.values)+len(values))
	all = append(all, r.values...)
	all = append(all, values...)
	return New(all...)
}

// Longest returns the length in bytes of the longest form searched for: a
// reader that cuts a text after redacting must read at least this much
// past the cut, so no value straddles it unredacted.
func (r *Redactor) Longest() int {
	if r == nil || len(r.patterns) == 0 {
		return 0
	}
	return len(r.patterns[0]) // longest first
}

// Len returns the number of distinct values registered.
func (r *Redactor) Len() int {
	if r == nil {
		return 0
	}
	return len(r.values)
}

// String returns s with every registered form of every value replaced by
// [Marker]. It returns s itself when nothing matches.
func (r *Redactor) String(s string) string {
	if r == nil || len(r.patterns) == 0 {
		return s
	}
	spans := scan(r, s)
	if spans == nil {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	last := 0
	for _, sp := range spans {
		b.WriteString(s[last:sp.start])
		b.WriteString(Marker)
		last = sp.end
	}
	b.WriteString(s[last:])
	return b.String()
}

// Bytes is like [Redactor.String] for a byte slice. When nothing matches it
// returns b itself; otherwise it returns a new slice and leaves b unchanged.
func (r *Redactor) Bytes(b []byte) []byte {
	return r.Window(b, 0, len(b))
}

type span struct{ start, end int }

// forms returns the encoded forms of v to search for. Duplicates are fine.
func forms(v string) []string {
	out := []string{v}

	htmlEsc := jsonInner(v, true)
	plain := jsonInner(v, false)
	out = append(out, htmlEsc, plain, asciiJSON(plain))
	if strings.Contains(plain, "/") {
		out = append(out, strings.ReplaceAll(plain, "/", `\/`))
	}

	encs := []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding}
	for _, e := range encs {
		out = append(out, e.EncodeToString([]byte(v)))
	}
	// v embedded in a longer base64 payload starts at an arbitrary offset;
	// for each alignment, the whole 3-byte groups made only of v's bytes
	// encode to the same characters whatever surrounds them.
	for shift := range 3 {
		if shift >= len(v) {
			break
		}
		core := v[shift:]
		core = core[:len(core)/3*3]
		if len(core) < minCoreBytes {
			continue
		}
		out = append(out,
			base64.RawStdEncoding.EncodeToString([]byte(core)),
			base64.RawURLEncoding.EncodeToString([]byte(core)))
	}

	q, p := url.QueryEscape(v), url.PathEscape(v)
	for _, e := range []string{q, p, lowerPercent(q), lowerPercent(p)} {
		// A URL-encoded value inside JSON: encoding/json writes & < > as
		// \u0026 and so on.
		out = append(out, e, jsonInner(e, true))
	}

	h := hex.EncodeToString([]byte(v))
	out = append(out, h, strings.ToUpper(h))
	return out
}

// jsonInner returns v as encoding/json writes it inside a string, without
// the quotes.
func jsonInner(v string, escapeHTML bool) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(escapeHTML)
	if err := enc.Encode(v); err != nil {
		// Encoding a string cannot fail.
		panic(fmt.Sprintf("redact: encode string: %v", err))
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	return string(b[1 : len(b)-1])
}

// asciiJSON rewrites every non-ASCII rune of a JSON string body as \uXXXX
// (a surrogate pair above U+FFFF), as ASCII-only encoders do.
func asciiJSON(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf:
			b.WriteRune(r)
		case r > 0xFFFF:
			r -= 0x10000
			fmt.Fprintf(&b, `\u%04x\u%04x`, 0xD800+(r>>10), 0xDC00+(r&0x3FF))
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

// lowerPercent lower-cases the hex digits of every %XX escape.
func lowerPercent(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			b[i+1] = lowerHex(b[i+1])
			b[i+2] = lowerHex(b[i+2])
			i += 2
		}
	}
	return string(b)
}

func lowerHex(c byte) byte {
	if 'A' <= c && c <= 'F' {
		return c + 'a' - 'A'
	}
	return c
}
