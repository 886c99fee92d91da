package sqldb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/sqlscope"
	"github.com/warden-dev/warden/internal/sqltest"
)

// shopFile makes the corpus fixture (../shared/corpora/README.md, section
// 4) as a SQLite file alone in its directory.
func shopFile(t testing.TB) string {
	t.Helper()
	return sqltest.SQLiteFile(t, sqltest.CorpusFixture)
}

// fileState is the database file's hash and the names beside it: a write,
// a journal or an attached file all change it.
func fileState(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(filepath.Dir(p))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]) + " " + strings.Join(names, ",")
}

func openSQLite(t testing.TB, p string, lim Limits) *Connector {
	t.Helper()
	c, err := New(&core.ResourceSpec{Name: "shop", Kind: "sql", Config: &Config{Driver: "sqlite", DSN: core.NewSecret("", p), Limits: lim}}, core.Host{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func invoke(op string, args map[string]any) *core.Invocation {
	raw, _ := json.Marshal(args)
	return &core.Invocation{Op: op, Args: raw}
}

func targets(inv *core.Invocation) []string {
	if inv.Path == "" && len(inv.Paths) == 0 {
		return nil
	}
	return append([]string{inv.Path}, inv.Paths...)
}

func TestSQLitePrepareTargets(t *testing.T) {
	c := openSQLite(t, shopFile(t), Limits{})
	tests := []struct {
		sql  string
		want []string
	}{
		{"SELECT id, country FROM customers", []string{"customers.country", "customers.id", "customers."}},
		{"SELECT count(*) FROM secrets", []string{"secrets."}},
		{"SELECT 1", nil},
		{"SELECT * FROM orders WHERE total > 10", []string{"orders.created_at", "orders.customer_id", "orders.id", "orders.total", "orders."}},
		{"SELECT c.country, sum(o.total) FROM orders o JOIN customers c ON c.id = o.customer_id GROUP BY 1",
			[]string{"customers.country", "customers.id", "orders.customer_id", "orders.total", "customers.", "orders."}},
		{"SELECT id FROM customers WHERE email LIKE '%x%'", []string{"customers.email", "customers.id", "customers."}},
		{"WITH x AS (SELECT token FROM secrets) SELECT 1 FROM x", []string{"secrets.token", "secrets."}},
		{"PRAGMA table_info(customers)", []string{"customers.country", "customers.email", "customers.id", "customers.name", "customers."}},
		{"PRAGMA user_version", nil},
		{"WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 5) SELECT count(*) FROM n", nil},
		// rowid is the INTEGER PRIMARY KEY's other name.
		{"SELECT rowid FROM secrets", []string{"secrets.id", "secrets."}},
	}
	for _, tt := range tests {
		inv := invoke(OpQuery, map[string]any{"sql": tt.sql})
		if err := c.Prepare(context.Background(), inv); err != nil {
			t.Errorf("Prepare(%q): %v", tt.sql, err)
			continue
		}
		if got := targets(inv); !slices.Equal(got, tt.want) {
			t.Errorf("Prepare(%q) targets = %q, want %q", tt.sql, got, tt.want)
		}
	}
}

func TestSQLitePrepareRefuses(t *testing.T) {
	p := shopFile(t)
	c := openSQLite(t, p, Limits{})
	before := fileState(t, p)
	for _, q := range []string{
		"PRAGMA query_only = 0",
		"PRAGMA query_only(0)",
		"PRAGMA writable_schema = 1",
		"PRAGMA temp.table_info(orders)",
		"PRAGMA table_info(sqlite_schema)",
		"PRAGMA index_info(orders)",
		"SELECT * FROM pragma_table_info('secrets')",
		"ATTACH DATABASE '" + filepath.Join(filepath.Dir(p), "x.db") + "' AS x",
		"SELECT 1; SELECT 2",
		"SELECT 1; DELETE FROM orders",
		"SELECT load_extension('x')",
		"SELECT name FROM sqlite_schema",
		"SELECT count(*) FROM sqlite_schema",
		"SELECT count(*) FROM sqlite_master",
		"SELECT * FROM temp.orders",
		"DELETE FROM orders",
		"INSERT INTO orders(id) VALUES (5000)",
		"BEGIN",
		"CREATE TABLE t(x)",
		"VACUUM INTO '" + filepath.Join(filepath.Dir(p), "copy.db") + "'",
		"SELECT nosuch FROM orders",
		"",
		"  -- only a comment",
	} {
		inv := invoke(OpQuery, map[string]any{"sql": q})
		err := c.Prepare(context.Background(), inv)
		if err == nil {
			t.Errorf("Prepare(%q) = nil, want a refusal", q)
			continue
		}
		if k := core.KindOf(err); k != core.KindDenied && k != core.KindInvalid {
			t.Errorf("Prepare(%q) kind = %v (%v), want denied or invalid", q, k, err)
		}
	}
	if after := fileState(t, p); after != before {
		t.Errorf("refused statements changed the database directory: %s → %s", before, after)
	}
}

func run(t *testing.T, c *Connector, op string, args map[string]any, opts core.GrantOptions) (*core.Result, error) {
	t.Helper()
	inv := invoke(op, args)
	if err := c.Prepare(context.Background(), inv); err != nil {
		return nil, err
	}
	inv.Options = opts
	return c.Execute(context.Background(), inv, core.ScopeFunc(func(string) bool { return true }))
}

func TestSQLiteQuery(t *testing.T) {
	c := openSQLite(t, shopFile(t), Limits{MaxRows: 5})
	res, err := run(t, c, OpQuery, map[string]any{"sql": "SELECT orders.id, country, total FROM orders JOIN customers ON customers.id = orders.customer_id WHERE orders.id <= ? ORDER BY orders.id", "params": []any{3}}, core.GrantOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(res.Value)
	// Order n belongs to customer 1 + n%100; customer n's country is
	// FR, US, NULL, DE for n%4 = 1, 2, 3, 0; the total is n%250 + 0.99.
	want := `{"columns":["id","country","total"],"rows":[[1,"US",1.99],[2,null,2.99],[3,"DE",3.99]],"truncated":false}`
	if string(got) != want {
		t.Errorf("result = %s\nwant     %s", got, want)
	}
	res, err = run(t, c, OpQuery, map[string]any{"sql": "SELECT id FROM orders"}, core.GrantOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tb := res.Value.(*table); len(tb.Rows) != 5 || !tb.Truncated || tb.Why != "max_rows" || !res.Truncated {
		t.Errorf("limit 5: %d rows, truncated %v (%s)", len(tb.Rows), tb.Truncated, tb.Why)
	}
	res, err = run(t, c, OpQuery, map[string]any{"sql": "SELECT id FROM orders"}, core.GrantOptions{}.WithCap(OptMaxRows, 2))
	if err != nil {
		t.Fatal(err)
	}
	if tb := res.Value.(*table); len(tb.Rows) != 2 || !tb.Truncated {
		t.Errorf("grant max_rows 2: %d rows, truncated %v", len(tb.Rows), tb.Truncated)
	}
	if _, err := run(t, c, OpQuery, map[string]any{"sql": "SELECT ?", "params": []any{1, 2}}, core.GrantOptions{}); err == nil {
		t.Error("two params for one placeholder: no error")
	}
}

// TestSQLiteAuthorizerAlone runs statements past a broken analysis: the
// authorizer, enforcing what the policy allowed, still stops them.
func TestSQLiteAuthorizerAlone(t *testing.T) {
	p := shopFile(t)
	c := openSQLite(t, p, Limits{})
	d := c.db.(*sqliteDB)
	s, _, _ := c.schema(context.Background(), false)
	allowed := &sqlscope.Analysis{Kind: sqlscope.Select, Reads: []sqlscope.Ref{{Table: "customers", Column: "id"}}, Tables: []string{"customers"}}
	for _, q := range []string{
		"SELECT name FROM customers",
		"SELECT token FROM secrets",
		"SELECT id FROM customers WHERE email = 'x'",
		"SELECT load_extension('/tmp/x')",
	} {
		_, err := d.query(context.Background(), &statement{sql: q, analysis: allowed, schema: s}, c.limits)
		var r *sqlscope.Refusal
		if !errors.As(err, &r) {
			t.Errorf("query(%q) past the analysis: err = %v, want a refusal by the authorizer", q, err)
		}
	}
}

// TestSQLiteReadOnlyAlone runs writes on the query path with an analysis
// and authorizer that allow them: the read-only connection stops them.
func TestSQLiteReadOnlyAlone(t *testing.T) {
	p := shopFile(t)
	c := openSQLite(t, p, Limits{})
	d := c.db.(*sqliteDB)
	s, _, _ := c.schema(context.Background(), false)
	before := fileState(t, p)
	for _, q := range []string{"DELETE FROM orders", "UPDATE orders SET total = 0", "INSERT INTO secrets VALUES (99, 'x')"} {
		var refs []sqlscope.Ref
		for _, tb := range s.Tables {
			refs = append(refs, tb.All()...)
		}
		an := &sqlscope.Analysis{Kind: sqlscope.Select, Reads: refs, Writes: refs}
		if _, err := d.query(context.Background(), &statement{sql: q, analysis: an, schema: s}, c.limits); err == nil {
			t.Errorf("query(%q) with everything allowed: no error", q)
		}
	}
	if after := fileState(t, p); after != before {
		t.Errorf("writes on the read-only path changed the database: %s → %s", before, after)
	}
}

func TestSQLiteExecute(t *testing.T) {
	p := shopFile(t)
	c := openSQLite(t, p, Limits{})
	before := fileState(t, p)
	res, err := run(t, c, OpExecute, map[string]any{"sql": "UPDATE orders SET total = total + 1 WHERE customer_id = ?", "params": []any{7}, "dry_run": true}, core.GrantOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r := res.Value.(executeResult); r.RowsAffected != 10 || !r.DryRun || r.Committed {
		t.Errorf("dry run = %+v, want 10 rows, not committed", r)
	}
	if after := fileState(t, p); after != before {
		t.Errorf("a dry run changed the database")
	}
	inv := invoke(OpExecute, map[string]any{"sql": "UPDATE orders SET total = 0 WHERE id = 1"})
	if err := c.Prepare(context.Background(), inv); err != nil {
		t.Fatal(err)
	}
	if got := targets(inv); !slices.Equal(got, []string{"orders.id", "orders.total", "orders."}) {
		t.Errorf("update targets = %q", got)
	}
	// SQLite names only the table of an INSERT: it needs every column.
	ins := invoke(OpExecute, map[string]any{"sql": "INSERT INTO orders(id, total) VALUES (5001, 2) ON CONFLICT(id) DO UPDATE SET total = excluded.total"})
	if err := c.Prepare(context.Background(), ins); err != nil {
		t.Fatal(err)
	}
	if got := targets(ins); !slices.Equal(got, []string{"orders.created_at", "orders.customer_id", "orders.id", "orders.total", "orders."}) {
		t.Errorf("upsert targets = %q", got)
	}
	preview, err := c.Preview(context.Background(), inv)
	if err != nil || !strings.Contains(preview, "changed 1 rows") {
		t.Errorf("Preview = %q, %v", preview, err)
	}
	if _, err := c.Execute(context.Background(), inv, nil); err != nil {
		t.Fatal(err)
	}
	res, err = run(t, c, OpQuery, map[string]any{"sql": "SELECT total FROM orders WHERE id = 1"}, core.GrantOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := json.Marshal(res.Value.(*table).Rows); string(got) != "[[0]]" {
		t.Errorf("after the update: %s", got)
	}
	if _, err := run(t, c, OpExecute, map[string]any{"sql": "SELECT 1"}, core.GrantOptions{}); err == nil {
		t.Error("execute of a SELECT: no error")
	}
}

func TestSQLiteSchemaTool(t *testing.T) {
	c := openSQLite(t, shopFile(t), Limits{})
	inv := invoke(OpSchema, map[string]any{})
	if err := c.Prepare(context.Background(), inv); err != nil {
		t.Fatal(err)
	}
	visible := map[string]bool{"customers.": true, "customers.id": true, "customers.country": true, "orders.": true, "orders.id": true}
	res, err := c.Execute(context.Background(), inv, core.ScopeFunc(func(p string) bool { return visible[p] }))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(res.Value)
	want := `{"tables":[{"name":"customers","columns":[{"name":"id","type":"INTEGER"},{"name":"country","type":"TEXT"}]},{"name":"orders","columns":[{"name":"id","type":"INTEGER"}]}]}`
	if string(got) != want {
		t.Errorf("schema = %s\nwant      %s", got, want)
	}
}

// TestSQLiteSlowQueryDoesNotBlock: a long query holds one pooled
// connection; another query returns while it runs, and the long one is
// stopped at the time limit.
func TestSQLiteSlowQueryDoesNotBlock(t *testing.T) {
	c := openSQLite(t, shopFile(t), Limits{Timeout: 3 * time.Second})
	s, _, _ := c.schema(context.Background(), false)
	all := &sqlscope.Analysis{Kind: sqlscope.Select}
	for _, tb := range s.Tables {
		all.Reads = append(all.Reads, tb.All()...)
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.db.query(context.Background(), &statement{sql: "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n", analysis: all, schema: s}, c.limits)
		done <- err
	}()
	time.Sleep(200 * time.Millisecond)
	if _, err := c.db.query(context.Background(), &statement{sql: "SELECT count(*) FROM orders", analysis: all, schema: s}, c.limits); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		t.Fatalf("the endless query ended (%v) before the short one returned", err)
	default:
	}
	if err := <-done; !errors.Is(err, errTimeout) {
		t.Errorf("endless query: err = %v, want the time limit", err)
	}
}
