package httpapi

import (
	"net/http"
	"strings"
	"testing"

	"github.com/warden-dev/warden/internal/core"
)

// TestProxy: with proxy set, requests go to the operator's proxy (on
// loopback, allowed because the operator named it) with the API's absolute
// URL, and the API's name is left for the proxy to resolve.
func TestProxy(t *testing.T) {
	proxy := newCounter(t, "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"via":"proxy"}`))
	})
	c := newConn(t, &core.ResourceSpec{Name: "api", Kind: kindName, Config: &Config{
		BaseURL: "http://api.example.test/v1/", Proxy: proxy.URL,
		Auth: &Auth{Scheme: "header", Name: "X-Api-Key", Secret: core.NewSecret("env:K", "proxy-test-key-123")},
	}})
	res, _, err := call(t, c, OpRequest, map[string]any{"method": "GET", "path": "items/1"}, allowAll)
	if err != nil {
		t.Fatalf("call through the proxy: %v", err)
	}
	if string(res.JSON) != `{"via":"proxy"}` {
		t.Errorf("result %s, want the proxy's answer", res.JSON)
	}
	r, _ := proxy.last(t)
	if got := r.RequestURI; got != "http://api.example.test/v1/items/1" {
		t.Errorf("the proxy saw %q, want the absolute URL of the API", got)
	}
	if r.Header.Get("X-Api-Key") != "proxy-test-key-123" {
		t.Errorf("the credential did not reach the proxy's upstream request")
	}
}

// TestProxyFromEnvironmentIgnored: HTTP_PROXY in Warden's environment
// never diverts a resource's requests.
func TestProxyFromEnvironmentIgnored(t *testing.T) {
	envProxy := newCounter(t, "127.0.0.1:0", nil)
	t.Setenv("HTTP_PROXY", envProxy.URL)
	t.Setenv("http_proxy", envProxy.URL)
	t.Setenv("NO_PROXY", "")
	up := newCounter(t, "127.0.0.1:0", nil)
	c := newConn(t, spec(up.URL+"/v1/", nil))
	if _, _, err := call(t, c, OpRequest, map[string]any{"method": "GET", "path": "x"}, allowAll); err != nil {
		t.Fatal(err)
	}
	if n := envProxy.conns.Load(); n != 0 {
		t.Errorf("the environment's proxy saw %d connections", n)
	}
	if n := up.requests.Load(); n != 1 {
		t.Errorf("the upstream saw %d requests, want 1", n)
	}
}

// TestProxyDoesNotOpenLoopback: naming a proxy allows the proxy's address,
// not the base URL's: a loopback base URL still fails at New.
func TestProxyDoesNotOpenLoopback(t *testing.T) {
	_, err := New(&core.ResourceSpec{Name: "api", Kind: kindName, Config: &Config{
		BaseURL: "http://127.0.0.1:9/v1/", Proxy: "http://127.0.0.1:3128",
	}}, core.Host{})
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("New = %v, want the loopback base URL refused", err)
	}
}
