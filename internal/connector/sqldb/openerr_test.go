package sqldb

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/sqltest"
)

// openText opens a sql resource and returns its error's two texts: the
// operator's (Error) and the model's (MessageOf).
func openText(t *testing.T, driver, dsn string) (operator, model string) {
	t.Helper()
	c, err := New(&core.ResourceSpec{Name: "shop", Kind: "sql", Config: &Config{Driver: driver, DSN: core.NewSecret("env:X", dsn)}}, core.Host{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Open(context.Background())
	if err == nil {
		t.Fatalf("Open(%s) = nil error, want one", driver)
	}
	if core.KindOf(err) != core.KindUnavailable {
		t.Errorf("KindOf(Open error) = %v, want unavailable", core.KindOf(err))
	}
	return err.Error(), core.MessageOf(err)
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// TestOpenErrorText pins what an operator reads when a database does not
// open: what failed and the cause once, in plain words, with no Go
// package, no driver prefix and no model sentence in it; the model keeps
// its own sentence.
func TestOpenErrorText(t *testing.T) {
	dir := t.TempDir()
	notDB := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notDB, []byte(strings.Repeat("not a database\n", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	port := closedPort(t)
	tests := []struct {
		name, driver, dsn, want string
	}{
		{"missing sqlite file", "sqlite", filepath.Join(dir, "shop.db"), "cannot open the SQLite database " + filepath.Join(dir, "shop.db") + ": no such file or directory"},
		{"sqlite in a missing directory", "sqlite", filepath.Join(dir, "no", "shop.db"), "cannot open the SQLite database " + filepath.Join(dir, "no", "shop.db") + ": no such file or directory"},
		{"sqlite path is a directory", "sqlite", dir, "cannot open the SQLite database " + dir + ": it is a directory"},
		{"not a sqlite file", "sqlite", notDB, "cannot read the tables of the SQLite database " + notDB + ": the file is not a SQLite database"},
		{"postgres refusing connections", "postgres", fmt.Sprintf("postgres://u:secret-pw@127.0.0.1:%d/shop?sslmode=disable", port), fmt.Sprintf("cannot connect to PostgreSQL at 127.0.0.1:%d: connection refused", port)},
		{"postgres with tls preferred", "postgres", fmt.Sprintf("postgres://u:secret-pw@localhost:%d/shop", port), fmt.Sprintf("cannot connect to PostgreSQL at localhost:%d: connection refused", port)},
		{"mysql refusing connections", "mysql", fmt.Sprintf("u:secret-pw@tcp(127.0.0.1:%d)/shop", port), fmt.Sprintf("cannot connect to MySQL at 127.0.0.1:%d: connection refused", port)},
		{"postgres dsn unparsable", "postgres", "postgres://u:secret-pw@127.0.0.1:notaport/shop", "the PostgreSQL dsn cannot be parsed"},
		{"mysql dsn unparsable", "mysql", "u:secret-pw@tcp(127.0.0.1/shop", "the MySQL dsn cannot be parsed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, model := openText(t, tt.driver, tt.dsn)
			if got != tt.want {
				t.Errorf("Open error = %q\nwant         %q", got, tt.want)
			}
			if model != `The database of "shop" cannot be opened.` && model != `The schema of "shop" cannot be read.` {
				t.Errorf("model's message = %q, want its one sentence", model)
			}
			if strings.Contains(got, "secret-pw") {
				t.Errorf("Open error %q holds the password", got)
			}
		})
	}
}

// TestOpenErrorTextUnreadable: a file the process may not read. Root reads
// every file, so the test needs another user.
func TestOpenErrorTextUnreadable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads every file")
	}
	path := sqltest.SQLiteFile(t, sqltest.CorpusFixture)
	if err := os.Chmod(path, 0); err != nil {
		t.Fatal(err)
	}
	got, _ := openText(t, "sqlite", path)
	if want := "cannot open the SQLite database " + path + ": permission denied"; got != want {
		t.Errorf("Open error = %q, want %q", got, want)
	}
}

// TestOpenErrorTextCredentials: a server that is up refuses a wrong
// password, and says so in one line naming the login, never the password.
func TestOpenErrorTextCredentials(t *testing.T) {
	t.Run("postgres", func(t *testing.T) {
		db := sqltest.Postgres(t).NewDatabase(t, sqltest.CorpusFixture)
		srv := sqltest.Postgres(t)
		dsn := fmt.Sprintf("postgres://%s:wrong-secret-pw@%s:%d/%s?sslmode=disable", db.Reader, srv.Host, srv.Port, db.Name)
		got, _ := openText(t, "postgres", dsn)
		want := fmt.Sprintf("PostgreSQL at %s:%d refused the login of user %s: password authentication failed", srv.Host, srv.Port, db.Reader)
		if got != want {
			t.Errorf("Open error = %q\nwant         %q", got, want)
		}
		dsn = fmt.Sprintf("postgres://%s:wrong-secret-pw@%s:%d/%s?sslmode=require", db.Reader, srv.Host, srv.Port, db.Name)
		want = fmt.Sprintf("cannot connect to PostgreSQL at %s:%d: tls error: server refused TLS connection", srv.Host, srv.Port)
		if got, _ := openText(t, "postgres", dsn); got != want {
			t.Errorf("Open error = %q\nwant         %q", got, want)
		}
		dsn = fmt.Sprintf("postgres://%s:wrong-secret-pw@%s:%d/no_such_db?sslmode=disable", db.Reader, srv.Host, srv.Port)
		if got, _ := openText(t, "postgres", dsn); !strings.HasPrefix(got, fmt.Sprintf("PostgreSQL at %s:%d refused the login of user %s: ", srv.Host, srv.Port, db.Reader)) {
			t.Errorf("Open error = %q, want a refused login", got)
		}
	})
	t.Run("mysql", func(t *testing.T) {
		db := sqltest.MariaDB(t).NewDatabase(t, sqltest.CorpusFixture)
		srv := sqltest.MariaDB(t)
		dsn := fmt.Sprintf("%s:wrong-secret-pw@tcp(%s:%d)/%s", db.Reader, srv.Host, srv.Port, db.Name)
		got, _ := openText(t, "mysql", dsn)
		want := fmt.Sprintf("MySQL at %s:%d refused the login of user %s: access denied", srv.Host, srv.Port, db.Reader)
		if got != want {
			t.Errorf("Open error = %q\nwant         %q", got, want)
		}
		// The right password, a database the login has no access to.
		dsn = strings.TrimSuffix(db.ReaderDSN(), db.Name) + "no_such_db"
		want = fmt.Sprintf("MySQL at %s:%d refused the login of user %s: access denied to the database no_such_db", srv.Host, srv.Port, db.Reader)
		if got, _ := openText(t, "mysql", dsn); got != want {
			t.Errorf("Open error = %q\nwant         %q", got, want)
		}
	})
}
