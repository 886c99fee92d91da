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
	"math/bits"
	"slices"
	"unicode/utf8"

	"github.com/warden-dev/warden/internal/bufpool"
)

const hex = "0123456789abcdef"

// String returns s as a JSON string, as AppendString(nil, s) does, in a
// buffer from bufpool: give it back with bufpool.Put once nothing refers
// to it any more, or let the collector have it.
func String(s string) []byte {
	return AppendString(bufpool.Get(len(s) + len(s)/16 + 2)[:0], s)
}

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
	start, i := 0, 0
	for i < len(s) {
		// In JSON text, the next quote is often a few bytes on: one word
		// is tested here before the call that skips plain text.
		if i+8 <= len(s) {
			if m := special(word(s[i:])); m != 0 {
				i += bits.TrailingZeros64(m) / 8
			} else if i = skip(s, i+8); i == len(s) {
				break
			}
		} else if i = skip(s, i); i == len(s) {
			break
		}
		b := s[i]
		if b < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			i++
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

// skip returns the index of the first byte of s at or after i that is not
// written as it is, or len(s). Most of a text is plain: it goes sixteen
// bytes at a time, then to the first byte that is not plain in the word
// that has one. It is apart from AppendString so that its loop keeps its
// values in registers.
func skip(s string, i int) int {
	for ; i+16 <= len(s); i += 16 {
		if m := special(word(s[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
		if m := special(word(s[i+8:])); m != 0 {
			return i + 8 + bits.TrailingZeros64(m)/8
		}
	}
	if i+8 <= len(s) {
		if m := special(word(s[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
		i += 8
	}
	for ; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || !safe[c] {
			return i
		}
	}
	return i
}

// special returns a mask with the high bit set in the first byte of w that
// is not written as it is (below 0x20, above 0x7f, or one of " \\ < > &),
// and maybe in bytes after it. It uses the bit trick for a zero byte:
// x - ones has the high bit set in the first zero byte of x (a borrow only
// carries upwards, from a zero byte), and x = w ^ c*ones is zero where w
// has c; w - 0x20*ones likewise marks the first byte below 0x20. Those
// differences also set the high bit of some bytes at or above 0x80, which
// w's own high bits mark anyway. Setting bit 1 maps < and > to one value
// (0x3e), and bit 2 " and & (0x26): three comparisons cover five bytes.
func special(w uint64) uint64 {
	lg := w | 0x02*ones ^ '>'*ones
	qa := w | 0x04*ones ^ '&'*ones
	bs := w ^ '\\'*ones
	return (w | (w - 0x20*ones) | (lg - ones) | (qa - ones) | (bs - ones)) & highs
}
