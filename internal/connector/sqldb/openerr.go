package sqldb

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/ncruces/go-sqlite3"
	"github.com/warden-dev/warden/internal/core"
)

// openError is a failure to open a database, in an operator's words: what
// failed and its cause, said once. It keeps the driver's error for
// errors.Is and errors.As, but not its text, which repeats itself and
// names Go packages.
type openError struct {
	text string
	err  error
}

func (e *openError) Error() string { return e.text }
func (e *openError) Unwrap() error { return e.err }

func openErrorf(err error, format string, args ...any) error {
	return &openError{text: fmt.Sprintf(format, args...), err: err}
}

// sqliteOpenError says why the SQLite file at path does not open.
func sqliteOpenError(path string, err error) error {
	return openErrorf(err, "cannot open the SQLite database %s: %s", path, sqliteCause(path, err))
}

// sqliteCause names, in plain words, why a SQLite file cannot be used.
func sqliteCause(path string, err error) string {
	var pe *fs.PathError
	switch {
	case errors.As(err, &pe):
		return core.Cause(err)
	case errors.Is(err, sqlite3.NOTADB):
		return "the file is not a SQLite database"
	case errors.Is(err, sqlite3.CORRUPT):
		return "the database file is damaged"
	}
	if info, serr := os.Stat(path); serr == nil && info.IsDir() {
		return "it is a directory"
	}
	return strings.TrimPrefix(err.Error(), "sqlite3: ")
}

// postgresOpenError says why the PostgreSQL server at addr did not let
// user in.
func postgresOpenError(addr, user string, err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// Class 28: invalid authorization (a wrong password, no such
		// role, a pg_hba.conf rule).
		if strings.HasPrefix(pe.Code, "28") {
			return openErrorf(err, "PostgreSQL at %s refused the login of user %s: %s", addr, user, strings.TrimSuffix(pe.Message, " for user "+strconv.Quote(user)))
		}
		return openErrorf(err, "PostgreSQL at %s refused the connection: %s", addr, pe.Message)
	}
	return openErrorf(err, "cannot connect to PostgreSQL at %s: %s", addr, netCause(err))
}

// mysqlOpenError says why the MySQL or MariaDB server at addr did not let
// user in.
func mysqlOpenError(addr, user, database string, err error) error {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1045, 1698: // access denied for the login, for a socket login
			return openErrorf(err, "MySQL at %s refused the login of user %s: access denied", addr, user)
		case 1044: // access denied to the database (or it does not exist)
			return openErrorf(err, "MySQL at %s refused the login of user %s: access denied to the database %s", addr, user, database)
		}
		return openErrorf(err, "MySQL at %s refused the connection: %s", addr, me.Message)
	}
	return openErrorf(err, "cannot connect to MySQL at %s: %s", addr, netCause(err))
}

// netCause names a connection failure in plain words, without the
// driver's wrapping.
func netCause(err error) string {
	var dnsErr *net.DNSError
	var errno syscall.Errno
	switch {
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return "no such host"
		}
		return "the host name cannot be resolved: " + dnsErr.Err
	case errors.Is(err, context.DeadlineExceeded):
		return "no answer in time"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.As(err, &errno):
		return errno.Error()
	}
	var pce *pgconn.ConnectError
	if errors.As(err, &pce) {
		if inner := errors.Unwrap(pce); inner != nil {
			err = inner
		}
	}
	s, _, _ := strings.Cut(strings.TrimSpace(err.Error()), "\n")
	// pgx names each address it tried, "127.0.0.1:5432 (localhost): ",
	// which the message already says.
	return dialPrefix.ReplaceAllString(s, "")
}

var dialPrefix = regexp.MustCompile(`^\S+ \([^)]*\): `)

// hostPort joins a host and port for a message; a Unix socket's path
// stands alone.
func hostPort(host string, port int) string {
	if strings.HasPrefix(host, "/") {
		return host
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// describe names a backend's database for an operator.
func describe(db backend) string {
	switch d := db.(type) {
	case *sqliteDB:
		return "the SQLite database " + d.path
	case *postgresDB:
		if d.addr != "" {
			return "the PostgreSQL database at " + d.addr
		}
		return "the PostgreSQL database"
	case *mysqlDB:
		if d.addr != "" {
			return "the MySQL database at " + d.addr
		}
		return "the MySQL database"
	}
	return "the database"
}

// schemaError says why a database that opened cannot list its tables.
func schemaError(db backend, err error) error {
	var cause string
	var pe *pgconn.PgError
	var me *mysql.MySQLError
	switch d := db.(type) {
	case *sqliteDB:
		cause = sqliteCause(d.path, err)
	default:
		switch {
		case errors.As(err, &pe):
			cause = pe.Message
		case errors.As(err, &me):
			cause = me.Message
		default:
			cause = netCause(err)
		}
	}
	return openErrorf(err, "cannot read the tables of %s: %s", describe(db), cause)
}
