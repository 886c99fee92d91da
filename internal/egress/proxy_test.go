package egress

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/warden-dev/warden/internal/audit"
)

func TestPlain_AllowedReachUpstreamOnceWithCredential(t *testing.T) {
	e := newEnv(t, envOpts{})
	c := e.client()

	resp, err := c.Get(e.plain.URL + "/v1/items/42?page=2&tag=a&tag=b")
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, resp)
	if resp.StatusCode != 200 {
		t.Fatalf("GET = %d %s", resp.StatusCode, body)
	}
	if strings.Contains(body, token) || !strings.Contains(body, "[REDACTED]") {
		t.Errorf("the response is not redacted as the http kind does: %s", body)
	}
	if resp.Header.Get("Set-Cookie") != "" {
		t.Errorf("a header the http kind withholds passed: %v", resp.Header)
	}
	if resp.Header.Get(headerAudit) == "" {
		t.Error("no audit id on the response")
	}
	if n := e.plain.requests.Load(); n != 1 {
		t.Fatalf("the upstream saw %d requests, want 1", n)
	}
	got := e.plain.seen[0]
	if got.Header.Get("Authorization") != "Bearer "+token {
		t.Errorf("the credential was not injected: %q", got.Header.Get("Authorization"))
	}
	if got.URL.Path != "/v1/items/42" || got.URL.Query().Get("page") != "2" || len(got.URL.Query()["tag"]) != 2 {
		t.Errorf("the upstream saw %s", got.URL)
	}

	resp, err = c.Post(e.plain.URL+"/v1/echo", "application/json", strings.NewReader(`{"n":1}`))
	if err != nil {
		t.Fatal(err)
	}
	body = readAll(t, resp)
	if resp.StatusCode != 200 || e.plain.requests.Load() != 2 {
		t.Fatalf("POST = %d %s; upstream requests %d", resp.StatusCode, body, e.plain.requests.Load())
	}
	if e.plain.bodies[1] != `{"n":1}` || e.plain.seen[1].Header.Get("Content-Type") != "application/json" {
		t.Errorf("the upstream got body %q type %q", e.plain.bodies[1], e.plain.seen[1].Header.Get("Content-Type"))
	}
	var echo map[string]string
	if err := json.Unmarshal([]byte(body), &echo); err != nil || echo["body"] != `{"n":1}` {
		t.Errorf("the response body is %s", body)
	}

	calls := find(e.records(t), func(r audit.Record) bool { return r.Event == "call" && r.Tool == "api_request" && r.Outcome == "ok" })
	if len(calls) != 2 || calls[0].Agent != "bot" || calls[0].Path != "/v1/items/42" || calls[1].Action != "POST" {
		t.Errorf("audit call records: %+v", calls)
	}
}

func TestPlain_RefusedNeverReachUpstream(t *testing.T) {
	e := newEnv(t, envOpts{})
	stranger := newRecorder(t, false)
	c := e.client()
	cases := []struct {
		name, method, url string
		code              int
		reason            string
	}{
		{"path not granted", "GET", e.plain.URL + "/v1/admin", 403, "no-matching-grant"},
		{"method not granted", "DELETE", e.plain.URL + "/v1/items/1", 403, "no-matching-grant"},
		{"outside the base path", "GET", e.plain.URL + "/other", 403, "no-matching-grant"},
		{"host not granted", "GET", stranger.URL + "/v1/items/1", 403, "no-matching-grant"},
		{"other scheme", "GET", "ftp://127.0.0.1:" + e.plain.port() + "/v1/items/1", 403, "no-matching-grant"},
		{"forbidden header", "GET", e.plain.URL + "/v1/items/1", 403, "request-refused"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, tc.url, nil)
			if tc.name == "forbidden header" {
				req.Header.Set("X-Forwarded-For", "10.0.0.1")
			}
			var resp *http.Response
			var err error
			if strings.HasPrefix(tc.url, "ftp:") {
				resp, err = rawRequest(e.addr, "GET "+tc.url+" HTTP/1.1\r\nHost: x\r\n\r\n")
			} else {
				resp, err = c.Do(req)
			}
			if err != nil {
				t.Fatal(err)
			}
			body := readAll(t, resp)
			if resp.StatusCode != tc.code || resp.Header.Get(headerReason) != tc.reason || strings.Count(strings.TrimSpace(body), "\n") != 0 {
				t.Errorf("%s %s = %d %q %q", tc.method, tc.url, resp.StatusCode, resp.Header.Get(headerReason), body)
			}
		})
	}
	if n := e.plain.requests.Load() + stranger.requests.Load() + stranger.conns.Load(); n != 0 {
		t.Errorf("upstreams saw %d requests or connections", n)
	}
	recs := e.records(t)
	if len(find(recs, func(r audit.Record) bool { return r.Decision == "deny" })) < len(cases) {
		t.Errorf("not every refusal is audited: %+v", recs)
	}
	host := find(recs, func(r audit.Record) bool {
		return r.Event == "egress" && r.Path == "http://127.0.0.1:"+stranger.port() && r.Decision == "deny"
	})
	if len(host) != 1 || host[0].Agent != "bot" {
		t.Errorf("the ungranted host is not audited: %+v", recs)
	}
}

func TestPlain_OriginFormRefused(t *testing.T) {
	e := newEnv(t, envOpts{})
	resp, err := http.Get("http://" + e.addr + "/v1/items/1")
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	if resp.StatusCode != 403 || resp.Header.Get(headerReason) != string(reasonNotProxy) {
		t.Errorf("origin-form request = %d %q", resp.StatusCode, resp.Header.Get(headerReason))
	}
	if e.plain.requests.Load() != 0 {
		t.Error("the upstream saw the request")
	}
	if len(find(e.records(t), func(r audit.Record) bool { return r.Event == "egress" && r.Path == e.addr })) != 1 {
		t.Error("the refusal is not audited with the host asked for")
	}
}

func TestPlain_Bounds(t *testing.T) {
	e := newEnv(t, envOpts{cfg: func(c *Config) { c.MaxHeaderBytes = 4 << 10 }})
	c := e.client()

	req, _ := http.NewRequest("GET", e.plain.URL+"/v1/items/1", nil)
	req.Header.Set("X-Big", strings.Repeat("a", 16<<10))
	// The server answers 431 and closes; the client may see the close
	// (a reset) before the answer. Either way nothing goes upstream.
	if resp, err := c.Do(req); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("oversized header = %d", resp.StatusCode)
		}
	}

	resp, err := c.Post(e.plain.URL+"/v1/echo", "text/plain", strings.NewReader(strings.Repeat("b", 32<<10)))
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || resp.Header.Get(headerReason) != "too-large" {
		t.Errorf("oversized body = %d %q", resp.StatusCode, resp.Header.Get(headerReason))
	}

	// Without a length: the body is cut at the limit as it is read.
	resp, err = c.Post(e.plain.URL+"/v1/echo", "text/plain", io.MultiReader(strings.NewReader(strings.Repeat("c", 32<<10))))
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized chunked body = %d", resp.StatusCode)
	}
	if n := e.plain.requests.Load(); n != 0 {
		t.Errorf("the upstream saw %d requests", n)
	}
}

func TestProxyAuthorizationNeverForwarded(t *testing.T) {
	e := newEnv(t, envOpts{})
	resp, err := rawRequest(e.addr, "GET "+e.plain.URL+"/v1/items/1 HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic c2VjcmV0\r\nConnection: X-Hop\r\nX-Hop: 1\r\n\r\n")
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	if resp.StatusCode != 200 || e.plain.requests.Load() != 1 {
		t.Fatalf("status %d, upstream requests %d", resp.StatusCode, e.plain.requests.Load())
	}
	h := e.plain.seen[0].Header
	if h.Get("Proxy-Authorization") != "" || h.Get("X-Hop") != "" {
		t.Errorf("hop-by-hop headers reached the upstream: %v", h)
	}
}

func TestReach(t *testing.T) {
	e := newEnv(t, envOpts{})
	lines := e.proxy.Reach()
	if len(lines) != 2 || !strings.Contains(lines[0], "GET, POST "+e.plain.URL+"/v1/") || !strings.Contains(lines[1], "uninspected") {
		t.Errorf("Reach = %q", lines)
	}
}
