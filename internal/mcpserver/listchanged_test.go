package mcpserver

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/ncruces/go-sqlite3"

	"github.com/warden-dev/warden/internal/engine"
	"github.com/warden-dev/warden/internal/policy"
)

// TestToolListChanged: a SQLite file missing when the server starts. The
// connected client lists only the other resource's tools; once the file
// exists and the engine opens it, the client receives
// notifications/tools/list_changed, lists the new tool, and calls it.
func TestToolListChanged(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "notes"), 0o755); err != nil {
		t.Fatal(err)
	}
	p, err := policy.Compile([]byte(`version: 1
resources:
  notes: {kind: fs, root: ./notes}
  shop: {kind: sql, driver: sqlite, dsn: ./shop.db}
agents:
  bot:
    grants:
      - {resource: notes, actions: [read]}
      - {resource: shop, actions: [query], tables: {orders: "*"}}
`), policy.WithBaseDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(context.Background(), p, engine.Options{NoState: true, Retry: engine.Backoff{First: 5 * time.Millisecond, Max: 20 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	srv := NewServer(e, "bot", Options{})

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	changed := make(chan struct{}, 8)
	client := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "v0"}, &mcp.ClientOptions{
		ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) { changed <- struct{}{} },
	})
	ct, st := mcp.NewInMemoryTransports()
	ss, err := srv.Connect(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ss.Close()
	cs, err := client.Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	if caps := cs.InitializeResult().Capabilities; caps.Tools == nil || !caps.Tools.ListChanged {
		t.Fatalf("tools capability = %+v, want listChanged", caps.Tools)
	}
	names := func() []string {
		res, err := cs.ListTools(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, tool := range res.Tools {
			out = append(out, tool.Name)
		}
		return out
	}
	if got := names(); slices.Contains(got, "shop_query") || !slices.Contains(got, "notes_read") {
		t.Fatalf("tools before the database exists = %v", got)
	}

	tmp := filepath.Join(dir, "shop.tmp")
	db, err := sqlite3.Open(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Exec("CREATE TABLE orders (id INTEGER PRIMARY KEY); INSERT INTO orders VALUES (42)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := os.Rename(tmp, filepath.Join(dir, "shop.db")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	case <-ctx.Done():
		t.Fatal("no notifications/tools/list_changed after the database appeared")
	}
	if got := names(); !slices.Contains(got, "shop_query") || !slices.Contains(got, "notes_read") {
		t.Fatalf("tools after the database appeared = %v", got)
	}
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "shop_query", Arguments: map[string]any{"sql": "SELECT id FROM orders"}})
	if err != nil || res.IsError {
		t.Fatalf("shop_query = %v, %v", res, err)
	}
	if text := res.Content[0].(*mcp.TextContent).Text; !strings.Contains(text, "42") {
		t.Errorf("shop_query answered %s, want the row 42", text)
	}
}
