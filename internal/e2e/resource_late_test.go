package e2e

import (
	"bytes"
	"context"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/warden-dev/warden/internal/sqltest"
)

// TestResourceOpensLaterOverMCP: warden serve starts while its PostgreSQL
// is not up (nothing listens at the DSN's address). It serves the other
// resource, says once on stderr why "shop" is missing, and an MCP client
// sees no shop tool.
// Then PostgreSQL comes up at that address (a forwarder to the test's real
// server starts listening there): within the retry schedule the client
// receives notifications/tools/list_changed, lists shop_query, and the
// query answers from the database.
func TestResourceOpensLaterOverMCP(t *testing.T) {
	srv := sqltest.Postgres(t)
	db := srv.NewDatabase(t, sqltest.CorpusFixture)

	// An address on loopback where nothing listens yet.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	later := ln.Addr().String()
	ln.Close()
	realAddr := net.JoinHostPort(srv.Host, strconv.Itoa(srv.Port))
	dsn := strings.Replace(db.ReaderDSN(), "@"+realAddr+"/", "@"+later+"/", 1)
	if dsn == db.ReaderDSN() {
		t.Fatalf("the reader DSN does not name %s", realAddr)
	}

	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"notes/a.md": "hello"})
	writePolicy(t, dir, `version: 1
resources:
  notes: {kind: fs, root: ./notes}
  shop:
    kind: sql
    driver: postgres
    dsn: env:WARDEN_TEST_SHOP_DSN
agents:
  agent:
    grants:
      - {resource: notes, actions: [read]}
      - resource: shop
        actions: [query]
        tables: {orders: "*"}
`)
	changed := make(chan struct{}, 8)
	opts := &mcp.ClientOptions{ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) {
		changed <- struct{}{}
	}}
	cmd := warden(t, dir, []string{"WARDEN_TEST_SHOP_DSN=" + dsn}, "serve")
	var stderr lockedBuffer
	cmd.Stderr = io.MultiWriter(&stderr, &testWriter{t: t, prefix: "warden: "})
	cs := connectCmd(t, cmd, opts)
	if !cs.InitializeResult().Capabilities.Tools.ListChanged {
		t.Error("the server does not advertise tools.listChanged")
	}

	names := listToolNames(t, cs)
	if slices.Contains(names, "shop_query") || !slices.Contains(names, "notes_read") {
		t.Fatalf("tools while PostgreSQL is down = %v, want notes_* and no shop_*", names)
	}
	// A tool not offered is not called: the SDK answers for the server.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "shop_query", Arguments: map[string]any{"sql": "SELECT id FROM orders"}}); err == nil {
		t.Fatal("shop_query was called while PostgreSQL is down")
	}
	if res := callTool(t, cs, "notes_read", map[string]any{"path": "a.md"}); res.IsError || !strings.Contains(resultText(res), "hello") {
		t.Fatalf("notes_read while PostgreSQL is down = %s", resultText(res))
	}

	// PostgreSQL comes up at the DSN's address.
	forward(t, later, realAddr)
	select {
	case <-changed:
	case <-time.After(30 * time.Second):
		t.Fatalf("no notifications/tools/list_changed within 30s of PostgreSQL coming up; stderr:\n%s", stderr.String())
	}
	if names := listToolNames(t, cs); !slices.Contains(names, "shop_query") || !slices.Contains(names, "notes_read") {
		t.Fatalf("tools after PostgreSQL came up = %v", names)
	}
	res := callTool(t, cs, "shop_query", map[string]any{"sql": "SELECT count(*) AS n FROM orders"})
	if res.IsError || !strings.Contains(resultText(res), "rows") {
		t.Fatalf("shop_query once PostgreSQL is up: %s", resultText(res))
	}

	cs.Close()
	cmd.Wait()
	log := stderr.String()
	const report = `warden: warden.yaml:4:3: resource "shop": `
	if n := strings.Count(log, `resource "shop": `); n != 1 || !strings.Contains(log, report) {
		t.Errorf("stderr reports shop's failure %d times, want once starting %q:\n%s", n, report, log)
	}
	if !strings.Contains(log, `resource "shop" is open now`) {
		t.Errorf("stderr does not say that shop opened:\n%s", log)
	}
	if pw := password(t, "postgres", db.ReaderDSN()); pw == "" || strings.Contains(log, pw) {
		t.Errorf("stderr holds the login's password:\n%s", log)
	}
}

func listToolNames(t *testing.T, cs *mcp.ClientSession) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
	}
	return names
}

func resultText(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// forward listens at addr and relays each connection to target, until the
// test ends.
func forward(t *testing.T, addr, target string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on %s (taken since?): %v", addr, err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, u)
			mu.Unlock()
			wg.Add(2)
			go func() { defer wg.Done(); io.Copy(u, c); u.(*net.TCPConn).CloseWrite() }()
			go func() { defer wg.Done(); io.Copy(c, u); c.(*net.TCPConn).CloseWrite() }()
		}
	}()
}

// lockedBuffer is a bytes.Buffer safe for the writer of a process's
// stderr and a reading test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
