// Package textsafe prepares text an agent wrote for a human to read:
// cut to a size on a character boundary, and with the characters that
// would make a display show something other than the text spelled out.
// An approver must read exactly what they approve.
package textsafe

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Clip returns s cut to at most n bytes on a character boundary, with "…"
// when cut.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// IsBidiControl reports whether r reorders displayed text (the Unicode
// directional marks, embeddings, overrides and isolates): with them an
// agent could make a call read as another.
func IsBidiControl(r rune) bool {
	return r == 0x200e || r == 0x200f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069
}

// EscapeBidi spells out the bidirectional controls in s as \uXXXX.
func EscapeBidi(s string) string {
	return escape(s, IsBidiControl, false)
}

// Printable escapes what could make a terminal show something other than
// the text: control characters other than newline and tab, bidirectional
// controls (\uXXXX), and bytes that are not UTF-8 (\xHH).
func Printable(s string) string {
	return escape(s, func(r rune) bool {
		return r != '\n' && r != '\t' && unicode.IsControl(r) || IsBidiControl(r)
	}, true)
}

// escape spells out the runes unsafe reports as \uXXXX and, with
// badBytes, each byte that is not UTF-8 as \xHH.
func escape(s string, unsafe func(rune) bool, badBytes bool) string {
	if !strings.ContainsFunc(s, unsafe) && (!badBytes || utf8.ValidString(s)) {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case badBytes && r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unsafe(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			b.WriteByte(s[i]) // left as it was
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
