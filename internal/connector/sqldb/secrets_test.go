package sqldb

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/redact"
	"github.com/warden-dev/warden/internal/sqltest"
)

// leakedKey is a policy secret (an HTTP resource's key, say) that also
// sits in a table an agent may read.
const leakedKey = "wq8t3r9vzn2m6b4c1x7h5j0kdg3f8r2v"

var keyFixture = sqltest.Fixture{
	Postgres: "CREATE TABLE keys (id integer PRIMARY KEY, k text); INSERT INTO keys VALUES (1, '" + leakedKey + "')",
	MySQL:    "CREATE TABLE `keys` (id integer PRIMARY KEY, k text); INSERT INTO `keys` VALUES (1, '" + leakedKey + "')",
	SQLite:   "CREATE TABLE keys (id integer PRIMARY KEY, k text); INSERT INTO keys VALUES (1, '" + leakedKey + "')",
}

// keyHost holds the policy's secrets: the key, and a DSN, whose password
// alone is secret in pieces.
var keyHost = core.Host{Secrets: []core.Secret{core.NewSecret("env:API_KEY", leakedKey), core.NewSecret("env:DSN", "postgres://u:pw-secret-9@127.0.0.1/shop")}}

// runQuery runs one query call as the engine does and returns the result
// as the agent would see it, or the error's message.
func runQuery(t *testing.T, c *Connector, sql string) string {
	t.Helper()
	a, _ := json.Marshal(map[string]any{"sql": sql})
	inv := &core.Invocation{Op: OpQuery, Args: a}
	ctx := context.Background()
	if err := c.Prepare(ctx, inv); err != nil {
		t.Fatalf("prepare %q: %v", sql, err)
	}
	res, err := c.Execute(ctx, inv, nil)
	if err != nil {
		return core.MessageOf(err)
	}
	b, err := json.Marshal(res.Value)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestQuery_SecretInPieces reads a secret stored in a table in pieces of
// redact.PieceBytes (and their hex forms, and through an error message):
// no answer shows a piece, so the answers together never hold the secret.
func TestQuery_SecretInPieces(t *testing.T) {
	conns := map[string]*Connector{}
	p := sqltest.SQLiteFile(t, keyFixture)
	conns["sqlite"] = openSpec(t, &core.ResourceSpec{Name: "shop", Kind: "sql", Config: &Config{Driver: "sqlite", DSN: core.NewSecret("", p)}}, keyHost)
	if !testing.Short() {
		for driver, db := range map[string]*sqltest.DB{
			"postgres": sqltest.Postgres(t).NewDatabase(t, keyFixture),
			"mysql":    sqltest.MariaDB(t).NewDatabase(t, keyFixture),
		} {
			conns[driver] = openSpec(t, &core.ResourceSpec{Name: "shop", Kind: "sql", Config: &Config{Driver: driver, DSN: core.NewSecret("env:X", db.OwnerDSN())}}, keyHost)
		}
	}
	for driver, c := range conns {
		t.Run(driver, func(t *testing.T) {
			table := "keys"
			hexOf := "hex(%s)"
			switch driver {
			case "mysql":
				table = "`keys`"
			case "postgres":
				hexOf = "encode(CAST(%s AS bytea), 'hex')"
			}
			n := redact.PieceBytes(leakedKey)
			var all strings.Builder
			for i := 1; i+n-1 <= len(leakedKey); i += n {
				piece := "substr(k, " + itoa(i) + ", " + itoa(n) + ")"
				for _, q := range []string{
					"SELECT " + piece + " FROM " + table,
					"SELECT " + strings.Replace(hexOf, "%s", piece, 1) + " FROM " + table,
					"SELECT concat('x', " + piece + ", 'y') AS v FROM " + table,
				} {
					if driver == "sqlite" {
						q = strings.Replace(q, "concat('x', "+piece+", 'y')", "'x' || "+piece+" || 'y'", 1)
					}
					got := runQuery(t, c, q)
					all.WriteString(got)
					if !strings.Contains(got, redact.Marker) {
						t.Errorf("%s = %s, want the piece redacted", q, got)
					}
				}
			}
			whole := all.String()
			for i := 0; i+n <= len(leakedKey); i++ {
				if p := leakedKey[i : i+n]; strings.Contains(whole, p) || strings.Contains(strings.ToLower(whole), hex.EncodeToString([]byte(p))) {
					t.Fatalf("the answers together show the piece %q: %s", p, whole)
				}
			}
			// A DSN's pieces are not secret, its password's are.
			if got := runQuery(t, c, "SELECT 'postgres' AS v, 'secret-9' AS w FROM "+table); !strings.Contains(got, `"postgres"`) || strings.Contains(got, "cret") {
				t.Errorf("DSN pieces: %s", got)
			}
			if driver == "postgres" {
				got := runQuery(t, c, "SELECT CAST(substr(k, 1, 8) AS integer) FROM keys")
				if strings.Contains(got, leakedKey[:4]) || !strings.Contains(got, redact.Marker) {
					t.Errorf("error message = %q, want the piece redacted", got)
				}
			}
		})
	}
}

func openSpec(t *testing.T, spec *core.ResourceSpec, host core.Host) *Connector {
	t.Helper()
	c, err := New(spec, host)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }
