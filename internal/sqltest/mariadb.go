package sqltest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql" // registers the "mysql" driver
)

// MariaDB returns the test binary's MariaDB server, starting it on first
// use.
func MariaDB(tb testing.TB) *Server {
	tb.Helper()
	return mariadbServer.get(tb, startMariaDB)
}

// mariaHost is the host part of the test logins: the server listens on
// 127.0.0.1 only and does not resolve names.
const mariaHost = "127.0.0.1"

func startMariaDB() (*Server, string, error) {
	server, install := findProgram("mariadbd"), findProgram("mariadb-install-db")
	if server == "" || install == "" {
		return nil, "sqltest: MariaDB server programs (mariadbd, mariadb-install-db) not found in PATH, /usr/sbin or /usr/bin: " +
			"install them (Debian: apt-get install mariadb-server) to run this test", nil
	}
	begin := time.Now()
	as := serverUser()
	dir, err := serverDir(as, "maria")
	if err != nil {
		return nil, "", fmt.Errorf("start mariadb: %w", err)
	}
	s := &Server{
		Dialect:   "mysql",
		Driver:    "mysql",
		Host:      "127.0.0.1",
		eng:       mariaEngine{},
		dir:       dir,
		socket:    filepath.Join(dir, "mariadbd.sock"),
		adminPass: randomHex(16),
		log:       filepath.Join(dir, "mariadbd.log"),
		stopSig:   syscall.SIGTERM,
	}
	if err := s.initMariaDB(as, server, install); err != nil {
		os.RemoveAll(dir)
		return nil, "", fmt.Errorf("start mariadb: %w", err)
	}
	s.Startup = time.Since(begin)
	return s, "", nil
}

func (s *Server) initMariaDB(as runAs, server, install string) error {
	if len(s.socket) > 100 {
		return fmt.Errorf("socket path %s is too long for a unix socket; set TMPDIR to a shorter directory", s.socket)
	}
	data, tmp := filepath.Join(s.dir, "data"), filepath.Join(s.dir, "tmp")
	for _, d := range []string{data, tmp} {
		if err := mkdirOwned(as, d); err != nil {
			return err
		}
	}
	// Small InnoDB files: the defaults (96 MB of redo log) cost disk and
	// start-up time.
	small := []string{"--innodb-buffer-pool-size=32M", "--innodb-log-file-size=8M", "--skip-log-bin", "--skip-name-resolve"}
	// mariadb-install-db runs as the server user, so no --user is needed.
	err := run(as, s.dir, s.log, install, append([]string{"--no-defaults",
		"--auth-root-authentication-method=normal", "--skip-test-db", "--datadir=" + data}, small...)...)
	if err != nil {
		return err
	}
	// Run before the server accepts connections: only root@localhost
	// remains (install-db also creates root@127.0.0.1, root@::1 and
	// root@<hostname>, none with a password), and it gets one.
	initFile := filepath.Join(s.dir, "init.sql")
	initSQL := "DELETE FROM mysql.global_priv WHERE NOT (User = 'root' AND Host = 'localhost') AND User <> 'mariadb.sys';\n" +
		"DELETE FROM mysql.proxies_priv WHERE NOT (User = 'root' AND Host = 'localhost');\n" +
		"FLUSH PRIVILEGES;\n" +
		"ALTER USER 'root'@'localhost' IDENTIFIED BY '" + s.adminPass + "';\n"
	if err := writeOwned(as, initFile, initSQL); err != nil {
		return err
	}
	return s.startOnFreePort("", "SELECT VERSION()", func(port int) error {
		return s.launch(as, server, append([]string{"--no-defaults",
			"--datadir=" + data, "--tmpdir=" + tmp, "--socket=" + s.socket,
			"--pid-file=" + filepath.Join(s.dir, "mariadbd.pid"), "--init-file=" + initFile,
			"--port=" + strconv.Itoa(port), "--bind-address=127.0.0.1", "--skip-networking=0",
			"--max-connections=50", "--character-set-server=utf8mb4",
			"--innodb-flush-log-at-trx-commit=0", "--innodb-doublewrite=0",
			// Shows every session's metadata and named (GET_LOCK) locks,
			// for Leftovers.
			"--plugin-load-add=metadata_lock_info"}, small...)...)
	})
}

type mariaEngine struct{}

func (mariaEngine) adminDSN(s *Server, db string) string {
	return fmt.Sprintf("root:%s@unix(%s)/%s?multiStatements=true", s.adminPass, s.socket, db)
}

func (mariaEngine) userDSN(s *Server, user, pass, db string) string {
	return fmt.Sprintf("%s:%s@tcp(%s:%d)/%s", user, pass, s.Host, s.Port, db)
}

// myIdent quotes an identifier.
func myIdent(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// myAccount names a test login.
func myAccount(user string) string {
	return "'" + strings.ReplaceAll(user, "'", "''") + "'@'" + mariaHost + "'"
}

func (mariaEngine) createDatabase(ctx context.Context, d *DB, fx Fixture) error {
	s := d.srv
	// ALL on the one database: no global privilege (FILE, SUPER,
	// PROCESS, CREATE USER...) and no GRANT OPTION.
	stmts := []string{
		fmt.Sprintf("CREATE DATABASE %s CHARACTER SET utf8mb4", myIdent(d.Name)),
		fmt.Sprintf("CREATE USER %s IDENTIFIED BY '%s'", myAccount(d.Owner), d.ownerPass),
		fmt.Sprintf("CREATE USER %s IDENTIFIED BY '%s'", myAccount(d.Reader), d.readerPass),
		fmt.Sprintf("GRANT ALL PRIVILEGES ON %s.* TO %s", myIdent(d.Name), myAccount(d.Owner)),
	}
	for _, q := range stmts {
		if _, err := s.admin.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", strings.Fields(q)[0]+" "+strings.Fields(q)[1], err)
		}
	}
	admin, err := sql.Open("mysql", d.AdminDSN())
	if err != nil {
		return fmt.Errorf("open admin pool: %w", err)
	}
	d.admin = admin
	// Loaded by the owner, so that views, triggers and routines in a
	// fixture run with the owner's rights (DEFINER), not root's.
	if err := loadAs(ctx, "mysql", d.OwnerDSN()+"?multiStatements=true", fx.MySQL); err != nil {
		return err
	}
	if grants := fx.readerGrants(myIdent, myAccount(d.Reader)); grants != "" {
		if _, err := admin.ExecContext(ctx, grants); err != nil {
			return fmt.Errorf("reader grants: %w", err)
		}
	}
	return nil
}

func (mariaEngine) dropDatabase(ctx context.Context, d *DB) error {
	s := d.srv
	if d.admin != nil {
		d.admin.Close()
	}
	// Sessions of the test logins could hold metadata locks (LOCK
	// TABLES, an open transaction) that DROP DATABASE would wait for.
	ids, err := queryStrings(ctx, s.admin, "SELECT ID FROM information_schema.PROCESSLIST WHERE USER IN (?, ?)", d.Owner, d.Reader)
	if err != nil {
		return fmt.Errorf("sessions: %w", err)
	}
	for _, id := range ids {
		_, _ = s.admin.ExecContext(ctx, "KILL CONNECTION "+id) // it may have ended by itself
	}
	if _, err := s.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+myIdent(d.Name)); err != nil {
		return err
	}
	_, err = s.admin.ExecContext(ctx, fmt.Sprintf("DROP USER IF EXISTS %s, %s", myAccount(d.Owner), myAccount(d.Reader)))
	return err
}
