package sqldb

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
)

// connectError says, for the operator, which database could not be
// reached and why, once: "cannot connect to the PostgreSQL database shop
// at db:5432 as app: connection refused". The names come from the DSN;
// its password never appears.
func connectError(product, database, addr, user string, err error) error {
	return &openError{what: fmt.Sprintf("cannot connect to the %s database %s at %s as %s", product, database, addr, user), err: err}
}

type openError struct {
	what string
	err  error
}

func (e *openError) Error() string { return e.what + ": " + connectCause(e.err) }
func (e *openError) Unwrap() error { return e.err }

// connectCause is the deepest cause of a failed connection in plain words:
// the server's own message, a name that does not resolve, a refused
// connection. Drivers wrap these in their own prefixes, and PostgreSQL's
// repeats them for each address of a host.
func connectCause(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Message
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Message
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return fmt.Sprintf("the host name %s does not resolve", dns.Name)
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "the server did not answer in time"
	}
	if errors.Is(err, context.Canceled) {
		return "cancelled"
	}
	return oneLine(err.Error())
}
