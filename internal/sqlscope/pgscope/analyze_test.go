package pgscope

import (
	"errors"
	"strings"
	"testing"

	"github.com/warden-dev/warden/internal/sqlscope"
)

// refs formats refs as "table.col table.col" for comparison.
func refs(rs []sqlscope.Ref) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = r.String()
	}
	return strings.Join(s, " ")
}

const (
	allCustomers = "customers.country customers.email customers.id customers.name"
	allOrders    = "orders.created_at orders.customer_id orders.id orders.total"
)

type accepted struct {
	sql    string
	kind   sqlscope.Kind
	reads  string
	writes string
	tables string
}

var acceptedCases = []accepted{
	// Joins.
	{sql: "SELECT o.id, c.country FROM orders o JOIN customers c ON c.id = o.customer_id", kind: sqlscope.Select,
		reads: "customers.country customers.id orders.customer_id orders.id", tables: "customers orders"},
	{sql: "SELECT id FROM customers JOIN orders USING (id)", kind: sqlscope.Select,
		reads: "customers.id orders.id", tables: "customers orders"},
	{sql: "SELECT country FROM customers LEFT JOIN orders USING (id)", kind: sqlscope.Select,
		reads: "customers.country customers.id orders.id", tables: "customers orders"},
	{sql: "SELECT count(*) FROM customers NATURAL JOIN secrets", kind: sqlscope.Select,
		reads: "customers.id secrets.id", tables: "customers secrets"},
	{sql: "SELECT total FROM orders NATURAL JOIN customers", kind: sqlscope.Select,
		reads: "customers.id orders.id orders.total", tables: "customers orders"},
	{sql: "SELECT * FROM orders JOIN customers USING (id)", kind: sqlscope.Select,
		reads: allCustomers + " " + allOrders, tables: "customers orders"},
	{sql: "SELECT j.id FROM (orders JOIN customers USING (id)) AS j", kind: sqlscope.Select,
		reads: "customers.id orders.id", tables: "customers orders"},
	{sql: "SELECT u.id FROM orders JOIN customers USING (id) AS u", kind: sqlscope.Select,
		reads: "customers.id orders.id", tables: "customers orders"},
	// Ambiguous in PostgreSQL: charged to both.
	{sql: "SELECT id FROM orders, customers", kind: sqlscope.Select,
		reads: "customers.id orders.id", tables: "customers orders"},
	{sql: "SELECT public.orders.total FROM public.orders", kind: sqlscope.Select,
		reads: "orders.total", tables: "orders"},
	{sql: `SELECT "id", "total" FROM "orders" WHERE "total" BETWEEN 10 AND 50`, kind: sqlscope.Select,
		reads: "orders.id orders.total", tables: "orders"},

	// CTEs, shadowing, recursion.
	{sql: "WITH c AS (SELECT id, country FROM customers) SELECT country FROM c", kind: sqlscope.Select,
		reads: "customers.country customers.id", tables: "customers"},
	{sql: "WITH orders AS (SELECT id FROM secrets) SELECT id FROM orders", kind: sqlscope.Select,
		reads: "secrets.id", tables: "secrets"},
	{sql: "WITH customers AS (SELECT 1 AS id) SELECT (SELECT count(*) FROM customers), (SELECT max(name) FROM public.customers)", kind: sqlscope.Select,
		reads: "customers.name", tables: "customers"},
	{sql: "WITH orders AS (SELECT id, total FROM orders) SELECT total FROM orders", kind: sqlscope.Select,
		reads: "orders.id orders.total", tables: "orders"},
	{sql: "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 10) SELECT n FROM t", kind: sqlscope.Select},
	{sql: "WITH RECURSIVE r AS (SELECT id, customer_id FROM orders WHERE id = 1 UNION ALL SELECT o.id, o.customer_id FROM orders o JOIN r ON o.customer_id = r.id) SELECT id FROM r", kind: sqlscope.Select,
		reads: "orders.customer_id orders.id", tables: "orders"},
	{sql: "WITH t AS (SELECT customer_id, sum(total) AS s FROM orders GROUP BY customer_id) SELECT c.country, t.s FROM t JOIN customers c ON c.id = t.customer_id", kind: sqlscope.Select,
		reads: "customers.country customers.id orders.customer_id orders.total", tables: "customers orders"},

	// Subqueries, correlation, derived tables.
	{sql: "SELECT c.id FROM customers c WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id)", kind: sqlscope.Select,
		reads: "customers.id orders.customer_id", tables: "customers orders"},
	{sql: "SELECT id FROM customers WHERE EXISTS (SELECT 1 FROM orders WHERE customer_id = country)", kind: sqlscope.Select,
		reads: "customers.country customers.id orders.customer_id", tables: "customers orders"},
	{sql: "SELECT id FROM customers WHERE EXISTS (SELECT id FROM orders)", kind: sqlscope.Select,
		reads: "customers.id orders.id", tables: "customers orders"},
	{sql: "SELECT id FROM orders WHERE customer_id = ANY (SELECT id FROM customers WHERE country = 'DE')", kind: sqlscope.Select,
		reads: "customers.country customers.id orders.customer_id orders.id", tables: "customers orders"},
	{sql: "SELECT s.total FROM (SELECT total, email FROM orders, customers) s", kind: sqlscope.Select,
		reads: "customers.email orders.total", tables: "customers orders"},
	{sql: "SELECT x FROM (SELECT country FROM customers) AS s(x)", kind: sqlscope.Select,
		reads: "customers.country", tables: "customers"},
	{sql: "SELECT lower FROM (SELECT lower(country) FROM customers) s", kind: sqlscope.Select,
		reads: "customers.country", tables: "customers"},
	{sql: "SELECT x FROM (SELECT id AS x FROM orders UNION ALL SELECT customer_id FROM orders) u", kind: sqlscope.Select,
		reads: "orders.customer_id orders.id", tables: "orders"},
	{sql: "SELECT o.id, s.country FROM orders o, LATERAL (SELECT country FROM customers c WHERE c.id = o.customer_id) s", kind: sqlscope.Select,
		reads: "customers.country customers.id orders.customer_id orders.id", tables: "customers orders"},
	// A derived relation's column names decide where a bare name
	// resolves: (SELECT 1) has "?column?", generate_series AS g has "g",
	// json_array_elements has "value", so "name" is the outer column.
	{sql: "SELECT (SELECT name FROM (SELECT 1) s) FROM customers", kind: sqlscope.Select,
		reads: "customers.name", tables: "customers"},
	{sql: "SELECT (SELECT max(name) FROM generate_series(1, 2) AS g) FROM customers", kind: sqlscope.Select,
		reads: "customers.name", tables: "customers"},
	{sql: "SELECT (SELECT count(name) FROM json_array_elements('[1]') AS name) FROM customers", kind: sqlscope.Select,
		reads: "customers.name", tables: "customers"},
	{sql: "SELECT (SELECT max(g) FROM generate_series(1, 2) AS g) FROM customers", kind: sqlscope.Select,
		tables: "customers"},
	// With two functions the alias names no column.
	{sql: "SELECT (SELECT max(name) FROM ROWS FROM (generate_series(1, 2), generate_series(3, 4)) AS name) FROM customers", kind: sqlscope.Select,
		reads: "customers.name", tables: "customers"},
	{sql: "SELECT nullif, text FROM (SELECT nullif(1, 2), '1'::int::text) s", kind: sqlscope.Select},
	{sql: "SELECT int4, \"case\" FROM (SELECT '1'::int, CASE WHEN true THEN 1 ELSE '2'::int END) s", kind: sqlscope.Select},
	{sql: "SELECT (SELECT x FROM (SELECT 1 AS x) s) FROM customers", kind: sqlscope.Select,
		tables: "customers"},

	// Set operations.
	{sql: "SELECT id FROM orders UNION SELECT id FROM customers ORDER BY id", kind: sqlscope.Select,
		reads: "customers.id orders.id", tables: "customers orders"},
	{sql: "SELECT customer_id FROM orders EXCEPT SELECT id FROM customers WHERE country = 'DE' INTERSECT SELECT 1", kind: sqlscope.Select,
		reads: "customers.country customers.id orders.customer_id", tables: "customers orders"},

	// *, alias.*, whole rows.
	{sql: "SELECT * FROM customers", kind: sqlscope.Select, reads: allCustomers, tables: "customers"},
	{sql: "TABLE orders", kind: sqlscope.Select, reads: allOrders, tables: "orders"},
	{sql: "SELECT o.* FROM orders o JOIN customers c ON c.id = o.customer_id", kind: sqlscope.Select,
		reads: "customers.id " + allOrders, tables: "customers orders"},
	{sql: "SELECT c FROM customers c", kind: sqlscope.Select, reads: allCustomers, tables: "customers"},
	{sql: "SELECT customers FROM customers", kind: sqlscope.Select, reads: allCustomers, tables: "customers"},
	{sql: "SELECT row_to_json(c) FROM customers c WHERE c.id = 1", kind: sqlscope.Select, reads: allCustomers, tables: "customers"},
	{sql: "SELECT to_jsonb(c) FROM customers c", kind: sqlscope.Select, reads: allCustomers, tables: "customers"},
	{sql: "SELECT c::text FROM customers c", kind: sqlscope.Select, reads: allCustomers, tables: "customers"},
	{sql: "SELECT ROW(c.*) FROM customers c", kind: sqlscope.Select, reads: allCustomers, tables: "customers"},
	{sql: "SELECT count(c) FROM customers c", kind: sqlscope.Select, reads: allCustomers, tables: "customers"},
	{sql: "SELECT x.id FROM customers AS x(id, nm) WHERE nm IS NOT NULL", kind: sqlscope.Select,
		reads: "customers.id customers.name", tables: "customers"},
	{sql: "SELECT s FROM (SELECT country FROM customers) s", kind: sqlscope.Select,
		reads: "customers.country", tables: "customers"},

	// ORDER BY / GROUP BY: output names, positions, input columns.
	{sql: "SELECT country AS email FROM customers ORDER BY email", kind: sqlscope.Select,
		reads: "customers.country", tables: "customers"},
	{sql: "SELECT country AS email FROM customers GROUP BY email", kind: sqlscope.Select,
		reads: "customers.country customers.email", tables: "customers"},
	{sql: "SELECT country, count(*) FROM customers GROUP BY 1 ORDER BY 2 DESC", kind: sqlscope.Select,
		reads: "customers.country", tables: "customers"},
	{sql: "SELECT lower(country) FROM customers ORDER BY lower", kind: sqlscope.Select,
		reads: "customers.country", tables: "customers"},
	{sql: "SELECT date_trunc('month', created_at) AS m, count(*) FROM orders GROUP BY m ORDER BY m", kind: sqlscope.Select,
		reads: "orders.created_at", tables: "orders"},
	{sql: "SELECT DISTINCT ON (customer_id) customer_id, total FROM orders ORDER BY customer_id, created_at DESC", kind: sqlscope.Select,
		reads: "orders.created_at orders.customer_id orders.total", tables: "orders"},
	{sql: "SELECT country, GROUPING(country), count(*) FROM customers GROUP BY ROLLUP (country)", kind: sqlscope.Select,
		reads: "customers.country", tables: "customers"},
	{sql: "SELECT customer_id, count(*) FILTER (WHERE total > 10) FROM orders GROUP BY customer_id HAVING max(created_at) > now()", kind: sqlscope.Select,
		reads: "orders.created_at orders.customer_id orders.total", tables: "orders"},
	{sql: "SELECT id, rank() OVER w FROM orders WINDOW w AS (PARTITION BY customer_id ORDER BY total)", kind: sqlscope.Select,
		reads: "orders.customer_id orders.id orders.total", tables: "orders"},
	{sql: "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY total) FROM orders", kind: sqlscope.Select,
		reads: "orders.total", tables: "orders"},

	// Expressions.
	{sql: "SELECT CASE WHEN total > 100 THEN 'big' ELSE coalesce(nullif(country, ''), 'x') END FROM orders JOIN customers ON customers.id = orders.customer_id", kind: sqlscope.Select,
		reads: "customers.country customers.id orders.customer_id orders.total", tables: "customers orders"},
	{sql: "SELECT extract(year FROM created_at), substring('abc' FROM 2), trim(both FROM ' a '), created_at AT TIME ZONE 'UTC' FROM orders", kind: sqlscope.Select,
		reads: "orders.created_at", tables: "orders"},
	{sql: "SELECT avg(total)::numeric(10,2), CAST(id AS text), $1::int, current_user, current_date FROM orders", kind: sqlscope.Select,
		reads: "orders.id orders.total", tables: "orders"},
	{sql: "SELECT 1 OPERATOR(pg_catalog.+) 2, pg_catalog.lower('X'), country COLLATE \"C\" FROM customers", kind: sqlscope.Select,
		reads: "customers.country", tables: "customers"},
	{sql: "SELECT count(*) FROM secrets", kind: sqlscope.Select, tables: "secrets"},

	// Table functions and VALUES.
	{sql: "SELECT n FROM generate_series(1, 3) AS n", kind: sqlscope.Select},
	{sql: "SELECT g.n, o.id FROM generate_series(1, 3) AS g(n) JOIN orders o ON o.id = g.n", kind: sqlscope.Select,
		reads: "orders.id", tables: "orders"},
	{sql: "SELECT key FROM orders o, json_each(row_to_json(o)) e", kind: sqlscope.Select, reads: allOrders, tables: "orders"},
	{sql: "SELECT r.a FROM json_to_recordset('[{\"a\":1}]') AS r(a int, b text)", kind: sqlscope.Select},
	{sql: "SELECT * FROM (VALUES (1, 'a'), (2, 'b')) AS v(n, s) ORDER BY n", kind: sqlscope.Select},
	{sql: "SELECT * FROM orders TABLESAMPLE SYSTEM (10)", kind: sqlscope.Select, reads: allOrders, tables: "orders"},

	// INSERT.
	{sql: "INSERT INTO orders (id, customer_id, total) VALUES (1, 2, 3.5)", kind: sqlscope.Insert,
		writes: "orders.customer_id orders.id orders.total", tables: "orders"},
	{sql: "INSERT INTO orders VALUES (1, 2, 3, now())", kind: sqlscope.Insert, writes: allOrders, tables: "orders"},
	{sql: "INSERT INTO orders (id, total) SELECT id, 0 FROM customers WHERE country = 'DE'", kind: sqlscope.Insert,
		reads: "customers.country customers.id", writes: "orders.id orders.total", tables: "customers orders"},
	{sql: "INSERT INTO orders (id) VALUES (1) ON CONFLICT DO NOTHING", kind: sqlscope.Insert,
		writes: "orders.id", tables: "orders"},
	{sql: "INSERT INTO orders AS o (id, total) VALUES (1, 2) ON CONFLICT (id) DO UPDATE SET total = o.total + EXCLUDED.total WHERE o.customer_id > 0 RETURNING o.id", kind: sqlscope.Insert,
		reads: "orders.customer_id orders.id orders.total", writes: "orders.id orders.total", tables: "orders"},
	{sql: "INSERT INTO orders (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET created_at = EXCLUDED.created_at RETURNING *", kind: sqlscope.Insert,
		reads: allOrders, writes: "orders.created_at orders.id", tables: "orders"},

	// UPDATE.
	{sql: "UPDATE customers SET country = 'DE' WHERE id = 1", kind: sqlscope.Update,
		reads: "customers.id", writes: "customers.country", tables: "customers"},
	{sql: "UPDATE orders o SET total = o.total * 2 FROM customers c WHERE c.id = o.customer_id AND c.country = 'FR' RETURNING o.id, c.email", kind: sqlscope.Update,
		reads: "customers.country customers.email customers.id orders.customer_id orders.id orders.total", writes: "orders.total", tables: "customers orders"},
	{sql: "UPDATE orders SET (total, created_at) = (SELECT 1, now()) WHERE id = 2", kind: sqlscope.Update,
		reads: "orders.id", writes: "orders.created_at orders.total", tables: "orders"},

	// DELETE.
	{sql: "DELETE FROM secrets WHERE id = 3", kind: sqlscope.Delete,
		reads: "secrets.id", writes: "secrets.id secrets.token", tables: "secrets"},
	{sql: "DELETE FROM orders o USING customers c WHERE c.id = o.customer_id AND c.name = 'x' RETURNING o.total", kind: sqlscope.Delete,
		reads: "customers.id customers.name orders.customer_id orders.total", writes: allOrders, tables: "customers orders"},
}

func TestAnalyzeAccepted(t *testing.T) {
	for _, c := range acceptedCases {
		res, err := New().Analyze(c.sql, fixture())
		if err != nil {
			t.Errorf("%s: refused: %v", c.sql, err)
			continue
		}
		if res.Kind != c.kind || refs(res.Reads) != c.reads || refs(res.Writes) != c.writes || strings.Join(res.Tables, " ") != c.tables {
			t.Errorf("%s:\n got  %v reads [%s] writes [%s] tables [%s]\n want %v reads [%s] writes [%s] tables [%s]",
				c.sql, res.Kind, refs(res.Reads), refs(res.Writes), strings.Join(res.Tables, " "),
				c.kind, c.reads, c.writes, c.tables)
		}
	}
}

var refusedCases = []struct{ sql, class string }{
	{"", "multiple-statements"},
	{"-- only a comment", "multiple-statements"},
	{"SELECT 1; SELECT 2", "multiple-statements"},
	{"SELECT * FROM orders; DELETE FROM orders", "multiple-statements"},
	{"SELEC * FRM orders", "parse"},
	{"SELECT 1\x00; DROP TABLE orders", "parse"},
	{"SELECT '\xff'", "parse"},

	// Statement kinds.
	{"EXPLAIN DELETE FROM orders", "statement-kind"},
	{"EXPLAIN (ANALYZE false) UPDATE orders SET total = 0", "statement-kind"},
	{"EXPLAIN ANALYZE SELECT * FROM pg_catalog.pg_authid", "schema"},
	{"EXPLAIN (SETTINGS) SELECT id FROM orders", "clause"},
	{"EXPLAIN ANALYZE SELECT * INTO stolen FROM orders", "clause"},
	{"SHOW ALL", "statement-kind"},
	{"SHOW data_directory", "statement-kind"},
	{"EXPLAIN ANALYZE DELETE FROM orders", "statement-kind"},
	{"COPY orders TO STDOUT", "statement-kind"},
	{"COPY (SELECT 1) TO PROGRAM 'id'", "statement-kind"},
	{"SET search_path TO public", "statement-kind"},
	{"RESET ALL", "statement-kind"},
	{"BEGIN", "statement-kind"},
	{"COMMIT", "statement-kind"},
	{"LOCK orders", "statement-kind"},
	{"PREPARE p AS SELECT 1", "statement-kind"},
	{"EXECUTE p", "statement-kind"},
	{"DEALLOCATE p", "statement-kind"},
	{"DO $$ BEGIN END $$", "statement-kind"},
	{"CALL p()", "statement-kind"},
	{"LISTEN x", "statement-kind"},
	{"NOTIFY x", "statement-kind"},
	{"VACUUM orders", "statement-kind"},
	{"CREATE TABLE t AS SELECT * FROM orders", "statement-kind"},
	{"MERGE INTO orders o USING orders s ON o.id = s.id WHEN MATCHED THEN DELETE", "statement-kind"},
	{"WITH d AS (DELETE FROM orders RETURNING *) SELECT * FROM d", "statement-kind"},
	{"WITH u AS (UPDATE orders SET total = 0 RETURNING id) SELECT * FROM u", "statement-kind"},
	{"WITH i AS (INSERT INTO orders (id) VALUES (1) RETURNING *) SELECT * FROM i", "statement-kind"},
	{"WITH d AS (DELETE FROM orders RETURNING *) INSERT INTO orders SELECT * FROM d", "statement-kind"},
	{"SELECT * FROM (WITH d AS (DELETE FROM orders RETURNING id) SELECT id FROM d) s", "statement-kind"},

	// Clauses.
	{"SELECT * INTO new_table FROM orders", "clause"},
	{"SELECT id FROM orders FOR UPDATE", "clause"},
	{"SELECT id FROM orders FOR SHARE NOWAIT", "clause"},
	{"SELECT id FROM orders FOR NO KEY UPDATE", "clause"},
	{"SELECT id FROM orders FOR KEY SHARE", "clause"},
	{"SELECT id FROM (SELECT id FROM orders FOR UPDATE) s", "clause"},
	{"SELECT * FROM orders TABLESAMPLE evil (10)", "clause"},
	{"SELECT (c).id FROM customers c", "clause"},
	{"SELECT id FROM orders UNION SELECT id FROM customers ORDER BY id + 1", "clause"},
	{"UPDATE orders SET total = 0 WHERE CURRENT OF c", "clause"},
	{"SELECT country COLLATE \"de_DE\" FROM customers", "clause"},

	// Schemas, tables, columns.
	{"SELECT * FROM pg_catalog.pg_user", "schema"},
	{"SELECT * FROM information_schema.tables", "schema"},
	{"SELECT * FROM pg_toast.pg_toast_1", "schema"},
	{"SELECT * FROM other.orders", "schema"},
	{"SELECT * FROM db.public.orders", "schema"},
	{"SELECT other.orders.id FROM orders", "schema"},
	{"SELECT * FROM pg_largeobject", "table"},
	{"SELECT * FROM pg_shadow", "table"},
	{"SELECT * FROM nosuch", "table"},
	{"SELECT id FROM \"Orders\"", "table"},
	{"SELECT * FROM orders o, (SELECT c.name FROM customers c WHERE c.id = o.customer_id) s", "table"},
	{"INSERT INTO pg_authid VALUES (1)", "table"},
	{"SELECT nosuch FROM orders", "column"},
	{"SELECT o.nosuch FROM orders o", "column"},
	{"SELECT c.to_json FROM customers c", "column"},
	{"SELECT ctid FROM orders", "column"},
	{"SELECT o.xmin FROM orders o", "column"},
	{"SELECT tableoid, * FROM orders", "column"},
	{"SELECT customers.cmin FROM customers", "column"},
	{"SELECT id FROM orders GROUP BY xmax", "column"},
	// The inner ctid is orders' system column, not the outer alias.
	{"SELECT (SELECT ctid FROM orders LIMIT 1) FROM (SELECT 1 AS ctid) s", "column"},
	// ON sees only the join's inputs, not the UPDATE target.
	{"UPDATE orders SET total = 1 FROM customers c JOIN secrets s ON s.id = customer_id", "column"},
	{"UPDATE orders SET nosuch = 1", "column"},
	{"INSERT INTO orders (nosuch) VALUES (1)", "column"},
	{"SELECT value FROM json_array_elements('[1]') AS j(v)", "column"},

	// Functions, types, operators.
	{"SELECT pg_read_file('/etc/passwd')", "function"},
	{"SELECT pg_read_binary_file('server.key')", "function"},
	{"SELECT pg_ls_dir('.')", "function"},
	{"SELECT pg_stat_file('x')", "function"},
	{"SELECT lo_import('/etc/passwd')", "function"},
	{"SELECT lo_export(1, '/tmp/x')", "function"},
	{"SELECT loread(lo_open(1, 262144), 10)", "function"},
	{"SELECT * FROM dblink('x', 'y') AS t(a int)", "function"},
	{"SELECT pg_sleep(1)", "function"},
	{"SELECT 1 FROM pg_sleep(5)", "function"},
	{"SELECT pg_advisory_lock(1)", "function"},
	{"SELECT pg_try_advisory_lock(1)", "function"},
	{"SELECT set_config('a', 'b', false)", "function"},
	{"SELECT current_setting('data_directory')", "function"},
	{"SELECT pg_terminate_backend(1)", "function"},
	{"SELECT pg_cancel_backend(1)", "function"},
	{"SELECT pg_reload_conf()", "function"},
	{"SELECT nextval('orders_id_seq')", "function"},
	{"SELECT setval('orders_id_seq', 1)", "function"},
	{"SELECT txid_current()", "function"},
	{"SELECT pg_notify('c', 'x')", "function"},
	{"SELECT query_to_xml('select 1', true, true, '')", "function"},
	{"SELECT database_to_xml(true, true, '')", "function"},
	{"SELECT xmlparse(document '<a/>')", "function"},
	{"SELECT JSON_OBJECT('a': 1)", "function"},
	{"SELECT pg_switch_wal()", "function"},
	{"SELECT pg_catalog.pg_sleep(1)", "function"},
	{"SELECT public.lower('x')", "function"},
	{"SELECT my_udf(id) FROM orders", "function"},
	{"SELECT 'orders'::regclass", "function"},
	{"SELECT 'orders'::pg_catalog.regclass", "function"},
	{"SELECT regclass('orders')", "function"},
	{"SELECT 1::oid", "function"},
	{"SELECT '1'::xid", "function"},
	{"SELECT NULL::customers", "function"},
	{"SELECT * FROM json_to_recordset('[]') AS r(a regtype)", "function"},
	{"SELECT 1 === 2", "function"},
	{"SELECT 1 OPERATOR(public.+) 2", "schema"},
}

func TestAnalyzeRefused(t *testing.T) { checkRefused(t, refusedCases) }

// checkRefused analyses every case and wants a refusal of its class.
func checkRefused(t *testing.T, cases []struct{ sql, class string }) {
	t.Helper()
	for _, c := range cases {
		res, err := New().Analyze(c.sql, fixture())
		var r *sqlscope.Refusal
		switch {
		case err == nil:
			t.Errorf("%q: accepted: %v reads [%s] writes [%s] tables %v", c.sql, res.Kind, refs(res.Reads), refs(res.Writes), res.Tables)
		case !errors.As(err, &r):
			t.Errorf("%q: error %T is not a *sqlscope.Refusal", c.sql, err)
		case r.Class != c.class:
			t.Errorf("%q: class %q (%s), want %q", c.sql, r.Class, r.Msg, c.class)
		}
	}
}

// Refusals name the construct, never a value from the statement.
func TestRefusalHidesValues(t *testing.T) {
	for _, sql := range []string{
		"SELECT * FROM orders WHERE id = 'SECRET-VALUE' AND",
		"SELECT 'SECRET-VALUE' FRM orders",
		"SELECT pg_read_file('SECRET-VALUE')",
		"SELECT * FROM nosuch WHERE x = 'SECRET-VALUE'",
	} {
		_, err := New().Analyze(sql, fixture())
		if err == nil || strings.Contains(err.Error(), "SECRET-VALUE") {
			t.Errorf("%q: %v", sql, err)
		}
	}
}

func TestDefaultSchema(t *testing.T) {
	an := Analyzer{DefaultSchema: "app"}
	if _, err := an.Analyze("SELECT app.orders.id FROM app.orders", fixture()); err != nil {
		t.Errorf("app-qualified: %v", err)
	}
	if _, err := an.Analyze("SELECT id FROM public.orders", fixture()); err == nil {
		t.Error("public accepted with DefaultSchema app")
	}
}

// The connector analyses calls from many agents at once.
func TestConcurrent(t *testing.T) {
	schema := fixture() // shared, as the connector shares it
	done := make(chan error)
	for i := range 8 {
		go func() {
			var err error
			for _, c := range acceptedCases[i:] {
				if _, e := New().Analyze(c.sql, schema); e != nil {
					err = e
				}
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
