package egress

import (
	"net"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/warden-dev/warden/internal/netguard"
)

func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{
		"api.example.com:443", "127.0.0.1:8443", "[::1]:443", "[2001:db8::1]:443", "::1:443", "host:0", "host:080",
		"host:65536", "0x7f.1:443", "2130706433:443", "HOST.Example.COM:443", "host:443:1", ":443", "host:", "[host]:443",
		"a b:443", "host%00:443", "xn--bcher-kva.example:443", "[::ffff:127.0.0.1]:443", "host:+443", "host: 443",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		host, port, err := parseTarget(s)
		if err != nil {
			return
		}
		if host == "" || host != strings.ToLower(host) {
			t.Fatalf("%q: host %q", s, host)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
			t.Fatalf("%q: port %q", s, port)
		}
		if _, err := netguard.ParseHost(host); err != nil {
			t.Fatalf("%q: host %q passed but netguard refuses it: %v", s, host, err)
		}
		// What was accepted is one host and port, read back the same.
		h2, p2, err := parseTarget(net.JoinHostPort(host, port))
		if err != nil || h2 != host || p2 != port {
			t.Fatalf("%q: %q %q does not read back: %q %q %v", s, host, port, h2, p2, err)
		}
		// A URL with this authority names the same host and port.
		u, err := url.Parse("https://" + net.JoinHostPort(host, port) + "/")
		if err != nil || strings.ToLower(u.Hostname()) != host || u.Port() != port {
			t.Fatalf("%q: as a URL: %v %v", s, u, err)
		}
	})
}

// FuzzForURL checks that a route is chosen only for a URL its base covers.
func FuzzForURL(f *testing.F) {
	rs := []*route{
		{resource: "a", scheme: "http", host: "127.0.0.1", port: "8080", basePath: "/v1/"},
		{resource: "b", scheme: "http", host: "127.0.0.1", port: "8080", basePath: "/v1/deep/"},
		{resource: "c", scheme: "https", host: "api.example.com", port: "443", basePath: "/"},
	}
	for _, s := range []string{"http://127.0.0.1:8080/v1/x", "http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1x", "http://127.0.0.1:8080/v1/deep/x",
		"https://API.example.com/x", "https://api.example.com:443", "http://127.0.0.1:8081/v1/", "http://127.0.0.1:8080/v1/%2e%2e/x", "http://u@127.0.0.1:8080/v1/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := url.Parse(s)
		if err != nil {
			return
		}
		r := forURL(rs, u)
		if r == nil {
			return
		}
		port := u.Port()
		if port == "" {
			port = defaultPort(strings.ToLower(u.Scheme))
		}
		p := u.Path
		if p == "" {
			p = "/"
		}
		if r.scheme != strings.ToLower(u.Scheme) || r.host != strings.ToLower(u.Hostname()) || r.port != port ||
			!(strings.HasPrefix(p, r.basePath) || p+"/" == r.basePath) {
			t.Fatalf("%q routed to %+v", s, r)
		}
	})
}
