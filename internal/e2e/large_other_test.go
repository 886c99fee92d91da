package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/warden-dev/warden/internal/sqltest"
)

// TestLargeResults_httpAndSQL: a 1 MiB HTTP body and a 1 MB query result
// arrive over MCP whole, byte for byte, as a read does (TestLargeResults).
func TestLargeResults_httpAndSQL(t *testing.T) {
	body := largeText(1 << 20)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/big" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, body)
	}))
	defer upstream.Close()
	const rows = 4000
	db := sqltest.SQLiteFile(t, sqltest.Fixture{SQLite: fmt.Sprintf(`CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < %d)
INSERT INTO t SELECT i, printf('%%0250d', i) FROM c`, rows)})

	base := t.TempDir()
	writePolicy(t, base, fmt.Sprintf(`version: 1
resources:
  api:
    kind: http
    base_url: %s/v1/
    allow_private: [127.0.0.1/32]
    limits: {max_response_bytes: 2MiB}
  shop:
    kind: sql
    driver: sqlite
    dsn: %s
    limits: {max_rows: 10000, max_result_bytes: 2MiB}
agents:
  assistant:
    grants:
      - resource: api
        actions: [GET]
        paths: ["/v1/**"]
      - resource: shop
        actions: [query]
        tables: {t: "*"}
`, upstream.URL, db))
	cs := connectStdio(t, base, nil, nil)

	res := callTool(t, cs, "api_request", map[string]any{"method": "GET", "path": "big"})
	if res.IsError || len(res.Content) != 2 {
		t.Fatalf("http: error %v, %d blocks (%s): want the body and its metadata", res.IsError, len(res.Content), firstText(res))
	}
	if got := firstText(res); got != body {
		t.Fatalf("http: the body arrived as %d bytes, want the %d sent unchanged", len(got), len(body))
	}

	res = callTool(t, cs, "shop_query", map[string]any{"sql": "SELECT id, s FROM t ORDER BY id"})
	if res.IsError || len(res.Content) != 1 {
		t.Fatalf("sql: error %v, %d blocks: %.300s", res.IsError, len(res.Content), firstText(res))
	}
	var got struct {
		Rows      [][]any
		Truncated bool
	}
	if err := json.Unmarshal([]byte(firstText(res)), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Rows) != rows || got.Truncated {
		t.Fatalf("sql: %d rows (truncated %v), want %d", len(got.Rows), got.Truncated, rows)
	}
	last := got.Rows[rows-1]
	if want := fmt.Sprintf("%0250d", rows); len(last) != 2 || last[1] != want {
		t.Fatalf("sql: last row %v, want [%d %s]", last, rows, want)
	}
}
