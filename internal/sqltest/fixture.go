package sqltest

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Fixture is what a new database starts with: one script per dialect, run
// by the owner login (by sqlite for [SQLiteFile]), and the reader login's
// grants.
type Fixture struct {
	Postgres string
	MySQL    string // MySQL 8 / MariaDB
	SQLite   string
	// Reader maps each table the reader may SELECT from to the columns it
	// may read; nil means every column. SQLite has no logins and ignores it.
	Reader map[string][]string
}

// With returns f followed by extra: the scripts concatenated, the reader
// grants merged (extra's win for a table both name).
func (f Fixture) With(extra Fixture) Fixture {
	join := func(a, b string) string {
		switch {
		case a == "":
			return b
		case b == "":
			return a
		}
		return a + ";\n" + b
	}
	r := maps.Clone(f.Reader)
	if r == nil {
		r = map[string][]string{}
	}
	maps.Copy(r, extra.Reader)
	return Fixture{
		Postgres: join(f.Postgres, extra.Postgres),
		MySQL:    join(f.MySQL, extra.MySQL),
		SQLite:   join(f.SQLite, extra.SQLite),
		Reader:   r,
	}
}

// readerGrants renders the reader grants as GRANT statements.
func (f Fixture) readerGrants(ident func(string) string, grantee string) string {
	var b strings.Builder
	for _, table := range slices.Sorted(maps.Keys(f.Reader)) {
		cols := ""
		if c := f.Reader[table]; c != nil {
			quoted := make([]string, len(c))
			for i, name := range c {
				quoted[i] = ident(name)
			}
			cols = " (" + strings.Join(quoted, ", ") + ")"
		}
		fmt.Fprintf(&b, "GRANT SELECT%s ON %s TO %s;\n", cols, ident(table), grantee)
	}
	return b.String()
}

// CorpusFixture is the SQL corpora's fixture (../shared/corpora/README.md,
// section 4): customers (100 rows), orders (1,000), secrets (10), and a
// reader that may see orders and customers' id and country only.
var CorpusFixture = Fixture{
	Postgres: `
CREATE TABLE customers (id serial PRIMARY KEY, name text, email text, country text);
CREATE TABLE orders    (id serial PRIMARY KEY, customer_id int, total numeric(10,2), created_at timestamp);
CREATE TABLE secrets   (id serial PRIMARY KEY, token text);
INSERT INTO customers SELECT n, 'NAME-MARKER-'||n, 'email-marker-'||n||'@example.test',
       (ARRAY['DE','FR','US',NULL])[1 + n % 4] FROM generate_series(1, 100) n;
INSERT INTO orders SELECT n, 1 + n % 100, n % 250 + 0.99, timestamp '2024-01-01' + n * interval '7 hours'
       FROM generate_series(1, 1000) n;
INSERT INTO secrets SELECT n, 'tok-MARKER-'||n FROM generate_series(1, 10) n;
SELECT setval('customers_id_seq', 100), setval('orders_id_seq', 1000), setval('secrets_id_seq', 10);
`,
	MySQL: `
CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(100), email VARCHAR(200), country VARCHAR(8));
CREATE TABLE orders    (id INT PRIMARY KEY, customer_id INT, total DECIMAL(10,2), created_at DATETIME);
CREATE TABLE secrets   (id INT PRIMARY KEY, token VARCHAR(200));
INSERT INTO customers WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 100)
  SELECT n, CONCAT('NAME-MARKER-', n), CONCAT('email-marker-', n, '@example.test'),
         ELT(1 + n % 4, 'DE', 'FR', 'US', NULL) FROM s;
INSERT INTO orders WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 1000)
  SELECT n, 1 + n % 100, n % 250 + 0.99, TIMESTAMP('2024-01-01 00:00:00') + INTERVAL n * 7 HOUR FROM s;
INSERT INTO secrets WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 10)
  SELECT n, CONCAT('tok-MARKER-', n) FROM s;
`,
	SQLite: `
CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, email TEXT, country TEXT);
CREATE TABLE orders    (id INTEGER PRIMARY KEY, customer_id INTEGER, total NUMERIC, created_at TEXT);
CREATE TABLE secrets   (id INTEGER PRIMARY KEY, token TEXT);
INSERT INTO customers WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 100)
  SELECT n, 'NAME-MARKER-' || n, 'email-marker-' || n || '@example.test',
         CASE n % 4 WHEN 0 THEN 'DE' WHEN 1 THEN 'FR' WHEN 2 THEN 'US' END FROM s;
INSERT INTO orders WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 1000)
  SELECT n, 1 + n % 100, n % 250 + 0.99, datetime('2024-01-01 00:00:00', '+' || (n * 7) || ' hours') FROM s;
INSERT INTO secrets WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 10)
  SELECT n, 'tok-MARKER-' || n FROM s;
`,
	Reader: map[string][]string{
		"orders":    nil,
		"customers": {"id", "country"},
	},
}

// OtherDBMarker is what the {OTHERDB} database's loot table holds.
const OtherDBMarker = "WARDEN-OTHERDB-MARKER"
