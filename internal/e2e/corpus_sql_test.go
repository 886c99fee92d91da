package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/ncruces/go-sqlite3/driver"

	"github.com/warden-dev/warden/internal/connector/connectortest"
	"github.com/warden-dev/warden/internal/corpus"
	"github.com/warden-dev/warden/internal/sqltest"
)

// sqlCorpusPolicy is the corpus README's policy (section 4): read-only,
// orders whole, customers' id and country.
const sqlCorpusPolicy = `version: 1
resources:
  shop: {kind: sql, driver: %s, dsn: %q, limits: {timeout: 5s}}
agents:
  agent:
    grants:
      - resource: shop
        actions: [query]
        tables:
          orders: "*"
          customers: [id, country]
`

// sqlMarkers are the fixture's out-of-scope values: no deny line may bring
// one back, not even in an error message.
var sqlMarkers = []string{"NAME-MARKER", "email-marker", "tok-MARKER", sqltest.OtherDBMarker}

// sqlDecisions are debatable allow lines Warden refuses on purpose, with
// why. The test fails if one of them starts to pass.
var sqlDecisions = map[string]string{
	"SHOW TABLES": "it lists every table of the database, secrets included; the schema tool lists what the agent may query",
}

// sqlTarget is one database under test: how to reach it, what its state
// is, and how to run a statement on it directly for the expected rows.
type sqlTarget struct {
	driver string
	dsn    string
	vars   map[string]string
	state  func() string
	direct func(query string) ([][]*string, error)
}

func TestCorpusSQLite(t *testing.T) {
	if !connectortest.Sandboxed(t) {
		return
	}
	db := sqltest.SQLiteFile(t, sqltest.CorpusFixture)
	other := sqltest.SQLiteOtherDB(t)
	out := filepath.Join(t.TempDir(), "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	ref, err := sql.Open("sqlite3", "file:"+db+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	runSQLCorpus(t, "sql-sqlite.txt", sqlTarget{
		driver: "sqlite", dsn: db,
		vars: map[string]string{"{OTHERDB}": other, "{OUTDIR}": out},
		state: func() string {
			return sqltest.SQLiteChecksum(t, db) + sqltest.SQLiteChecksum(t, other) + dirNames(t, out)
		},
		direct: func(q string) ([][]*string, error) { return textRows(ref.Query(q)) },
	})
}

func TestCorpusPostgres(t *testing.T) {
	db := sqltest.Postgres(t).NewDatabase(t, sqltest.CorpusFixture)
	out := t.TempDir()
	cfg, err := pgconn.ParseConfig(db.AdminDSN())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	admin, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	runSQLCorpus(t, "sql-postgres.txt", sqlTarget{
		driver: "postgres", dsn: db.OwnerDSN(),
		vars:  map[string]string{"{OUTDIR}": out},
		state: func() string { return db.Checksum(t) + strings.Join(db.Leftovers(t), ",") + dirNames(t, out) },
		direct: func(q string) ([][]*string, error) {
			// Text format, read-only, rolled back: the database's own rows.
			if _, err := admin.Exec(ctx, "BEGIN READ ONLY").ReadAll(); err != nil {
				return nil, err
			}
			defer func() { admin.Exec(ctx, "ROLLBACK").ReadAll() }()
			res := admin.ExecParams(ctx, q, nil, nil, nil, nil).Read()
			if res.Err != nil {
				return nil, res.Err
			}
			var rows [][]*string
			for _, r := range res.Rows {
				rows = append(rows, textRow(r))
			}
			return rows, nil
		},
	})
}

func TestCorpusMariaDB(t *testing.T) {
	db := sqltest.MariaDB(t).NewDatabase(t, sqltest.CorpusFixture)
	out := t.TempDir()
	cfg, err := mysql.ParseDSN(db.AdminDSN())
	if err != nil {
		t.Fatal(err)
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ref := sql.OpenDB(conn)
	defer ref.Close()
	runSQLCorpus(t, "sql-mysql.txt", sqlTarget{
		driver: "mysql", dsn: db.OwnerDSN(),
		vars:  map[string]string{"{OUTDIR}": out},
		state: func() string { return db.Checksum(t) + strings.Join(db.Leftovers(t), ",") + dirNames(t, out) },
		// Without arguments the driver uses the text protocol: every value
		// comes back as the server's text.
		direct: func(q string) ([][]*string, error) { return textRows(ref.Query(q)) },
	})
}

// runSQLCorpus sends every line of a corpus as one shop_query call through
// the whole pipeline (policy, engine, MCP) and checks the README's rules:
// deny lines are refused, leak nothing and leave the database as it was;
// allow lines return the rows the database itself returns.
func runSQLCorpus(t *testing.T, file string, tgt sqlTarget) {
	cases := corpus.Load(t, file)
	base := t.TempDir()
	dsn := tgt.dsn
	if tgt.driver != "sqlite" {
		t.Setenv("WARDEN_TEST_SHOP_DSN", tgt.dsn)
		dsn = "env:WARDEN_TEST_SHOP_DSN"
	}
	if err := os.WriteFile(filepath.Join(base, "warden.yaml"), []byte(fmt.Sprintf(sqlCorpusPolicy, tgt.driver, dsn)), 0o644); err != nil {
		t.Fatal(err)
	}
	cs := inProcess(t, base)
	before := tgt.state()
	var denied, allowed int
	for _, c := range cases {
		payload := corpus.Substitute(c.Payload, tgt.vars)
		res := callTool(t, cs, "shop_query", map[string]any{"sql": payload})
		got := text(res)
		if c.Expect == "deny" {
			denied++
			for _, m := range sqlMarkers {
				if strings.Contains(got, m) {
					t.Errorf("%v: the result holds %s: %s", c, m, clip(got))
				}
			}
			if !res.IsError && c.Directives["check"] != "effect" {
				t.Errorf("%v: succeeded, want it refused: %s", c, clip(got))
			}
			if after := tgt.state(); after != before {
				t.Errorf("%v: the database changed", c)
				before = after
			}
			continue
		}
		allowed++
		if why, ok := sqlDecisions[c.Payload]; ok {
			if !res.IsError {
				t.Errorf("%v: passes, but is listed as refused on purpose (%s); update sqlDecisions", c, why)
			}
			continue
		}
		if res.IsError {
			t.Errorf("%v: refused, want rows: %s", c, clip(got))
			continue
		}
		want, err := tgt.direct(payload)
		if err != nil {
			t.Errorf("%v: the database itself refused it: %v", c, err)
			continue
		}
		if volatileResult(payload) {
			// Timings and session settings differ between two runs: the
			// number of rows must match, not the values.
			for i := range want {
				for j := range want[i] {
					want[i][j] = anyValue
				}
			}
		}
		if msg := sameRows(got, want); msg != "" {
			t.Errorf("%v: %s", c, msg)
		}
	}
	if after := tgt.state(); after != before {
		t.Errorf("the corpus changed the database")
	}
	t.Logf("%s: %d deny and %d allow lines", file, denied, allowed)
}

// volatileResult reports statements whose rows differ between runs:
// EXPLAIN ANALYZE's timings, and SHOW of a setting Warden pins in its own
// sessions (search_path).
func volatileResult(sql string) bool {
	u := strings.ToUpper(strings.TrimSpace(sql))
	return strings.HasPrefix(u, "EXPLAIN ANALYZE") || strings.HasPrefix(u, "SHOW ")
}

// sameRows compares a shop_query result with the database's own rows in
// text form. Numbers compare by value, booleans by truth, JSON compactly.
func sameRows(result string, want [][]*string) string {
	d := json.NewDecoder(strings.NewReader(result))
	d.UseNumber()
	var r struct {
		Rows      [][]any `json:"rows"`
		Truncated bool    `json:"truncated"`
	}
	if err := d.Decode(&r); err != nil {
		return "the result is not a table: " + clip(result)
	}
	if r.Truncated {
		want = want[:min(len(want), len(r.Rows))]
	}
	if len(r.Rows) != len(want) {
		return fmt.Sprintf("%d rows, the database returns %d", len(r.Rows), len(want))
	}
	if sameRowsInOrder(r.Rows, want) == "" {
		return ""
	}
	// Rows that tie under ORDER BY may come back in another order.
	used := make([]bool, len(want))
next:
	for _, row := range r.Rows {
		for j, w := range want {
			if !used[j] && sameRowsInOrder([][]any{row}, [][]*string{w}) == "" {
				used[j] = true
				continue next
			}
		}
		return sameRowsInOrder(r.Rows, want)
	}
	return ""
}

func sameRowsInOrder(rows [][]any, want [][]*string) string {
	for i, row := range rows {
		if len(row) != len(want[i]) {
			return fmt.Sprintf("row %d has %d columns, the database returns %d", i, len(row), len(want[i]))
		}
		for j, v := range row {
			if !sameValue(v, want[i][j]) {
				w := "NULL"
				if want[i][j] != nil {
					w = *want[i][j]
				}
				return fmt.Sprintf("row %d column %d = %v, the database returns %s", i, j, v, w)
			}
		}
	}
	return ""
}

// anyValue in an expected row matches whatever came back.
var anyValue = new(string)

func sameValue(v any, want *string) bool {
	if want == anyValue {
		return true
	}
	if v == nil || want == nil {
		return v == nil && want == nil
	}
	w := *want
	switch x := v.(type) {
	case json.Number:
		if x.String() == w {
			return true
		}
		a, err1 := strconv.ParseFloat(x.String(), 64)
		b, err2 := strconv.ParseFloat(w, 64)
		return err1 == nil && err2 == nil && a == b
	case bool:
		return x == (w == "t" || w == "true" || w == "1")
	case string:
		return x == w
	case map[string]any:
		if b64, ok := x["base64"].(string); ok && len(x) == 1 {
			return b64 != "" // binary: present in both
		}
	}
	a, _ := json.Marshal(v)
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, []byte(w)) != nil {
		return false
	}
	var x1, x2 any
	json.Unmarshal(ca.Bytes(), &x1)
	json.Unmarshal(cb.Bytes(), &x2)
	return fmt.Sprint(x1) == fmt.Sprint(x2)
}

func textRow(r [][]byte) []*string {
	out := make([]*string, len(r))
	for i, v := range r {
		if v != nil {
			s := string(v)
			out[i] = &s
		}
	}
	return out
}

// textRows reads database/sql rows as text.
func textRows(rows *sql.Rows, err error) ([][]*string, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out [][]*string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make([]*string, len(cols))
		for i, v := range vals {
			var s string
			switch x := v.(type) {
			case nil:
				continue
			case []byte:
				s = string(x)
			case float64:
				s = strconv.FormatFloat(x, 'g', -1, 64)
			default:
				s = fmt.Sprint(x)
			}
			row[i] = &s
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

func dirNames(t testing.TB, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return strings.Join(names, ",")
}
