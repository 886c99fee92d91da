package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/warden-dev/warden/internal/engine"
	"github.com/warden-dev/warden/internal/policy"
	"github.com/warden-dev/warden/internal/sqltest"
)

// TestSQLStrictCredentials starts Warden on real servers with the corpus
// policy: with strict_credentials, a login that can read and change more
// than the grants need (the tables' owner) stops the start and says what
// it can do; the least-privilege reader starts. The login's password never
// appears in the message.
func TestSQLStrictCredentials(t *testing.T) {
	dbs := map[string]*sqltest.DB{
		"postgres": sqltest.Postgres(t).NewDatabase(t, sqltest.CorpusFixture),
		"mysql":    sqltest.MariaDB(t).NewDatabase(t, sqltest.CorpusFixture),
	}
	for driver, db := range dbs {
		t.Run(driver, func(t *testing.T) {
			start := func(dsn string) error {
				e, err := startStrict(t, driver, dsn)
				if err == nil {
					e.Close()
				}
				return err
			}
			err := start(db.OwnerDSN())
			if err == nil {
				t.Fatal("the tables' owner started with strict_credentials")
			}
			for _, want := range []string{"strict_credentials", "secrets.{id, token}", "customers.{email, name}", "change table orders"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("the refusal lacks %q: %v", want, err)
				}
			}
			if pw := password(t, driver, db.OwnerDSN()); pw == "" || strings.Contains(err.Error(), pw) {
				t.Errorf("the refusal holds the login's password (or it has none): %v", err)
			}
			if err := start(db.ReaderDSN()); err != nil {
				t.Errorf("the least-privilege reader did not start: %v", err)
			}
		})
	}
}

func password(t *testing.T, driver, dsn string) string {
	t.Helper()
	if driver == "mysql" {
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil {
			t.Fatal(err)
		}
		return cfg.Passwd
	}
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Password
}

// startStrict opens an engine, without state, for the corpus policy with
// strict_credentials on a database reached through dsn.
func startStrict(t *testing.T, driver, dsn string) (*engine.Engine, error) {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("WARDEN_TEST_SHOP_DSN", dsn)
	pol := strings.Replace(fmt.Sprintf(sqlCorpusPolicy, driver, "env:WARDEN_TEST_SHOP_DSN"),
		"limits: {timeout: 5s}", "strict_credentials: true", 1)
	if err := os.WriteFile(filepath.Join(dir, "warden.yaml"), []byte(pol), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := policy.Load(filepath.Join(dir, "warden.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return engine.New(context.Background(), p, engine.Options{NoState: true})
}
