package myscope

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/warden-dev/warden/internal/sqlscope"
)

// refs builds refs from "table.column" strings.
func refs(names ...string) []sqlscope.Ref {
	var out []sqlscope.Ref
	for _, n := range names {
		t, c, _ := strings.Cut(n, ".")
		out = append(out, sqlscope.Ref{Table: t, Column: c})
	}
	return out
}

func all(table string) []string {
	for _, t := range fixtureSchema().Tables {
		if t.Name == table {
			var out []string
			for _, c := range t.Columns {
				out = append(out, table+"."+c.Name)
			}
			return out
		}
	}
	panic("no table " + table)
}

func cat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// want is an expected Analysis, with refs as "table.column".
type want struct {
	kind   sqlscope.Kind
	reads  []string
	writes []string
	tables []string
}

func sel(reads []string, tables ...string) want {
	return want{kind: sqlscope.Select, reads: reads, tables: tables}
}

// acceptCase is a statement the analyzer accepts, with what it touches.
type acceptCase struct {
	name string
	sql  string
	want want
}

// analyzeCases are statements the analyzer accepts, with what they touch.
var analyzeCases = []acceptCase{
	// Plain reads.
	{"point lookup", "SELECT name FROM customers WHERE id = 1",
		sel([]string{"customers.id", "customers.name"}, "customers")},
	{"names fold case, reported as the schema spells them", "SELECT ID, Country FROM CUSTOMERS",
		sel([]string{"customers.country", "customers.id"}, "customers")},
	{"backticks", "SELECT `id`, `total` FROM `orders` WHERE `total` BETWEEN 10 AND 50",
		sel([]string{"orders.id", "orders.total"}, "orders")},
	{"no table", "SELECT 1 + 1, UUID(), RAND(), VERSION()", sel(nil)},
	{"dual", "SELECT NOW() FROM DUAL", sel(nil)},
	{"placeholders", "SELECT id FROM orders WHERE customer_id = ? LIMIT ?",
		sel([]string{"orders.customer_id", "orders.id"}, "orders")},
	{"star", "SELECT * FROM orders", sel(all("orders"), "orders")},
	{"qualified star", "SELECT c.*, o.id FROM customers c JOIN orders o ON o.customer_id = c.id",
		sel(cat(all("customers"), []string{"orders.customer_id", "orders.id"}), "customers", "orders")},
	{"count star reads no column", "SELECT COUNT(*) FROM secrets", sel(nil, "secrets")},

	// Joins.
	{"join on", "SELECT o.id, c.country FROM orders o JOIN customers c ON c.id = o.customer_id",
		sel([]string{"customers.country", "customers.id", "orders.customer_id", "orders.id"}, "customers", "orders")},
	{"join using reads both sides", "SELECT total FROM orders JOIN customers USING (id)",
		sel([]string{"customers.id", "orders.id", "orders.total"}, "customers", "orders")},
	{"natural join reads shared columns", "SELECT total FROM orders NATURAL JOIN secrets",
		sel([]string{"orders.id", "orders.total", "secrets.id"}, "orders", "secrets")},
	{"unqualified name in two relations reads both", "SELECT id FROM orders, customers",
		sel([]string{"customers.id", "orders.id"}, "customers", "orders")},
	{"left join, unqualified", "SELECT country, total FROM customers LEFT JOIN orders ON customer_id = customers.id",
		sel([]string{"customers.country", "customers.id", "orders.customer_id", "orders.total"}, "customers", "orders")},
	{"parenthesised join", "SELECT o2.id FROM (orders o JOIN customers c) JOIN orders o2 ON o2.customer_id = c.id",
		sel([]string{"customers.id", "orders.customer_id", "orders.id"}, "customers", "orders")},

	// CTEs and derived tables.
	{"cte", "WITH big AS (SELECT customer_id, total FROM orders WHERE total > 100) SELECT customer_id FROM big",
		sel([]string{"orders.customer_id", "orders.total"}, "orders")},
	{"cte shadows a table", "WITH secrets AS (SELECT id AS token FROM orders) SELECT token FROM secrets",
		sel([]string{"orders.id"}, "orders")},
	{"cte sees earlier cte", "WITH a AS (SELECT id FROM orders), b AS (SELECT id FROM a) SELECT id FROM b",
		sel([]string{"orders.id"}, "orders")},
	{"cte own name inside a non-recursive cte is the table", "WITH orders AS (SELECT total FROM orders) SELECT total FROM orders",
		sel([]string{"orders.total"}, "orders")},
	{"recursive cte", "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 10) SELECT n FROM s",
		sel(nil)},
	{"recursive cte over a table",
		"WITH RECURSIVE chain AS (SELECT id, customer_id FROM orders WHERE id = 1 UNION ALL SELECT o.id, o.customer_id FROM orders o JOIN chain c ON o.id = c.customer_id) SELECT id FROM chain",
		sel([]string{"orders.customer_id", "orders.id"}, "orders")},
	{"cte in subquery", "SELECT id FROM customers WHERE id IN (WITH x AS (SELECT customer_id FROM orders) SELECT customer_id FROM x)",
		sel([]string{"customers.id", "orders.customer_id"}, "customers", "orders")},
	{"derived table", "SELECT d.c FROM (SELECT country AS c FROM customers) d",
		sel([]string{"customers.country"}, "customers")},
	{"derived column list", "SELECT a FROM (SELECT id, total FROM orders) AS d(a, b) WHERE b > 1",
		sel([]string{"orders.id", "orders.total"}, "orders")},
	{"derived table sees ctes", "WITH c AS (SELECT country FROM customers) SELECT * FROM (SELECT country FROM c) d",
		sel([]string{"customers.country"}, "customers")},
	{"values", "VALUES ROW(1, 'a'), ROW(2, 'b')", sel(nil)},
	{"values as derived table", "SELECT a FROM (VALUES ROW(1, 2)) AS v(a, b)", sel(nil)},

	// Subqueries and correlation.
	{"correlated exists", "SELECT id FROM customers c WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id)",
		sel([]string{"customers.id", "orders.customer_id"}, "customers", "orders")},
	{"unqualified name resolves in the outer query",
		"SELECT id FROM customers WHERE EXISTS (SELECT 1 FROM orders WHERE total > 0 AND country = 'DE')",
		sel([]string{"customers.country", "customers.id", "orders.total"}, "customers", "orders")},
	{"inner relation shadows outer", "SELECT name FROM customers WHERE id IN (SELECT id FROM orders)",
		sel([]string{"customers.id", "customers.name", "orders.id"}, "customers", "orders")},
	{"scalar subquery and ANY",
		"SELECT id, (SELECT MAX(total) FROM orders) FROM customers WHERE id = ANY (SELECT customer_id FROM orders WHERE total > 5)",
		sel([]string{"customers.id", "orders.customer_id", "orders.total"}, "customers", "orders")},
	{"subquery in function argument", "SELECT COALESCE((SELECT token FROM secrets LIMIT 1), 'x')",
		sel([]string{"secrets.token"}, "secrets")},

	// UNION, ORDER BY, GROUP BY.
	{"union", "SELECT id FROM orders UNION SELECT id FROM customers ORDER BY id",
		sel([]string{"customers.id", "orders.id"}, "customers", "orders")},
	{"order by alias", "SELECT total * 2 AS doubled FROM orders ORDER BY doubled",
		sel([]string{"orders.total"}, "orders")},
	{"positional group and order", "SELECT customer_id, SUM(total) FROM orders GROUP BY 1 ORDER BY 2 DESC",
		sel([]string{"orders.customer_id", "orders.total"}, "orders")},
	{"having alias", "SELECT customer_id, COUNT(*) AS n FROM orders GROUP BY customer_id HAVING n > 1",
		sel([]string{"orders.customer_id"}, "orders")},
	{"order by column not selected", "SELECT id FROM customers ORDER BY email",
		sel([]string{"customers.email", "customers.id"}, "customers")},
	{"window", "SELECT id, ROW_NUMBER() OVER w, LAG(total) OVER (ORDER BY id) FROM orders WINDOW w AS (PARTITION BY customer_id ORDER BY created_at)",
		sel(all("orders"), "orders")},
	{"case and functions", "SELECT CASE WHEN LENGTH(email) > 10 THEN UPPER(name) END FROM customers",
		sel([]string{"customers.email", "customers.name"}, "customers")},
	{"json and cast", "SELECT JSON_OBJECT('t', total), CAST(created_at AS CHAR), id->>'$.a' FROM orders",
		sel([]string{"orders.created_at", "orders.id", "orders.total"}, "orders")},
	{"group_concat", "SELECT GROUP_CONCAT(DISTINCT country ORDER BY id SEPARATOR ', ') FROM customers",
		sel([]string{"customers.country", "customers.id"}, "customers")},
	{"introducer, collate, convert using", "SELECT _binary'x', country COLLATE utf8mb4_bin, CONVERT(name USING utf8mb4) FROM customers",
		sel([]string{"customers.country", "customers.name"}, "customers")},
	{"high priority and index hints", "SELECT HIGH_PRIORITY SQL_NO_CACHE id FROM orders FORCE INDEX (PRIMARY)",
		sel([]string{"orders.id"}, "orders")},

	// Quotes and comments that look like SQL.
	{"comments", "/* SELECT token FROM secrets */ SELECT id FROM orders -- ; DELETE FROM orders",
		sel([]string{"orders.id"}, "orders")},
	{"hash comment", "SELECT id FROM orders # ; DELETE FROM orders\n",
		sel([]string{"orders.id"}, "orders")},
	{"trailing semicolon and comment", "SELECT id FROM orders; -- done",
		sel([]string{"orders.id"}, "orders")},
	{"escaped quote hides a second statement", `SELECT id FROM orders WHERE id = 'x\'; DELETE FROM orders; -- '`,
		sel([]string{"orders.id"}, "orders")},
	{"escaped quote hides a comment opener",
		`SELECT id FROM orders WHERE id = '\' /*' UNION SELECT token FROM secrets -- */'`,
		sel([]string{"orders.id", "secrets.token"}, "orders", "secrets")},
	{"escaped backslash ends the string",
		`SELECT id FROM orders WHERE id = 'a\\' UNION SELECT token FROM secrets -- '`,
		sel([]string{"orders.id", "secrets.token"}, "orders", "secrets")},
	{"doubled quote", "SELECT id FROM orders WHERE id = 'it''s -- not a comment' OR total > 1",
		sel([]string{"orders.id", "orders.total"}, "orders")},
	{"double-quoted string with single quote", `SELECT id FROM orders WHERE "'" = "'" UNION SELECT token FROM secrets -- "`,
		sel([]string{"orders.id", "secrets.token"}, "orders", "secrets")},
	{"mixed quotes", "SELECT id, \"it's\", '\"', '`' FROM orders WHERE '#' <> \"/*\"",
		sel([]string{"orders.id"}, "orders")},
	{"backslash means nothing in backticks", "SELECT id AS `a\\` FROM orders",
		sel([]string{"orders.id"}, "orders")},

	// Writes.
	{"insert columns", "INSERT INTO orders (id, customer_id, total) VALUES (1, 2, 3.5), (2, 2, DEFAULT)",
		want{sqlscope.Insert, nil, []string{"orders.customer_id", "orders.id", "orders.total"}, []string{"orders"}}},
	{"insert all columns", "INSERT INTO secrets VALUES (1, 'x')",
		want{sqlscope.Insert, nil, all("secrets"), []string{"secrets"}}},
	{"insert set", "INSERT IGNORE INTO orders SET id = 1, total = 3",
		want{sqlscope.Insert, nil, []string{"orders.id", "orders.total"}, []string{"orders"}}},
	{"insert select", "INSERT INTO orders (id, customer_id) SELECT id, id FROM customers WHERE country = 'DE'",
		want{sqlscope.Insert, []string{"customers.country", "customers.id"}, []string{"orders.customer_id", "orders.id"}, []string{"customers", "orders"}}},
	{"on duplicate key update with VALUES()",
		"INSERT INTO orders (id, total) VALUES (1, 5) ON DUPLICATE KEY UPDATE total = total + VALUES(total)",
		want{sqlscope.Insert, []string{"orders.total"}, []string{"orders.id", "orders.total"}, []string{"orders"}}},
	{"on duplicate key update with row alias",
		"INSERT INTO orders (id, total) VALUES (1, 5) AS new(i, t) ON DUPLICATE KEY UPDATE customer_id = new.i",
		want{sqlscope.Insert, []string{"orders.id"}, []string{"orders.customer_id", "orders.id", "orders.total"}, []string{"orders"}}},
	{"update", "UPDATE orders SET total = total * 2 WHERE created_at < '2024-01-01'",
		want{sqlscope.Update, []string{"orders.created_at", "orders.total"}, []string{"orders.total"}, []string{"orders"}}},
	{"multi-table update",
		"UPDATE orders o JOIN customers c ON c.id = o.customer_id SET o.total = 0, c.country = 'XX' WHERE c.email LIKE '%@x'",
		want{sqlscope.Update, []string{"customers.email", "customers.id", "orders.customer_id"}, []string{"customers.country", "orders.total"}, []string{"customers", "orders"}}},
	{"update with subquery", "UPDATE orders SET total = (SELECT COUNT(*) FROM customers WHERE country = 'DE') WHERE id = 1",
		want{sqlscope.Update, []string{"customers.country", "orders.id"}, []string{"orders.total"}, []string{"customers", "orders"}}},
	{"delete", "DELETE FROM orders WHERE customer_id = 7 ORDER BY created_at LIMIT 10",
		want{sqlscope.Delete, []string{"orders.created_at", "orders.customer_id"}, all("orders"), []string{"orders"}}},
	{"multi-table delete",
		"DELETE o FROM orders o JOIN customers c ON c.id = o.customer_id WHERE c.country = 'XX'",
		want{sqlscope.Delete, []string{"customers.country", "customers.id", "orders.customer_id"}, all("orders"), []string{"customers", "orders"}}},
	{"with delete", "WITH x AS (SELECT id FROM customers WHERE country = 'XX') DELETE FROM orders WHERE customer_id IN (SELECT id FROM x)",
		want{sqlscope.Delete, []string{"customers.country", "customers.id", "orders.customer_id"}, all("orders"), []string{"customers", "orders"}}},
}

func TestAnalyze(t *testing.T) { checkAccepted(t, analyzeCases) }

// checkAccepted analyses every case and compares the whole Analysis.
func checkAccepted(t *testing.T, cases []acceptCase) {
	a := New()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			got, err := a.Analyze(tt.sql, fixtureSchema())
			if err != nil {
				t.Fatalf("Analyze(%q) = %v, want success", tt.sql, err)
			}
			want := &sqlscope.Analysis{Kind: tt.want.kind, Reads: refs(tt.want.reads...), Writes: refs(tt.want.writes...), Tables: tt.want.tables}
			want.Reads, want.Writes = sqlscope.Normalize(want.Reads), sqlscope.Normalize(want.Writes)
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Analyze(%q) mismatch (-want +got):\n%s", tt.sql, diff)
			}
		})
	}
}

// refuseCase is a statement the analyzer refuses, with the class.
type refuseCase struct {
	class string
	sql   string
}

// refuseCases are statements the analyzer refuses, with the class.
var refuseCases = []refuseCase{
	// Comments the server reads differently from a plain comment.
	{"comment", "/*! SELECT 1 */"},
	{"comment", "/*!50000 DELETE FROM orders */"},
	{"comment", "SELECT /*!50000 token FROM secrets */ 1"},
	{"comment", "SELECT /*!32302 10*/"},
	{"comment", "/*M! DELETE FROM orders */"},
	{"comment", "SELECT 1 /*M!100000 , token FROM secrets */"},
	{"comment", "SELECT /*+ MAX_EXECUTION_TIME(1) */ id FROM orders"},
	{"comment", "SELECT 1 /* a /* b */ */"},
	{"comment", "SELECT 1 /* unterminated"},
	{"comment", "SELECT 1--1"},
	{"comment", "SELECT 1--1;DROP TABLE orders"},
	{"comment", "SELECT id FROM orders WHERE id = 1 --\x01 OR 1"},
	{"comment", "SELECT 1 // 2"},
	{"comment", "SELECT 1 */"},
	// An escaped quote must not make the lexer miss what follows it.
	{"comment", `SELECT id FROM orders WHERE id = '\'' /*!50000 OR 1=1 */`},
	{"comment", `SELECT "\"" /*! , token */ FROM secrets`},
	{"multiple-statements", `SELECT 'a\\'; DELETE FROM orders`},
	{"multiple-statements", `SELECT "a\\"; DELETE FROM orders`},

	// Text the lexers cannot agree on.
	{"parse", "SELECT 1\x00"},
	{"parse", "SELECT '\xff'"},
	{"parse", "SELECT 'unterminated"},
	{"parse", "SELECT `unterminated"},
	{"parse", "SELECT 0X1F"},
	{"parse", "SELECT 0b102"},
	{"parse", "SELECT 12e FROM orders"},
	{"parse", "SELECT 1abc FROM orders"},
	{"parse", `SELECT N"abc"`},
	{"parse", "SELECT id FROM orders ORDER BY now"},
	{"parse", "SELECT naïve FROM orders"},
	{"parse", "SELECT id FROM orders WHERE id = :id"},
	{"parse", "SELECT FROM"},
	{"table", "SELECT 1 FROM `dual`"},

	// One statement only.
	{"multiple-statements", "SELECT 1; SELECT 2"},
	{"multiple-statements", "SELECT 1;;"},
	{"multiple-statements", "SELECT id FROM orders; DELETE FROM orders"},
	{"multiple-statements", ""},
	{"multiple-statements", " \n\t"},
	{"multiple-statements", ";"},
	{"multiple-statements", "-- only a comment"},

	// Statement kinds.
	{"statement-kind", "REPLACE INTO orders VALUES (1, 1, 1, NOW())"},
	{"clause", "CREATE TABLE t AS SELECT * FROM orders"},
	{"statement-kind", "LOAD DATA INFILE '/etc/passwd' INTO TABLE orders"},
	{"statement-kind", "SET @x = 1"},
	{"statement-kind", "SET SESSION sql_mode = 'ANSI_QUOTES'"},
	{"statement-kind", "SHOW TABLES"},
	{"statement-kind", "SHOW DATABASES"},
	{"statement-kind", "SHOW GRANTS"},
	{"statement-kind", "SHOW VARIABLES"},
	{"statement-kind", "SHOW FULL COLUMNS FROM orders"},
	{"statement-kind", "SHOW COLUMNS FROM orders LIKE 'id'"},
	{"statement-kind", "EXPLAIN DELETE FROM orders"},
	{"statement-kind", "EXPLAIN UPDATE orders SET total = 0"},
	{"statement-kind", "SHOW CREATE PROCEDURE p"},
	{"table", "DESCRIBE nosuch"},
	{"schema", "DESCRIBE mysql.user"},
	{"schema", "SHOW CREATE TABLE mysql.user"},
	{"statement-kind", "EXPLAIN ANALYZE DELETE FROM orders"},
	{"statement-kind", "BEGIN"},
	{"statement-kind", "START TRANSACTION"},
	{"statement-kind", "COMMIT"},
	{"statement-kind", "ROLLBACK"},
	{"statement-kind", "SAVEPOINT a"},
	{"statement-kind", "LOCK TABLES orders READ"},
	{"statement-kind", "UNLOCK TABLES"},
	{"statement-kind", "HANDLER orders OPEN"},
	{"statement-kind", "DO SLEEP(5)"},
	{"statement-kind", "CALL p()"},
	{"statement-kind", "PREPARE s FROM 'SELECT 1'"},
	{"statement-kind", "EXECUTE s"},
	{"statement-kind", "DEALLOCATE PREPARE s"},
	{"statement-kind", "GRANT ALL ON *.* TO CURRENT_USER()"},
	{"statement-kind", "REVOKE ALL ON *.* FROM x"},
	{"statement-kind", "FLUSH PRIVILEGES"},
	{"statement-kind", "KILL 1"},
	{"statement-kind", "USE mysql"},
	{"statement-kind", "ANALYZE TABLE orders"},
	{"statement-kind", "OPTIMIZE TABLE orders"},
	{"statement-kind", "XA START 'x'"},
	{"statement-kind", "TABLE orders"},
	{"statement-kind", "secret_word"},

	// Clauses.
	{"clause", "SELECT * INTO OUTFILE '/tmp/x' FROM orders"},
	{"clause", "SELECT id FROM orders INTO DUMPFILE '/tmp/x'"},
	{"clause", "SELECT id FROM orders UNION SELECT id FROM customers INTO OUTFILE '/tmp/x'"},
	{"clause", "SELECT id FROM orders FOR UPDATE"},
	{"clause", "SELECT id FROM orders FOR UPDATE SKIP LOCKED"},
	{"clause", "SELECT id FROM orders FOR SHARE"},
	{"clause", "SELECT id FROM orders LOCK IN SHARE MODE"},
	{"clause", "SELECT id FROM orders UNION SELECT id FROM customers FOR UPDATE"},
	{"clause", "SELECT SQL_CALC_FOUND_ROWS id FROM orders"},
	{"clause", "SELECT * FROM JSON_TABLE('[1]', '$[*]' COLUMNS (x INT PATH '$')) jt"},
	{"clause", "SELECT * FROM orders o, LATERAL (SELECT o.id) d"},
	{"clause", "SELECT id FROM orders PARTITION (p0)"},
	{"clause", "SELECT * FROM orders o JOIN customers c JOIN orders o2 ON o2.id = c.id"},
	{"clause", "SELECT * FROM orders o JOIN customers c LEFT JOIN orders o2 ON o2.id = c.id"},
	{"clause", "INSERT INTO orders (id) SELECT id FROM customers ON DUPLICATE KEY UPDATE total = 0"},
	{"parse", "SELECT id FROM orders PROCEDURE ANALYSE()"},

	// Variables.
	{"variable", "SELECT @x"},
	{"variable", "SELECT @@version"},
	{"variable", "SELECT @@global.secure_file_priv"},
	{"variable", "SELECT @x := 1"},
	{"variable", "SELECT id FROM orders WHERE id = @x"},
	{"variable", "SELECT id INTO @x FROM orders"},
	{"variable", "SELECT id FROM orders WHERE (id := 1)"},

	// Names outside the resource.
	{"schema", "SELECT * FROM information_schema.tables"},
	{"schema", "SELECT user FROM mysql.user"},
	{"schema", "SELECT * FROM performance_schema.threads"},
	{"schema", "SELECT * FROM sys.version"},
	{"schema", "SELECT id FROM otherdb.orders"},
	{"schema", "SELECT otherdb.orders.id FROM orders"},
	{"schema", "SELECT otherdb.orders.* FROM orders"},
	{"schema", "INSERT INTO otherdb.orders (id) VALUES (1)"},
	{"schema", "DELETE FROM otherdb.orders"},
	{"table", "SELECT * FROM unknown_table"},
	{"table", "SELECT x.id FROM orders o"},
	{"table", "WITH Orders AS (SELECT 1 AS id) SELECT id FROM orders"},
	{"table", "SELECT Orders.id FROM orders"},
	{"table", "SELECT (SELECT S.id FROM orders s) FROM secrets S"},
	{"table", "SELECT 1 FROM orders o, customers O"},
	{"table", "WITH a AS (SELECT id FROM b), b AS (SELECT 1 AS id) SELECT id FROM a"},
	{"column", "SELECT nope FROM orders"},
	{"column", "SELECT o.nope FROM orders o"},
	{"column", "SELECT d.total FROM (SELECT total AS x FROM orders) d"},
	{"column", "SELECT id FROM orders WHERE nope = 1"},
	{"column", "SELECT total FROM orders JOIN customers USING (total)"},
	{"column", "INSERT INTO orders (nope) VALUES (1)"},
	{"column", "UPDATE orders SET nope = 1"},

	// Functions.
	{"function", "SELECT SLEEP(1)"},
	{"function", "SELECT id FROM orders WHERE SLEEP(10) = 0"},
	{"function", "SELECT BENCHMARK(1000000, SHA1('x'))"},
	{"function", "SELECT LOAD_FILE('/etc/passwd')"},
	{"function", "SELECT GET_LOCK('x', 10)"},
	{"function", "SELECT RELEASE_LOCK('x')"},
	{"function", "SELECT RELEASE_ALL_LOCKS()"},
	{"function", "SELECT IS_FREE_LOCK('x')"},
	{"function", "SELECT IS_USED_LOCK('x')"},
	{"function", "SELECT MASTER_POS_WAIT('log', 4)"},
	{"function", "SELECT SOURCE_POS_WAIT('log', 4)"},
	{"function", "SELECT WAIT_FOR_EXECUTED_GTID_SET('x')"},
	{"function", "SELECT NAME_CONST('a', 1)"},
	{"function", "SELECT USER()"},
	{"function", "SELECT CURRENT_USER()"},
	{"function", "SELECT CURRENT_USER"},
	{"function", "SELECT SYSTEM_USER()"},
	{"function", "SELECT SESSION_USER()"},
	{"function", "SELECT DATABASE()"},
	{"function", "SELECT SCHEMA()"},
	{"function", "SELECT CONNECTION_ID()"},
	{"function", "SELECT LAST_INSERT_ID()"},
	{"function", "SELECT ROW_COUNT()"},
	{"function", "SELECT FOUND_ROWS()"},
	{"function", "SELECT sys_eval('id')"},
	{"function", "SELECT sys_exec('id')"},
	{"function", "SELECT ExtractValue('<a/>', CONCAT('/', (SELECT token FROM secrets)))"},
	{"function", "SELECT UpdateXML('<a/>', '/a', '<b/>')"},
	{"function", "SELECT PS_CURRENT_THREAD_ID()"},
	{"function", "SELECT ST_AsText(POINT(1, 1))"},
	{"function", "SELECT mydb.fn(1)"},
	{"function", "SELECT my_udf(1)"},
	{"function", "SELECT COUNT (*) FROM orders"},
	{"function", "SELECT SUM/**/(total) FROM orders"},
	{"function", "SELECT DEFAULT(total) FROM orders"},
	{"function", "SELECT VALUES(total) FROM orders"},
	{"function", "SELECT id FROM orders WHERE total IN (SELECT SLEEP(1))"},
	{"function", "WITH x AS (SELECT LOAD_FILE('/etc/passwd') AS f) SELECT f FROM x"},
}

func TestAnalyzeRefuses(t *testing.T) { checkRefused(t, refuseCases) }

// checkRefused analyses every case and wants a refusal of its class.
func checkRefused(t *testing.T, cases []refuseCase) {
	a := New()
	for _, tt := range cases {
		t.Run(tt.class+"/"+tt.sql, func(t *testing.T) {
			got, err := a.Analyze(tt.sql, fixtureSchema())
			var r *sqlscope.Refusal
			if !errors.As(err, &r) {
				t.Fatalf("Analyze(%q) = %+v, %v; want a %q refusal", tt.sql, got, err, tt.class)
			}
			if r.Class != tt.class {
				t.Errorf("Analyze(%q) refused with class %q (%s), want %q", tt.sql, r.Class, r.Msg, tt.class)
			}
		})
	}
}

// TestRefusalMessages checks that refusals never quote data from the
// statement: literal values must not appear in the message.
func TestRefusalMessages(t *testing.T) {
	const marker = "MARKER-4f1c"
	stmts := []string{
		"SELECT 'MARKER-4f1c' FROM nope",
		"SELECT id FROM orders WHERE id = 'MARKER-4f1c' AND SLEEP(1)",
		"SELECT 'MARKER-4f1c' FROM orders WHERE",
		"SELECT 'MARKER-4f1c'; SELECT 2",
		"MARKER4f1c 'MARKER-4f1c'",
		"SELECT 'MARKER-4f1c' /*!50000 1 */",
		"SELECT 'MARKER-4f1c' INTO OUTFILE 'MARKER-4f1c'",
	}
	a := New()
	for _, sql := range stmts {
		_, err := a.Analyze(sql, fixtureSchema())
		if err == nil {
			t.Errorf("Analyze(%q) succeeded, want a refusal", sql)
			continue
		}
		if strings.Contains(strings.ToUpper(err.Error()), strings.ToUpper(marker[:6])) {
			t.Errorf("Analyze(%q) = %q, which quotes the statement's data", sql, err)
		}
	}
}

func TestNilSchema(t *testing.T) {
	a := New()
	if _, err := a.Analyze("SELECT id FROM orders", nil); err == nil {
		t.Error("Analyze with a nil schema accepted a table")
	}
	if _, err := a.Analyze("SELECT 1", nil); err != nil {
		t.Errorf("Analyze(SELECT 1, nil) = %v, want success", err)
	}
}

func TestAllowlistSorted(t *testing.T) {
	for i := 1; i < len(allowedFuncNames); i++ {
		if allowedFuncNames[i-1] >= allowedFuncNames[i] {
			t.Errorf("allowedFuncNames not sorted or has duplicates at %q, %q", allowedFuncNames[i-1], allowedFuncNames[i])
		}
	}
	for name := range refusedWhy {
		if allowedFuncs[name] {
			t.Errorf("%q is both allowed and refused", name)
		}
	}
}

// TestAnalyzeConcurrent shares one Analyzer between goroutines; run with
// -race.
func TestAnalyzeConcurrent(t *testing.T) {
	a := New()
	schema := fixtureSchema()
	done := make(chan struct{})
	for range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			for _, c := range analyzeCases {
				if _, err := a.Analyze(c.sql, schema); err != nil {
					t.Errorf("Analyze(%q) = %v", c.sql, err)
					return
				}
			}
		}()
	}
	for range 8 {
		<-done
	}
}

// TestNestingIsLinear pins a fuzzing find: each recursive CTE analysed its
// anchor twice, so nested WITH RECURSIVE took 2^depth steps (depth 20 took
// seconds, well within the connector's 64 KiB statement limit).
func TestNestingIsLinear(t *testing.T) {
	const depth = 60
	sql := strings.Repeat("WITH RECURSIVE a AS (", depth) + "SELECT id FROM orders" + strings.Repeat(") SELECT * FROM a", depth)
	done := make(chan error, 1)
	go func() {
		_, err := New().Analyze(sql, fixtureSchema())
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Analyze(nested WITH RECURSIVE) = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Analyze(nested WITH RECURSIVE) did not finish in 10s")
	}
}

// TestTableCaseAmbiguity: with lower_case_table_names=0 a schema can hold
// tables whose names differ only in case; a name matching several of them
// case-insensitively but none exactly must not pick one at random.
func TestTableCaseAmbiguity(t *testing.T) {
	schema := fixtureSchema()
	schema.Tables["Orders"] = &sqlscope.Table{Name: "Orders", Columns: []sqlscope.Column{{Name: "id"}}}
	a := New()
	got, err := a.Analyze("SELECT id FROM Orders", schema)
	if err != nil || len(got.Tables) != 1 || got.Tables[0] != "Orders" {
		t.Errorf("Analyze(exact Orders) = %+v, %v; want table Orders", got, err)
	}
	var r *sqlscope.Refusal
	if _, err := a.Analyze("SELECT id FROM ORDERS", schema); !errors.As(err, &r) || r.Class != "table" {
		t.Errorf("Analyze(ORDERS) = %v, want a table refusal", err)
	}
}
