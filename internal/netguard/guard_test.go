package netguard

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"
)

func TestCheck(t *testing.T) {
	blockedAddrs := []string{
		"0.0.0.0", "0.1.2.3", "10.0.0.1", "100.64.0.1", "100.100.100.200", "127.0.0.1", "127.255.255.254",
		"169.254.169.254", "169.254.170.2", "172.16.0.1", "172.31.255.255", "192.0.0.192", "192.0.2.1",
		"192.168.1.1", "198.18.0.1", "198.51.100.7", "203.0.113.9", "224.0.0.1", "239.255.255.250",
		"240.0.0.1", "255.255.255.255",
		"::", "::1", "fe80::1", "fe80::1%eth0", "fc00::1", "fd00:ec2::254", "ff02::1", "fec0::1", "100::1",
		"2001:db8::1",
		// IPv4 inside IPv6.
		"::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:10.0.0.1", "64:ff9b::7f00:1",
		"64:ff9b::a9fe:a9fe", "64:ff9b:1::a00:1", "2002:7f00:1::", "2002:a9fe:a9fe::1", "::127.0.0.1",
		"::8.8.8.8", "2001:0:4136:e378:8000:63bf:3fff:fdd2",
	}
	for _, s := range blockedAddrs {
		if err := (&Guard{}).Check(netip.MustParseAddr(s)); !errors.Is(err, ErrBlocked) {
			t.Errorf("Check(%s) = %v, want blocked", s, err)
		}
	}
	allowed := []string{"8.8.8.8", "1.1.1.1", "93.184.215.14", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"}
	for _, s := range allowed {
		if err := (&Guard{}).Check(netip.MustParseAddr(s)); err != nil {
			t.Errorf("Check(%s) = %v, want allowed", s, err)
		}
	}
	if err := (&Guard{}).Check(netip.Addr{}); !errors.Is(err, ErrBlocked) {
		t.Errorf("Check(zero) = %v, want blocked", err)
	}
}

func TestAllowList(t *testing.T) {
	g := New([]netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("127.0.0.1/32")})
	for s, want := range map[string]bool{
		"10.1.2.3": true, "::ffff:10.1.2.3": true, "127.0.0.1": true,
		"10.2.0.1": false, "127.0.0.2": false, "169.254.169.254": false,
	} {
		if got := g.Check(netip.MustParseAddr(s)) == nil; got != want {
			t.Errorf("Check(%s) allowed = %v, want %v", s, got, want)
		}
	}
}

// TestDialerRefusesBeforeConnecting dials a loopback listener through the
// guard: the dial fails and the listener never sees a connection; with
// the address allowed, it does.
func TestDialerRefusesBeforeConnecting(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// A name that resolves to loopback meets the same check as the number.
	for _, addr := range []string{ln.Addr().String(), "localhost:" + portOf(ln)} {
		if c, err := (&Guard{}).Dialer().DialContext(ctx, "tcp", addr); !errors.Is(err, ErrBlocked) {
			if c != nil {
				c.Close()
			}
			t.Errorf("dial %s = %v, want blocked", addr, err)
		}
	}
	time.Sleep(50 * time.Millisecond)
	if n := accepted.Load(); n != 0 {
		t.Fatalf("the listener accepted %d connections through a blocking guard", n)
	}
	c, err := New([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}).Dialer().DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("dial with loopback allowed: %v", err)
	}
	c.Close()
}

func portOf(ln net.Listener) string {
	_, p, _ := net.SplitHostPort(ln.Addr().String())
	return p
}

func FuzzCheck(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "::ffff:7f00:1", "64:ff9b::7f00:1", "2002:7f00:1::", "8.8.8.8", "fe80::1%1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return
		}
		if (&Guard{}).Check(ip) == nil {
			// Whatever passes is public: never loopback, private,
			// link-local, multicast or unspecified, whatever the spelling.
			u := ip.Unmap()
			if u.IsLoopback() || u.IsPrivate() || u.IsLinkLocalUnicast() || u.IsMulticast() || u.IsUnspecified() || !u.IsGlobalUnicast() {
				t.Fatalf("Check(%s) allowed a non-public address", s)
			}
		}
	})
}
