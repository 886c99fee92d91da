package redact

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

const key = "sk-live-4f9a0c1b7e2d8a6f"

// TestRedactor_Window_everyCut reads a text holding a secret through every
// window of every width and checks that no window shows a byte of it, and
// that the bytes around it survive.
func TestRedactor_Window_everyCut(t *testing.T) {
	r := New(key)
	text := []byte("token=" + key + "\nhex " + hex.EncodeToString([]byte(key)) + " end")
	m := r.Margin()
	for width := 1; width <= len(text); width++ {
		var got []byte
		for off := 0; off < len(text); off += width {
			end := min(off+width, len(text))
			lo, hi := max(off-m, 0), min(end+m, len(text))
			win := r.Window(text[lo:hi], off-lo, end-lo)
			got = append(got, win...)
			if w := string(win); w != Marker && strings.Contains(string(text[off:end]), w) && overlapsSecret(text, off, end) {
				t.Fatalf("width %d offset %d: window %q shows part of the secret", width, off, w)
			}
		}
		if bytes.Contains(got, []byte(key[:4])) || bytes.Contains(got, []byte(hex.EncodeToString([]byte(key))[:8])) {
			t.Fatalf("width %d: the windows put together show part of the secret: %q", width, got)
		}
		if !bytes.HasPrefix(got, []byte("token=")) || !bytes.HasSuffix(got, []byte(" end")) {
			t.Fatalf("width %d: the text around the secret was lost: %q", width, got)
		}
	}
}

// overlapsSecret reports whether text[off:end] shares a byte with an
// occurrence of key or of its hex form.
func overlapsSecret(text []byte, off, end int) bool {
	for _, f := range []string{key, hex.EncodeToString([]byte(key))} {
		i := bytes.Index(text, []byte(f))
		if i >= 0 && off < i+len(f) && end > i {
			return true
		}
	}
	return false
}

func TestRedactor_Window_noSecret(t *testing.T) {
	var r *Redactor
	if got := string(r.Window([]byte("abcdef"), 1, 3)); got != "bc" {
		t.Errorf("nil Window = %q, want bc", got)
	}
	if got := string(New(key).Window([]byte("abcdef"), 1, 3)); got != "bc" {
		t.Errorf("Window = %q, want bc", got)
	}
}

// TestRedactor_MaskReader checks that masking keeps the length and line
// feeds, hides every byte of a secret however the source is cut, and
// catches occurrences that overlap one another across reads.
func TestRedactor_MaskReader(t *testing.T) {
	const multi = "line-one-secret\nline-two-secret"
	r := New(key, multi, "abab")
	in := "a " + key + " b\n" + multi + "\nxx" + strings.Repeat("ab", 40000) + "a" + " " + key
	readers := map[string]func() io.Reader{
		"whole":   func() io.Reader { return strings.NewReader(in) },
		"onebyte": func() io.Reader { return iotest.OneByteReader(strings.NewReader(in)) },
		"half":    func() io.Reader { return iotest.HalfReader(strings.NewReader(in)) },
	}
	for name, src := range readers {
		t.Run(name, func(t *testing.T) {
			out, err := io.ReadAll(r.MaskReader(src(), 0xFF))
			if err != nil {
				t.Fatal(err)
			}
			if len(out) != len(in) {
				t.Fatalf("length %d, want %d", len(out), len(in))
			}
			if bytes.Count(out, []byte("\n")) != strings.Count(in, "\n") {
				t.Errorf("line feeds changed")
			}
			for _, frag := range []string{key[:4], "line", "secret", "ab"} {
				if bytes.Contains(out, []byte(frag)) {
					t.Errorf("output holds %q", frag)
				}
			}
			if !bytes.HasPrefix(out, []byte("a ")) || !bytes.Contains(out, []byte(" b\n")) || !bytes.Contains(out, []byte("\nxx")) {
				t.Errorf("text around the secrets was lost: %q", out[:40])
			}
		})
	}
}

func TestRedactor_MaskReader_noSecret(t *testing.T) {
	src := strings.NewReader("x")
	if got := New().MaskReader(src, 0); got != io.Reader(src) {
		t.Errorf("MaskReader without secrets wraps its source")
	}
}

func TestRedactor_Pieces(t *testing.T) {
	r := New(key)
	n := PieceBytes(key) // 7: lower case, digits and '-'
	h := strings.ToUpper(hex.EncodeToString([]byte(key)))
	tests := []struct{ in, want string }{
		{key[4 : 4+n], Marker},
		{"x" + key[9:9+n+2] + "y", "x" + Marker + "y"},
		{h[8 : 8+2*n], Marker},
		{key, Marker},
		{key[:n-1], key[:n-1]}, // too short to tell from ordinary data
		{"plain words 2024", "plain words 2024"},
	}
	for _, tt := range tests {
		if got := r.Pieces(tt.in); got != tt.want {
			t.Errorf("Pieces(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// Every piece of PieceBytes, at every offset, is removed.
	for i := 0; i+n <= len(key); i++ {
		if got := r.Pieces(key[i : i+n]); got != Marker {
			t.Errorf("Pieces(key[%d:%d]) = %q", i, i+n, got)
		}
	}
	var nilR *Redactor
	if got := nilR.Pieces("abcd"); got != "abcd" {
		t.Errorf("nil Pieces = %q", got)
	}
}

// TestRedactor_Pieces_ordinaryData is the false positive that made pieces
// depend on the secret's alphabet: a random hex password shares 4-digit
// runs with any table of prices. Every price from 0.00 to 99999.99 keeps
// its digits against a hex password whose digit runs are long.
func TestRedactor_Pieces_ordinaryData(t *testing.T) {
	const password = "1151920734a8e2f06b9c4d17"
	r := New(password)
	for cents := 0; cents < 10000000; cents += 7 {
		price := strconv.Itoa(cents/100) + "." + fmt.Sprintf("%02d", cents%100)
		if got := r.Pieces(price); got != price {
			t.Fatalf("Pieces(%q) = %q: ordinary data lost", price, got)
		}
	}
	// A piece that could carry 40 bits of it still goes.
	if got := r.Pieces("v=" + password[:10]); got != "v="+Marker {
		t.Errorf("Pieces(10 hex of the password) = %q", got)
	}
}

func TestPieceBytes(t *testing.T) {
	for _, tt := range []struct {
		secret string
		want   int
	}{
		{"4f9a0c1b7e2d8a6f", 10},        // hex
		{"4F9A0C1B7E2D8A6F", 10},        // upper-case hex
		{"20240117", 13},                // digits
		{"wq8t3r9vzn2m6b4c1x7h5j0k", 8}, // lower case and digits
		{"Wq8T3r9VZn2M6b4C1x7H5j0K", 7}, // mixed case and digits
		{"sk-live-4f9a0c1b7e2d8a6f", 7}, // lower case, digits, punctuation
		{"pässwörd-Ünïcode-42", 6},      // bytes beyond ASCII
		{"zzzz", 9},                     // lower case only
	} {
		if got := PieceBytes(tt.secret); got != tt.want {
			t.Errorf("PieceBytes(%q) = %d, want %d", tt.secret, got, tt.want)
		}
	}
}

func TestRedactor_Mask(t *testing.T) {
	r := New(key, "two\nlines")
	in := []byte("a " + key + " b two\nlines c")
	got := r.Mask(in, '#')
	want := "a " + strings.Repeat("#", len(key)) + " b ###\n##### c"
	if string(got) != want {
		t.Errorf("Mask = %q, want %q", got, want)
	}
	if string(in) != "a "+key+" b two\nlines c" {
		t.Errorf("Mask changed its input")
	}
	if plain := []byte("plain"); &r.Mask(plain, '#')[0] != &plain[0] {
		t.Errorf("Mask without a match copied")
	}
}

// BenchmarkRedactor_MaskReader is what masking costs a search per byte of
// content, with a few secrets of the usual shapes.
func BenchmarkRedactor_MaskReader(b *testing.B) {
	r := New("db-password-123456", "sk-live-0123456789abcdef", "postgres://warden:pw-9f8e7d@127.0.0.1:5432/shop")
	in := bytes.Repeat([]byte("the quick brown fox jumps over the lazy dog 12345 {\"a\": 1}\n"), 1<<12)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := io.Copy(io.Discard, r.MaskReader(bytes.NewReader(in), 0xFF)); err != nil {
			b.Fatal(err)
		}
	}
}
