package sqlbench

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/ncruces/go-sqlite3"
	_ "github.com/ncruces/go-sqlite3/driver" // database/sql driver "sqlite3"

	"github.com/warden-dev/warden/bench/internal/pipeline"
	"github.com/warden-dev/warden/internal/connector"
	_ "github.com/warden-dev/warden/internal/connector/all"
	"github.com/warden-dev/warden/internal/connector/sqldb"
	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/engine"
	"github.com/warden-dev/warden/internal/sqlscope"
	"github.com/warden-dev/warden/internal/sqlscope/pgscope"
	"github.com/warden-dev/warden/internal/sqltest"
)

func TestMain(m *testing.M) { sqltest.Main(m) }

// The fixture: 1,000 customers in 8 countries and 20,000 orders, the same
// data in both databases. An order's status depends on n/5 and its
// customer on 7n, so every country has paid orders.
const (
	nCustomers = 1000
	nOrders    = 20000
	pointID    = 4242
	scanRows   = 10000
	countries  = 8
)

var fixture = sqltest.Fixture{
	Postgres: fmt.Sprintf(`
CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, email text NOT NULL, country text NOT NULL);
CREATE TABLE orders (id int PRIMARY KEY, customer_id int NOT NULL REFERENCES customers (id),
	total numeric(10,2) NOT NULL, created_at timestamp NOT NULL, status text NOT NULL);
INSERT INTO customers SELECT n, 'Customer ' || n, 'customer' || n || '@example.test',
	(ARRAY['DE','FR','US','GB','NL','SE','JP','BR'])[1 + n %% 8] FROM generate_series(1, %[1]d) n;
INSERT INTO orders SELECT n, 1 + (n * 7) %% %[1]d, ((n * 7919) %% 100000) / 100.0,
	timestamp '2025-01-01' + n * interval '37 minutes',
	(ARRAY['paid','shipped','refunded','pending'])[1 + (n / 5) %% 4] FROM generate_series(1, %[2]d) n;
ANALYZE customers;
ANALYZE orders;
`, nCustomers, nOrders),
	SQLite: fmt.Sprintf(`
CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL, country TEXT NOT NULL);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers (id),
	total NUMERIC NOT NULL, created_at TEXT NOT NULL, status TEXT NOT NULL);
INSERT INTO customers WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < %[1]d)
	SELECT n, 'Customer ' || n, 'customer' || n || '@example.test',
	CASE n %% 8 WHEN 0 THEN 'DE' WHEN 1 THEN 'FR' WHEN 2 THEN 'US' WHEN 3 THEN 'GB'
	WHEN 4 THEN 'NL' WHEN 5 THEN 'SE' WHEN 6 THEN 'JP' ELSE 'BR' END FROM s;
INSERT INTO orders WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < %[2]d)
	SELECT n, 1 + (n * 7) %% %[1]d, ((n * 7919) %% 100000) / 100.0,
	datetime('2025-01-01 00:00:00', '+' || (n * 37) || ' minutes'),
	CASE (n / 5) %% 4 WHEN 0 THEN 'paid' WHEN 1 THEN 'shipped' WHEN 2 THEN 'refunded' ELSE 'pending' END FROM s;
`, nCustomers, nOrders),
	// The reader login, which both paths use on PostgreSQL, reads both
	// tables whole.
	Reader: map[string][]string{"customers": nil, "orders": nil},
}

// pgSchema is the fixture's schema as pgscope sees it, built by hand as
// the connector would read it from information_schema.
var pgSchema = &sqlscope.Schema{Tables: map[string]*sqlscope.Table{
	"customers": {Name: "customers", Columns: []sqlscope.Column{
		{Name: "id", Type: "integer"}, {Name: "name", Type: "text"}, {Name: "email", Type: "text"}, {Name: "country", Type: "text"}}},
	"orders": {Name: "orders", Columns: []sqlscope.Column{
		{Name: "id", Type: "integer"}, {Name: "customer_id", Type: "integer"}, {Name: "total", Type: "numeric"},
		{Name: "created_at", Type: "timestamp without time zone"}, {Name: "status", Type: "text"}}},
}}

// policyText grants the agent query on both tables. The limits let a
// 10,000-row result through whole; every other setting is the default
// (audit log on, in .warden beside the policy).
const policyText = `version: 1
resources:
  shop:
    kind: sql
    driver: %s
    dsn: %q
    limits: {max_rows: 20000, max_result_bytes: 64MiB}
agents:
  agent:
    grants:
      - resource: shop
        actions: [query]
        tables:
          orders: "*"
          customers: "*"
settings:
  limits: {max_result_bytes: 64MiB}
`

// numericOIDs are the PostgreSQL types whose text form the floor passes
// on as a JSON number: int2, int4, int8, float4, float8, numeric.
var numericOIDs = map[uint32]bool{21: true, 23: true, 20: true, 700: true, 701: true, 1700: true}

// query is one of the benchmarked statements.
type query struct {
	name   string
	sql    string
	params []any
	rows   int // how many rows it returns
}

func queries(placeholder string) []query {
	return []query{
		{"point", "SELECT id, customer_id, total, created_at, status FROM orders WHERE id = " + placeholder,
			[]any{int64(pointID)}, 1},
		{"scan-10000", fmt.Sprintf("SELECT id, customer_id, total, created_at, status FROM orders ORDER BY id LIMIT %d", scanRows),
			nil, scanRows},
		{"join-agg", "SELECT c.country, count(*) AS orders, sum(o.total) AS revenue FROM orders o " +
			"JOIN customers c ON c.id = o.customer_id WHERE o.status = 'paid' GROUP BY c.country ORDER BY revenue DESC",
			nil, countries},
	}
}

// args is the shop_query call's arguments for q.
func (q query) args() json.RawMessage {
	m := map[string]any{"sql": q.sql}
	if q.params != nil {
		m["params"] = q.params
	}
	raw, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return raw
}

// result is the shape of shop_query's value, which direct encodes too.
type result struct {
	Columns   []string `json:"columns"`
	Rows      [][]any  `json:"rows"`
	Truncated bool     `json:"truncated"`
}

// target is one database, reached directly and through Warden.
type target struct {
	placeholder string
	// direct runs q with the driver alone, reads every row into Go values
	// and encodes them as JSON; it returns the columns, the row count and
	// the JSON.
	direct func(ctx context.Context, q query) ([]string, int, []byte, error)
	// floor does what Warden's connector does to run q and encode its
	// rows, through the same low-level driver calls, with no policy, no
	// analysis, no transaction and no audit: what Warden's checks cost is
	// warden − floor.
	floor func(ctx context.Context, q query) ([]string, int, []byte, error)
	// analyze is what Warden does to a statement before running it.
	analyze func(ctx context.Context, q query) error
	engine  *engine.Engine
}

func BenchmarkSQL(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { run(b, sqliteTarget(b)) })
	b.Run("postgres", func(b *testing.B) { run(b, postgresTarget(b)) })
}

func run(b *testing.B, t *target) {
	ctx := context.Background()
	for _, q := range queries(t.placeholder) {
		b.Run(q.name, func(b *testing.B) {
			b.Run("direct", func(b *testing.B) {
				cols, n, enc, err := t.direct(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				if n != q.rows || len(cols) == 0 {
					b.Fatalf("direct: %d rows, %d columns; want %d rows", n, len(cols), q.rows)
				}
				if bytes.Contains(enc, []byte(`"Int":`)) || bytes.Contains(enc, []byte(`"Valid":`)) {
					b.Fatalf("direct: a driver value was encoded as a struct: %.300s", enc)
				}
				loop(b, func() error {
					_, _, _, err := t.direct(ctx, q)
					return err
				})
				b.ReportMetric(float64(n), "rows/op")
				b.ReportMetric(float64(len(enc)), "json-B/op")
			})
			b.Run("floor", func(b *testing.B) {
				cols, n, enc, err := t.floor(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				if n != q.rows || len(cols) == 0 {
					b.Fatalf("floor: %d rows, %d columns; want %d rows", n, len(cols), q.rows)
				}
				loop(b, func() error {
					_, _, _, err := t.floor(ctx, q)
					return err
				})
				b.ReportMetric(float64(n), "rows/op")
				b.ReportMetric(float64(len(enc)), "json-B/op")
			})
			b.Run("warden", func(b *testing.B) {
				call := core.Call{Agent: "agent", Tool: "shop_query", Args: q.args()}
				wantCols, _, _, err := t.direct(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				out := t.engine.Call(ctx, call, engine.CallOptions{})
				if out.Status != engine.StatusOK {
					b.Fatalf("warden: status %v, reason %s: %s (%v)", out.Status, out.Reason, out.Message, out.Err)
				}
				if out.AuditID == "" {
					b.Fatal("warden: the call has no audit record")
				}
				var r result
				if err := json.Unmarshal(out.Value, &r); err != nil {
					b.Fatalf("warden: the value is not a table: %v", err)
				}
				if len(r.Rows) != q.rows || r.Truncated || !slices.Equal(r.Columns, wantCols) {
					b.Fatalf("warden: %d rows (truncated %v), columns %v; want %d rows, columns %v",
						len(r.Rows), r.Truncated, r.Columns, q.rows, wantCols)
				}
				// The floor must produce exactly Warden's result.
				if _, _, floor, err := t.floor(ctx, q); err != nil || !bytes.Equal(floor, out.Value) {
					b.Fatalf("warden and floor differ (%v):\n%.300s\n%.300s", err, out.Value, floor)
				}
				loop(b, func() error {
					if out := t.engine.Call(ctx, call, engine.CallOptions{}); out.Status != engine.StatusOK {
						return fmt.Errorf("warden: status %v, reason %s: %s (%v)", out.Status, out.Reason, out.Message, out.Err)
					}
					return nil
				})
				b.ReportMetric(float64(len(r.Rows)), "rows/op")
				b.ReportMetric(float64(len(out.Value)), "json-B/op")
			})
			b.Run("analysis", func(b *testing.B) {
				if err := t.analyze(ctx, q); err != nil {
					b.Fatal(err)
				}
				loop(b, func() error { return t.analyze(ctx, q) })
			})
		})
	}
}

// loop times f with b.Loop and also reports the CPU time the whole process
// (every goroutine, the garbage collector too) spent per call, which a
// shared machine disturbs less than the wall-clock ns/op. A PostgreSQL
// server's own CPU time is not in it.
func loop(b *testing.B, f func() error) {
	b.ReportAllocs()
	start := cpuTime(b)
	for b.Loop() {
		if err := f(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the process's user and system CPU time so far, in ns.
func cpuTime(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// newEngine writes the policy for a resource shop of driver at dsn into a
// temporary directory, which also holds the state directory (audit log),
// and starts the engine on it.
func newEngine(b *testing.B, driver, dsn string) *engine.Engine {
	return pipeline.Engine(b, fmt.Sprintf(policyText, driver, dsn))
}

func sqliteTarget(b *testing.B) *target {
	path := sqltest.SQLiteFile(b, fixture)
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })

	// The floor: one read-only connection through the SQLite API that
	// Warden's connector uses.
	ro, err := sqlite3.OpenFlags(path, sqlite3.OPEN_READONLY)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ro.Close() })

	// The analysis: the connector's Prepare, as the engine calls it.
	conn, err := connector.New(&core.ResourceSpec{Name: "shop", Kind: "sql",
		Config: &sqldb.Config{Driver: "sqlite", DSN: core.NewSecret("", path)}}, core.Host{})
	if err != nil {
		b.Fatal(err)
	}
	if err := conn.(core.Opener).Open(context.Background()); err != nil {
		b.Fatal(err)
	}
	if c, ok := conn.(io.Closer); ok {
		b.Cleanup(func() { c.Close() })
	}

	return &target{
		placeholder: "?",
		direct: func(ctx context.Context, q query) ([]string, int, []byte, error) {
			rows, err := db.QueryContext(ctx, q.sql, q.params...)
			if err != nil {
				return nil, 0, nil, err
			}
			defer rows.Close()
			cols, err := rows.Columns()
			if err != nil {
				return nil, 0, nil, err
			}
			res := result{Columns: cols, Rows: [][]any{}}
			ptrs := make([]any, len(cols))
			for rows.Next() {
				row := make([]any, len(cols))
				for i := range row {
					ptrs[i] = &row[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					return nil, 0, nil, err
				}
				res.Rows = append(res.Rows, row)
			}
			if err := rows.Err(); err != nil {
				return nil, 0, nil, err
			}
			enc, err := json.Marshal(res)
			return cols, len(res.Rows), enc, err
		},
		floor: func(ctx context.Context, q query) ([]string, int, []byte, error) {
			st, _, err := ro.Prepare(q.sql)
			if err != nil {
				return nil, 0, nil, err
			}
			defer st.Close()
			for i, p := range q.params {
				if err := st.BindInt64(i+1, p.(int64)); err != nil {
					return nil, 0, nil, err
				}
			}
			n := st.ColumnCount()
			res := result{Columns: make([]string, n), Rows: [][]any{}}
			for i := range n {
				res.Columns[i] = st.ColumnName(i)
			}
			for st.Step() {
				row := make([]any, n)
				for i := range n {
					switch st.ColumnType(i) {
					case sqlite3.INTEGER:
						row[i] = st.ColumnInt64(i)
					case sqlite3.FLOAT:
						row[i] = st.ColumnFloat(i)
					case sqlite3.TEXT:
						row[i] = st.ColumnText(i)
					case sqlite3.BLOB:
						row[i] = st.ColumnBlob(i, nil)
					}
				}
				res.Rows = append(res.Rows, row)
			}
			if err := st.Err(); err != nil {
				return nil, 0, nil, err
			}
			enc, err := json.Marshal(res)
			return res.Columns, len(res.Rows), enc, err
		},
		analyze: func(ctx context.Context, q query) error {
			inv := &core.Invocation{Op: "query", Args: q.args()}
			if err := conn.Prepare(ctx, inv); err != nil {
				return err
			}
			if inv.Path == "" {
				return fmt.Errorf("analysis named no column")
			}
			return nil
		},
		engine: newEngine(b, "sqlite", path),
	}
}

func postgresTarget(b *testing.B) *target {
	db := sqltest.Postgres(b).NewDatabase(b, fixture)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, db.ReaderDSN())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	// Warden reads the DSN, which holds a password, from the environment.
	b.Setenv("WARDEN_BENCH_SHOP_DSN", db.ReaderDSN())

	return &target{
		placeholder: "$1",
		direct: func(ctx context.Context, q query) ([]string, int, []byte, error) {
			rows, err := pool.Query(ctx, q.sql, q.params...)
			if err != nil {
				return nil, 0, nil, err
			}
			defer rows.Close()
			fields := rows.FieldDescriptions()
			cols := make([]string, len(fields))
			for i, f := range fields {
				cols[i] = f.Name
			}
			res := result{Columns: cols, Rows: [][]any{}}
			for rows.Next() {
				row, err := rows.Values()
				if err != nil {
					return nil, 0, nil, err
				}
				res.Rows = append(res.Rows, row)
			}
			if err := rows.Err(); err != nil {
				return nil, 0, nil, err
			}
			enc, err := json.Marshal(res)
			return cols, len(res.Rows), enc, err
		},
		floor: func(ctx context.Context, q query) ([]string, int, []byte, error) {
			c, err := pool.Acquire(ctx)
			if err != nil {
				return nil, 0, nil, err
			}
			defer c.Release()
			params := make([][]byte, len(q.params))
			for i, p := range q.params {
				params[i] = strconv.AppendInt(nil, p.(int64), 10)
			}
			// Text format, the unnamed statement: as Warden's connector.
			rr := c.Conn().PgConn().ExecParams(ctx, q.sql, params, nil, nil, nil)
			fields := rr.FieldDescriptions()
			res := result{Columns: make([]string, len(fields)), Rows: [][]any{}}
			for i, f := range fields {
				res.Columns[i] = f.Name
			}
			for rr.NextRow() {
				vals := rr.Values()
				row := make([]any, len(vals))
				for i, v := range vals {
					switch {
					case v == nil:
					case numericOIDs[fields[i].DataTypeOID]:
						row[i] = json.RawMessage(slices.Clone(v))
					default:
						row[i] = string(v)
					}
				}
				res.Rows = append(res.Rows, row)
			}
			if _, err := rr.Close(); err != nil {
				return nil, 0, nil, err
			}
			enc, err := json.Marshal(res)
			return res.Columns, len(res.Rows), enc, err
		},
		analyze: func(_ context.Context, q query) error {
			an, err := pgscope.Analyzer{}.Analyze(q.sql, pgSchema)
			if err != nil {
				return err
			}
			if an.Kind != sqlscope.Select || len(an.Reads) == 0 {
				return fmt.Errorf("analysis: kind %v, %d reads", an.Kind, len(an.Reads))
			}
			return nil
		},
		engine: newEngine(b, "postgres", "env:WARDEN_BENCH_SHOP_DSN"),
	}
}
