package sqldb

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/ncruces/go-sqlite3"

	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/sqlscope"
)

// ddlWant is an expected DDL analysis: the tables changed (each written
// as t.*), the columns read as "table.column", and the tables named.
type ddlWant struct {
	changed, reads, tables []string
}

func (w ddlWant) analysis() *sqlscope.Analysis {
	an := &sqlscope.Analysis{Kind: sqlscope.DDL, Tables: w.tables}
	for _, t := range w.changed {
		an.Writes = append(an.Writes, sqlscope.AllOf(t))
	}
	for _, r := range w.reads {
		t, c, _ := strings.Cut(r, ".")
		an.Reads = append(an.Reads, sqlscope.Ref{Table: t, Column: c})
	}
	an.Reads, an.Writes = sqlscope.Normalize(an.Reads), sqlscope.Normalize(an.Writes)
	return an
}

// prepareDDL analyses a statement for the ddl tool.
func prepareDDL(c *Connector, sql string, dryRun bool) (*core.Invocation, error) {
	inv := invoke(OpDDL, map[string]any{"sql": sql, "dry_run": dryRun})
	return inv, c.Prepare(context.Background(), inv)
}

// shopFileWithExtras is the fixture with an index, a view and a trigger
// on orders.
func shopFileWithExtras(t *testing.T) string {
	p := shopFile(t)
	c, err := sqlite3.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Exec("CREATE INDEX orders_customer ON orders (customer_id); CREATE VIEW big_orders AS SELECT id FROM orders WHERE total > 100; CREATE TRIGGER orders_touch AFTER UPDATE ON orders BEGIN SELECT 1; END"); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSQLiteDDLAnalysis(t *testing.T) {
	p := shopFileWithExtras(t)
	c := openSQLite(t, p, Limits{})
	tests := []struct {
		sql  string
		want ddlWant
		// dryRun is what the dry run's error says, "" for none: the view
		// on orders refuses changes to the columns it uses.
		dryRun string
	}{
		{"CREATE TABLE scratch (id INTEGER PRIMARY KEY, note TEXT NOT NULL DEFAULT 'x', n INT CHECK (n > 0 AND length(note) < 50), UNIQUE (note, n))",
			ddlWant{changed: []string{"scratch"}, tables: []string{"scratch"}}, ""},
		{"CREATE TABLE IF NOT EXISTS scratch (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT DEFAULT CURRENT_TIMESTAMP)",
			ddlWant{changed: []string{"scratch"}, tables: []string{"scratch"}}, ""},
		{"CREATE TABLE scratch (id INT, customer INT REFERENCES \"customers\" (id) ON DELETE CASCADE, FOREIGN KEY (id) REFERENCES orders (ID))",
			ddlWant{changed: []string{"scratch"}, reads: []string{"customers.id", "orders.id"}, tables: []string{"customers", "orders", "scratch"}}, ""},
		{"CREATE TABLE tree (id INTEGER PRIMARY KEY, parent INT REFERENCES tree (id))",
			ddlWant{changed: []string{"tree"}, tables: []string{"tree"}}, ""},
		{"CREATE TABLE IF NOT EXISTS Orders (id INT)",
			ddlWant{changed: []string{"orders"}, tables: []string{"orders"}}, ""},
		{"ALTER TABLE orders ADD COLUMN note TEXT DEFAULT 'x'",
			ddlWant{changed: []string{"orders"}, tables: []string{"orders"}}, ""},
		{"ALTER TABLE orders ADD COLUMN z INT NOT NULL DEFAULT 0 CHECK (z >= 0)",
			ddlWant{changed: []string{"orders"}, tables: []string{"orders"}}, ""},
		{"ALTER TABLE orders ADD COLUMN c INT REFERENCES customers (id)",
			ddlWant{changed: []string{"orders"}, reads: []string{"customers.id"}, tables: []string{"customers", "orders"}}, ""},
		{"ALTER TABLE main.orders RENAME TO \"archive\" -- renamed",
			ddlWant{changed: []string{"archive", "orders"}, tables: []string{"archive", "orders"}}, `would also change "big_orders"`},
		{"ALTER TABLE orders RENAME COLUMN total TO amount",
			ddlWant{changed: []string{"orders"}, tables: []string{"orders"}}, `would also change "big_orders"`},
		{"ALTER TABLE orders RENAME COLUMN customer_id TO customer",
			ddlWant{changed: []string{"orders"}, tables: []string{"orders"}}, ""},
		{"ALTER TABLE orders DROP COLUMN total",
			ddlWant{changed: []string{"orders"}, tables: []string{"orders"}}, "error in view big_orders"},
		{"ALTER TABLE orders DROP COLUMN created_at",
			ddlWant{changed: []string{"orders"}, tables: []string{"orders"}}, ""},
		{"DROP TABLE secrets", ddlWant{changed: []string{"secrets"}, tables: []string{"secrets"}}, ""},
		// With its index and trigger; the view that names it stays.
		{"DROP TABLE orders", ddlWant{changed: []string{"orders"}, tables: []string{"orders"}}, ""},
		{"CREATE UNIQUE INDEX IF NOT EXISTS orders_total ON orders (customer_id, lower(created_at)) WHERE total > 0",
			ddlWant{changed: []string{"orders"}, tables: []string{"orders"}}, ""},
		{"CREATE UNIQUE INDEX orders_total ON orders (customer_id)",
			ddlWant{changed: []string{"orders"}, tables: []string{"orders"}}, "UNIQUE constraint failed"},
		{"DROP INDEX orders_customer", ddlWant{changed: []string{"orders"}, tables: []string{"orders"}}, ""},
	}
	for _, tt := range tests {
		inv, err := prepareDDL(c, tt.sql, false)
		if err != nil {
			t.Errorf("Prepare(%q): %v", tt.sql, err)
			continue
		}
		got := inv.State.(*prepared).st.analysis
		if diff := cmp.Diff(tt.want.analysis(), got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("Prepare(%q) analysis (-want +got):\n%s", tt.sql, diff)
		}
		// Each runs as a dry run, which leaves the file as it was.
		before := fileState(t, p)
		inv, err = prepareDDL(c, tt.sql, true)
		if err == nil {
			_, err = c.Execute(context.Background(), inv, nil)
		}
		if (err == nil) != (tt.dryRun == "") || err != nil && !strings.Contains(err.Error(), tt.dryRun) {
			t.Errorf("dry run of %q: %v, want %q", tt.sql, err, tt.dryRun)
		}
		if after := fileState(t, p); after != before {
			t.Errorf("dry run of %q changed the database", tt.sql)
		}
	}
}

func TestSQLiteDDLRefuses(t *testing.T) {
	p := shopFileWithExtras(t)
	c := openSQLite(t, p, Limits{})
	before := fileState(t, p)
	for _, q := range []string{
		"CREATE TABLE s AS SELECT id FROM orders",
		"CREATE TABLE s AS SELECT 1 AS x",
		"CREATE TEMP TABLE s (x)",
		"CREATE TEMPORARY TABLE s (x)",
		"CREATE TABLE temp.s (x)",
		"CREATE VIEW v AS SELECT 1",
		"DROP VIEW big_orders",
		"DROP TRIGGER orders_touch",
		"CREATE TRIGGER tr AFTER INSERT ON orders BEGIN DELETE FROM customers; END",
		"CREATE VIRTUAL TABLE s USING fts5(x)",
		"CREATE TABLE s (a INT DEFAULT (load_extension('x')))",
		"CREATE TABLE s (a INT CHECK (a IN (SELECT id FROM secrets)))",
		"CREATE TABLE s (a INT REFERENCES customers)",
		"CREATE TABLE s (a INT REFERENCES nosuch (id))",
		"CREATE TABLE s (a INT REFERENCES customers (nosuch))",
		"CREATE TABLE sqlite_x (a INT)",
		"ALTER TABLE nosuch ADD COLUMN a INT",
		"ALTER TABLE orders RENAME TO sqlite_x",
		"DROP TABLE IF EXISTS nosuch",
		"DROP TABLE sqlite_master",
		"ANALYZE",
		"REINDEX orders",
		"VACUUM",
		"PRAGMA writable_schema = 1",
		"ATTACH DATABASE '" + filepath.Join(filepath.Dir(p), "x.db") + "' AS x",
		"CREATE TABLE s (a INT); DROP TABLE orders",
		"BEGIN",
		"SELECT 1",
		"DELETE FROM orders",
	} {
		if _, err := prepareDDL(c, q, false); err == nil {
			t.Errorf("Prepare(%q) for ddl = nil, want a refusal", q)
		} else if k := core.KindOf(err); k != core.KindDenied && k != core.KindInvalid {
			t.Errorf("Prepare(%q) kind = %v (%v), want denied or invalid", q, k, err)
		}
	}
	// The other tools refuse DDL; the ddl tool names them.
	for op, want := range map[string]string{OpQuery: "runs only SELECT", OpExecute: "goes through shop_ddl"} {
		err := c.Prepare(context.Background(), invoke(op, map[string]any{"sql": "CREATE TABLE scratch (a INT)"}))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s of CREATE TABLE: %v, want %q", op, err, want)
		}
	}
	if _, err := prepareDDL(c, "UPDATE orders SET total = 0", false); err == nil || !strings.Contains(err.Error(), "shop_execute for INSERT") {
		t.Errorf("ddl of UPDATE: %v", err)
	}
	if err := c.Prepare(context.Background(), invoke(OpDDL, map[string]any{"sql": "CREATE TABLE s (a INT DEFAULT ?)", "params": []any{1}})); err == nil {
		t.Error("ddl with params: no error")
	}
	if after := fileState(t, p); after != before {
		t.Errorf("refused statements changed the database directory: %s → %s", before, after)
	}
}

// TestSQLiteDDL creates, changes and drops a table through the ddl tool:
// dry runs leave the file as it was, and each committed change is seen
// by the next statement at once.
func TestSQLiteDDL(t *testing.T) {
	p := shopFile(t)
	c := openSQLite(t, p, Limits{})
	exec := func(sql string, dryRun bool) error {
		t.Helper()
		inv, err := prepareDDL(c, sql, dryRun)
		if err != nil {
			return err
		}
		res, err := c.Execute(context.Background(), inv, nil)
		if err != nil {
			return err
		}
		if got, _ := json.Marshal(res.Value); string(got) != `{"done":true,"dry_run":`+map[bool]string{true: "true", false: "false"}[dryRun]+`}` {
			t.Errorf("%q: result %s", sql, got)
		}
		return nil
	}
	must := func(sql string, dryRun bool) {
		t.Helper()
		if err := exec(sql, dryRun); err != nil {
			t.Fatalf("%q: %v", sql, err)
		}
	}
	before := fileState(t, p)
	create := "CREATE TABLE scratch (id INTEGER PRIMARY KEY AUTOINCREMENT, note TEXT NOT NULL DEFAULT 'x', customer INT REFERENCES customers (id))"
	must(create, true)
	inv, err := prepareDDL(c, create, false)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.Preview(context.Background(), inv); err != nil || got != "a dry run (rolled back) succeeded" {
		t.Errorf("Preview = %q, %v", got, err)
	}
	if after := fileState(t, p); after != before {
		t.Fatalf("a dry run changed the database: %s → %s", before, after)
	}
	must(create, false)
	if fileState(t, p) == before {
		t.Fatal("CREATE TABLE did not change the database")
	}
	// The schema was read again at once, not after schemaMaxAge.
	if _, err := run(t, c, OpQuery, map[string]any{"sql": "SELECT id, note FROM scratch"}, core.GrantOptions{}); err != nil {
		t.Fatalf("query of the new table: %v", err)
	}
	for _, q := range []string{
		"ALTER TABLE scratch ADD COLUMN n INT NOT NULL DEFAULT 0 CHECK (n >= 0)",
		"CREATE INDEX scratch_n ON scratch (n)",
		"ALTER TABLE scratch RENAME COLUMN note TO body",
	} {
		mid := fileState(t, p)
		must(q, true)
		if fileState(t, p) != mid {
			t.Fatalf("%q: the dry run changed the database", q)
		}
		must(q, false)
	}
	if _, err := run(t, c, OpQuery, map[string]any{"sql": "SELECT body, n FROM scratch"}, core.GrantOptions{}); err != nil {
		t.Fatalf("query after ALTER: %v", err)
	}
	must("ALTER TABLE scratch RENAME TO scratch2", false)
	must("DROP INDEX scratch_n", false)
	must("DROP TABLE scratch2", false)
	if _, err := run(t, c, OpQuery, map[string]any{"sql": "SELECT 1 FROM scratch2"}, core.GrantOptions{}); err == nil {
		t.Error("the dropped table can still be queried")
	}
	// A failing statement changes nothing and reports SQLite's reason.
	mid := fileState(t, p)
	if err := exec("CREATE TABLE orders (id INT)", false); err == nil {
		t.Error("CREATE TABLE of an existing table: no error")
	}
	if fileState(t, p) != mid {
		t.Error("a failed statement changed the database")
	}
}

// TestSQLiteDDLEnforcementAlone runs DDL past a broken analysis: the
// authorizer, enforcing the tables the policy allowed, and the check of
// SQLite's schema before COMMIT still stop what the policy did not allow,
// and the file is unchanged.
func TestSQLiteDDLEnforcementAlone(t *testing.T) {
	p := shopFileWithExtras(t)
	c := openSQLite(t, p, Limits{})
	d := c.db.(*sqliteDB)
	s, _, _ := c.schema(context.Background(), false)
	only := func(tables ...string) *sqlscope.Analysis {
		return ddlWant{changed: tables, tables: tables}.analysis()
	}
	before := fileState(t, p)
	for _, tt := range []struct {
		sql     string
		allowed *sqlscope.Analysis
		want    string
	}{
		{"DROP TABLE orders", only("scratch"), "not allowed"},
		{"ALTER TABLE orders ADD COLUMN x INT", only("customers"), "not allowed"},
		{"CREATE INDEX i ON secrets (token)", only("orders"), "not allowed"},
		{"CREATE TABLE s AS SELECT token FROM secrets", only("s"), "not allowed"},
		{"CREATE TEMP TABLE s (a INT)", only("s"), "temporary"},
		// What the authorizer does not report: the new name of a rename,
		// a foreign key, a view that a rename rewrites.
		{"ALTER TABLE customers RENAME TO people", only("customers"), `change "people"`},
		{"CREATE TABLE s (a INT REFERENCES secrets (token))", only("s"), `foreign key to "secrets"`},
		{"ALTER TABLE customers ADD COLUMN o INT REFERENCES orders (id)", only("customers"), `foreign key to "orders"`},
		{"ALTER TABLE orders RENAME TO archive", only("orders", "archive"), `change "big_orders"`},
	} {
		err := d.ddl(context.Background(), &statement{sql: tt.sql, analysis: tt.allowed, schema: s}, false, c.limits)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ddl(%q) allowing %v: %v, want an error with %q", tt.sql, tt.allowed.Writes, err, tt.want)
		}
	}
	if after := fileState(t, p); after != before {
		t.Errorf("DDL past the analysis changed the database: %s → %s", before, after)
	}
	// With what it really does allowed, the same kind of statement runs.
	if err := d.ddl(context.Background(), &statement{sql: "CREATE TABLE s (a INT REFERENCES secrets (token))", analysis: ddlWant{changed: []string{"s"}, reads: []string{"secrets.token"}, tables: []string{"s", "secrets"}}.analysis(), schema: s}, true, c.limits); err != nil {
		t.Errorf("allowed foreign key: %v", err)
	}
}

func TestSQLiteTokens(t *testing.T) {
	toks, err := sqliteTokens("ALTER TABLE \"a \"\"b\" /* c */ RENAME -- x\n TO [new name];")
	if err != nil {
		t.Fatal(err)
	}
	if name, err := renameTarget(toks); err != nil || name != "new name" {
		t.Errorf("renameTarget = %q, %v", name, err)
	}
	for _, q := range []string{"ALTER TABLE a RENAME COLUMN b TO c", "ALTER TABLE a RENAME TO b extra", "ALTER TABLE a RENAME TO"} {
		toks, _ := sqliteTokens(q)
		if _, err := renameTarget(toks); err == nil {
			t.Errorf("renameTarget(%q): no error", q)
		}
	}
	toks, _ = sqliteTokens("CREATE TABLE t (a INT REFERENCES `x y`(\"A\", b), c TEXT DEFAULT 'references z', \"references\" INT, FOREIGN KEY (a) REFERENCES 'q' (r))")
	fks, err := sqliteReferences(toks)
	if err != nil {
		t.Fatal(err)
	}
	want := []sqliteFK{{table: "x y", columns: []string{"A", "b"}}, {table: "q", columns: []string{"r"}}}
	if !slices.EqualFunc(fks, want, func(a, b sqliteFK) bool { return a.table == b.table && slices.Equal(a.columns, b.columns) }) {
		t.Errorf("sqliteReferences = %+v, want %+v", fks, want)
	}
	for _, q := range []string{"CREATE TABLE t (a INT REFERENCES x)", "CREATE TABLE t (a INT REFERENCES x ON DELETE CASCADE)", "CREATE TABLE t (a REFERENCES x (a b))", "CREATE TABLE t (a 'unterminated)"} {
		toks, err := sqliteTokens(q)
		if err == nil {
			_, err = sqliteReferences(toks)
		}
		var r *sqlscope.Refusal
		if !errors.As(err, &r) {
			t.Errorf("%q: %v, want a refusal", q, err)
		}
	}
}
