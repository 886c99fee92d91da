package egress

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/warden-dev/warden/internal/audit"
)

// rawRequest sends text to the proxy and reads one response.
func rawRequest(addr, text string) (*http.Response, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(text)); err != nil {
		return nil, err
	}
	return http.ReadResponse(bufio.NewReader(c), nil)
}

func TestConnect_UninspectedPassesBytes(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.client()
	// Uninspected, path rules cannot apply: /anything passes.
	for _, p := range []string{"/ok/1", "/anything"} {
		resp, err := c.Get(e.secure.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(t, resp)
		if resp.StatusCode != 200 || !strings.Contains(body, `"path":"`+p+`"`) {
			t.Errorf("GET %s = %d %s", p, resp.StatusCode, body)
		}
	}
	if n := e.secure.requests.Load(); n != 2 {
		t.Errorf("the upstream saw %d requests", n)
	}
	tunnels := find(e.records(t), func(r audit.Record) bool {
		return r.Event == "egress" && r.Action == "CONNECT" && r.Decision == "allow" && r.Resource == "secure"
	})
	if len(tunnels) == 0 || tunnels[0].Path != "127.0.0.1:"+e.secure.port() || tunnels[0].Agent != "bot" {
		t.Errorf("tunnel audit records: %+v", tunnels)
	}
}

func TestConnect_Refused(t *testing.T) {
	e := newEnv(t, envOpts{})
	strangerTLS := newRecorder(t, true)
	cases := []struct{ name, target, reason string }{
		{"ungranted host:port", "127.0.0.1:" + strangerTLS.port(), "no-matching-grant"},
		{"loopback not granted", "127.0.0.1:22", "no-matching-grant"},
		{"granted port, other spelling", "localhost:" + e.secure.port(), "no-matching-grant"},
		{"plain http resource", "127.0.0.1:" + e.plain.port(), "no-matching-grant"},
		{"numeric trick", "0x7f.1:" + e.secure.port(), "request-refused"},
		{"no port", "127.0.0.1", "request-refused"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.connect(t, tc.target)
			if resp.StatusCode == 200 || resp.Header.Get(headerReason) != tc.reason {
				t.Errorf("CONNECT %s = %d %q", tc.target, resp.StatusCode, resp.Header.Get(headerReason))
			}
		})
	}
	if n := strangerTLS.conns.Load() + e.secure.conns.Load() + e.plain.conns.Load(); n != 0 {
		t.Errorf("upstreams saw %d connections", n)
	}
	recs := e.records(t)
	for _, tc := range cases[:4] {
		if len(find(recs, func(r audit.Record) bool { return r.Action == "CONNECT" && r.Path == tc.target && r.Decision == "deny" })) != 1 {
			t.Errorf("CONNECT %s not audited: %+v", tc.target, recs)
		}
	}
}

func TestConnect_DialCheckApplies(t *testing.T) {
	// A granted resource named by a host that resolves to loopback, with no
	// allow_private: the grant does not reach past the dial-time check.
	var up *recorder
	e := newEnv(t, envOpts{policy: func(plain, secure *recorder, caFile string) string {
		up = secure
		return fmt.Sprintf(`version: 1
resources:
  local:
    kind: http
    base_url: https://localhost:%s/
agents:
  bot:
    grants:
      - {resource: local, actions: [GET]}
`, secure.port())
	}})
	resp := e.connect(t, "localhost:"+up.port())
	if resp.StatusCode != 403 || resp.Header.Get(headerReason) != "address-blocked" {
		t.Errorf("CONNECT = %d %q", resp.StatusCode, resp.Header.Get(headerReason))
	}
	if up.conns.Load() != 0 {
		t.Error("the upstream saw a connection")
	}
}

func TestConnect_Inspected(t *testing.T) {
	e := newEnv(t, envOpts{inspect: true})
	c := e.client()
	resp, err := c.Get(e.secure.URL + "/ok/7?x=1")
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, resp)
	if resp.StatusCode != 200 || !strings.Contains(body, `"path":"/ok/7"`) || resp.Header.Get(headerAudit) == "" {
		t.Fatalf("GET /ok/7 = %d %s", resp.StatusCode, body)
	}
	if resp.TLS == nil || resp.TLS.PeerCertificates[0].Issuer.CommonName != "warden test CA" {
		t.Errorf("the tunnel was not terminated by Warden's leaf")
	}
	resp, err = c.Get(e.secure.URL + "/denied")
	if err != nil {
		t.Fatal(err)
	}
	body = readAll(t, resp)
	if resp.StatusCode != 403 || resp.Header.Get(headerReason) != "no-matching-grant" {
		t.Errorf("GET /denied = %d %q %s", resp.StatusCode, resp.Header.Get(headerReason), body)
	}
	if n := e.secure.requests.Load(); n != 1 {
		t.Errorf("the upstream saw %d requests, want 1", n)
	}
	recs := e.records(t)
	if len(find(recs, func(r audit.Record) bool {
		return r.Tool == "secure_request" && r.Path == "/denied" && r.Decision == "deny"
	})) != 1 {
		t.Errorf("the denied request inside the tunnel is not audited: %+v", recs)
	}
	if len(find(recs, func(r audit.Record) bool { return r.Action == "CONNECT" && r.Detail["inspected"] == true })) == 0 {
		t.Errorf("the inspected tunnel is not audited: %+v", recs)
	}
}
