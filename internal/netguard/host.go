package netguard

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// ErrHostSpelling is the error every refused host spelling wraps.
var ErrHostSpelling = errors.New("netguard: host not in canonical form")

// ErrPort is the error an invalid port wraps.
var ErrPort = errors.New("netguard: invalid port")

// CheckHost checks a configured URL's host and port before anything is
// looked up: the host must pass [ParseHost], the port (if any) must be
// 1–65535 without leading zeros, and an IP address must pass [Guard.Check]
// under allow. Names are checked when connections are made.
func CheckHost(host, port string, allow []netip.Prefix) error {
	addr, err := ParseHost(host)
	if err != nil {
		return err
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || port[0] == '0' {
			return fmt.Errorf("%w %q", ErrPort, port)
		}
	}
	if addr.IsValid() {
		return New(allow).Check(addr)
	}
	return nil
}

// ParseHost checks the host part of a URL (without port; an IPv6 literal
// without brackets) before anything is looked up. It returns the address
// when the host is an IP literal, or the zero Addr for a name.
//
// Only canonical spellings pass: dotted-decimal IPv4, IPv6 without a zone
// and without IPv4 in it, and ASCII host names (letters, digits, hyphens,
// underscores; IDNs in their xn-- form). Anything a resolver might read
// as a number ("0x7f.1", "2130706433", "0177.0.0.1", "127.1") is refused:
// the Go resolver treats those as names while glibc's inet_aton reads them
// as IPv4, so no check on the string alone could know where they lead.
func ParseHost(host string) (netip.Addr, error) {
	if host == "" {
		return netip.Addr{}, fmt.Errorf("%w: empty host", ErrHostSpelling)
	}
	if strings.Contains(host, ":") {
		a, err := netip.ParseAddr(host)
		if err != nil || a.Zone() != "" {
			return netip.Addr{}, fmt.Errorf("%w: %q is not an IPv6 address without a zone", ErrHostSpelling, host)
		}
		if _, how := embedded(a); how == "IPv4-mapped IPv6" || how == "IPv4-compatible IPv6" || strings.Contains(host, ".") {
			return netip.Addr{}, fmt.Errorf("%w: %q spells an IPv4 address as IPv6; write the IPv4 address", ErrHostSpelling, host)
		}
		if a.String() != host {
			return netip.Addr{}, fmt.Errorf("%w: %q is not in canonical form; write %s", ErrHostSpelling, host, a)
		}
		return a, nil
	}
	name := strings.TrimSuffix(host, ".")
	labels := strings.Split(name, ".")
	if numericLabel(labels[len(labels)-1]) {
		// WHATWG URL: a host ending in a number is an IPv4 address. Only
		// the canonical dotted-decimal form is accepted.
		a, err := netip.ParseAddr(name)
		if err != nil || !a.Is4() || a.String() != name || host != name {
			return netip.Addr{}, fmt.Errorf("%w: %q is not a dotted-decimal IPv4 address or a host name", ErrHostSpelling, host)
		}
		return a, nil
	}
	if len(name) > 253 {
		return netip.Addr{}, fmt.Errorf("%w: host name longer than 253 bytes", ErrHostSpelling)
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return netip.Addr{}, fmt.Errorf("%w: %q has an empty or over-long label", ErrHostSpelling, host)
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
			if !ok {
				return netip.Addr{}, fmt.Errorf("%w: %q is not an ASCII host name (write IDNs in their xn-- form)", ErrHostSpelling, host)
			}
		}
	}
	return netip.Addr{}, nil
}

// numericLabel reports whether a label reads as a number to a URL parser
// or inet_aton: decimal, octal (leading 0) or hexadecimal (0x).
func numericLabel(l string) bool {
	if l == "" {
		return false
	}
	if h, ok := strings.CutPrefix(strings.ToLower(l), "0x"); ok {
		if h == "" {
			return true
		}
		_, err := strconv.ParseUint(h, 16, 64)
		return err == nil || allHex(h)
	}
	for i := 0; i < len(l); i++ {
		if l[i] < '0' || l[i] > '9' {
			return false
		}
	}
	return true
}

func allHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
