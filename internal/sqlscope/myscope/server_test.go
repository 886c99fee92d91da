package myscope

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/warden-dev/warden/internal/corpus"
	"github.com/warden-dev/warden/internal/sqltest"
)

// TestMain stops the MariaDB server the server tests may start.
func TestMain(m *testing.M) { sqltest.Main(m) }

// connectorSQLMode is the session sql_mode the sql connector pins on every
// connection (sqldb.mysqlSQLMode); the lexer relies on it.
const connectorSQLMode = "'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'"

// readerConn opens the corpus database as its least-privilege reader,
// whose grants are the corpus policy, with the connector's sql_mode.
func readerConn(t *testing.T) *sql.DB {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a MariaDB server")
	}
	db := sqltest.MariaDB(t).NewDatabase(t, sqltest.CorpusFixture)
	cfg, err := mysql.ParseDSN(db.ReaderDSN())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Params = map[string]string{"sql_mode": connectorSQLMode}
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pool := sql.OpenDB(c)
	t.Cleanup(func() { pool.Close() })
	return pool
}

// runReadOnly runs sql the way the connector does: prepared on the
// server, inside a read-only transaction that is rolled back.
func runReadOnly(pool *sql.DB, query string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tx, err := pool.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, query)
	if err != nil {
		return err
	}
	defer st.Close()
	rows, err := st.QueryContext(ctx)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
	}
	return rows.Err()
}

// privilegeError reports whether err is the server refusing access.
func privilegeError(err error) bool {
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		return false
	}
	switch me.Number {
	case 1044, 1045, 1142, 1143, 1227, 1370:
		return true
	}
	return false
}

var deniedTableRE = regexp.MustCompile("for table `[^`]*`\\.`([^`]*)`")

// unknownTableCase reports whether err denies a table whose name is not
// spelt as in the schema, which a case-sensitive server does not know.
func unknownTableCase(err error) bool {
	m := deniedTableRE.FindStringSubmatch(err.Error())
	return m != nil && fixtureSchema().Tables[m[1]] == nil
}

// serverProbes are accepted statements whose name resolution is easy to
// get wrong; the server's column privileges check the analysis.
var serverProbes = []string{
	"SELECT id FROM customers WHERE EXISTS (SELECT 1 FROM orders WHERE total > 0 AND country = 'DE')",
	"SELECT c.id FROM customers c WHERE c.id IN (SELECT customer_id FROM orders o WHERE o.customer_id = c.id)",
	"SELECT id FROM orders JOIN customers USING (id)",
	"SELECT * FROM orders NATURAL JOIN customers WHERE country IS NOT NULL",
	"SELECT total AS id FROM orders ORDER BY id",
	"SELECT country AS id FROM customers GROUP BY id HAVING id IS NOT NULL",
	"SELECT customer_id AS c, COUNT(*) AS n FROM orders GROUP BY c HAVING n > 1 ORDER BY n",
	"WITH orders AS (SELECT id, country FROM customers) SELECT country FROM orders",
	"WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 5) SELECT n, (SELECT COUNT(*) FROM orders WHERE customer_id = n) FROM s",
	"SELECT d.x FROM (SELECT total AS x, customer_id FROM orders) d JOIN customers c ON c.id = d.customer_id",
	"SELECT (SELECT country FROM customers WHERE customers.id = orders.customer_id) FROM orders",
	"SELECT id FROM orders UNION SELECT id FROM customers ORDER BY id",
	"SELECT country FROM customers c WHERE NOT EXISTS (SELECT 1 FROM orders WHERE customer_id = c.id AND id > 990)",
	"SELECT (SELECT MAX(o.total) FROM orders o WHERE o.customer_id = c.id) AS m FROM customers c ORDER BY m",
	"SELECT o.id FROM (orders o JOIN customers c) JOIN orders o2 ON o2.customer_id = c.id LIMIT 1",
	"SELECT COUNT(*) FROM customers",
	"SELECT 1 FROM DUAL",
}

// TestServerAgrees runs every statement the analyzer accepts as a SELECT
// within the corpus grants (unit cases, corpus lines, probes, and the
// files of $MYSCOPE_SERVER_INPUTS, for example a fuzzing corpus) on a
// real MariaDB as the reader whose column grants are that policy. A
// privilege error means the analysis missed a column the server reads.
func TestServerAgrees(t *testing.T) {
	pool := readerConn(t)
	var stmts []string
	for _, c := range analyzeCases {
		stmts = append(stmts, c.sql)
	}
	if dir := corpus.Dir(); dir != "" {
		if cases, err := corpus.Parse(filepath.Join(dir, "sql-mysql.txt")); err == nil {
			for _, c := range cases {
				stmts = append(stmts, c.Payload)
			}
		}
	}
	stmts = append(stmts, serverProbes...)
	stmts = append(stmts, fuzzInputs(t, os.Getenv("MYSCOPE_SERVER_INPUTS"))...)
	a := New()
	ran := 0
	for _, s := range stmts {
		if refused, _ := corpusVerdict(a, s); refused {
			continue
		}
		ran++
		err := runReadOnly(pool, s)
		switch {
		case privilegeError(err) && unknownTableCase(err):
			// lower_case_table_names=0: CUSTOMERS is not customers, and
			// the server reports an unknown table as denied.
			t.Logf("server does not know the table spelt in %q: %v", s, err)
		case privilegeError(err):
			an, _ := a.Analyze(s, fixtureSchema())
			t.Errorf("server denied %q (%v), but the analysis is within the grants: %+v", s, err, an)
		case err != nil:
			// MariaDB lacks some MySQL 8 syntax; that is a refusal by the
			// server, not a leak.
			t.Logf("server rejects accepted statement %q: %v", s, err)
		}
	}
	t.Logf("ran %d accepted statements of %d", ran, len(stmts))
}

// fuzzInputs reads the string inputs of a directory of fuzzing corpus
// files ("go test fuzz v1" format).
func fuzzInputs(t *testing.T, dir string) []string {
	if dir == "" {
		return nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		body, ok := strings.CutPrefix(string(b), "go test fuzz v1\nstring(")
		if !ok {
			continue
		}
		body = strings.TrimSuffix(strings.TrimSpace(body), ")")
		if s, err := strconv.Unquote(body); err == nil {
			out = append(out, s)
		}
	}
	return out
}

// TestServerLexerAssumptions checks on a real server the readings that
// lex.go and the join check refuse because vitess reads them differently.
// If one of these starts to fail, the refusal may no longer be needed, or
// a different one may be.
func TestServerLexerAssumptions(t *testing.T) {
	pool := readerConn(t)
	tests := []struct {
		sql  string
		want string // the single value returned, or "error"
		why  string
	}{
		{"SELECT 1--1", "2", "'--' without a space is minus minus; vitess agrees but a comment-stripping guard would not"},
		{"SELECT 1 --\x01 + 1", "1", "'--' followed by a control character is a comment to the server; vitess reads minus minus"},
		{"SELECT 6 // 2", "error", "'//' is not a comment; vitess reads one"},
		{"SELECT 0X1F", "error", "0X1F is an identifier (unknown column); vitess reads a number"},
		{"SELECT 0x1F + 0", "31", "lower-case 0x is a number"},
		{"SELECT now", "error", "bare NOW is a column name; vitess reads NOW()"},
		{"SELECT COUNT (*) FROM orders", "error", "with a space, COUNT is not the built-in"},
		{"SELECT 'a\\'b'", "a'b", "backslash escapes apply with the pinned sql_mode"},
		{`SELECT "x"`, "x", `"…" is a string with the pinned sql_mode`},
	}
	for _, tt := range tests {
		t.Run(tt.sql, func(t *testing.T) {
			var got sql.NullString
			err := pool.QueryRow(tt.sql).Scan(&got)
			if tt.want == "error" {
				if err == nil {
					t.Errorf("server ran %q (= %q), want an error: %s", tt.sql, got.String, tt.why)
				}
				return
			}
			if err != nil || got.String != tt.want {
				t.Errorf("server ran %q = %q, %v; want %q: %s", tt.sql, got.String, err, tt.want, tt.why)
			}
		})
	}
	// The analyzer refuses every statement above except the plain ones.
	a := New()
	for _, tt := range tests[:7] {
		if tt.sql == "SELECT 0x1F + 0" {
			continue
		}
		if _, err := a.Analyze(tt.sql, fixtureSchema()); err == nil {
			t.Errorf("Analyze(%q) accepted it", tt.sql)
		}
	}
}
