package httpapi

import (
	"net/url"
	"path"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzResolvePath checks what every accepted path satisfies, whatever the
// spelling: it stays under the base, has no dot or empty segment, no
// control byte or backslash, and what goes on the wire decodes (once) to
// exactly what the policy decided on.
func FuzzResolvePath(f *testing.F) {
	for _, tc := range allowedPaths {
		f.Add(tc.in)
	}
	for _, in := range refusedPaths {
		f.Add(in)
	}
	const base = "/v1/"
	f.Fuzz(func(t *testing.T, in string) {
		decoded, escaped, err := resolvePath(base, in)
		if err != nil {
			if decoded != "" || escaped != "" {
				t.Fatalf("resolvePath(%q) refused (%v) but returned %q, %q", in, err, decoded, escaped)
			}
			return
		}
		checkResolved(t, base, in, decoded, escaped)
	})
}

func checkResolved(t *testing.T, base, in, decoded, escaped string) {
	t.Helper()
	if !strings.HasPrefix(decoded, base) {
		t.Fatalf("resolvePath(%q) = %q: not under %s", in, decoded, base)
	}
	// No dot segments and no empty segments: cleaning changes nothing
	// (but a trailing slash, which is kept).
	if clean := path.Clean(decoded); clean != decoded && !(strings.HasSuffix(decoded, "/") && clean+"/" == decoded) {
		t.Fatalf("resolvePath(%q) = %q, which path.Clean makes %q", in, decoded, clean)
	}
	// Tomcat reads "..;x" as "..".
	for _, seg := range strings.Split(decoded, "/") {
		if name, _, _ := strings.Cut(seg, ";"); name == "." || name == ".." {
			t.Fatalf("resolvePath(%q) = %q has the dot segment %q", in, decoded, seg)
		}
	}
	if !utf8.ValidString(decoded) {
		t.Fatalf("resolvePath(%q) = %q is not UTF-8", in, decoded)
	}
	for _, r := range decoded {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\\' {
			t.Fatalf("resolvePath(%q) = %q contains %U", in, decoded, r)
		}
	}
	// The wire form: one decoding gives the policy's path, and cleaning
	// that (as a server may) stays under the base.
	if strings.ContainsAny(escaped, "?#\\ ") || strings.Contains(escaped, "//") {
		t.Fatalf("resolvePath(%q) escaped %q has ? # \\ space or //", in, escaped)
	}
	for i := 0; i < len(escaped); i++ {
		if c := escaped[i]; c < 0x21 || c >= 0x7f {
			t.Fatalf("resolvePath(%q) escaped %q has the byte %#x", in, escaped, c)
		}
	}
	once, err := url.PathUnescape(escaped)
	if err != nil || once != decoded {
		t.Fatalf("resolvePath(%q): PathUnescape(%q) = %q, %v; want %q", in, escaped, once, err, decoded)
	}
	if !under(path.Clean(once), base) {
		t.Fatalf("resolvePath(%q): %q cleans to %q, outside %s", in, once, path.Clean(once), base)
	}
	// A server that decodes twice (or a decoding proxy in front of one
	// that decodes again) still finds no dot segment, also as Tomcat reads
	// "..;x", and stays under the base: resolvePath refuses %2e, %2f and
	// %5c left after one decoding for this reason.
	if twice, err := url.PathUnescape(once); err == nil {
		if !under(path.Clean(twice), base) || strings.Contains(twice, `\`) {
			t.Fatalf("resolvePath(%q) = %q: decoded twice %q leaves %s", in, decoded, twice, base)
		}
		for _, seg := range strings.Split(twice, "/") {
			if name, _, _ := strings.Cut(seg, ";"); name == "." || name == ".." {
				t.Fatalf("resolvePath(%q) = %q: decoded twice %q has the dot segment %q", in, decoded, twice, seg)
			}
		}
	}
}

// under reports whether the cleaned path p is base or below it.
func under(p, base string) bool {
	return p+"/" == base || strings.HasPrefix(p, base)
}
