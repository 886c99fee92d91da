package e2e

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/warden-dev/warden/internal/connector/sqldb"
	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/engine"
	"github.com/warden-dev/warden/internal/sqltest"
)

// TestSQLGrantScript runs what "warden sql grants" prints for the corpus
// policy on real servers, then starts Warden with strict_credentials on
// the new login: the login it describes does what the grants need and no
// more, and the granted query works.
func TestSQLGrantScript(t *testing.T) {
	dbs := map[string]*sqltest.DB{
		"postgres": sqltest.Postgres(t).NewDatabase(t, sqltest.CorpusFixture),
		"mysql":    sqltest.MariaDB(t).NewDatabase(t, sqltest.CorpusFixture),
	}
	for driver, db := range dbs {
		t.Run(driver, func(t *testing.T) {
			role, pass := "w_"+db.Name, "Pw-"+db.Name
			spec := &core.ResourceSpec{Name: "shop", Kind: "sql", Config: &sqldb.Config{Driver: driver, DSN: core.NewSecret("env:X", db.OwnerDSN())}}
			needs := map[string]*sqldb.Need{}
			sqldb.NeedsOf(needs, []string{"query"}, map[string][]string{"orders": {"*"}, "customers": {"id", "country"}})
			script, err := sqldb.GrantScript(spec, role, "127.0.0.1", needs)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if driver == "mysql" {
					db.Exec(t, "DROP USER IF EXISTS '"+role+"'@'127.0.0.1'")
				} else {
					db.Exec(t, `DROP OWNED BY "`+role+`"`)
					db.Exec(t, `DROP ROLE IF EXISTS "`+role+`"`)
				}
			})
			for _, line := range strings.Split(script, "\n") {
				if line == "" || strings.HasPrefix(line, "--") {
					continue
				}
				db.Exec(t, strings.Replace(line, "choose-a-password", pass, 1))
			}
			e, err := startStrict(t, driver, loginDSN(t, driver, db.OwnerDSN(), role, pass))
			if err != nil {
				t.Fatalf("strict_credentials refused the login sql grants printed:\n%s\n%v", script, err)
			}
			defer e.Close()
			out := e.Call(context.Background(), core.Call{Agent: "agent", Tool: "shop_query", Args: []byte(`{"sql":"SELECT c.country, count(*) FROM orders o JOIN customers c ON c.id = o.customer_id GROUP BY c.country"}`)}, engine.CallOptions{})
			if out.Status != engine.StatusOK {
				t.Errorf("a granted query as the new login: %v %s", out.Status, out.Message)
			}
		})
	}
}

// loginDSN is dsn with another user and password.
func loginDSN(t *testing.T, driver, dsn, user, pass string) string {
	t.Helper()
	if driver == "mysql" {
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil {
			t.Fatal(err)
		}
		cfg.User, cfg.Passwd = user, pass
		return cfg.FormatDSN()
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(user, pass)
	return u.String()
}
