package pgscope

import (
	"strings"
	"testing"

	"github.com/warden-dev/warden/internal/sqlscope"
)

// ddlCases are the DDL forms the analyzer accepts, with exactly what they
// change (every changed table as t.*) and read (a foreign key's columns).
var ddlCases = []accepted{
	// CREATE TABLE: a table the schema does not hold yet.
	{sql: "CREATE TABLE scratch (id serial PRIMARY KEY, note text NOT NULL DEFAULT 'x', n int CHECK (n > 0 AND length(note) < 100), at timestamptz DEFAULT now(), UNIQUE (note, n))",
		kind: sqlscope.DDL, writes: "scratch.*", tables: "scratch"},
	{sql: "CREATE TABLE IF NOT EXISTS public.scratch (id bigint GENERATED ALWAYS AS IDENTITY, v varchar(10)[] COLLATE \"C\", p numeric(10,2), CONSTRAINT ck CHECK (p >= 0) NOT VALID)",
		kind: sqlscope.DDL, writes: "scratch.*", tables: "scratch"},
	{sql: "CREATE TABLE scratch (id int PRIMARY KEY, customer int REFERENCES customers (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED)",
		kind: sqlscope.DDL, reads: "customers.id", writes: "scratch.*", tables: "customers scratch"},
	{sql: "CREATE TABLE scratch (a int, b int, FOREIGN KEY (a, b) REFERENCES orders (id, customer_id) MATCH FULL)",
		kind: sqlscope.DDL, reads: "orders.customer_id orders.id", writes: "scratch.*", tables: "orders scratch"},
	{sql: "CREATE TABLE tree (id int PRIMARY KEY, parent int REFERENCES tree (id))",
		kind: sqlscope.DDL, writes: "tree.*", tables: "tree"},
	// CREATE TABLE of a table that exists: the server refuses or, with IF
	// NOT EXISTS, does nothing; either way the grant must cover it.
	{sql: "CREATE TABLE IF NOT EXISTS orders (id int)", kind: sqlscope.DDL, writes: "orders.*", tables: "orders"},

	// ALTER TABLE.
	{sql: "ALTER TABLE orders ADD COLUMN note text CHECK (note <> '' OR total > 0), DROP COLUMN created_at, ALTER COLUMN id TYPE bigint USING id::bigint, ALTER COLUMN total SET DEFAULT 0, ALTER COLUMN total DROP DEFAULT, ALTER customer_id SET NOT NULL, ALTER customer_id DROP NOT NULL",
		kind: sqlscope.DDL, writes: "orders.*", tables: "orders"},
	{sql: "ALTER TABLE orders ADD CONSTRAINT pos CHECK (total >= 0), DROP CONSTRAINT IF EXISTS old", kind: sqlscope.DDL, writes: "orders.*", tables: "orders"},
	{sql: "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (customer_id) REFERENCES customers (id)",
		kind: sqlscope.DDL, reads: "customers.id", writes: "orders.*", tables: "customers orders"},
	{sql: "ALTER TABLE orders ADD COLUMN c int REFERENCES customers (id)",
		kind: sqlscope.DDL, reads: "customers.id", writes: "orders.*", tables: "customers orders"},
	{sql: "ALTER TABLE orders RENAME TO archive", kind: sqlscope.DDL, writes: "archive.* orders.*", tables: "archive orders"},
	{sql: "ALTER TABLE orders RENAME COLUMN total TO amount", kind: sqlscope.DDL, writes: "orders.*", tables: "orders"},

	// DROP, TRUNCATE, CREATE INDEX.
	{sql: "DROP TABLE orders, public.secrets", kind: sqlscope.DDL, writes: "orders.* secrets.*", tables: "orders secrets"},
	{sql: "DROP TABLE IF EXISTS orders RESTRICT", kind: sqlscope.DDL, writes: "orders.*", tables: "orders"},
	{sql: "TRUNCATE TABLE ONLY orders RESTART IDENTITY", kind: sqlscope.DDL, writes: "orders.*", tables: "orders"},
	{sql: "CREATE UNIQUE INDEX IF NOT EXISTS orders_total ON orders (total DESC NULLS LAST, lower(created_at::text)) WHERE total > 0",
		kind: sqlscope.DDL, writes: "orders.*", tables: "orders"},
	{sql: "CREATE INDEX ON orders USING hash (customer_id)", kind: sqlscope.DDL, writes: "orders.*", tables: "orders"},
}

func TestAnalyzeDDL(t *testing.T) {
	for _, c := range ddlCases {
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
		if res.Kind.ReadOnly() {
			t.Errorf("%s: DDL is read-only", c.sql)
		}
	}
}

var ddlRefusedCases = []struct{ sql, class string }{
	// Objects other than tables.
	{"CREATE VIEW v AS SELECT id FROM orders", "statement-kind"},
	{"CREATE SEQUENCE s", "statement-kind"},
	{"CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'", "statement-kind"},
	{"CREATE TRIGGER t AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION f()", "statement-kind"},
	{"CREATE SCHEMA s", "statement-kind"},
	{"CREATE EXTENSION dblink", "statement-kind"},
	{"CREATE ROLE r", "statement-kind"},
	{"GRANT SELECT ON orders TO PUBLIC", "statement-kind"},
	{"COMMENT ON TABLE orders IS 'x'", "statement-kind"},
	{"ALTER TABLE orders OWNER TO postgres", "clause"},
	{"ALTER INDEX i RENAME TO j", "statement-kind"},
	{"ALTER VIEW v RENAME TO w", "statement-kind"},
	{"ALTER SEQUENCE s RESTART", "statement-kind"},
	{"DROP VIEW v", "statement-kind"},
	{"DROP SCHEMA public", "statement-kind"},
	{"DROP INDEX orders_total", "statement-kind"},
	{"DROP INDEX CONCURRENTLY orders_total", "statement-kind"},
	{"CREATE TABLE t AS SELECT * FROM orders", "statement-kind"},
	{"SELECT * INTO t FROM orders", "clause"},

	// CREATE TABLE clauses.
	{"CREATE TEMPORARY TABLE t (a int)", "clause"},
	{"CREATE TEMP TABLE t (a int)", "clause"},
	{"CREATE UNLOGGED TABLE t (a int)", "clause"},
	{"CREATE TABLE pg_temp.t (a int)", "schema"},
	{"CREATE TABLE other.t (a int)", "schema"},
	{"CREATE TABLE t (LIKE orders)", "clause"},
	{"CREATE TABLE t (a int) INHERITS (orders)", "clause"},
	{"CREATE TABLE t PARTITION OF orders FOR VALUES IN (1)", "clause"},
	{"CREATE TABLE t (a int) PARTITION BY RANGE (a)", "clause"},
	{"CREATE TABLE t OF some_type", "clause"},
	{"CREATE TABLE t (a int) WITH (fillfactor = 10)", "clause"},
	{"CREATE TABLE t (a int) TABLESPACE pg_default", "clause"},
	{"CREATE TABLE t (a int) USING heap", "clause"},
	{"CREATE TABLE t (a int STORAGE PLAIN)", "clause"},
	{"CREATE TABLE t (a text COMPRESSION pglz)", "clause"},
	{"CREATE TABLE t (a int GENERATED ALWAYS AS (1) STORED)", "clause"},
	{"CREATE TABLE t (a int GENERATED BY DEFAULT AS IDENTITY (SEQUENCE NAME other.s))", "clause"},
	{"CREATE TABLE t (a int, EXCLUDE USING gist (a WITH =))", "clause"},
	{"CREATE TABLE t (a int PRIMARY KEY USING INDEX TABLESPACE x)", "clause"},
	{"CREATE TABLE t (a int UNIQUE WITH (fillfactor = 10))", "clause"},
	{"CREATE TABLE t (a orders)", "function"},
	{"CREATE TABLE t (a regclass)", "function"},
	{"CREATE TABLE t (a public.mytype)", "function"},
	{"CREATE TABLE t (a text COLLATE \"de_DE\")", "clause"},
	{"CREATE TABLE t (a int DEFAULT nextval('orders_id_seq'))", "function"},
	{"CREATE TABLE t (a int DEFAULT pg_read_file('/etc/passwd')::int)", "function"},
	{"CREATE TABLE t (a int DEFAULT (SELECT max(id) FROM orders))", "clause"},
	{"CREATE TABLE t (a int DEFAULT b)", "column"},
	{"CREATE TABLE t (a int CHECK (a IN (SELECT id FROM secrets)))", "clause"},
	{"CREATE TABLE t (a int CHECK (nosuch > 0))", "column"},
	{"CREATE TABLE t (a int CHECK (my_udf(a)))", "function"},
	{"CREATE TABLE t (a int REFERENCES customers)", "clause"},
	{"CREATE TABLE t (a int REFERENCES nosuch (id))", "table"},
	{"CREATE TABLE t (a int REFERENCES customers (nosuch))", "column"},
	{"CREATE TABLE t (a int REFERENCES other.customers (id))", "schema"},
	{"CREATE TABLE t (a int, FOREIGN KEY (nosuch) REFERENCES customers (id))", "column"},
	{"CREATE TABLE t (a int, PRIMARY KEY (nosuch))", "column"},
	{"CREATE TABLE t (ctid int)", "column"},

	// ALTER TABLE.
	{"ALTER TABLE nosuch ADD COLUMN a int", "table"},
	{"ALTER TABLE other.orders ADD COLUMN a int", "schema"},
	{"ALTER TABLE orders DROP COLUMN total CASCADE", "clause"},
	{"ALTER TABLE orders DROP CONSTRAINT c CASCADE", "clause"},
	{"ALTER TABLE orders DROP COLUMN nosuch", "column"},
	{"ALTER TABLE orders ALTER COLUMN nosuch SET DEFAULT 1", "column"},
	{"ALTER TABLE orders ALTER COLUMN total SET DEFAULT (SELECT 1)", "clause"},
	{"ALTER TABLE orders ALTER COLUMN total SET DEFAULT customer_id", "column"},
	{"ALTER TABLE orders ALTER COLUMN total TYPE orders", "function"},
	{"ALTER TABLE orders ALTER COLUMN total TYPE int USING (SELECT 1)", "clause"},
	{"ALTER TABLE orders ALTER COLUMN total SET STATISTICS 100", "clause"},
	{"ALTER TABLE orders ALTER COLUMN total SET STORAGE PLAIN", "clause"},
	{"ALTER TABLE orders ENABLE ROW LEVEL SECURITY", "clause"},
	{"ALTER TABLE orders DISABLE TRIGGER ALL", "clause"},
	{"ALTER TABLE orders SET SCHEMA other", "statement-kind"},
	{"ALTER TABLE orders SET UNLOGGED", "clause"},
	{"ALTER TABLE orders SET TABLESPACE x", "clause"},
	{"ALTER TABLE orders INHERIT customers", "clause"},
	{"ALTER TABLE orders ATTACH PARTITION x FOR VALUES IN (1)", "clause"},
	{"ALTER TABLE orders ADD CONSTRAINT c UNIQUE USING INDEX i", "clause"},
	{"ALTER TABLE orders ADD CONSTRAINT c FOREIGN KEY (customer_id) REFERENCES secrets", "clause"},
	{"ALTER TABLE orders RENAME COLUMN nosuch TO x", "column"},
	{"ALTER TABLE orders RENAME COLUMN total TO xmin", "column"},
	{"ALTER TABLE orders RENAME CONSTRAINT a TO b", "statement-kind"},

	// DROP, TRUNCATE, CREATE INDEX.
	{"DROP TABLE orders CASCADE", "clause"},
	{"DROP TABLE nosuch", "table"},
	{"DROP TABLE IF EXISTS nosuch", "table"},
	{"DROP TABLE other.orders", "schema"},
	{"DROP TABLE db.public.orders", "schema"},
	{"TRUNCATE orders CASCADE", "clause"},
	{"TRUNCATE nosuch", "table"},
	{"CREATE INDEX CONCURRENTLY i ON orders (total)", "clause"},
	{"CREATE INDEX i ON orders (total) WITH (fillfactor = 10)", "clause"},
	{"CREATE INDEX i ON orders (total) TABLESPACE x", "clause"},
	{"CREATE INDEX i ON orders (total text_pattern_ops)", "clause"},
	{"CREATE INDEX i ON orders (nosuch)", "column"},
	{"CREATE INDEX i ON orders (my_udf(total))", "function"},
	{"CREATE INDEX i ON orders (total) WHERE total > (SELECT 1)", "clause"},
	{"CREATE INDEX i ON orders USING bloom (total)", "clause"},
	{"CREATE INDEX i ON nosuch (a)", "table"},
}

func TestAnalyzeDDLRefused(t *testing.T) { checkRefused(t, ddlRefusedCases) }
