package e2e

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

const tokenPolicy = `version: 1
resources:
  notes: {kind: fs, root: ./notes}
agents:
  reader:
    token: env:READER_TOKEN
    grants:
      - {resource: notes, actions: [read]}
  lister:
    token: env:LISTER_TOKEN
    grants:
      - {resource: notes, actions: [list]}
`

var tokenEnv = []string{"READER_TOKEN=reader-secret-token-1", "LISTER_TOKEN=lister-secret-token-2"}

// bearer adds a token to every request.
type bearer struct {
	token string
	host  string
	base  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if b.token != "" {
		r.Header.Set("Authorization", "Bearer "+b.token)
	}
	if b.host != "" {
		r.Host = b.host
	}
	return b.base.RoundTrip(r)
}

func connectHTTP(t testing.TB, url, token string, opts *mcp.ClientOptions) (*mcp.ClientSession, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	client := mcp.NewClient(&mcp.Implementation{Name: "e2e-http", Version: "v0"}, opts)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint:   url,
		HTTPClient: &http.Client{Transport: bearer{token: token, base: http.DefaultTransport}},
		MaxRetries: -1,
	}, nil)
	if err == nil {
		t.Cleanup(func() { cs.Close() })
	}
	return cs, err
}

func toolNames(t testing.TB, cs *mcp.ClientSession) []string {
	t.Helper()
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
	}
	slices.Sort(names)
	return names
}

func TestHTTP_TokensMapToAgents(t *testing.T) {
	base, _ := fixture(t)
	writePolicy(t, base, tokenPolicy)
	url := startHTTP(t, base, tokenEnv)

	reader, err := connectHTTP(t, url, "reader-secret-token-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := toolNames(t, reader); !slices.Equal(got, []string{"notes_read", "notes_stat"}) {
		t.Errorf("reader tools = %v", got)
	}
	lister, err := connectHTTP(t, url, "lister-secret-token-2", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := toolNames(t, lister); !slices.Equal(got, []string{"notes_list", "notes_stat"}) {
		t.Errorf("lister tools = %v", got)
	}
	if res := callTool(t, reader, "notes_read", map[string]any{"path": "docs/a.md"}); res.IsError {
		t.Errorf("reader read: %s", text(res))
	}
	if _, err := connectHTTP(t, url, "", nil); err == nil {
		t.Errorf("a client without a token connected")
	}
	if _, err := connectHTTP(t, url, "wrong-token", nil); err == nil {
		t.Errorf("a client with a wrong token connected")
	}
}

func post(t testing.TB, url string, header map[string]string, host string) (int, string) {
	t.Helper()
	body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}`
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestHTTP_HostOriginAndSessions(t *testing.T) {
	base, _ := fixture(t)
	writePolicy(t, base, tokenPolicy)
	url := startHTTP(t, base, tokenEnv, "--allow-origin", "http://localhost:6274")
	auth := map[string]string{"Authorization": "Bearer reader-secret-token-1"}
	tests := []struct {
		name   string
		header map[string]string
		host   string
		want   int
	}{
		{"plain", auth, "", http.StatusOK},
		{"DNS rebinding host", auth, "evil.example:80", http.StatusForbidden},
		{"localhost name", auth, "localhost" + url[strings.LastIndex(url, ":"):len(url)-1], http.StatusOK},
		{"foreign origin", map[string]string{"Authorization": auth["Authorization"], "Origin": "https://evil.example"}, "", http.StatusForbidden},
		{"allowed origin", map[string]string{"Authorization": auth["Authorization"], "Origin": "http://localhost:6274"}, "", http.StatusOK},
		{"no token", nil, "", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := post(t, url, tt.header, tt.host)
			if code != tt.want {
				t.Errorf("POST initialize (%s) = %d %s, want %d", tt.name, code, body, tt.want)
			}
		})
	}

	// A session belongs to the agent whose token opened it: another agent's
	// token cannot drive it.
	req, _ := http.NewRequest("POST", url, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer reader-secret-token-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	sid := resp.Header.Get("Mcp-Session-Id")
	if sid == "" {
		t.Fatal("no session id")
	}
	req, _ = http.NewRequest("POST", url, strings.NewReader(`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Session-Id", sid)
	req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
	req.Header.Set("Authorization", "Bearer lister-secret-token-2")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("another agent's token on a session = %d %s, want 403", resp.StatusCode, b)
	}
}

func TestHTTP_RefusesNonLoopbackWithoutTokens(t *testing.T) {
	base, _ := fixture(t)
	writePolicy(t, base, notesPolicy)
	out, err := warden(t, base, nil, "serve", "--http", "0.0.0.0:0").CombinedOutput()
	if code := exitCode(err); code != 2 || !strings.Contains(string(out), "beyond loopback") {
		t.Errorf("serve --http 0.0.0.0:0 without tokens: exit %d, %s", code, out)
	}
}

func TestHTTP_ZeroConfigOnLoopback(t *testing.T) {
	_, root := fixture(t)
	url := startHTTP(t, root, nil)
	cs, err := connectHTTP(t, url, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	res := callTool(t, cs, "files_read", map[string]any{"path": "docs/a.md"})
	if res.IsError || !strings.Contains(text(res), "hello from a") {
		t.Errorf("files_read over HTTP: %s", text(res))
	}
}
