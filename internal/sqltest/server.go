// Package sqltest starts real, throwaway PostgreSQL and MariaDB servers for
// tests, creates one fresh database per test with the attack-corpus fixture
// (../shared/corpora/README.md, section 4) and two login roles, and takes
// checksums of a database's whole state so a test can prove that a refused
// or read-only call changed nothing. SQLite databases are plain files; see
// [SQLiteFile].
//
// Each test binary starts at most one server of each kind, on first use,
// listening on 127.0.0.1 at a free port and on a unix socket in its own
// temporary directory. Stop them when the binary ends:
//
//	func TestMain(m *testing.M) { sqltest.Main(m) }
//
// Without that, the servers still die with the test binary (they get
// SIGKILL when it exits, even when it crashes), but their temporary
// directories stay behind until the next test binary that uses sqltest
// sweeps them.
//
// When the server programs are not installed, tests that ask for a server
// are skipped with a message naming the Debian package to install; with
// WARDEN_REQUIRE_SQL_SERVERS=1 in the environment (CI sets it) they fail
// instead.
//
// PostgreSQL refuses to run as root, so when the tests run as root both
// servers run as the unprivileged user nobody. Their admin accounts
// (postgres, root) have random passwords even on the unix socket, so that
// no other local process, whatever its user, gets a superuser session.
package sqltest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// RequireEnv names the environment variable that turns a missing server
// program from a skip into a failure.
const RequireEnv = "WARDEN_REQUIRE_SQL_SERVERS"

// readyTimeout bounds how long a starting server may take to accept a
// connection, and how long one admin statement may run.
const readyTimeout = 30 * time.Second

// Server is a running database server owned by this test binary.
type Server struct {
	Dialect string // "postgres" or "mysql"
	Driver  string // the database/sql driver name: "pgx" or "mysql"
	Host    string // always 127.0.0.1
	Port    int
	Version string        // what the server reports, e.g. "15.18 (Debian 15.18-0+deb12u1)"
	Startup time.Duration // how long initialising and starting took

	eng       engine
	dir       string // temporary directory holding data, socket and log
	socket    string // unix socket: its directory for PostgreSQL, its path for MariaDB
	adminPass string
	log       string // server log file
	cmd       *exec.Cmd
	exited    chan struct{} // closed once cmd has exited
	admin     *sql.DB       // admin pool, not tied to a test database
	stopSig   syscall.Signal
	stopOnce  sync.Once
}

// engine is what differs between the server kinds.
type engine interface {
	adminDSN(s *Server, db string) string
	userDSN(s *Server, user, pass, db string) string
	createDatabase(ctx context.Context, d *DB, fx Fixture) error
	dropDatabase(ctx context.Context, d *DB) error
	state(ctx context.Context, d *DB) ([]string, error)
	leftovers(ctx context.Context, d *DB) ([]string, error)
}

// lazy holds one server kind's start-up, shared by every test in the binary.
type lazy struct {
	once sync.Once
	srv  *Server
	skip string // set when the programs are missing
	err  error
}

var (
	postgresServer, mariadbServer lazy

	runningMu sync.Mutex
	running   []*Server
)

func (l *lazy) get(tb testing.TB, start func() (*Server, string, error)) *Server {
	tb.Helper()
	l.once.Do(func() {
		l.srv, l.skip, l.err = start()
		if l.srv != nil {
			runningMu.Lock()
			running = append(running, l.srv)
			runningMu.Unlock()
		}
	})
	switch {
	case l.skip != "" && os.Getenv(RequireEnv) == "1":
		tb.Fatalf("%s (failing, not skipping, because %s=1)", l.skip, RequireEnv)
	case l.skip != "":
		tb.Skipf("%s (set %s=1 to fail instead of skipping)", l.skip, RequireEnv)
	case l.err != nil:
		tb.Fatal(l.err)
	}
	select {
	case <-l.srv.exited:
		tb.Fatalf("sqltest: the %s server has stopped (StopAll ran, or it died)\n%s", l.srv.Dialect, l.srv.logTail())
	default:
	}
	return l.srv
}

// Main runs the tests, stops the servers they started, and exits with the
// tests' status. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	StopAll()
	os.Exit(code)
}

// StopAll stops every server this binary started and removes their
// directories. A TestMain that does more than [Main] defers it. Asking for
// a server after StopAll fails the test.
func StopAll() {
	runningMu.Lock()
	list := running
	running = nil
	runningMu.Unlock()
	var wg sync.WaitGroup
	for _, s := range list {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.stop()
		}()
	}
	wg.Wait()
}

func (s *Server) stop() {
	s.stopOnce.Do(func() {
		if s.admin != nil {
			s.admin.Close()
		}
		// PostgreSQL: SIGINT is a fast shutdown (open sessions are cut);
		// MariaDB: SIGTERM is its normal shutdown.
		_ = s.cmd.Process.Signal(s.stopSig)
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
		os.RemoveAll(s.dir)
	})
}

// DB is a fresh database on a [Server], dropped when the test ends.
type DB struct {
	Name   string
	Driver string // the database/sql driver name: "pgx" or "mysql"
	Owner  string // login that owns the fixture's tables
	Reader string // least-privilege login: SELECT on the fixture's reader grants

	srv        *Server
	ownerPass  string
	readerPass string
	admin      *sql.DB // superuser pool with this database selected
}

// dbSeq numbers the databases of one test binary; a random suffix keeps
// tests from hard-coding names.
var dbSeq atomic.Int64

// namePrefix starts the name of every test database and login; the
// checksums use it to ignore other tests' roles.
const namePrefix = "wt"

// NewDatabase creates a database with a unique name on s, loads fx into it
// as the owner, and creates the owner and reader logins. It is dropped,
// with its logins, when tb ends.
func (s *Server) NewDatabase(tb testing.TB, fx Fixture) *DB {
	tb.Helper()
	name := fmt.Sprintf("%s%d_%s", namePrefix, dbSeq.Add(1), randomHex(3))
	d := &DB{
		Name:       name,
		Driver:     s.Driver,
		Owner:      name + "_owner",
		Reader:     name + "_reader",
		srv:        s,
		ownerPass:  randomHex(12),
		readerPass: randomHex(12),
	}
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	// Cleanup is registered first so that a half-created database is
	// dropped too.
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
		defer cancel()
		if err := s.eng.dropDatabase(ctx, d); err != nil {
			tb.Logf("sqltest: drop database %s: %v", d.Name, err)
		}
	})
	if err := s.eng.createDatabase(ctx, d, fx); err != nil {
		tb.Fatalf("sqltest: create %s database %s: %v\n%s", s.Dialect, name, err, s.logTail())
	}
	return d
}

// AdminDSN is a superuser DSN for this database, over the unix socket.
func (d *DB) AdminDSN() string { return d.srv.eng.adminDSN(d.srv, d.Name) }

// OwnerDSN is the owner's DSN, over TCP to 127.0.0.1 with a password.
func (d *DB) OwnerDSN() string { return d.srv.eng.userDSN(d.srv, d.Owner, d.ownerPass, d.Name) }

// ReaderDSN is the reader's DSN, over TCP to 127.0.0.1 with a password.
func (d *DB) ReaderDSN() string { return d.srv.eng.userDSN(d.srv, d.Reader, d.readerPass, d.Name) }

// Exec runs query (one statement, or several without args) as the
// superuser in this database, failing tb on error.
func (d *DB) Exec(tb testing.TB, query string, args ...any) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	if _, err := d.admin.ExecContext(ctx, query, args...); err != nil {
		tb.Fatalf("sqltest: exec in %s: %v", d.Name, err)
	}
}

// Leftovers lists what other sessions still hold in this database, one
// line each; nil means nothing. PostgreSQL: sessions in a transaction or
// running a statement, advisory locks, temporary tables, prepared
// transactions. MariaDB: metadata locks (held by any transaction that
// touched a table, by LOCK TABLES and by GET_LOCK), transactions older
// than 0.1 s, running statements. Session state that other sessions
// cannot see (prepared statements, settings, MariaDB's temporary tables)
// is not covered.
//
// A server lists a statement for a moment after it answered it (MariaDB
// shows a finished ROLLBACK as running): while anything is listed, it
// looks again for up to leftoverSettle and reports the last look.
func (d *DB) Leftovers(tb testing.TB) []string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	sample := func() []string {
		out, err := d.srv.eng.leftovers(ctx, d)
		if err != nil {
			tb.Fatalf("sqltest: leftovers of %s: %v", d.Name, err)
		}
		return out
	}
	out := sample()
	for deadline := time.Now().Add(leftoverSettle); len(out) > 0 && time.Now().Before(deadline); {
		time.Sleep(leftoverSettle / 5)
		out = sample()
	}
	return out
}

// leftoverSettle is how long a leftover must last to be reported.
const leftoverSettle = 250 * time.Millisecond

// forks carries every start of a server program to one goroutine. A child
// gets SIGKILL when the thread that forked it ends (Pdeathsig), and Go
// ends threads when it likes; that goroutine is locked to its thread and
// never returns, so the signal comes exactly when the test binary exits,
// however it exits.
var (
	forkOnce sync.Once
	forks    = make(chan forkCall)
)

type forkCall struct {
	cmd  *exec.Cmd
	done chan error
}

func startProcess(cmd *exec.Cmd) error {
	forkOnce.Do(func() {
		go func() {
			runtime.LockOSThread()
			for c := range forks {
				c.done <- c.cmd.Start()
			}
		}()
	})
	c := forkCall{cmd: cmd, done: make(chan error, 1)}
	forks <- c
	return <-c.done
}

// runAs holds the credentials server programs run with: nobody when the
// tests run as root (PostgreSQL refuses root), else the tests' own.
type runAs struct {
	cred     *syscall.Credential // nil: do not switch
	uid, gid int
}

func serverUser() runAs {
	if os.Geteuid() != 0 {
		return runAs{uid: os.Geteuid(), gid: os.Getegid()}
	}
	uid, gid := 65534, 65534
	if u, err := user.Lookup("nobody"); err == nil {
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
	}
	if g, err := user.LookupGroup("nogroup"); err == nil {
		gid, _ = strconv.Atoi(g.Gid)
	}
	return runAs{
		cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}},
		uid:  uid, gid: gid,
	}
}

// command builds a server-program command: a clean environment (no PG*
// or MYSQL_* variables of the caller leak in), its own process group (a
// terminal's ^C reaches only the test binary, which then stops the
// servers), SIGKILL on parent death, and the server user.
func command(as runAs, dir, logFile, name string, args ...string) (*exec.Cmd, *os.File, error) {
	f, err := os.OpenFile(logFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("open log: %w", err)
	}
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "LANG=C", "TZ=UTC", "HOME=" + dir, "TMPDIR=" + dir}
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: as.cred}
	return cmd, f, nil
}

// run runs a set-up program (initdb, mariadb-install-db) to completion.
func run(as runAs, dir, logFile, name string, args ...string) error {
	cmd, f, err := command(as, dir, logFile, name, args...)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := startProcess(cmd); err != nil {
		return fmt.Errorf("%s: %w", filepath.Base(name), err)
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("%s: %w\n%s", filepath.Base(name), err, tail(logFile, 30))
	}
	return nil
}

// launch starts the server program in the background.
func (s *Server) launch(as runAs, name string, args ...string) error {
	cmd, f, err := command(as, s.dir, s.log, name, args...)
	if err != nil {
		return err
	}
	defer f.Close() // the child holds its own copy
	if err := startProcess(cmd); err != nil {
		return fmt.Errorf("%s: %w", filepath.Base(name), err)
	}
	s.cmd = cmd
	s.exited = make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(s.exited)
	}()
	return nil
}

// waitReady polls until the server accepts an admin connection, and
// keeps that pool.
// startOnFreePort starts the server through launch on a free loopback port
// and waits until the admin login works on database db; another process
// may take the port first, so it retries up to three times. It then reads
// the server's version with versionQuery.
func (s *Server) startOnFreePort(db, versionQuery string, launch func(port int) error) error {
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return err
		}
		s.Port = port
		err = launch(port)
		if err == nil {
			err = s.waitReady(s.eng.adminDSN(s, db))
		}
		if err == nil {
			break
		}
		s.kill()
		if attempt == 3 || !s.portInUse() {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	if err := s.admin.QueryRowContext(ctx, versionQuery).Scan(&s.Version); err != nil {
		s.stop()
		return fmt.Errorf("server version: %w", err)
	}
	return nil
}

func (s *Server) waitReady(dsn string) error {
	db, err := sql.Open(s.Driver, dsn)
	if err != nil {
		return fmt.Errorf("open admin pool: %w", err)
	}
	deadline := time.Now().Add(readyTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err = db.PingContext(ctx)
		cancel()
		if err == nil {
			s.admin = db
			return nil
		}
		select {
		case <-s.exited:
			db.Close()
			return fmt.Errorf("server exited during start-up: %w\n%s", err, s.logTail())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			db.Close()
			return fmt.Errorf("server not ready after %v: %w\n%s", readyTimeout, err, s.logTail())
		}
	}
}

// portInUse tells whether a failed start was a lost race for the port
// that freePort found free.
func (s *Server) portInUse() bool {
	b, _ := os.ReadFile(s.log)
	return strings.Contains(string(b), "already in use")
}

func (s *Server) logTail() string {
	if s.log == "" {
		return ""
	}
	return "server log " + s.log + ":\n" + tail(s.log, 40)
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// freePort finds a TCP port on 127.0.0.1 that nothing listens on now.
// Another process may take it before the server binds; callers retry.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// dirPrefix names the server directories; the pid in it lets a later
// binary remove the directories of dead ones.
const dirPrefix = "warden-sqltest-"

// serverDir creates the server's directory, owned by the server user.
// It lies under a base whose every ancestor the server user can traverse:
// t.TempDir() will not do, its parent is 0700 and owned by root.
func serverDir(as runAs, kind string) (string, error) {
	var base string
	for _, c := range []string{os.TempDir(), "/tmp", "/var/tmp"} {
		if as.cred == nil || traversable(c) {
			base = c
			break
		}
	}
	if base == "" {
		return "", fmt.Errorf("server dir: no temporary directory that user %d can traverse (TMPDIR=%q)", as.uid, os.Getenv("TMPDIR"))
	}
	sweep(base)
	dir, err := os.MkdirTemp(base, fmt.Sprintf("%s%d-%s-", dirPrefix, os.Getpid(), kind))
	if err != nil {
		return "", fmt.Errorf("server dir: %w", err)
	}
	if err := os.Chown(dir, as.uid, as.gid); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("server dir: %w", err)
	}
	return dir, nil
}

// traversable tells whether every directory from / down to dir can be
// searched by any user.
func traversable(dir string) bool {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	for {
		fi, err := os.Stat(dir)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return false
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return true
		}
		dir = parent
	}
}

// sweep removes server directories of test binaries that no longer run,
// e.g. ones killed before they could stop their servers.
func sweep(base string) {
	matches, _ := filepath.Glob(filepath.Join(base, dirPrefix+"*"))
	for _, m := range matches {
		rest := strings.TrimPrefix(filepath.Base(m), dirPrefix)
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			os.RemoveAll(m)
		}
	}
}

// writeOwned writes a file the server user can read.
func writeOwned(as runAs, path, content string) error {
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		return err
	}
	return os.Chown(path, as.uid, as.gid)
}

// mkdirOwned makes a directory owned by the server user.
func mkdirOwned(as runAs, path string) error {
	if err := os.Mkdir(path, 0o700); err != nil {
		return err
	}
	return os.Chown(path, as.uid, as.gid)
}

// findProgram looks for a program in PATH and in the places Debian puts
// server programs, which a CI user's PATH often lacks.
func findProgram(name string, extra ...string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range append(extra, "/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin", "/sbin") {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p
		}
	}
	return ""
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return hex.EncodeToString(b)
}
