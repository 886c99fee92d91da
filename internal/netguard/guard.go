// Package netguard decides which IP addresses Warden may connect to on an
// agent's behalf, and enforces it where the connection is made: a
// net.Dialer Control hook sees the address the socket is about to connect
// to, after DNS, redirects and any numeric spelling of the host, so DNS
// rebinding and "0x7f.1" tricks meet the same check as a plain
// "127.0.0.1".
//
// Only public unicast addresses pass, unless an operator's allow list
// covers the address. IPv4 embedded in IPv6 (mapped, NAT64, 6to4, IPv4-
// compatible) is checked as the IPv4 address it carries.
package netguard

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// ErrBlocked is the error every refused address wraps.
var ErrBlocked = errors.New("netguard: address not allowed")

// Guard checks addresses against the built-in blocked ranges and an
// operator's allow list. The zero Guard allows public addresses only.
type Guard struct {
	allow []netip.Prefix
}

// New returns a Guard that also allows the addresses in allow (an
// operator's allow_private: internal services a resource may reach).
func New(allow []netip.Prefix) *Guard {
	g := &Guard{}
	for _, p := range allow {
		g.allow = append(g.allow, p.Masked())
	}
	return g
}

// Check returns nil if ip may be dialled, or an error wrapping ErrBlocked
// that names the range it falls in.
func (g *Guard) Check(ip netip.Addr) error {
	if !ip.IsValid() {
		return fmt.Errorf("%w: no address", ErrBlocked)
	}
	ip = ip.WithZone("")
	for _, p := range g.allow {
		if p.Contains(ip) || (ip.Is4In6() && p.Contains(ip.Unmap())) {
			return nil
		}
	}
	if why := blocked(ip); why != "" {
		return fmt.Errorf("%w: %s is %s", ErrBlocked, ip, why)
	}
	return nil
}

// blocked names the special-purpose range ip falls in, or "".
func blocked(ip netip.Addr) string {
	if v4, how := embedded(ip); how != "" {
		if why := blocked(v4); why != "" {
			return why + " (as " + how + ")"
		}
		if how == "IPv4-compatible IPv6" || how == "Teredo" {
			return how
		}
		return ""
	}
	for _, r := range special {
		if r.prefix.Contains(ip) {
			return r.why
		}
	}
	if !ip.IsGlobalUnicast() {
		return "not a global unicast address"
	}
	return ""
}

// embedded returns the IPv4 address an IPv6 address carries, and how.
func embedded(ip netip.Addr) (netip.Addr, string) {
	if !ip.Is6() {
		return netip.Addr{}, ""
	}
	b := ip.As16()
	last4 := netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	switch {
	case ip.Is4In6():
		return ip.Unmap(), "IPv4-mapped IPv6"
	case nat64.Contains(ip), nat64Local.Contains(ip):
		return last4, "NAT64"
	case sixToFour.Contains(ip):
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}), "6to4"
	case teredo.Contains(ip):
		// The client's address is obfuscated in the last four bytes.
		return netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]}), "Teredo"
	case compat.Contains(ip) && ip != netip.IPv6Unspecified() && ip != netip.IPv6Loopback():
		return last4, "IPv4-compatible IPv6"
	}
	return netip.Addr{}, ""
}

var (
	nat64      = netip.MustParsePrefix("64:ff9b::/96")
	nat64Local = netip.MustParsePrefix("64:ff9b:1::/48")
	sixToFour  = netip.MustParsePrefix("2002::/16")
	teredo     = netip.MustParsePrefix("2001::/32")
	compat     = netip.MustParsePrefix("::/96")
)

// special are the ranges that are never an agent's destination by
// default: the IANA special-purpose registries' non-global entries, and
// the cloud metadata services' addresses (all inside them).
var special = []struct {
	prefix netip.Prefix
	why    string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "\"this network\" (0.0.0.0/8)"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private (10.0.0.0/8)"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared address space / CGNAT (100.64.0.0/10)"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback (127.0.0.0/8)"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local, where cloud metadata services live (169.254.0.0/16)"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private (172.16.0.0/12)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignments (192.0.0.0/24)"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation (192.0.2.0/24)"},
	{netip.MustParsePrefix("192.31.196.0/24"), "AS112 DNS sink (192.31.196.0/24)"},
	{netip.MustParsePrefix("192.52.193.0/24"), "AMT relay anycast (192.52.193.0/24)"},
	{netip.MustParsePrefix("192.88.99.0/24"), "6to4 relay anycast (192.88.99.0/24)"},
	{netip.MustParsePrefix("192.175.48.0/24"), "AS112 direct delegation (192.175.48.0/24)"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private (192.168.0.0/16)"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking (198.18.0.0/15)"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation (198.51.100.0/24)"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation (203.0.113.0/24)"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast (224.0.0.0/4)"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved or broadcast (240.0.0.0/4)"},
	{netip.MustParsePrefix("::/128"), "unspecified (::)"},
	{netip.MustParsePrefix("::1/128"), "loopback (::1)"},
	{netip.MustParsePrefix("100::/64"), "discard-only (100::/64)"},
	{netip.MustParsePrefix("2001::/23"), "IETF protocol assignments (2001::/23)"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation (2001:db8::/32)"},
	{netip.MustParsePrefix("2620:4f:8000::/48"), "AS112 DNS sink (2620:4f:8000::/48)"},
	{netip.MustParsePrefix("2001:10::/28"), "ORCHID (2001:10::/28)"},
	{netip.MustParsePrefix("2001:20::/28"), "ORCHIDv2 (2001:20::/28)"},
	{netip.MustParsePrefix("3fff::/20"), "documentation (3fff::/20)"},
	{netip.MustParsePrefix("5f00::/16"), "segment routing (5f00::/16)"},
	{netip.MustParsePrefix("fc00::/7"), "unique-local (fc00::/7)"},
	{netip.MustParsePrefix("fe80::/10"), "link-local (fe80::/10)"},
	{netip.MustParsePrefix("fec0::/10"), "site-local (fec0::/10)"},
	{netip.MustParsePrefix("ff00::/8"), "multicast (ff00::/8)"},
}

// Control is a net.Dialer Control hook: it refuses the connection before
// it is made when the address the socket connects to is not allowed.
func (g *Guard) Control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s %q is not an IP address and port", ErrBlocked, network, address)
	}
	return g.Check(ap.Addr())
}

// Dialer returns a net.Dialer whose every connection passes Control.
func (g *Guard) Dialer() *net.Dialer {
	return &net.Dialer{Control: g.Control}
}
