package sqldb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"time"

	"github.com/warden-dev/warden/internal/core"
)

// checkTimeout bounds the connection a check makes to a database server.
const checkTimeout = 10 * time.Second

// sqliteHeader starts every SQLite database file that is not empty.
var sqliteHeader = []byte("SQLite format 3\x00")

// Check reports whether the database can be used. A SQLite file must
// exist, be a regular file (not a symlink, which Open refuses) and be
// readable, and hold a SQLite database or nothing; it is read, never
// opened as a database, so no journal or lock file appears. A server is
// connected to, and its schema read, unless offline; the connection is
// closed before Check returns.
func (c *Connector) Check(ctx context.Context, offline bool) error {
	if d, ok := c.db.(*sqliteDB); ok {
		return checkSQLiteFile(d.path)
	}
	if offline {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	// A connector built for the check alone: opening and closing it
	// leaves nothing behind.
	err := c.Open(ctx)
	c.Close()
	return err
}

// checkSQLiteFile checks a SQLite database file without opening it as a
// database.
func checkSQLiteFile(path string) error {
	fail := func(cause string) error { return fmt.Errorf("cannot open the SQLite database %s: %s", path, cause) }
	info, err := os.Lstat(path)
	switch {
	case err != nil:
		return fail(core.Cause(err))
	case info.Mode()&iofs.ModeSymlink != 0:
		return fail("it is a symbolic link; name the file itself")
	case info.IsDir():
		return fail("it is a directory")
	case !info.Mode().IsRegular():
		return fail("it is not a regular file")
	}
	f, err := os.Open(path)
	if err != nil {
		return fail(core.Cause(err))
	}
	defer f.Close()
	head := make([]byte, len(sqliteHeader))
	n, err := io.ReadFull(f, head)
	switch {
	case n == 0 && (err == nil || errors.Is(err, io.EOF)):
		return nil // an empty file is an empty database
	case err != nil && !errors.Is(err, io.ErrUnexpectedEOF):
		return fail(core.Cause(err))
	case !bytes.Equal(head[:n], sqliteHeader):
		return fail("the file is not a SQLite database")
	}
	return nil
}

var _ core.Checker = (*Connector)(nil)
