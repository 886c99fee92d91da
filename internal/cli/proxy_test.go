package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for a command writing while the test
// reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func proxyPolicy(t *testing.T, upstream string) string {
	t.Helper()
	dir := t.TempDir()
	src := fmt.Sprintf("version: 1\nsettings:\n  landlock: false\nresources:\n  api:\n    kind: http\n    base_url: %s/v1/\n    allow_private: [127.0.0.1/32]\n"+
		"agents:\n  bot:\n    grants:\n      - {resource: api, actions: [GET], paths: [\"/v1/ok\"]}\n  other:\n    grants: []\n", upstream)
	file := filepath.Join(dir, "warden.yaml")
	if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

func TestProxy_Usage(t *testing.T) {
	file := proxyPolicy(t, "http://127.0.0.1:1")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"proxy", "--policy", file, "--agent", "bot"}, "proxy needs --listen"},
		{[]string{"proxy", "--policy", file, "--agent", "bot", "--listen", "0.0.0.0:0"}, "beyond loopback"},
		{[]string{"proxy", "--policy", file, "--agent", "bot", "--listen", "10.1.2.3:8080"}, "--allow-non-loopback"},
		{[]string{"proxy", "--policy", file, "--listen", "127.0.0.1:0"}, "choose one with --agent"},
	}
	for _, tc := range cases {
		var stderr bytes.Buffer
		code := Main(context.Background(), tc.args, strings.NewReader(""), io.Discard, &stderr)
		if code != ExitUsage || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%q = %d %q, want %d and %q", tc.args, code, stderr.String(), ExitUsage, tc.want)
		}
	}
}

func TestProxy_Serves(t *testing.T) {
	var seen atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Add(1)
		io.WriteString(w, "hello from "+r.URL.Path)
	}))
	defer up.Close()
	file := proxyPolicy(t, up.URL)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"proxy", "--policy", file, "--agent", "bot", "--listen", addr}, strings.NewReader(""), io.Discard, &stderr)
	}()
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: addr})}, Timeout: 10 * time.Second}
	var resp *http.Response
	for i := 0; ; i++ {
		resp, err = client.Get(up.URL + "/v1/ok")
		if err == nil || i == 200 {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("GET through the proxy: %v; stderr: %s", err, stderr.String())
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "hello from /v1/ok" {
		t.Errorf("allowed GET = %d %q", resp.StatusCode, body)
	}
	resp, err = client.Get(up.URL + "/v1/secret")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 || resp.Header.Get("X-Warden-Reason") == "" {
		t.Errorf("denied GET = %d %q", resp.StatusCode, resp.Header.Get("X-Warden-Reason"))
	}
	if n := seen.Load(); n != 1 {
		t.Errorf("the upstream saw %d requests, want 1", n)
	}
	cancel()
	if code := <-done; code != ExitOK {
		t.Errorf("exit %d; stderr: %s", code, stderr.String())
	}
	if out := stderr.String(); !strings.Contains(out, `egress proxy for agent "bot" on http://`+addr) || !strings.Contains(out, "api: GET "+up.URL+"/v1/") {
		t.Errorf("the start-up screen says: %s", out)
	}
}
