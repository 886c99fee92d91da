package jsonesc

import (
	"bytes"
	"encoding/json"
	"math/bits"
	"strings"
	"testing"

	"github.com/warden-dev/warden/internal/bufpool"
)

func same(t *testing.T, s string) {
	t.Helper()
	want, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if got := AppendString(nil, s); !bytes.Equal(got, want) {
		t.Fatalf("AppendString(%q) = %s, want %s", s, got, want)
	}
	if got := AppendString([]byte("x:"), s); !bytes.Equal(got, append([]byte("x:"), want...)) {
		t.Fatalf("AppendString after a prefix = %s", got)
	}
}

func TestAppendString(t *testing.T) {
	var all strings.Builder
	for c := 0; c < 0x80; c++ {
		all.WriteByte(byte(c))
	}
	for _, s := range []string{
		"", "plain", all.String(), "\"\\<>&", "\u2028\u2029", "é日本🎉", "\xff", "a\xc3", "\xed\xa0\x80",
		"\x7f", strings.Repeat("abc\n", 5000),
	} {
		same(t, s)
	}
	// Each special byte or character at every offset of two words and a
	// tail, among plain bytes.
	for _, sp := range []string{"\"", "\\", "<", "\x00", "\x1f", "\x7f", "é", "日", "🎉", "\u2028", "\xff", "\xe6\x97"} {
		for n := 0; n < 40; n++ {
			for at := 0; at <= n; at++ {
				same(t, strings.Repeat("a", at)+sp+strings.Repeat("b", n-at))
			}
		}
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("hello \"world\" <b>&</b>\n\t\u2028")
	f.Add("\xff\xfe\x00")
	f.Fuzz(func(t *testing.T, s string) { same(t, s) })
}

func BenchmarkAppendString(b *testing.B) {
	s := strings.Repeat("line \"quoted\" back\\slash <tag> & text é 日本\n", 1<<20/48)
	b.SetBytes(int64(len(s)))
	plain := strings.Repeat("The quick brown fox jumps over the lazy dog, again and again.\n", 1<<20/62)
	b.Run("plain/jsonesc", func(b *testing.B) {
		for b.Loop() {
			AppendString(nil, plain)
		}
	})
	b.Run("plain/encoding-json", func(b *testing.B) {
		for b.Loop() {
			_, _ = json.Marshal(plain)
		}
	})
	type entry struct {
		Path, Type string
		Size       int
		Modified   string
	}
	var entries []entry
	for i := range 10000 {
		entries = append(entries, entry{"list10k/file-" + strings.Repeat("0", 5) + string(rune('a'+i%26)) + ".txt", "file", 12, "2026-12-07T21:00:00Z"})
	}
	listJSON, _ := json.Marshal(map[string]any{"entries": entries})
	list := string(listJSON)
	b.Run("json/jsonesc", func(b *testing.B) {
		for b.Loop() {
			AppendString(nil, list)
		}
	})
	b.Run("json/encoding-json", func(b *testing.B) {
		for b.Loop() {
			_, _ = json.Marshal(list)
		}
	})
	b.Run("jsonesc", func(b *testing.B) {
		for b.Loop() {
			AppendString(nil, s)
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			_, _ = json.Marshal(s)
		}
	})
}

// TestSpecial checks the word test against the byte table: for every byte
// at every position of a word of plain bytes, and for every pair of bytes
// at every two positions, the lowest byte flagged is the first byte that
// is not written as it is, the one the escaper jumps to.
func TestSpecial(t *testing.T) {
	first := func(w []byte) int {
		for i, c := range w {
			if c >= utf8RuneSelf || !safe[c] {
				return i
			}
		}
		return 8
	}
	got := func(w []byte) int {
		if m := special(word(string(w))); m != 0 {
			return bits.TrailingZeros64(m) / 8
		}
		return 8
	}
	for c := 0; c < 256; c++ {
		for pos := 0; pos < 8; pos++ {
			w := []byte("abcdefgh")
			w[pos] = byte(c)
			if got(w) != first(w) {
				t.Errorf("special with %#x at %d flags byte %d, want %d", c, pos, got(w), first(w))
			}
		}
	}
	for c := 0; c < 256; c++ {
		for d := 0; d < 256; d++ {
			for p := 0; p < 8; p++ {
				for q := p + 1; q < 8; q++ {
					w := []byte("abcdefgh")
					w[p], w[q] = byte(c), byte(d)
					if g, f := got(w), first(w); g != f {
						t.Fatalf("special(%q) flags byte %d first, want %d", w, g, f)
					}
				}
			}
		}
	}
}

const utf8RuneSelf = 0x80

// BenchmarkAppendStringReuse escapes into a buffer already allocated: the
// scan and the copies alone, without the allocation's zeroing and faults.
func BenchmarkAppendStringReuse(b *testing.B) {
	plain := strings.Repeat("The quick brown fox jumps over the lazy dog, again and again.\n", 1<<20/62)
	b.SetBytes(int64(len(plain)))
	var buf []byte
	for b.Loop() {
		buf = AppendString(buf[:0], plain)
	}
}

// TestStringRecycled checks that String encodes as AppendString does into
// a recycled buffer, and that a buffer still held is never handed out.
func TestStringRecycled(t *testing.T) {
	a := strings.Repeat("first \"text\"\n", 1<<16)
	b := strings.Repeat("second <text> ", 1<<16)
	held := String(a)
	for range 3 {
		got := String(b)
		if !bytes.Equal(got, AppendString(nil, b)) {
			t.Fatal("String differs from AppendString")
		}
		bufpool.Put(got)
	}
	if !bytes.Equal(held, AppendString(nil, a)) {
		t.Fatal("a buffer not given back was written to")
	}
	bufpool.Put(held)
	again := String(a)
	if !bytes.Equal(again, AppendString(nil, a)) {
		t.Fatal("String into a recycled buffer differs")
	}
}
