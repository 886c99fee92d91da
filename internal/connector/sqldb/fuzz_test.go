package sqldb

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/sqlscope"
)

// FuzzSQLiteAnalyze feeds statements to the SQLite analysis (the
// authorizer): it never panics, and whatever it accepts as a query runs
// on the read-only path without changing the database file or adding one
// beside it.
func FuzzSQLiteAnalyze(f *testing.F) {
	for _, s := range []string{
		"SELECT id, country FROM customers",
		"SELECT count(*) FROM secrets",
		"WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 5) SELECT count(*) FROM n",
		"PRAGMA table_info(orders)",
		"PRAGMA user_version",
		"SELECT json_extract('{\"a\":1}', '$.a')",
		"UPDATE orders SET total = 0",
		"INSERT INTO orders(id) VALUES (1) ON CONFLICT(id) DO UPDATE SET total = 1",
		"ATTACH 'x.db' AS x",
		"SELECT 1; DELETE FROM orders",
		"SELECT * FROM orders o JOIN customers c ON c.id = o.customer_id WHERE c.email LIKE '%x'",
		// DDL is never a query.
		"CREATE TABLE scratch (id INTEGER PRIMARY KEY)",
		"DROP TABLE orders",
		"ALTER TABLE orders RENAME TO o2",
		"CREATE INDEX i ON orders (total)",
	} {
		f.Add(s)
	}
	p := shopFile(f)
	c := openSQLite(f, p, Limits{Timeout: time.Second, MaxRows: 10})
	before := fileState(f, p)
	f.Fuzz(func(t *testing.T, sql string) {
		args, _ := json.Marshal(map[string]any{"sql": sql})
		inv := &core.Invocation{Op: OpQuery, Args: args}
		if err := c.Prepare(context.Background(), inv); err != nil {
			return
		}
		st := inv.State.(*prepared).st
		if !st.analysis.Kind.ReadOnly() || len(st.analysis.Writes) > 0 {
			t.Fatalf("%q: accepted for query as %v with writes %v", sql, st.analysis.Kind, st.analysis.Writes)
		}
		_, _ = c.Execute(context.Background(), inv, nil)
		if after := fileState(t, p); after != before {
			t.Fatalf("%q: the database changed: %s → %s", sql, before, after)
		}
	})
}

// FuzzSQLiteDDL feeds statements to the ddl tool: whatever it accepts is
// DDL that writes whole tables only, and its dry run leaves the database
// file and its directory as they were.
func FuzzSQLiteDDL(f *testing.F) {
	for _, s := range []string{
		"CREATE TABLE scratch (id INTEGER PRIMARY KEY, note TEXT DEFAULT 'x' CHECK (length(note) < 9), c INT REFERENCES customers (id))",
		"ALTER TABLE orders ADD COLUMN note TEXT NOT NULL DEFAULT '' CHECK (note <> 'x')",
		"ALTER TABLE orders RENAME TO archive",
		"ALTER TABLE orders RENAME COLUMN total TO amount",
		"ALTER TABLE orders DROP COLUMN total",
		"CREATE UNIQUE INDEX i ON orders (id, lower(created_at)) WHERE total > 0",
		"DROP TABLE secrets",
		"CREATE TABLE s AS SELECT * FROM secrets",
		"CREATE TEMP TABLE s (a)",
		"CREATE VIEW v AS SELECT 1",
	} {
		f.Add(s)
	}
	p := shopFile(f)
	c := openSQLite(f, p, Limits{Timeout: time.Second})
	before := fileState(f, p)
	f.Fuzz(func(t *testing.T, sql string) {
		args, _ := json.Marshal(map[string]any{"sql": sql, "dry_run": true})
		inv := &core.Invocation{Op: OpDDL, Args: args}
		if err := c.Prepare(context.Background(), inv); err != nil {
			return
		}
		an := inv.State.(*prepared).st.analysis
		if an.Kind != sqlscope.DDL || len(an.Writes) == 0 {
			t.Fatalf("%q: accepted for ddl as %v with writes %v", sql, an.Kind, an.Writes)
		}
		for _, w := range an.Writes {
			if w.Column != sqlscope.AllColumns {
				t.Fatalf("%q: DDL write %v", sql, w)
			}
		}
		_, _ = c.Execute(context.Background(), inv, nil)
		if after := fileState(t, p); after != before {
			t.Fatalf("%q: a dry run changed the database: %s → %s", sql, before, after)
		}
	})
}
