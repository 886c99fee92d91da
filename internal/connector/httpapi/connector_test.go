package httpapi

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/warden-dev/warden/internal/core"
)

// everywhere is an allow_private that lets the dialer connect anywhere, so
// a test sees what layer 1 (the target and redirect checks) stops alone.
var everywhere = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}

// get is the arguments of a GET of path.
func get(path string) map[string]any { return map[string]any{"method": "GET", "path": path} }

// portOf returns the port a counter listens on.
func portOf(c *counter) int { return c.Listener.Addr().(*net.TCPAddr).Port }

// settle returns how many connections and requests c has received. It
// first makes one request of its own on a new connection and waits for
// the answer: the server counts a connection when it accepts it, in
// order, so every earlier connection has been counted by then (no
// sleep). Its own connection and request are then taken off the counts.
func settle(t *testing.T, c *counter) (conns, requests int64) {
	t.Helper()
	tr := &http.Transport{DisableKeepAlives: true}
	if c.TLS != nil {
		tr.TLSClientConfig = c.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(c.URL + settlePath)
	if err != nil {
		t.Fatalf("settle: %v", err)
	}
	resp.Body.Close()
	c.mu.Lock()
	if n := len(c.seen); n > 0 && c.seen[n-1].URL.Path == settlePath {
		c.seen, c.bodies = c.seen[:n-1], c.bodies[:n-1]
	}
	c.mu.Unlock()
	return c.conns.Add(-1), c.requests.Add(-1)
}

const settlePath = "/__settle"

// assertUntouched fails unless server received no connection at all.
func assertUntouched(t *testing.T, what string, c *counter) {
	t.Helper()
	if conns, reqs := settle(t, c); conns != 0 || reqs != 0 {
		t.Errorf("%s received %d connections and %d requests, want none", what, conns, reqs)
	}
}

// newTLSCounter is newCounter serving HTTPS on 127.0.0.1, and the path of
// a PEM file holding its certificate (for HTTPSpec.CAFile).
func newTLSCounter(t *testing.T, h http.HandlerFunc) (*counter, string) {
	t.Helper()
	c := &counter{}
	c.Server = c.unstarted(h)
	c.Server.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes tests make fail
	c.Server.StartTLS()
	t.Cleanup(c.Server.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return c, ca
}

// wantErr checks an error's kind and reason.
func wantErr(t *testing.T, what string, err error, kind core.Kind, reason core.Reason) {
	t.Helper()
	switch {
	case err == nil:
		t.Errorf("%s: succeeded, want %v/%s", what, kind, reason)
	case core.KindOf(err) != kind || reasonOf(err) != reason:
		t.Errorf("%s: %v/%s (%v), want %v/%s", what, core.KindOf(err), reasonOf(err), err, kind, reason)
	}
}

// --- Layer 2: the dialer ---------------------------------------------------

// TestDialerRefusesLoopbackName: "localhost" is a name, so the base URL
// passes; the dialer alone sees that it resolves to loopback and refuses
// it before connecting, unless allow_private covers the very address.
func TestDialerRefusesLoopbackName(t *testing.T) {
	up := newCounter(t, "127.0.0.1:0", nil)
	base := fmt.Sprintf("http://localhost:%d/v1/", portOf(up))
	for _, allow := range [][]netip.Prefix{
		nil,
		{netip.MustParsePrefix("127.0.0.2/32")},
		{netip.MustParsePrefix("::1/128")},
		{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.0.0/16")},
	} {
		c := newConn(t, spec(base, func(s *Config) { s.AllowPrivate = allow }))
		_, _, err := call(t, c, OpRequest, get("x"), allowAll)
		wantErr(t, fmt.Sprintf("allow_private %v", allow), err, core.KindDenied, core.ReasonAddressBlocked)
	}
	assertUntouched(t, "the loopback server", up)

	// The same resource with the address allowed connects: the refusal
	// above was the dialer's.
	c := newConn(t, spec(base, nil))
	if res, _, err := call(t, c, OpRequest, get("x"), allowAll); err != nil || res.Status != 200 {
		t.Fatalf("with 127.0.0.1 allowed: %v, %v", res, err)
	}
	if conns, reqs := settle(t, up); conns != 1 || reqs != 1 {
		t.Fatalf("with 127.0.0.1 allowed: %d connections, %d requests; want 1, 1", conns, reqs)
	}
}

// TestLiteralLoopbackBaseURL: a literal blocked address is refused when
// the resource is built, unless allow_private covers it.
func TestLiteralLoopbackBaseURL(t *testing.T) {
	up := newCounter(t, "127.0.0.1:0", nil)
	for _, allow := range [][]netip.Prefix{nil, {netip.MustParsePrefix("127.0.0.2/32")}, {netip.MustParsePrefix("::1/128")}} {
		if _, err := New(spec(up.URL+"/v1/", func(s *Config) { s.AllowPrivate = allow }), core.Host{}); core.KindOf(err) != core.KindInvalid {
			t.Errorf("New(%s) with allow_private %v = %v, want invalid", up.URL, allow, err)
		}
	}
	for _, base := range []string{"http://[::1]:1/", "http://169.254.169.254/", "http://10.0.0.1/", "http://[::ffff:127.0.0.1]:1/"} {
		if _, err := New(spec(base, func(s *Config) { s.AllowPrivate = nil }), core.Host{}); core.KindOf(err) != core.KindInvalid {
			t.Errorf("New(%s) = %v, want invalid", base, err)
		}
	}
	assertUntouched(t, "the loopback server", up)
	for _, allow := range []string{"127.0.0.1/32", "127.0.0.0/8"} {
		c := newConn(t, spec(up.URL+"/v1/", func(s *Config) { s.AllowPrivate = []netip.Prefix{netip.MustParsePrefix(allow)} }))
		if _, _, err := call(t, c, OpRequest, get("x"), allowAll); err != nil {
			t.Errorf("allow_private %s: %v", allow, err)
		}
	}
}

// TestDialerOnlyAllowedAddresses: whatever "localhost" resolves to (here
// 127.0.0.1, and ::1 where the resolver says so), a server listens on each
// address at the same port, and only the address allow_private covers
// receives a connection.
func TestDialerOnlyAllowedAddresses(t *testing.T) {
	addrs, err := net.DefaultResolver.LookupNetIP(t.Context(), "ip", "localhost")
	if err != nil || len(addrs) == 0 {
		t.Skipf("localhost does not resolve: %v", err)
	}
	seen := map[netip.Addr]bool{}
	var ips []netip.Addr
	for _, a := range addrs {
		if a = a.Unmap(); !seen[a] {
			seen[a] = true
			ips = append(ips, a)
		}
	}
	for _, a := range ips {
		if !a.IsLoopback() {
			t.Skipf("localhost resolves to %v, not loopback", a)
		}
	}
	servers := map[netip.Addr]*counter{}
	port := 0
	for _, a := range ips {
		c := newCounter(t, netip.AddrPortFrom(a, uint16(port)).String(), nil)
		port = portOf(c)
		servers[a] = c
	}
	t.Logf("localhost resolves to %v", ips)
	base := fmt.Sprintf("http://localhost:%d/v1/", port)
	before := map[netip.Addr][2]int64{}
	for _, allowed := range ips {
		c := newConn(t, spec(base, func(s *Config) {
			s.AllowPrivate = []netip.Prefix{netip.PrefixFrom(allowed, allowed.BitLen())}
		}))
		if _, _, err := call(t, c, OpRequest, get("x"), allowAll); err != nil {
			t.Fatalf("allowing %v: %v", allowed, err)
		}
		c.Close()
		for a, srv := range servers {
			conns, reqs := settle(t, srv)
			conns, reqs = conns-before[a][0], reqs-before[a][1]
			before[a] = [2]int64{conns + before[a][0], reqs + before[a][1]}
			want := int64(0)
			if a == allowed {
				want = 1
			}
			if conns != want || reqs != want {
				t.Errorf("allowing %v: %v received %d connections, %d requests; want %d", allowed, a, conns, reqs, want)
			}
		}
	}
	// Neighbouring addresses allowed: none of these is dialled.
	c := newConn(t, spec(base, func(s *Config) {
		s.AllowPrivate = []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32"), netip.MustParsePrefix("::2/128")}
	}))
	_, _, err = call(t, c, OpRequest, get("x"), allowAll)
	wantErr(t, "neighbours allowed", err, core.KindDenied, core.ReasonAddressBlocked)
	for a, srv := range servers {
		if conns, reqs := settle(t, srv); conns != before[a][0] || reqs != before[a][1] {
			t.Errorf("neighbours allowed: %v received %d more connections, %d more requests", a, conns-before[a][0], reqs-before[a][1])
		}
	}
}

// TestRedirectToOtherLoopbackAddress: an internal service on 127.0.0.2
// that allow_private does not cover; the upstream (on 127.0.0.1, allowed)
// redirects to it. Nothing reaches it, whether or not the dialer would.
func TestRedirectToOtherLoopbackAddress(t *testing.T) {
	internal := newCounter(t, "127.0.0.2:0", nil)
	for _, target := range []string{
		internal.URL + "/v1/x",
		fmt.Sprintf("http://127.0.0.2:%d/v1/x", portOf(internal)),
		fmt.Sprintf("//127.0.0.2:%d/v1/x", portOf(internal)),
		fmt.Sprintf("http://0x7f.0.0.2:%d/v1/x", portOf(internal)),
		fmt.Sprintf("http://2130706434:%d/v1/x", portOf(internal)),
		fmt.Sprintf("http://[::ffff:127.0.0.2]:%d/v1/x", portOf(internal)),
	} {
		up := newCounter(t, "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target, http.StatusFound)
		})
		for _, allow := range [][]netip.Prefix{loopback, everywhere} {
			c := newConn(t, spec(up.URL+"/v1/", func(s *Config) { s.AllowPrivate = allow }))
			_, _, err := call(t, c, OpRequest, get("x"), allowAll)
			wantErr(t, fmt.Sprintf("redirect to %s, allow %v", target, allow), err, core.KindDenied, core.ReasonRedirectRefused)
		}
		if n := up.requests.Load(); n != 2 {
			t.Errorf("redirect to %s: the upstream saw %d requests, want 2", target, n)
		}
	}
	assertUntouched(t, "the internal service on 127.0.0.2", internal)
}

// --- Limits and results ----------------------------------------------------

func TestResponseLimits(t *testing.T) {
	const limit = 100
	text := strings.Repeat("0123456789", 30)
	jsonBody := `{"a": [1, 2, 3], "b": {"c": "d"}}`
	bigJSON := `{"x":"` + strings.Repeat("y", 2*limit) + `"}`
	small := make([]byte, 64)
	rand.Read(small)
	small[0] = 0x89 // not UTF-8
	up := newCounter(t, "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/text":
			w.Header().Set("Content-Type", "text/plain")
			w.Write([]byte(text))
		case "/v1/json":
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.Write([]byte(jsonBody))
		case "/v1/problem":
			w.Header().Set("Content-Type", "application/problem+json")
			w.Write([]byte(jsonBody))
		case "/v1/bigjson":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(bigJSON))
		case "/v1/badjson":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"a":`))
		case "/v1/png":
			w.Header().Set("Content-Type", "image/png")
			w.Write(small)
		case "/v1/empty":
			w.WriteHeader(http.StatusNoContent)
		}
	})
	c := newConn(t, spec(up.URL+"/v1/", func(s *Config) { s.Limits.MaxResponseBytes = limit }))

	res, _, err := call(t, c, OpRequest, get("text"), allowAll)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Truncated || res.Bytes != limit || res.Text == nil || *res.Text != text[:limit] || res.JSON != nil || res.Base64 != "" {
		t.Errorf("text over the limit: %+v", res)
	}

	for _, p := range []string{"json", "problem"} {
		res, _, err = call(t, c, OpRequest, get(p), allowAll)
		if err != nil {
			t.Fatal(err)
		}
		var compact bytes.Buffer
		json.Compact(&compact, []byte(jsonBody))
		if res.Truncated || string(res.JSON) != compact.String() || res.Text != nil || res.Bytes != int64(len(jsonBody)) {
			t.Errorf("%s: JSON = %s, text %v, bytes %d, truncated %v; want %s", p, res.JSON, res.Text, res.Bytes, res.Truncated, compact.String())
		}
	}

	res, _, err = call(t, c, OpRequest, get("bigjson"), allowAll)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Truncated || res.JSON != nil || res.Text == nil || *res.Text != bigJSON[:limit] {
		t.Errorf("truncated JSON: %+v; want it as text, %d bytes", res, limit)
	}

	res, _, err = call(t, c, OpRequest, get("badjson"), allowAll)
	if err != nil || res.JSON != nil || res.Text == nil || *res.Text != `{"a":` {
		t.Errorf("invalid JSON: %+v, %v; want it as text", res, err)
	}

	res, _, err = call(t, c, OpRequest, get("png"), allowAll)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := base64.StdEncoding.DecodeString(res.Base64); !bytes.Equal(got, small) || res.Text != nil || res.Omitted != "" {
		t.Errorf("small binary: %+v; want base64 of the %d bytes", res, len(small))
	}

	res, _, err = call(t, c, OpRequest, get("empty"), allowAll)
	if err != nil || res.Status != 204 || res.Bytes != 0 || res.Text != nil || res.JSON != nil || res.Base64 != "" {
		t.Errorf("no content: %+v, %v", res, err)
	}
}

func TestLargeBinaryOmitted(t *testing.T) {
	big := bytes.Repeat([]byte{0xff, 0x00, 0x89}, maxBinaryBytes/3+10)
	up := newCounter(t, "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write(big)
	})
	c := newConn(t, spec(up.URL+"/v1/", nil))
	res, _, err := call(t, c, OpRequest, get("img"), allowAll)
	if err != nil {
		t.Fatal(err)
	}
	if res.Base64 != "" || res.Text != nil || res.Omitted == "" || res.Bytes != int64(len(big)) || res.Truncated {
		t.Errorf("binary over %d bytes: base64 %d chars, omitted %q, bytes %d; want omitted, %d bytes", maxBinaryBytes, len(res.Base64), res.Omitted, res.Bytes, len(big))
	}
}

// TestGzip: a compressed answer is decoded, and the limit counts decoded
// bytes, so a small compressed body cannot expand past it.
func TestGzip(t *testing.T) {
	const limit = 1000
	jsonBody := `{"compressed":true,"n":[1,2,3]}`
	up := newCounter(t, "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			http.Error(w, "gzip expected", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Type", "application/json")
		zw := gzip.NewWriter(w)
		if r.URL.Path == "/v1/bomb" {
			zw.Write([]byte(`{"x":"`))
			zero := make([]byte, 1<<20)
			for range 3 {
				zw.Write(zero)
			}
		} else {
			zw.Write([]byte(jsonBody))
		}
		zw.Close()
	})
	c := newConn(t, spec(up.URL+"/v1/", func(s *Config) { s.Limits.MaxResponseBytes = limit }))
	res, _, err := call(t, c, OpRequest, get("small"), allowAll)
	if err != nil || res.Status != 200 || string(res.JSON) != jsonBody {
		t.Fatalf("gzip: %+v, %v; want the JSON decoded", res, err)
	}
	res, _, err = call(t, c, OpRequest, get("bomb"), allowAll)
	if err != nil || !res.Truncated || res.Bytes != limit {
		t.Fatalf("gzip bomb: %+v, %v; want %d decoded bytes, truncated", res, err, limit)
	}
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	up := newCounter(t, "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/slow-body" {
			w.Header().Set("Content-Type", "text/plain")
			w.Write([]byte("partial"))
			w.(http.Flusher).Flush()
		}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) }) // runs before the server closes
	const timeout = 200 * time.Millisecond
	c := newConn(t, spec(up.URL+"/v1/", func(s *Config) { s.Limits.Timeout = timeout }))
	for _, p := range []string{"slow-headers", "slow-body"} {
		start := time.Now()
		_, _, err := call(t, c, OpRequest, get(p), allowAll)
		took := time.Since(start)
		wantErr(t, p, err, core.KindTimeout, core.ReasonTimeout)
		if took < timeout || took > 1500*time.Millisecond {
			t.Errorf("%s: the call took %v with a %v timeout", p, took, timeout)
		}
	}
}

func TestRateLimit(t *testing.T) {
	up := newCounter(t, "127.0.0.1:0", nil)
	c := newConn(t, spec(up.URL+"/v1/", func(s *Config) { s.Limits.CallsPerMinute = 2 }))
	for i := range 2 {
		if _, _, err := call(t, c, OpRequest, get("x"), allowAll); err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
	}
	_, _, err := call(t, c, OpRequest, get("x"), allowAll)
	wantErr(t, "third call", err, core.KindDenied, core.ReasonRateLimited)
	if n := up.requests.Load(); n != 2 {
		t.Fatalf("the upstream saw %d requests, want 2", n)
	}
}

func TestWindow(t *testing.T) {
	w := newWindow(2, time.Minute)
	t0 := time.Unix(1000, 0)
	for i, tc := range []struct {
		at   time.Duration
		want bool
	}{
		{0, true}, {time.Second, true}, {2 * time.Second, false}, {59 * time.Second, false},
		{time.Minute, true}, {time.Minute + time.Second - 1, false}, {time.Minute + time.Second, true}, {time.Minute + 2*time.Second, false},
	} {
		if got := w.allow(t0.Add(tc.at)); got != tc.want {
			t.Errorf("call %d at +%v: allowed %v, want %v", i, tc.at, got, tc.want)
		}
	}
}

// TestNon2xxIsAResult: an HTTP error status is the API's answer, returned
// with its body, not a failed call.
func TestNon2xxIsAResult(t *testing.T) {
	up := newCounter(t, "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/v1/"))
		if code == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="api"`)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "7")
		w.Header().Set("Set-Cookie", "session=internal")
		w.Header().Set("X-Internal-Host", "db7.corp")
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"error":%d}`, code)
	})
	c := newConn(t, spec(up.URL+"/v1/", nil))
	for _, code := range []int{400, 401, 403, 404, 409, 429, 500, 502, 503} {
		res, _, err := call(t, c, OpRequest, get(strconv.Itoa(code)), allowAll)
		if err != nil {
			t.Errorf("%d: %v", code, err)
			continue
		}
		if res.Status != code || res.StatusText != http.StatusText(code) || string(res.JSON) != fmt.Sprintf(`{"error":%d}`, code) {
			t.Errorf("%d: %+v", code, res)
		}
		if res.Headers["Retry-After"] != "7" || res.Headers["Set-Cookie"] != "" || res.Headers["X-Internal-Host"] != "" {
			t.Errorf("%d: headers %v; want Retry-After only of these", code, res.Headers)
		}
		if code == 401 && res.Headers["Www-Authenticate"] != `Bearer realm="api"` {
			t.Errorf("401: headers %v", res.Headers)
		}
	}
}

func TestClosedConnectorSendsNothing(t *testing.T) {
	up := newCounter(t, "127.0.0.1:0", nil)
	c := newConn(t, spec(up.URL+"/v1/", nil))
	c.Close()
	_, _, err := call(t, c, OpRequest, get("x"), allowAll)
	if core.KindOf(err) != core.KindUnavailable {
		t.Errorf("after Close: %v, want unavailable", err)
	}
	assertUntouched(t, "the upstream", up)
}

// TestUnreachableUpstream: a refused connection and a broken TLS
// handshake are upstream failures, not refusals.
func TestUnreachableUpstream(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := newConn(t, spec("http://"+addr+"/v1/", nil))
	_, _, err = call(t, c, OpRequest, get("x"), allowAll)
	wantErr(t, "closed port", err, core.KindUnavailable, core.ReasonUpstreamFailed)

	up, _ := newTLSCounter(t, nil)
	c = newConn(t, spec(up.URL+"/v1/", nil)) // no CAFile: the certificate is not trusted
	_, _, err = call(t, c, OpRequest, get("x"), allowAll)
	wantErr(t, "untrusted certificate", err, core.KindUnavailable, core.ReasonUpstreamFailed)
	if n := up.requests.Load(); n != 0 {
		t.Errorf("the TLS server with an untrusted certificate answered %d requests", n)
	}
	if !strings.Contains(core.MessageOf(err), "TLS certificate") {
		t.Errorf("untrusted certificate: message %q", core.MessageOf(err))
	}
}
