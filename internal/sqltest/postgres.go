package sqltest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// Postgres returns the test binary's PostgreSQL server, starting it on
// first use.
func Postgres(tb testing.TB) *Server {
	tb.Helper()
	return postgresServer.get(tb, startPostgres)
}

// postgresBin finds the directory holding initdb and postgres: PATH first,
// then Debian's /usr/lib/postgresql/<version>/bin, newest version first.
func postgresBin() string {
	if p := findProgram("initdb"); p != "" {
		// Debian links some programs into /usr/local/bin or /usr/bin;
		// postgres must come from the same version as initdb.
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err == nil {
			return dir
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return pgMajor(b) - pgMajor(a) })
	for _, dir := range dirs {
		_, err1 := os.Stat(filepath.Join(dir, "initdb"))
		_, err2 := os.Stat(filepath.Join(dir, "postgres"))
		if err1 == nil && err2 == nil {
			return dir
		}
	}
	return ""
}

func pgMajor(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func startPostgres() (*Server, string, error) {
	bin := postgresBin()
	if bin == "" {
		return nil, "sqltest: PostgreSQL server programs (initdb, postgres) not found in PATH or /usr/lib/postgresql/*/bin: " +
			"install them (Debian: apt-get install postgresql-15) to run this test", nil
	}
	begin := time.Now()
	as := serverUser()
	dir, err := serverDir(as, "pg")
	if err != nil {
		return nil, "", fmt.Errorf("start postgres: %w", err)
	}
	s := &Server{
		Dialect:   "postgres",
		Driver:    "pgx",
		Host:      "127.0.0.1",
		eng:       pgEngine{},
		dir:       dir,
		socket:    filepath.Join(dir, "sock"),
		adminPass: randomHex(16),
		log:       filepath.Join(dir, "postgres.log"),
		stopSig:   syscall.SIGINT,
	}
	if err := s.initPostgres(as, bin); err != nil {
		os.RemoveAll(dir)
		return nil, "", fmt.Errorf("start postgres: %w", err)
	}
	s.Startup = time.Since(begin)
	return s, "", nil
}

func (s *Server) initPostgres(as runAs, bin string) error {
	data := filepath.Join(s.dir, "data")
	pwfile := filepath.Join(s.dir, "pwfile")
	for _, d := range []string{data, s.socket} {
		if err := mkdirOwned(as, d); err != nil {
			return err
		}
	}
	if err := writeOwned(as, pwfile, s.adminPass+"\n"); err != nil {
		return err
	}
	// -N: no fsync of the new cluster, it is thrown away anyway.
	err := run(as, s.dir, s.log, filepath.Join(bin, "initdb"),
		"-D", data, "-U", "postgres", "--pwfile="+pwfile, "-A", "scram-sha-256",
		"-E", "UTF8", "--locale=C", "-N")
	os.Remove(pwfile)
	if err != nil {
		return err
	}
	// Passwords everywhere, also on the socket: the socket directory
	// belongs to the server user, and other processes may run as that
	// user too (a sandboxed agent running as nobody).
	hba := "local all all scram-sha-256\nhost all all 127.0.0.1/32 scram-sha-256\n"
	if err := writeOwned(as, filepath.Join(data, "pg_hba.conf"), hba); err != nil {
		return err
	}
	if err := s.startOnFreePort("postgres", "SHOW server_version", func(port int) error {
		return s.launch(as, filepath.Join(bin, "postgres"),
			"-D", data, "-k", s.socket, "-h", "127.0.0.1", "-p", strconv.Itoa(port),
			"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
			"-c", "shared_buffers=16MB", "-c", "max_connections=50",
			// So that PREPARE TRANSACTION really leaves something behind
			// when a guard lets it through, instead of the server refusing.
			"-c", "max_prepared_transactions=8",
			// Autovacuum and autoanalyze would change the catalogs behind
			// the checksums' back; throwaway databases need neither.
			"-c", "autovacuum=off",
			// Keeps dynamic shared memory in the data directory rather
			// than /dev/shm, so that a killed server leaves nothing behind.
			"-c", "dynamic_shared_memory_type=mmap",
			"-c", "TimeZone=UTC", "-c", "lc_messages=C")
	}); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	// Test logins may connect to their own database only.
	_, err = s.admin.ExecContext(ctx, `REVOKE ALL ON DATABASE postgres FROM PUBLIC;
		REVOKE ALL ON DATABASE template1 FROM PUBLIC`)
	if err != nil {
		s.stop()
		return fmt.Errorf("revoke connect: %w", err)
	}
	return nil
}

// kill ends a server that failed to start.
func (s *Server) kill() {
	if s.admin != nil {
		s.admin.Close()
		s.admin = nil
	}
	if s.cmd != nil {
		_ = s.cmd.Process.Kill()
		<-s.exited
		s.cmd = nil
	}
}

type pgEngine struct{}

func (pgEngine) adminDSN(s *Server, db string) string {
	return fmt.Sprintf("host=%s port=%d user=postgres password=%s dbname=%s sslmode=disable",
		pgQuoteValue(s.socket), s.Port, s.adminPass, db)
}

func (pgEngine) userDSN(s *Server, user, pass, db string) string {
	return fmt.Sprintf("postgres://%s:%s@%s:%d/%s?sslmode=disable", user, pass, s.Host, s.Port, db)
}

// pgQuoteValue quotes a value in a libpq keyword/value string.
func pgQuoteValue(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// pgIdent quotes an SQL identifier.
func pgIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

func (pgEngine) createDatabase(ctx context.Context, d *DB, fx Fixture) error {
	s := d.srv
	// The owner owns the database too, as an application's login usually
	// does: so it can also CREATE SCHEMA, ALTER DATABASE, install trusted
	// extensions, which the checksums watch for.
	stmts := []string{
		fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s' NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS",
			pgIdent(d.Owner), d.ownerPass),
		fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s' NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS",
			pgIdent(d.Reader), d.readerPass),
		fmt.Sprintf("CREATE DATABASE %s OWNER %s", pgIdent(d.Name), pgIdent(d.Owner)),
		fmt.Sprintf("REVOKE ALL ON DATABASE %s FROM PUBLIC", pgIdent(d.Name)),
		fmt.Sprintf("GRANT CONNECT ON DATABASE %s TO %s", pgIdent(d.Name), pgIdent(d.Reader)),
	}
	for _, q := range stmts {
		if _, err := s.admin.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", strings.Fields(q)[0]+" "+strings.Fields(q)[1], err)
		}
	}
	admin, err := sql.Open("pgx", d.AdminDSN())
	if err != nil {
		return fmt.Errorf("open admin pool: %w", err)
	}
	d.admin = admin
	// PostgreSQL 15 no longer grants CREATE on public to PUBLIC in new
	// databases; revoking again keeps older servers equally strict.
	_, err = admin.ExecContext(ctx, "REVOKE CREATE ON SCHEMA public FROM PUBLIC; GRANT USAGE ON SCHEMA public TO "+pgIdent(d.Reader))
	if err != nil {
		return fmt.Errorf("schema grants: %w", err)
	}
	// The fixture is loaded by the owner itself, so that it owns every
	// object the fixture creates, and grants the reader its columns.
	return loadAs(ctx, "pgx", d.OwnerDSN(), fx.Postgres+";\n"+fx.readerGrants(pgIdent, pgIdent(d.Reader)))
}

// loadAs runs a script over a short-lived connection.
func loadAs(ctx context.Context, driver, dsn, script string) error {
	if strings.Trim(script, "; \n") == "" {
		return nil // MariaDB refuses an empty query
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return fmt.Errorf("load fixture: %w", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, script); err != nil {
		return fmt.Errorf("load fixture: %w", err)
	}
	return nil
}

func (pgEngine) dropDatabase(ctx context.Context, d *DB) error {
	s := d.srv
	if d.admin != nil {
		// A prepared transaction would keep the database from being
		// dropped; it can only be rolled back from inside the database.
		gids, err := queryStrings(ctx, d.admin, "SELECT gid FROM pg_prepared_xacts WHERE database = current_database()")
		for _, gid := range gids {
			if _, err := d.admin.ExecContext(ctx, "ROLLBACK PREPARED '"+strings.ReplaceAll(gid, "'", "''")+"'"); err != nil {
				return fmt.Errorf("rollback prepared %q: %w", gid, err)
			}
		}
		d.admin.Close()
		if err != nil {
			return fmt.Errorf("prepared transactions: %w", err)
		}
	}
	q := fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", pgIdent(d.Name))
	if _, err := s.admin.ExecContext(ctx, q); err != nil {
		return err
	}
	q = fmt.Sprintf("DROP ROLE IF EXISTS %s, %s", pgIdent(d.Owner), pgIdent(d.Reader))
	_, err := s.admin.ExecContext(ctx, q)
	return err
}

// queryStrings runs a query whose rows are one text column.
func queryStrings(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s sql.NullString
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s.String)
	}
	return out, rows.Err()
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}
