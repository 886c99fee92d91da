package egress

import (
	"encoding/json"
	"net"
	"net/http"
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

// FuzzToolArgs checks that whatever a client sends maps to arguments the
// tool reads back as sent: valid JSON, the method, path and body as they
// were, no header the proxy drops.
func FuzzToolArgs(f *testing.F) {
	f.Add("GET", "/v1/a%20b", "x=1&x=2&y", "Accept", "*/*", "")
	f.Add("POST", "/v1/echo", "", "Connection", "X-Hop", "{\"a\":1}")
	f.Add("POST", "/", "a=%zz", "Cookie", "a=b", "\xff")
	f.Add("GET", "/", "", "proxy-authorization", "Basic eA==", "")
	f.Fuzz(func(t *testing.T, method, path, query, hname, hvalue, body string) {
		u := &url.URL{Scheme: "http", Host: "127.0.0.1:8080", RawPath: path, RawQuery: query}
		var err error
		if u.Path, err = url.PathUnescape(path); err != nil {
			return
		}
		r, err := http.NewRequest("POST", "http://127.0.0.1:8080/", strings.NewReader(body))
		if err != nil {
			return
		}
		r.Method = method
		r.Header[hname] = []string{hvalue}
		raw, status, why := toolArgsOf(r, u, 1<<10)
		if why != "" {
			if status < 400 || status > 499 {
				t.Fatalf("refusal with status %d", status)
			}
			return
		}
		var a toolArgs
		if err := json.Unmarshal(raw, &a); err != nil {
			t.Fatalf("arguments are not JSON: %v: %s", err, raw)
		}
		if a.Method != method || a.Path != u.EscapedPath() && !(a.Path == "/" && u.EscapedPath() == "") {
			t.Fatalf("method/path %q %q from %q %q", a.Method, a.Path, method, u.EscapedPath())
		}
		if body != "" && (a.Body == nil || *a.Body != body) || body == "" && a.Body != nil {
			t.Fatalf("body %v from %q", a.Body, body)
		}
		q, _ := url.ParseQuery(query)
		for k, vs := range q {
			got := a.Query[k]
			if len(vs) == 1 && got != vs[0] {
				t.Fatalf("query %s = %v from %q", k, got, vs)
			}
			if list, ok := got.([]any); len(vs) > 1 && (!ok || len(list) != len(vs)) {
				t.Fatalf("query %s = %v from %q", k, got, vs)
			}
		}
		if v, ok := a.Headers[http.CanonicalHeaderKey(hname)]; ok && v != hvalue && !strings.Contains(v, hvalue) {
			t.Fatalf("header %s = %q from %q", hname, v, hvalue)
		}
		for k := range a.Headers {
			if ck := http.CanonicalHeaderKey(k); dropped[ck] || ck == "Proxy-Authorization" {
				t.Fatalf("header %s passed", k)
			}
		}
	})
}
