package myscope

import (
	"errors"
	"testing"

	"github.com/warden-dev/warden/internal/sqlscope"
)

// ddl is an expected DDL analysis: the tables changed (each as t.*), the
// columns read (a foreign key's), and the tables named.
func ddl(changed, reads []string, tables ...string) want {
	w := want{kind: sqlscope.DDL, reads: reads, tables: tables}
	for _, t := range changed {
		w.writes = append(w.writes, t+"."+sqlscope.AllColumns)
	}
	return w
}

var ddlCases = []acceptCase{
	{"create table", "CREATE TABLE scratch (id INT AUTO_INCREMENT PRIMARY KEY, note VARCHAR(100) NOT NULL DEFAULT 'x', n INT UNSIGNED CHECK (n > 0 AND CHAR_LENGTH(note) < 50), at TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, kind ENUM('a', 'b'), doc JSON, UNIQUE KEY u (note, n), KEY k (at) USING BTREE) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT='scratch'",
		ddl([]string{"scratch"}, nil, "scratch")},
	{"create table if not exists", "CREATE TABLE IF NOT EXISTS scratch (id BIGINT, d DECIMAL(10,2) DEFAULT (1 + 2))",
		ddl([]string{"scratch"}, nil, "scratch")},
	{"create table with foreign key", "CREATE TABLE scratch (id INT PRIMARY KEY, c INT, CONSTRAINT fk FOREIGN KEY (c) REFERENCES customers (id) ON DELETE CASCADE)",
		ddl([]string{"scratch"}, []string{"customers.id"}, "customers", "scratch")},
	{"column reference", "CREATE TABLE scratch (c INT REFERENCES Customers (ID))",
		ddl([]string{"scratch"}, []string{"customers.id"}, "customers", "scratch")},
	{"self reference", "CREATE TABLE tree (id INT PRIMARY KEY, parent INT, FOREIGN KEY (parent) REFERENCES tree (id))",
		ddl([]string{"tree"}, nil, "tree")},
	{"create existing table", "CREATE TABLE IF NOT EXISTS orders (id INT)",
		ddl([]string{"orders"}, nil, "orders")},
	{"alter table", "ALTER TABLE orders ADD COLUMN note TEXT AFTER id, DROP COLUMN created_at, RENAME COLUMN total TO amount, MODIFY COLUMN amount DECIMAL(12,2) NOT NULL, CHANGE customer_id cust INT, ALTER COLUMN cust SET DEFAULT 0, ALTER COLUMN note DROP DEFAULT, ADD CONSTRAINT pos CHECK (amount >= 0), DROP CHECK old, DROP INDEX i, DROP PRIMARY KEY, ADD PRIMARY KEY (id), ALGORITHM=INPLACE, LOCK=NONE",
		ddl([]string{"orders"}, nil, "orders")},
	{"alter add foreign key", "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (customer_id) REFERENCES customers (id), DROP FOREIGN KEY old",
		ddl([]string{"orders"}, []string{"customers.id"}, "customers", "orders")},
	{"alter rename to", "ALTER TABLE orders RENAME TO archive",
		ddl([]string{"archive", "orders"}, nil, "archive", "orders")},
	{"create index", "CREATE UNIQUE INDEX orders_total ON orders (total DESC, (customer_id * 2))",
		ddl([]string{"orders"}, nil, "orders")},
	{"drop index on", "DROP INDEX orders_total ON orders",
		ddl([]string{"orders"}, nil, "orders")},
	{"drop tables", "DROP TABLE IF EXISTS orders, Secrets",
		ddl([]string{"orders", "secrets"}, nil, "orders", "secrets")},
	{"truncate", "TRUNCATE TABLE orders", ddl([]string{"orders"}, nil, "orders")},
	{"truncate without TABLE", "TRUNCATE orders", ddl([]string{"orders"}, nil, "orders")},
	{"rename table", "RENAME TABLE orders TO tmp, tmp TO archive",
		ddl([]string{"archive", "orders", "tmp"}, nil, "archive", "orders", "tmp")},
}

func TestAnalyzeDDL(t *testing.T) { checkAccepted(t, ddlCases) }

var ddlRefuseCases = []refuseCase{
	// Other objects and statements.
	{"statement-kind", "CREATE VIEW v AS SELECT id FROM orders"},
	{"statement-kind", "CREATE DATABASE d"},
	// vitess cannot parse these, which refuses them as well.
	{"parse", "CREATE USER u"},
	{"parse", "CREATE TRIGGER t BEFORE INSERT ON orders FOR EACH ROW SET NEW.total = 0"},
	{"parse", "CREATE TABLE t (a INT REFERENCES customers)"},
	{"parse", "CREATE TABLE t (a INT DEFAULT (SELECT 1))"},
	{"parse", "ALTER TABLE orders ORDER BY total"},
	{"statement-kind", "CREATE PROCEDURE p() SELECT 1"},
	{"statement-kind", "ALTER VIEW v AS SELECT 1"},
	{"statement-kind", "ALTER DATABASE d CHARACTER SET utf8mb4"},
	{"statement-kind", "DROP VIEW v"},
	{"statement-kind", "DROP DATABASE d"},
	{"statement-kind", "GRANT SELECT ON orders TO u"},
	{"statement-kind", "OPTIMIZE TABLE orders"},
	{"comment", "CREATE /*!50000 TEMPORARY */ TABLE t (a INT)"},
	{"parse", "CREATE TABLE t (a INT) garbage"},
	{"parse", "DROP TABLE orders garbage"},
	{"multiple-statements", "DROP TABLE orders; DROP TABLE customers"},

	// CREATE TABLE clauses.
	{"clause", "CREATE TEMPORARY TABLE t (a INT)"},
	{"clause", "CREATE TABLE t LIKE orders"},
	{"clause", "CREATE TABLE t SELECT * FROM orders"},
	{"clause", "CREATE TABLE t (a INT) SELECT id AS a FROM orders"},
	{"clause", "CREATE TABLE t (a INT) PARTITION BY HASH(a) PARTITIONS 2"},
	{"clause", "CREATE TABLE t (a INT) DATA DIRECTORY = '/tmp'"},
	{"clause", "CREATE TABLE t (a INT) INDEX DIRECTORY = '/tmp'"},
	{"clause", "CREATE TABLE t (a INT) ENGINE=MyISAM"},
	{"clause", "CREATE TABLE t (a INT) ENGINE=FEDERATED CONNECTION='mysql://u@h/d/t'"},
	{"clause", "CREATE TABLE t (a INT) ENGINE=MERGE UNION=(orders)"},
	{"clause", "CREATE TABLE t (a INT) ENCRYPTION='N'"},
	{"clause", "CREATE TABLE t (a INT, b INT AS (a * 2))"},
	{"clause", "CREATE TABLE t (a TEXT, FULLTEXT KEY f (a))"},
	{"clause", "CREATE TABLE t (a INT, KEY k (a) KEY_BLOCK_SIZE = 8)"},
	{"parse", "CREATE TABLE t (a INT, FOREIGN KEY (a) REFERENCES customers)"},
	{"clause", "CREATE TABLE t (a INT, CHECK (a IN (SELECT id FROM secrets)))"},
	{"clause", "CREATE TABLE t (a INT, CHECK (EXISTS (SELECT 1)))"},
	{"variable", "CREATE TABLE t (a INT DEFAULT @x)"},
	{"variable", "CREATE TABLE t (a INT CHECK (a > @x))"},
	{"schema", "CREATE TABLE db.t (a INT)"},
	{"schema", "CREATE TABLE t (a INT, FOREIGN KEY (a) REFERENCES db.customers (id))"},
	{"table", "CREATE TABLE T (a INT)"},
	{"table", "CREATE TABLE Scratch (a INT)"},
	{"table", "CREATE TABLE t (a INT REFERENCES nosuch (id))"},
	{"column", "CREATE TABLE t (a INT REFERENCES customers (nosuch))"},
	{"column", "CREATE TABLE t (a INT, FOREIGN KEY (b) REFERENCES customers (id))"},
	{"column", "CREATE TABLE t (a INT, KEY k (b))"},
	{"column", "CREATE TABLE t (a INT DEFAULT (b + 1))"},
	{"column", "CREATE TABLE t (a INT, CHECK (b > 0))"},
	{"function", "CREATE TABLE t (a GEOMETRY)"},
	{"function", "CREATE TABLE t (a INT DEFAULT (SLEEP(1)))"},
	{"function", "CREATE TABLE t (a INT, CHECK (my_udf(a)))"},

	// ALTER TABLE and the rest.
	{"table", "ALTER TABLE nosuch ADD COLUMN a INT"},
	{"schema", "ALTER TABLE db.orders ADD COLUMN a INT"},
	{"clause", "ALTER TABLE orders ENGINE=MyISAM"},
	{"clause", "ALTER TABLE orders DISCARD TABLESPACE"},
	{"clause", "ALTER TABLE orders CONVERT TO CHARACTER SET latin1"},
	{"clause", "ALTER TABLE orders DISABLE KEYS"},
	{"clause", "ALTER TABLE orders FORCE"},
	{"clause", "ALTER TABLE orders ADD PARTITION (PARTITION p1 VALUES LESS THAN (10))"},
	{"clause", "ALTER TABLE orders ADD COLUMN g INT AS (id * 2)"},
	{"column", "ALTER TABLE orders DROP COLUMN nosuch"},
	{"column", "ALTER TABLE orders ALTER COLUMN nosuch SET DEFAULT 1"},
	{"column", "ALTER TABLE orders RENAME COLUMN nosuch TO x"},
	{"column", "ALTER TABLE orders MODIFY COLUMN nosuch INT"},
	{"column", "ALTER TABLE orders ADD INDEX i (nosuch)"},
	{"table", "ALTER TABLE orders RENAME TO Archive"},
	{"table", "CREATE INDEX i ON nosuch (a)"},
	{"clause", "CREATE FULLTEXT INDEX i ON orders (total)"},
	{"clause", "CREATE INDEX i ON orders (total) USING RTREE"},
	{"table", "DROP INDEX i ON nosuch"},
	{"table", "DROP TABLE nosuch"},
	{"table", "DROP TABLE IF EXISTS nosuch"},
	{"schema", "DROP TABLE db.orders"},
	{"clause", "DROP TEMPORARY TABLE orders"},
	{"table", "TRUNCATE TABLE nosuch"},
	{"table", "RENAME TABLE nosuch TO x"},
	{"table", "RENAME TABLE orders TO Archive"},
	{"schema", "RENAME TABLE orders TO db.archive"},
}

func TestAnalyzeDDLRefuses(t *testing.T) { checkRefused(t, ddlRefuseCases) }

// TestAnalyzeNoDDL: for callers that never run DDL, the first word refuses
// it before vitess parses it; other statements are analysed as before.
func TestAnalyzeNoDDL(t *testing.T) {
	a := New()
	for _, c := range ddlCases {
		_, err := a.AnalyzeNoDDL(c.sql, fixtureSchema())
		var r *sqlscope.Refusal
		if !errors.As(err, &r) || r.Class != "statement-kind" {
			t.Errorf("AnalyzeNoDDL(%q) = %v, want a statement-kind refusal", c.sql, err)
		}
	}
	for _, c := range analyzeCases {
		if _, err := a.AnalyzeNoDDL(c.sql, fixtureSchema()); err != nil {
			t.Errorf("AnalyzeNoDDL(%q) = %v", c.sql, err)
		}
	}
}
