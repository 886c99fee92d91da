package sqldb

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/sqlscope"
	"github.com/warden-dev/warden/internal/sqltest"
)

func TestMain(m *testing.M) { sqltest.Main(m) }

// serverDBs starts (once) both servers and gives each test a fresh corpus
// database, connected as the table owner.
func serverDBs(t *testing.T) map[string]*sqltest.DB {
	return map[string]*sqltest.DB{
		"postgres": sqltest.Postgres(t).NewDatabase(t, sqltest.CorpusFixture),
		"mysql":    sqltest.MariaDB(t).NewDatabase(t, sqltest.CorpusFixture),
	}
}

func openServer(t *testing.T, driver, dsn string, lim Limits) *Connector {
	t.Helper()
	c, err := New(&core.ResourceSpec{Name: "shop", Kind: "sql", Config: &Config{Driver: driver, DSN: core.NewSecret("env:X", dsn), Limits: lim}}, core.Host{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// everything allows every column of every table: a broken analysis.
func everything(s *sqlscope.Schema) *sqlscope.Analysis {
	an := &sqlscope.Analysis{Kind: sqlscope.Select}
	for _, t := range s.Tables {
		an.Reads = append(an.Reads, t.All()...)
		an.Tables = append(an.Tables, t.Name)
	}
	an.Writes = an.Reads
	return an
}

// TestServerEngineLayerAlone sends what the analyzer would refuse straight
// to the query path: the server's read-only transaction, the extended
// protocol or prepared statement (one statement only) and the server-side
// timeout stop it, and the database is unchanged.
func TestServerEngineLayerAlone(t *testing.T) {
	for driver, db := range serverDBs(t) {
		t.Run(driver, func(t *testing.T) {
			c := openServer(t, driver, db.OwnerDSN(), Limits{Timeout: time.Second})
			s, _, err := c.schema(context.Background(), false)
			if err != nil {
				t.Fatal(err)
			}
			before := db.Checksum(t)
			attacks := []string{
				"DELETE FROM orders",
				"UPDATE customers SET name = 'x'",
				"INSERT INTO secrets VALUES (99, 'x')",
				"CREATE TABLE stolen AS SELECT * FROM secrets",
				"DROP TABLE secrets",
				"SELECT 1; DELETE FROM orders",
				"COMMIT; DELETE FROM orders",
			}
			if driver == "postgres" {
				// lo_create runs in a read-only transaction; the rollback
				// undoes it, which the checksum checks.
				attacks = append(attacks, "SET TRANSACTION READ WRITE", "SELECT pg_sleep(30)", "SELECT lo_create(4242)")
			} else {
				attacks = append(attacks, "SET SESSION TRANSACTION READ WRITE", "SELECT SLEEP(30)", "SELECT * FROM orders INTO OUTFILE '/tmp/warden-x'")
			}
			for _, q := range attacks {
				start := time.Now()
				_, err := c.db.query(context.Background(), &statement{sql: q, analysis: everything(s), schema: s}, c.limits)
				if err == nil && !strings.HasPrefix(q, "SET") && !strings.Contains(q, "lo_create") {
					t.Errorf("query(%q) on the read-only path: no error", q)
				}
				if d := time.Since(start); d > 5*time.Second {
					t.Errorf("query(%q) took %v; the 1s limit did not hold", q, d)
				}
			}
			// A SET that did run stayed inside the rolled-back transaction:
			// the next query is read-only again.
			if _, err := c.db.query(context.Background(), &statement{sql: "DELETE FROM orders", analysis: everything(s), schema: s}, c.limits); err == nil {
				t.Error("DELETE after SET ... READ WRITE: no error")
			}
			if after := db.Checksum(t); after != before {
				t.Errorf("the database changed")
			}
			if l := db.Leftovers(t); len(l) > 0 {
				t.Errorf("leftovers: %v", l)
			}
		})
	}
}

func TestServerQueryAndExecute(t *testing.T) {
	for driver, db := range serverDBs(t) {
		t.Run(driver, func(t *testing.T) {
			c := openServer(t, driver, db.OwnerDSN(), Limits{MaxRows: 3})
			s, _, _ := c.schema(context.Background(), false)
			an := everything(s)
			ph := "$1"
			if driver == "mysql" {
				ph = "?"
			}
			tb, err := c.db.query(context.Background(), &statement{sql: "SELECT id, total, customer_id FROM orders WHERE id >= " + ph + " ORDER BY id", params: []any{int64(2)}, analysis: an, schema: s}, c.limits)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(tb)
			if want := `{"columns":["id","total","customer_id"],"rows":[[2,2.99,3],[3,3.99,4],[4,4.99,5]],"truncated":true,"truncated_by":"max_rows"}`; string(got) != want {
				t.Errorf("query = %s\nwant    %s", got, want)
			}
			before := db.Checksum(t)
			n, err := c.db.execute(context.Background(), &statement{sql: "UPDATE orders SET total = 0 WHERE customer_id = " + ph, params: []any{"7"}, analysis: an, schema: s}, true, c.limits)
			if err != nil || n != 10 {
				t.Errorf("dry run = %d, %v; want 10 rows", n, err)
			}
			if after := db.Checksum(t); after != before {
				t.Errorf("a dry run changed the database")
			}
			n, err = c.db.execute(context.Background(), &statement{sql: "UPDATE orders SET total = 0 WHERE id = 1", analysis: an, schema: s}, false, c.limits)
			if err != nil || n != 1 {
				t.Errorf("execute = %d, %v; want 1 row", n, err)
			}
			if after := db.Checksum(t); after == before {
				t.Errorf("a committed update did not change the database")
			}
		})
	}
}

func TestServerPrivileges(t *testing.T) {
	for driver, db := range serverDBs(t) {
		t.Run(driver, func(t *testing.T) {
			// What the corpus policy grants: orders whole, customers' id
			// and country, no execute.
			needed := func(action, target string) bool {
				if action != "query" {
					return false
				}
				table, col, _ := SplitSQLTarget(target)
				return table == "orders" || (table == "customers" && (col == "" || col == "id" || col == "country"))
			}
			owner := openServer(t, driver, db.OwnerDSN(), Limits{})
			rep, err := owner.CheckPrivileges(context.Background(), needed)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Strict != "" || rep.Fix != "warden sql grants --resource shop" {
				t.Errorf("report: strict %q, fix %q; want not strict, the grants command", rep.Strict, rep.Fix)
			}
			all := strings.Join(rep.Findings, "\n")
			for _, want := range []string{"secrets.{id, token}", "customers.{email, name}", "change table orders", "change table secrets"} {
				if !strings.Contains(all, want) {
					t.Errorf("owner findings lack %q:\n%s", want, all)
				}
			}
			reader := openServer(t, driver, db.ReaderDSN(), Limits{})
			if rep, err := reader.CheckPrivileges(context.Background(), needed); err != nil || len(rep.Findings) > 0 {
				t.Errorf("least-privilege reader: findings %q, %v; want none", rep.Findings, err)
			}
		})
	}
}

// TestServerSlowQueryDoesNotBlock runs a fast query while a slow one holds
// a pooled connection: the fast one returns first.
func TestServerSlowQueryDoesNotBlock(t *testing.T) {
	slow := map[string]string{"postgres": "SELECT pg_sleep(2)", "mysql": "SELECT SLEEP(2)"}
	for driver, db := range serverDBs(t) {
		t.Run(driver, func(t *testing.T) {
			c := openServer(t, driver, db.OwnerDSN(), Limits{})
			s, _, _ := c.schema(context.Background(), false)
			done := make(chan error, 1)
			go func() {
				_, err := c.db.query(context.Background(), &statement{sql: slow[driver], analysis: everything(s), schema: s}, c.limits)
				done <- err
			}()
			time.Sleep(200 * time.Millisecond) // let the slow query start
			if _, err := c.db.query(context.Background(), &statement{sql: "SELECT count(*) FROM orders", analysis: everything(s), schema: s}, c.limits); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				t.Errorf("the slow query (err %v) finished before the fast one returned", err)
			default:
			}
			if err := <-done; err != nil {
				t.Errorf("slow query: %v", err)
			}
		})
	}
}

// TestServerDDL creates, changes and drops a table through the ddl tool
// as the table owner. On PostgreSQL a dry run is rolled back and leaves
// the database as it was; MySQL commits DDL at once, so a dry run is
// refused and the preview says so.
func TestServerDDL(t *testing.T) {
	for driver, db := range serverDBs(t) {
		t.Run(driver, func(t *testing.T) {
			c := openServer(t, driver, db.OwnerDSN(), Limits{Timeout: 5 * time.Second})
			ctx := context.Background()
			run := func(sql string, dryRun bool) error {
				t.Helper()
				inv := invoke(OpDDL, map[string]any{"sql": sql, "dry_run": dryRun})
				if err := c.Prepare(ctx, inv); err != nil {
					return err
				}
				res, err := c.Execute(ctx, inv, nil)
				if err != nil {
					return err
				}
				if r := res.Value.(ddlResult); !r.Done || r.DryRun != dryRun {
					t.Errorf("%q: result %+v", sql, r)
				}
				return nil
			}
			must := func(sql string) {
				t.Helper()
				if err := run(sql, false); err != nil {
					t.Fatalf("%q: %v", sql, err)
				}
			}
			create := "CREATE TABLE scratch (id INT PRIMARY KEY, note VARCHAR(100) NOT NULL DEFAULT 'x', customer INT REFERENCES customers (id))"
			steps := []string{
				"ALTER TABLE scratch ADD COLUMN n INT NOT NULL DEFAULT 0",
				"CREATE INDEX scratch_n ON scratch (n)",
				"ALTER TABLE scratch ADD CONSTRAINT scratch_pos CHECK (n >= 0)",
			}
			if driver == "postgres" {
				create = "CREATE TABLE scratch (id serial PRIMARY KEY, note text NOT NULL DEFAULT 'x', customer int REFERENCES customers (id), at timestamptz DEFAULT now())"
				steps = append(steps, "ALTER TABLE scratch RENAME COLUMN note TO body", "ALTER TABLE scratch ALTER COLUMN n TYPE bigint")
			} else {
				steps = append(steps, "ALTER TABLE scratch RENAME COLUMN note TO body", "ALTER TABLE scratch MODIFY COLUMN n BIGINT NOT NULL DEFAULT 0")
			}
			before := db.Checksum(t)
			inv := invoke(OpDDL, map[string]any{"sql": create})
			if err := c.Prepare(ctx, inv); err != nil {
				t.Fatal(err)
			}
			preview, err := c.Preview(ctx, inv)
			switch {
			case err != nil:
				t.Fatalf("Preview: %v", err)
			case driver == "postgres" && preview != "a dry run (rolled back) succeeded",
				driver == "mysql" && !strings.Contains(preview, "no dry run is possible"):
				t.Errorf("Preview = %q", preview)
			}
			if driver == "postgres" {
				if err := run(create, true); err != nil {
					t.Fatalf("dry run: %v", err)
				}
			} else if err := run(create, true); err == nil || !strings.Contains(err.Error(), "no dry run") {
				t.Errorf("MySQL dry run: %v, want a refusal", err)
			}
			if after := db.Checksum(t); after != before {
				t.Fatalf("the preview or dry run changed the database")
			}
			must(create)
			if db.Checksum(t) == before {
				t.Fatal("CREATE TABLE did not change the database")
			}
			// The schema was read again at once.
			if _, err := run2(c, OpQuery, "SELECT id, note FROM scratch"); err != nil {
				t.Fatalf("query of the new table: %v", err)
			}
			for _, q := range steps {
				if driver == "postgres" {
					mid := db.Checksum(t)
					if err := run(q, true); err != nil {
						t.Fatalf("%q dry run: %v", q, err)
					}
					if db.Checksum(t) != mid {
						t.Fatalf("%q: the dry run changed the database", q)
					}
				}
				must(q)
			}
			if _, err := run2(c, OpQuery, "SELECT body, n FROM scratch"); err != nil {
				t.Fatalf("query after ALTER: %v", err)
			}
			if driver == "mysql" {
				must("DROP INDEX scratch_n ON scratch")
			} else if err := run("DROP INDEX scratch_n", false); err == nil {
				t.Error("PostgreSQL DROP INDEX without a table: no refusal")
			}
			must("ALTER TABLE scratch RENAME TO scratch2")
			must("TRUNCATE TABLE scratch2")
			must("DROP TABLE scratch2")
			if after := db.Checksum(t); after != before {
				t.Errorf("after DROP TABLE the database differs from before CREATE TABLE:\n%s", db.State(t))
			}
			// query and execute still refuse DDL; a failing DDL statement
			// is the database's error.
			for _, op := range []string{OpQuery, OpExecute} {
				if _, err := run2(c, op, "DROP TABLE secrets"); err == nil {
					t.Errorf("%s ran DROP TABLE", op)
				}
			}
			if err := run("CREATE TABLE orders (id INT)", false); err == nil || core.ReasonOf(err) != core.ReasonToolFailed {
				t.Errorf("CREATE TABLE of an existing table: %v", err)
			}
			if l := db.Leftovers(t); len(l) > 0 {
				t.Errorf("leftovers: %v", l)
			}
		})
	}
}

// run2 prepares and runs one statement through a tool.
func run2(c *Connector, op, sql string) (*core.Result, error) {
	inv := invoke(op, map[string]any{"sql": sql})
	if err := c.Prepare(context.Background(), inv); err != nil {
		return nil, err
	}
	return c.Execute(context.Background(), inv, core.ScopeFunc(func(string) bool { return true }))
}

// TestServerOpenErrors: a database that cannot be reached is reported to
// the operator once, in plain words (which database, where, as whom, and
// the cause), without the driver's prefixes or the password; the model's
// sentence stays apart.
func TestServerOpenErrors(t *testing.T) {
	pg := sqltest.Postgres(t).NewDatabase(t, sqltest.CorpusFixture)
	my := sqltest.MariaDB(t).NewDatabase(t, sqltest.CorpusFixture)
	badPassword := func(dsn string) string { return strings.Replace(dsn, "@", "x@", 1) }
	for _, tc := range []struct {
		driver, dsn, want string
	}{
		{"postgres", "postgres://app:pw-9f2c@127.0.0.1:1/shop", "cannot connect to PostgreSQL at 127.0.0.1:1: connection refused"},
		{"mysql", "app:pw-9f2c@tcp(127.0.0.1:1)/shop", "cannot connect to MySQL at 127.0.0.1:1: connection refused"},
		{"postgres", badPassword(pg.ReaderDSN()), `: password authentication failed`},
		{"mysql", badPassword(my.ReaderDSN()), ": access denied"},
	} {
		c, err := New(&core.ResourceSpec{Name: "shop", Kind: "sql", Config: &Config{Driver: tc.driver, DSN: core.NewSecret("env:X", tc.dsn)}}, core.Host{})
		if err != nil {
			t.Fatal(err)
		}
		err = c.Open(context.Background())
		pw := credentialPart(tc.dsn)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Count(err.Error(), "\n") > 0 || strings.Contains(err.Error(), pw) {
			t.Errorf("%s %s: Open = %v; want one line with %q, without the password", tc.driver, tc.want, err, tc.want)
		}
		if msg := core.MessageOf(err); msg != `The database of "shop" cannot be opened.` {
			t.Errorf("%s: the model's sentence = %q", tc.driver, msg)
		}
	}
}
