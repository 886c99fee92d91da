// Package jsonesc writes a string as a JSON string, byte for byte as
// encoding/json does, in one pass into a buffer sized once.
//
// encoding/json escapes a large string into a buffer that grows by
// doubling, and a value that holds one is then copied again: for a 1 MiB
// file most of the time goes to copying. Warden escapes each large result
// text exactly once, with this package; the bytes are the same as
// json.Marshal's, so nothing downstream can tell.
package jsonesc

import (
	"slices"
	"unicode/utf8"
)

const hex = "0123456789abcdef"

// safe marks the ASCII bytes written as they are: printable characters
// other than the quote, the backslash and the HTML characters <, > and &,
// which encoding/json escapes by default.
var safe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = true
	}
	for _, c := range `"\<>&` {
		t[c] = false
	}
	return t
}()

// AppendString appends s to dst as a JSON string, quotes included, exactly
// as json.Marshal(s) writes it: invalid UTF-8 becomes \ufffd, and U+2028
// and U+2029 are escaped.
func AppendString(dst []byte, s string) []byte {
	// Text needs few escapes; the slack saves a regrowth for most. Grow
	// keeps append's doubling, so many small strings appended to one
	// buffer stay linear.
	dst = slices.Grow(dst, len(s)+len(s)/16+2)
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// Most of a text is plain: skip eight bytes at a time, and after
		// a word that is not, go byte by byte through that word only.
		if i+8 <= len(s) && plain(word(s[i:])) {
			i += 8
			continue
		}
		for end := min(i+8, len(s)); i < end; {
			b := s[i]
			if b < utf8.RuneSelf {
				i++
				if safe[b] {
					continue
				}
				dst = append(dst, s[start:i-1]...)
				start = i
				switch b {
				case '\\', '"':
					dst = append(dst, '\\', b)
				case '\b':
					dst = append(dst, '\\', 'b')
				case '\f':
					dst = append(dst, '\\', 'f')
				case '\n':
					dst = append(dst, '\\', 'n')
				case '\r':
					dst = append(dst, '\\', 'r')
				case '\t':
					dst = append(dst, '\\', 't')
				default:
					dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
				}
				continue
			}
			c, size := utf8.DecodeRuneInString(s[i:])
			switch {
			case c == utf8.RuneError && size == 1:
				dst = append(dst, s[start:i]...)
				dst = append(dst, `\ufffd`...)
			case c == '\u2028' || c == '\u2029':
				dst = append(dst, s[start:i]...)
				dst = append(dst, '\\', 'u', '2', '0', '2', hex[c&0xF])
			default:
				i += size
				continue
			}
			i += size
			start = i
		}
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// word returns the first 8 bytes of s as a little-endian word.
func word(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// plain reports whether all 8 bytes of w are written as they are: none is
// below 0x20 or above 0x7f, or one of " \ < > &. It uses the bit trick for
// a zero byte: (x - ones) &^ x & highs is not zero exactly when some byte
// of x is zero, and x = w ^ c*ones has a zero byte where w has c.
func plain(w uint64) bool {
	q, bs, lt, gt, amp := w^('"'*ones), w^('\\'*ones), w^('<'*ones), w^('>'*ones), w^('&'*ones)
	bad := w | (w-0x20*ones)&^w
	bad |= (q-ones)&^q | (bs-ones)&^bs | (lt-ones)&^lt | (gt-ones)&^gt | (amp-ones)&^amp
	return bad&highs == 0
}
