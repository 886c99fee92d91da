package netguard

import (
	"errors"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

var acceptedHosts = []struct {
	host string
	addr string // "" for a name
}{
	{"127.0.0.1", "127.0.0.1"},
	{"8.8.8.8", "8.8.8.8"},
	{"0.0.0.0", "0.0.0.0"},
	{"255.255.255.255", "255.255.255.255"},
	{"169.254.169.254", "169.254.169.254"}, // spelled canonically; Check blocks it
	{"::1", "::1"},
	{"2001:db8::1", "2001:db8::1"},
	{"2606:4700:4700::1111", "2606:4700:4700::1111"},
	{"fe80::1", "fe80::1"},
	{"64:ff9b::7f00:1", "64:ff9b::7f00:1"}, // NAT64: Check sees the IPv4 inside
	{"example.com", ""},
	{"Example.COM", ""},
	{"example.com.", ""},
	{"localhost", ""},
	{"xn--bcher-kva.example", ""},
	{"localhost-tools.example.com", ""},
	{"1e100.net", ""},
	{"sub_domain.example", ""},
	{"0x7f.example", ""}, // ends in a name: no resolver reads it as a number
	{"123.example", ""},
	{"a-b.c-d", ""},
	{strings.Repeat("a", 63) + ".example", ""},
}

var refusedHosts = []string{
	"",
	// IPv4 in other spellings.
	"0177.0.0.1", "0x7f000001", "0X7F000001", "2130706433", "127.1", "127.0.1", "0", "0x7f.1", "0x7F.0x0.0x0.0x1",
	"425.510.425.510", "0x41414141A9FEA9FE", "0x", "1.2.3.4.", "1.2.3.04", "01.2.3.4", "1.2.3", "1.2.3.4.5",
	"256.0.0.1", "127.0.0.1.", "127.0.0.0x1", "example.0x", "example.123", "example.0x1f", "a.0",
	"0xffffffffffffffffffffffffff", "017700000001", "4294967296", "99999999999999999999999999",
	// IPv4 spelled as IPv6.
	"::ffff:127.0.0.1", "::ffff:7f00:1", "0:0:0:0:0:ffff:a9fe:a9fe", "::ffff:a9fe:a9fe", "::127.0.0.1",
	"::7f00:1", "64:ff9b::127.0.0.1", "::ffff:0:127.0.0.1",
	// IPv6 not in its canonical spelling (as netip prints it, RFC 5952).
	"A00::", "2001:DB8::1", "2001:0db8::1", "0:0:0:0:0:0:0:1", "2001:db8:0:0:0:0:0:1", "::0001", "fe80:0::1",
	// Zones and brackets.
	"fe80::1%eth0", "fe80::1%25eth0", "[::1]", "[::1]:80", "::1%1",
	// Not ASCII names.
	"ⓔⓧⓐⓜⓟⓛⓔ.ⓒⓞⓜ", "bücher.example", "exa mple.com", "example.com ", " example.com", "exa\tmple.com",
	"exa\x00mple.com", "example.com\n", "evil.com/x", "evil.com?x", "evil.com#x", "user@evil.com",
	"evil.com:80", "evil.com%2f", `evil.com\x`, "*.example.com", "exam!ple.com", "ex,ample.com",
	"example。com", "127。0。0。1", "１２７.0.0.1",
	// Empty and over-long labels.
	".", "..", ".example.com", "example..com", "example.com..", strings.Repeat("a", 64) + ".example",
	strings.Repeat("abcdefghi.", 26) + "com",
}

func TestParseHost(t *testing.T) {
	for _, tc := range acceptedHosts {
		a, err := ParseHost(tc.host)
		if err != nil {
			t.Errorf("ParseHost(%q): %v", tc.host, err)
			continue
		}
		var want netip.Addr
		if tc.addr != "" {
			want = netip.MustParseAddr(tc.addr)
		}
		if a != want {
			t.Errorf("ParseHost(%q) = %v, want %v", tc.host, a, want)
		}
	}
	for _, h := range refusedHosts {
		a, err := ParseHost(h)
		if err == nil {
			t.Errorf("ParseHost(%q) = %v, want refused", h, a)
			continue
		}
		if !errors.Is(err, ErrHostSpelling) {
			t.Errorf("ParseHost(%q) = %v, want ErrHostSpelling", h, err)
		}
		if a.IsValid() {
			t.Errorf("ParseHost(%q) refused but returned %v", h, a)
		}
	}
}

// FuzzParseHost checks what every accepted host satisfies: it parses the
// same again; an IP address is in its canonical spelling; a name is
// nothing any resolver or URL parser could read as a number; and a URL
// built with it gives back the same host.
func FuzzParseHost(f *testing.F) {
	for _, tc := range acceptedHosts {
		f.Add(tc.host)
	}
	for _, h := range refusedHosts {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, host string) {
		a, err := ParseHost(host)
		if err != nil {
			if a.IsValid() {
				t.Fatalf("ParseHost(%q) refused (%v) but returned %v", host, err, a)
			}
			return
		}
		checkAcceptedHost(t, host, a)
	})
}

func checkAcceptedHost(t *testing.T, host string, a netip.Addr) {
	t.Helper()
	if b, err := ParseHost(host); err != nil || b != a {
		t.Fatalf("ParseHost(%q) = %v, then %v, %v", host, a, b, err)
	}
	if p, err := netip.ParseAddr(host); err == nil {
		if p.String() != host {
			t.Fatalf("ParseHost accepted %q, a non-canonical spelling of %v", host, p)
		}
		if a != p {
			t.Fatalf("ParseHost(%q) = %v, but it is the address %v", host, a, p)
		}
	}
	if a.IsValid() {
		if a.String() != host || a.Zone() != "" {
			t.Fatalf("ParseHost(%q) = %v: accepted a non-canonical spelling", host, a)
		}
		if a.Is4In6() || (a.Is6() && strings.Contains(host, ".")) {
			t.Fatalf("ParseHost(%q) = %v: IPv4 spelled as IPv6", host, a)
		}
		if b, err := ParseHost(a.String()); err != nil || b != a {
			t.Fatalf("ParseHost(%q) = %v, but ParseHost(%q) = %v, %v", host, a, a.String(), b, err)
		}
	} else {
		// A name: ASCII letters, digits, '-', '_' and dots, non-empty
		// labels; never something inet_aton or a WHATWG URL parser reads
		// as an IPv4 address.
		name := strings.TrimSuffix(host, ".")
		if name == "" || len(name) > 253 {
			t.Fatalf("ParseHost accepted the name %q (%d bytes)", host, len(name))
		}
		for _, l := range strings.Split(name, ".") {
			if l == "" || len(l) > 63 {
				t.Fatalf("ParseHost accepted %q with the label %q", host, l)
			}
		}
		for i := 0; i < len(name); i++ {
			c := name[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
				t.Fatalf("ParseHost accepted the name %q with the byte %#x", host, c)
			}
		}
		if v4, ok := inetAton(name); ok {
			t.Fatalf("ParseHost accepted the name %q, which inet_aton reads as %v", host, v4)
		}
		labels := strings.Split(name, ".")
		if numberLabel(labels[len(labels)-1]) {
			t.Fatalf("ParseHost accepted the name %q, which ends in a number (an IPv4 address to a WHATWG URL parser)", host)
		}
	}
	// The URL layer gives back the same host.
	h := host
	if strings.Contains(host, ":") {
		h = "[" + host + "]"
	}
	if u, err := url.Parse("http://" + h + ":80/"); err != nil || u.Hostname() != host {
		t.Fatalf("ParseHost accepted %q, but a URL with it has the host %v (%v)", host, u, err)
	}
}

// inetAton parses s as glibc's inet_aton does (1 to 4 parts, each decimal,
// octal with a leading 0, or hexadecimal with 0x; the last part fills the
// remaining bytes).
func inetAton(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	vals := make([]uint64, len(parts))
	for i, p := range parts {
		v, ok := atonPart(p)
		if !ok {
			return netip.Addr{}, false
		}
		vals[i] = v
	}
	var b [4]byte
	last := vals[len(vals)-1]
	for i, v := range vals[:len(vals)-1] {
		if v > 0xff {
			return netip.Addr{}, false
		}
		b[i] = byte(v)
	}
	rest := 4 - (len(vals) - 1)
	if last >= 1<<(8*rest) {
		return netip.Addr{}, false
	}
	for i := 3; i >= len(vals)-1; i-- {
		b[i] = byte(last)
		last >>= 8
	}
	return netip.AddrFrom4(b), true
}

func atonPart(p string) (uint64, bool) {
	base := 10
	switch {
	case len(p) >= 2 && (p[:2] == "0x" || p[:2] == "0X"):
		p, base = p[2:], 16
		if p == "" {
			return 0, true
		}
	case len(p) > 1 && p[0] == '0':
		p, base = p[1:], 8
	}
	if p == "" {
		return 0, false
	}
	v, err := strconv.ParseUint(p, base, 64)
	return v, err == nil
}

// numberLabel reports whether a WHATWG URL parser reads a label as a
// number: decimal digits, or 0x followed by hex digits (or nothing).
func numberLabel(l string) bool {
	if l == "" {
		return false
	}
	if h, ok := strings.CutPrefix(strings.ToLower(l), "0x"); ok {
		return strings.Trim(h, "0123456789abcdef") == ""
	}
	return strings.Trim(l, "0123456789") == ""
}

func TestCheckHost(t *testing.T) {
	allow := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24")}
	for _, tc := range []struct {
		host, port string
		want       error // nil, ErrHostSpelling, ErrPort or ErrBlocked
	}{
		{"api.example.com", "", nil},
		{"api.example.com", "443", nil},
		{"93.184.215.14", "65535", nil},
		{"10.0.0.5", "8080", nil},
		{"10.0.1.5", "8080", ErrBlocked},
		{"127.0.0.1", "", ErrBlocked},
		{"0x7f.1", "", ErrHostSpelling},
		{"api.example.com", "0", ErrPort},
		{"api.example.com", "080", ErrPort},
		{"api.example.com", "65536", ErrPort},
		{"api.example.com", "99999", ErrPort},
		{"api.example.com", "-1", ErrPort},
	} {
		err := CheckHost(tc.host, tc.port, allow)
		if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("CheckHost(%q, %q) = %v, want %v", tc.host, tc.port, err, tc.want)
		}
	}
}
