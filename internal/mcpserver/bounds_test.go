package mcpserver

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	_ "github.com/warden-dev/warden/internal/connector/all"
	"github.com/warden-dev/warden/internal/engine"
	"github.com/warden-dev/warden/internal/policy"
)

const twoAgentPolicy = `version: 1
resources:
  notes: {kind: fs, root: ./notes}
agents:
  alice:
    token: env:ALICE_TOKEN
    grants:
      - {resource: notes, actions: [read]}
  bob:
    token: env:BOB_TOKEN
    grants:
      - {resource: notes, actions: [read]}
`

var testTokens = map[string]string{"ALICE_TOKEN": "alice-token-0123456789", "BOB_TOKEN": "bob-token-0123456789"}

// newEngine opens an engine on a policy whose resource "notes" holds a.md.
func newEngine(t testing.TB, src string) *engine.Engine {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "notes"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes", "a.md"), []byte("hello from a"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := policy.Compile([]byte(src), policy.WithBaseDir(dir), policy.WithLookupEnv(func(k string) (string, bool) {
		v, ok := testTokens[k]
		return v, ok
	}))
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(context.Background(), p, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// startServer serves a policy over streamable HTTP on a loopback port, the
// way warden serve --http does, and returns its URL.
func startServer(t testing.TB, src string, opts HTTPOptions) string {
	t.Helper()
	e := newEngine(t, src)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opts.Addr = ln.Addr().String()
	h, err := NewHTTPHandler(e, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, h, opts) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return "http://" + opts.Addr + "/"
}

const initializeBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}`

// rawPost sends one MCP POST and returns the response, body read.
func rawPost(t testing.TB, client *http.Client, url, token, session, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if session != "" {
		req.Header.Set("Mcp-Session-Id", session)
		req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

type bearerTransport struct{ token string }

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

// connectClient connects the SDK's client with a token.
func connectClient(t testing.TB, url, token string) (*mcp.ClientSession, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "v0"}, nil)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint: url, HTTPClient: &http.Client{Transport: bearerTransport{token}}, MaxRetries: -1,
	}, nil)
	if err == nil {
		t.Cleanup(func() { cs.Close() })
	}
	return cs, err
}

// readsNote reports whether a client session still works end to end.
func readsNote(t testing.TB, cs *mcp.ClientSession) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "notes_read", Arguments: map[string]any{"path": "a.md"}})
	if err != nil {
		t.Fatalf("notes_read: %v", err)
	}
	if res.IsError || len(res.Content) == 0 {
		t.Fatalf("notes_read: %+v", res)
	}
	if tc, ok := res.Content[0].(*mcp.TextContent); !ok || !strings.Contains(tc.Text, "hello from a") {
		t.Fatalf("notes_read: the first block is %+v, want the note's text", res.Content[0])
	}
}

// TestHTTP_SessionCaps floods the server with new sessions from one agent:
// the agent gets no more than its cap, each refusal is a 503 with a
// JSON-RPC error naming the cap, the other agent still connects, and a
// closed session frees its place.
func TestHTTP_SessionCaps(t *testing.T) {
	url := startServer(t, twoAgentPolicy, HTTPOptions{MaxSessions: 6, MaxSessionsPerAgent: 4})
	alice, bob := testTokens["ALICE_TOKEN"], testTokens["BOB_TOKEN"]

	var (
		mu       sync.Mutex
		sessions []string
		refused  []*http.Response
		bodies   []string
		wg       sync.WaitGroup
	)
	for range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, body := rawPost(t, http.DefaultClient, url, alice, "", initializeBody)
			mu.Lock()
			defer mu.Unlock()
			if resp.StatusCode == http.StatusOK {
				sessions = append(sessions, resp.Header.Get("Mcp-Session-Id"))
			} else {
				refused = append(refused, resp)
				bodies = append(bodies, body)
			}
		}()
	}
	wg.Wait()
	if len(sessions) == 0 || len(sessions) > 4 {
		t.Fatalf("60 concurrent initializes by one agent opened %d sessions, want 1..4", len(sessions))
	}
	for i, resp := range refused {
		var msg struct {
			ID    any
			Error struct {
				Code    int
				Message string
			}
		}
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" ||
			json.Unmarshal([]byte(bodies[i]), &msg) != nil || msg.ID != float64(1) || msg.Error.Code != codeOverloaded ||
			!strings.Contains(msg.Error.Message, "--max-sessions-per-agent") {
			t.Fatalf("refused session: %d Retry-After %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), bodies[i])
		}
	}
	// Fill alice's share deterministically.
	for len(sessions) < 4 {
		resp, body := rawPost(t, http.DefaultClient, url, alice, "", initializeBody)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("alice's session %d: %d %s", len(sessions)+1, resp.StatusCode, body)
		}
		sessions = append(sessions, resp.Header.Get("Mcp-Session-Id"))
	}

	// Bob is not starved by alice: his client works.
	cs, err := connectClient(t, url, bob)
	if err != nil {
		t.Fatalf("bob after alice's flood: %v", err)
	}
	readsNote(t, cs)
	// Five sessions open; bob's second fills the total, his third is refused by it.
	if resp, body := rawPost(t, http.DefaultClient, url, bob, "", initializeBody); resp.StatusCode != http.StatusOK {
		t.Fatalf("bob's second session: %d %s", resp.StatusCode, body)
	}
	if resp, body := rawPost(t, http.DefaultClient, url, bob, "", initializeBody); resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "--max-sessions)") {
		t.Fatalf("a session beyond the total: %d %s", resp.StatusCode, body)
	}

	// Closing one of alice's sessions lets her open another.
	req, _ := http.NewRequest("DELETE", url, nil)
	req.Header.Set("Authorization", "Bearer "+alice)
	req.Header.Set("Mcp-Session-Id", sessions[0])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cs, err = connectClient(t, url, alice)
	if err != nil {
		t.Fatalf("alice after closing a session: %v", err)
	}
	readsNote(t, cs)
}

// TestHTTP_IdleSessionsExpire: an idle session is closed after the idle
// timeout and its place is free again.
func TestHTTP_IdleSessionsExpire(t *testing.T) {
	url := startServer(t, twoAgentPolicy, HTTPOptions{MaxSessionsPerAgent: 2, SessionIdleTimeout: 300 * time.Millisecond})
	alice := testTokens["ALICE_TOKEN"]
	var first string
	for i := range 2 {
		resp, body := rawPost(t, http.DefaultClient, url, alice, "", initializeBody)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("session %d: %d %s", i, resp.StatusCode, body)
		}
		if first == "" {
			first = resp.Header.Get("Mcp-Session-Id")
		}
	}
	if resp, body := rawPost(t, http.DefaultClient, url, alice, "", initializeBody); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("third session before expiry: %d %s", resp.StatusCode, body)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, _ := rawPost(t, http.DefaultClient, url, alice, "", initializeBody)
		if resp.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("idle sessions still hold their places after 5s (idle timeout 300ms): %d", resp.StatusCode)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if resp, _ := rawPost(t, http.DefaultClient, url, alice, first, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`); resp.StatusCode != http.StatusNotFound {
		t.Errorf("an expired session answered %d, want 404", resp.StatusCode)
	}
}

// TestHTTP_SlowConnectionsAreClosed holds every connection the server
// allows with unfinished bodies, headers and idle keep-alives: one more
// is answered 503 at once, the server closes each within its timeout,
// and a client is then served.
func TestHTTP_SlowConnectionsAreClosed(t *testing.T) {
	const timeout = 300 * time.Millisecond
	url := startServer(t, twoAgentPolicy, HTTPOptions{
		MaxConnections: 6, ReadTimeout: timeout, ReadHeaderTimeout: timeout, IdleTimeout: timeout,
	})
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/")
	alice := testTokens["ALICE_TOKEN"]
	dial := func() net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	var conns []net.Conn
	for range 4 { // a body that never finishes
		c := dial()
		fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: 1000\r\n\r\n{\"jsonrpc\"", addr, alice)
		conns = append(conns, c)
	}
	c := dial() // headers that never finish
	fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: %s\r\n", addr)
	conns = append(conns, c)
	c = dial() // a kept-alive connection after one request
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n", addr, alice)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	conns = append(conns, c)

	// The seventh connection is refused at once while the six are held.
	time.Sleep(50 * time.Millisecond)
	c7 := dial()
	fmt.Fprintf(c7, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	_ = c7.SetReadDeadline(time.Now().Add(2 * time.Second))
	resp, err = http.ReadResponse(bufio.NewReader(c7), nil)
	if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a connection beyond the cap: %v %v", resp, err)
	}

	// The server closes every held connection within its timeout.
	start := time.Now()
	for i, c := range conns {
		_ = c.SetReadDeadline(start.Add(5 * time.Second))
		_, err := io.Copy(io.Discard, c)
		if err != nil {
			t.Fatalf("connection %d: not closed by the server: %v", i, err)
		}
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("the server took %s to close connections with a %s timeout", took, timeout)
	}
	cs, err := connectClient(t, url, alice)
	if err != nil {
		t.Fatalf("a client after the slow connections: %v", err)
	}
	readsNote(t, cs)
}

// TestHTTP_QuietStreamOutlivesTimeouts: the read and write timeouts do not
// cut an event stream that is open but quiet, or a session used after a
// pause longer than them.
func TestHTTP_QuietStreamOutlivesTimeouts(t *testing.T) {
	const timeout = 200 * time.Millisecond
	url := startServer(t, twoAgentPolicy, HTTPOptions{ReadTimeout: timeout, WriteTimeout: timeout, ReadHeaderTimeout: timeout})
	alice := testTokens["ALICE_TOKEN"]
	resp, body := rawPost(t, http.DefaultClient, url, alice, "", initializeBody)
	sid := resp.Header.Get("Mcp-Session-Id")
	if resp.StatusCode != http.StatusOK || sid == "" {
		t.Fatalf("initialize: %d %s", resp.StatusCode, body)
	}
	rawPost(t, http.DefaultClient, url, alice, sid, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)

	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+alice)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Mcp-Session-Id", sid)
	req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
	stream, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	if stream.StatusCode != http.StatusOK {
		t.Fatalf("GET stream: %d", stream.StatusCode)
	}
	ended := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, stream.Body)
		ended <- err
	}()
	select {
	case err := <-ended:
		t.Fatalf("the server ended a quiet event stream within 5 timeouts: %v", err)
	case <-time.After(5 * timeout):
	}
	resp, body = rawPost(t, http.DefaultClient, url, alice, sid, `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"notes_read","arguments":{"path":"a.md"}}}`)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "hello from a") {
		t.Fatalf("a call after a pause: %d %s", resp.StatusCode, body)
	}
}

// TestHTTP_UnauthorizedChallenge: a 401 carries the RFC 6750 challenge, so
// a client asks for a token instead of starting an OAuth flow.
func TestHTTP_UnauthorizedChallenge(t *testing.T) {
	url := startServer(t, twoAgentPolicy, HTTPOptions{})
	tests := []struct {
		name, token, want string
	}{
		{"no token", "", `Bearer realm="warden"`},
		{"wrong token", "not-a-token", `Bearer realm="warden", error="invalid_token"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := rawPost(t, http.DefaultClient, url, tt.token, "", initializeBody)
			got := resp.Header.Get("WWW-Authenticate")
			if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(got, tt.want) {
				t.Errorf("%s: %d WWW-Authenticate %q (%s), want 401 %q", tt.name, resp.StatusCode, got, body, tt.want)
			}
			if resp.Header.Get("Mcp-Session-Id") != "" {
				t.Errorf("%s: a session was opened", tt.name)
			}
		})
	}
}

// TestHTTP_OversizedBodyRefused: a body beyond the limit is refused with a
// JSON-RPC error and the connection closed, not read on.
func TestHTTP_OversizedBodyRefused(t *testing.T) {
	url := startServer(t, twoAgentPolicy, HTTPOptions{MaxBodyBytes: 64 << 10})
	resp, body := rawPost(t, http.DefaultClient, url, testTokens["ALICE_TOKEN"], "", `{"jsonrpc":"2.0","id":7,"method":"ping","params":{"x":"`+strings.Repeat("x", 100<<10)+`"}}`)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, `"code":-32600`) || !strings.Contains(body, "65536") {
		t.Fatalf("oversized body: %d %s", resp.StatusCode, body)
	}
}

// TestHTTP_MalformedBodies: what ends the stdio server is a 4xx over HTTP,
// and the session goes on.
func TestHTTP_MalformedBodies(t *testing.T) {
	url := startServer(t, twoAgentPolicy, HTTPOptions{})
	alice := testTokens["ALICE_TOKEN"]
	cs, err := connectClient(t, url, alice)
	if err != nil {
		t.Fatal(err)
	}
	resp, _ := rawPost(t, http.DefaultClient, url, alice, "", initializeBody)
	sid := resp.Header.Get("Mcp-Session-Id")
	for _, tc := range malformed {
		resp, body := rawPost(t, http.DefaultClient, url, alice, sid, tc.line)
		if resp.StatusCode < 400 || resp.StatusCode >= 500 {
			t.Errorf("%s over HTTP: %d %s, want a 4xx", tc.name, resp.StatusCode, body)
		}
	}
	readsNote(t, cs)
	resp, body := rawPost(t, http.DefaultClient, url, alice, sid, `{"jsonrpc":"2.0","id":9,"method":"tools/list"}`)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "notes_read") {
		t.Fatalf("tools/list after malformed bodies: %d %s", resp.StatusCode, body)
	}
}
