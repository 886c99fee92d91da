package sqltest_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/warden-dev/warden/internal/sqltest"
)

func TestMain(m *testing.M) { sqltest.Main(m) }

func TestPostgres(t *testing.T) {
	t.Parallel()
	testServer(t, sqltest.Postgres(t))
}

func TestMariaDB(t *testing.T) {
	t.Parallel()
	testServer(t, sqltest.MariaDB(t))
}

func testServer(t *testing.T, srv *sqltest.Server) {
	t.Logf("%s %s on 127.0.0.1:%d, started in %v", srv.Dialect, srv.Version, srv.Port, srv.Startup)
	a := srv.NewDatabase(t, sqltest.CorpusFixture)
	b := srv.NewDatabase(t, sqltest.CorpusFixture)
	if a.Name == b.Name || a.Owner == b.Owner {
		t.Fatalf("two databases share names: %s/%s, %s/%s", a.Name, a.Owner, b.Name, b.Owner)
	}
	pg := srv.Dialect == "postgres"
	owner, reader, admin := open(t, a, a.OwnerDSN()), open(t, a, a.ReaderDSN()), open(t, a, a.AdminDSN())

	t.Run("fixture", func(t *testing.T) {
		for _, c := range []struct{ query, want string }{
			{"SELECT count(*) FROM customers", "100"},
			{"SELECT count(*) FROM orders", "1000"},
			{"SELECT count(*) FROM secrets", "10"},
			{"SELECT country FROM customers WHERE id = 4", "DE"},
			{"SELECT count(*) FROM customers WHERE country IS NULL", "25"},
			{"SELECT email FROM customers WHERE id = 7", "email-marker-7@example.test"},
			{"SELECT token FROM secrets WHERE id = 10", "tok-MARKER-10"},
			{"SELECT total FROM orders WHERE id = 251", "1.99"},
			{"SELECT CAST(created_at AS " + map[bool]string{true: "text", false: "char"}[pg] + ") FROM orders WHERE id = 1", "2024-01-01 07:00:00"},
		} {
			if got := queryOne(t, owner, c.query); got != c.want {
				t.Errorf("%s = %q, want %q", c.query, got, c.want)
			}
		}
	})

	t.Run("owner", func(t *testing.T) {
		mustExec(t, owner, "UPDATE orders SET total = total WHERE id = 1")
		if pg {
			if got := queryOne(t, owner, "SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls FROM pg_roles WHERE rolname = current_user"); got != "false" {
				t.Errorf("owner has superuser, createrole, createdb or bypassrls")
			}
			if got := queryOne(t, owner, "SELECT tableowner FROM pg_tables WHERE tablename = 'orders'"); got != a.Owner {
				t.Errorf("orders is owned by %s, want %s", got, a.Owner)
			}
		} else {
			for _, g := range queryAll(t, owner, "SHOW GRANTS") {
				if strings.Contains(g, " ON *.*") && !strings.HasPrefix(g, "GRANT USAGE ON *.*") {
					t.Errorf("owner has a global privilege: %s", g)
				}
			}
			if got := queryOne(t, owner, "SELECT LOAD_FILE('/etc/hostname') IS NULL"); got != "1" {
				t.Errorf("owner can read server files")
			}
		}
	})

	t.Run("reader", func(t *testing.T) {
		if got := queryOne(t, reader, "SELECT count(*) FROM customers WHERE country = 'FR'"); got != "25" {
			t.Errorf("reader counts %s FR customers, want 25", got)
		}
		queryAll(t, reader, "SELECT id, country FROM customers")
		queryAll(t, reader, "SELECT * FROM orders")
		for _, q := range []string{
			"SELECT name FROM customers",
			"SELECT * FROM customers",
			"SELECT count(*) FROM customers WHERE email LIKE 'e%'",
			"SELECT token FROM secrets",
			"UPDATE orders SET total = 0 WHERE id = 1",
			"CREATE TABLE t (i int)",
		} {
			_, err := reader.Exec(q)
			if !permissionDenied(err) {
				t.Errorf("reader: %s: got %v, want a permission error", q, err)
			}
		}
		if pg {
			q := `SELECT has_schema_privilege($1, 'public', 'CREATE') OR EXISTS (SELECT FROM pg_namespace, aclexplode(nspacl) acl
				WHERE nspname = 'public' AND acl.grantee = 0 AND acl.privilege_type = 'CREATE')`
			if got := queryOne(t, admin, q, a.Reader); got != "false" {
				t.Errorf("PUBLIC or the reader may CREATE in schema public")
			}
		}
	})

	t.Run("passwords", func(t *testing.T) {
		wrong := strings.Replace(a.ReaderDSN(), a.Reader+":", a.Reader+":x", 1)
		db, err := sql.Open(a.Driver, wrong)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.Ping(); err == nil {
			t.Errorf("a wrong password is accepted")
		}
	})

	t.Run("isolation", func(t *testing.T) {
		// Each login reaches its own database only.
		other := strings.Replace(a.OwnerDSN(), "/"+a.Name, "/"+b.Name, 1)
		db, err := sql.Open(a.Driver, other)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.Ping(); err == nil {
			t.Errorf("%s's owner can connect to %s", a.Name, b.Name)
		}
		before := b.Checksum(t)
		mustExec(t, owner, "DELETE FROM secrets WHERE id = 1")
		if b.Checksum(t) != before {
			t.Errorf("a change in %s changed %s's checksum", a.Name, b.Name)
		}
		if got := queryOne(t, open(t, b, b.OwnerDSN()), "SELECT count(*) FROM secrets"); got != "10" {
			t.Errorf("%s has %s secrets, want 10", b.Name, got)
		}
	})

	t.Run("checksum", func(t *testing.T) {
		sum := a.Checksum(t)
		if again := a.Checksum(t); again != sum {
			t.Fatalf("checksum changed between two reads:\n%s", a.State(t))
		}
		queryAll(t, owner, "SELECT * FROM customers") // reads change nothing
		if a.Checksum(t) != sum {
			t.Errorf("a SELECT changed the checksum")
		}
		a.Exec(t, "UPDATE customers SET country = 'XX' WHERE id = 17")
		if a.Checksum(t) == sum {
			t.Errorf("changing one row did not change the checksum")
		}
		for _, change := range effects(a, pg) {
			sum := a.Checksum(t)
			mustExec(t, owner, change)
			if a.Checksum(t) == sum {
				t.Errorf("%s did not change the checksum", change)
			}
		}
	})

	t.Run("leftovers", func(t *testing.T) {
		if l := a.Leftovers(t); len(l) != 0 {
			t.Fatalf("fresh database has leftovers: %q", l)
		}
		ctx := context.Background()
		conn, err := owner.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		begin, hold := "BEGIN", "SELECT pg_advisory_lock(42)"
		if !pg {
			begin, hold = "START TRANSACTION", "SELECT * FROM orders WHERE id = 1 FOR UPDATE"
		}
		for _, q := range []string{begin, hold} {
			if _, err := conn.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		if l := a.Leftovers(t); len(l) == 0 {
			t.Errorf("an open transaction holding a lock is not reported")
		} else {
			t.Logf("leftovers: %q", l)
		}
		release := []string{"ROLLBACK"}
		if pg {
			release = append(release, "SELECT pg_advisory_unlock_all()")
		}
		for _, q := range release {
			if _, err := conn.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		conn.Close()
		if l := a.Leftovers(t); len(l) != 0 {
			t.Errorf("leftovers after releasing everything: %q", l)
		}
	})
}

// effects are statements the owner may run that must change the checksum
// although they change no table row.
func effects(d *sqltest.DB, pg bool) []string {
	if pg {
		return []string{
			"SELECT nextval('orders_id_seq')",
			"SELECT lo_create(0)",
			"CREATE VIEW v AS SELECT id FROM orders",
			"CREATE TYPE mood AS ENUM ('ok')",
			"GRANT SELECT ON secrets TO PUBLIC",
			"ALTER TABLE orders ALTER COLUMN total SET DEFAULT 1",
			"CREATE INDEX ON orders (customer_id)",
			"COMMENT ON TABLE orders IS 'x'",
			"ALTER ROLE CURRENT_USER SET work_mem = '8MB'",
			"ALTER DATABASE " + d.Name + " SET search_path = public",
			"CREATE SCHEMA s2",
		}
	}
	return []string{
		"CREATE VIEW v AS SELECT id FROM orders",
		"ALTER TABLE orders ADD INDEX (customer_id)",
		"CREATE TABLE t (i INT PRIMARY KEY AUTO_INCREMENT)",
		"INSERT INTO t VALUES ()",
		"CREATE PROCEDURE p() SELECT 1",
		"CREATE TRIGGER tr BEFORE INSERT ON secrets FOR EACH ROW SET NEW.token = 'x'",
		"CREATE SEQUENCE sq",
		"ALTER DATABASE CHARACTER SET latin1",
	}
}

func TestSQLite(t *testing.T) {
	t.Parallel()
	path := sqltest.SQLiteFile(t, sqltest.CorpusFixture)
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, c := range []struct{ query, want string }{
		{"SELECT count(*) FROM customers", "100"},
		{"SELECT count(*) FROM orders", "1000"},
		{"SELECT count(*) FROM secrets", "10"},
		{"SELECT country FROM customers WHERE id = 4", "DE"},
		{"SELECT created_at FROM orders WHERE id = 1", "2024-01-01 07:00:00"},
	} {
		if got := queryOne(t, db, c.query); got != c.want {
			t.Errorf("%s = %q, want %q", c.query, got, c.want)
		}
	}
	db.Close()

	sum := sqltest.SQLiteChecksum(t, path)
	if again := sqltest.SQLiteChecksum(t, path); again != sum {
		t.Fatalf("checksum changed between two reads")
	}
	beside := filepath.Join(filepath.Dir(path), "warden.db-journal")
	if err := os.WriteFile(beside, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if sqltest.SQLiteChecksum(t, path) == sum {
		t.Errorf("an empty file beside the database did not change the checksum")
	}
	os.Remove(beside)
	if sqltest.SQLiteChecksum(t, path) != sum {
		t.Errorf("checksum differs after removing the file again")
	}
	db, err = sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, "UPDATE customers SET country = 'XX' WHERE id = 17")
	db.Close()
	if sqltest.SQLiteChecksum(t, path) == sum {
		t.Errorf("changing one row did not change the checksum")
	}

	other := sqltest.SQLiteOtherDB(t)
	odb, err := sql.Open("sqlite3", other)
	if err != nil {
		t.Fatal(err)
	}
	defer odb.Close()
	if got := queryOne(t, odb, "SELECT secret FROM loot"); got != sqltest.OtherDBMarker {
		t.Errorf("loot holds %q", got)
	}
}

func open(t *testing.T, d *sqltest.DB, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open(d.Driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mustExec(t *testing.T, db *sql.DB, query string) {
	t.Helper()
	if _, err := db.Exec(query); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func queryOne(t *testing.T, db *sql.DB, query string, args ...any) string {
	t.Helper()
	var s sql.NullString
	if err := db.QueryRow(query, args...).Scan(&s); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return s.String
}

// queryAll returns the first column of every row.
func queryAll(t *testing.T, db *sql.DB, query string) []string {
	t.Helper()
	rows, err := db.Query(query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	dest := make([]any, len(cols))
	var first sql.NullString
	dest[0] = &first
	for i := 1; i < len(dest); i++ {
		dest[i] = new(any)
	}
	var out []string
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		out = append(out, first.String)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return out
}

// permissionDenied tells whether err is the server refusing for lack of
// a privilege.
func permissionDenied(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "42501" // insufficient_privilege
	}
	var myErr *mysql.MySQLError
	if errors.As(err, &myErr) {
		switch myErr.Number {
		case 1142, 1143, 1044: // table, column, database access denied
			return true
		}
	}
	return false
}
