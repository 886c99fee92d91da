package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/sqlscope"
	"github.com/warden-dev/warden/internal/sqlscope/myscope"
)

// mysqlSQLMode is pinned on every connection: the analyzer reads "..." as
// a string and backslashes as escapes, so the server must too (no
// ANSI_QUOTES, no NO_BACKSLASH_ESCAPES).
const mysqlSQLMode = "'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'"

// mysqlDB is a MySQL or MariaDB server. Statements run as server-side
// prepared statements (exactly one statement each) inside START
// TRANSACTION READ ONLY, or a read-write transaction for execute, with the
// server's own execution time limit; queries are always rolled back.
type mysqlDB struct {
	dsn      core.Secret
	addr     string // host:port or socket, for messages; set by open
	db       *sql.DB
	conns    *meteredConnector
	mariadb  bool
	analyzer *myscope.Analyzer
}

func (d *mysqlDB) open(ctx context.Context) error {
	cfg, err := mysql.ParseDSN(d.dsn.Reveal())
	if err != nil {
		return errors.New("the MySQL dsn cannot be parsed")
	}
	d.addr = cfg.Addr
	cfg.MultiStatements = false
	cfg.InterpolateParams = false
	cfg.AllowAllFiles = false
	cfg.ParseTime = false
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params["sql_mode"] = mysqlSQLMode
	cfg.DialFunc = dialMetered
	// Compressed, a huge row would cross the metered socket small.
	if err := cfg.Apply(mysql.EnableCompression(false)); err != nil {
		return fmt.Errorf("mysql: %w", err)
	}
	// A connection dropped at the result bound is expected: the driver
	// must not print it on stderr, which may be the MCP stdio stream.
	cfg.Logger = &mysql.NopLogger{}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return fmt.Errorf("mysql: %w", err)
	}
	d.conns = &meteredConnector{Connector: conn}
	db := sql.OpenDB(d.conns)
	db.SetMaxOpenConns(postgresPoolSize)
	db.SetConnMaxIdleTime(5 * time.Minute)
	var version string
	if err := db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
		db.Close()
		return mysqlOpenError(d.addr, cfg.User, cfg.DBName, err)
	}
	d.db, d.mariadb, d.analyzer = db, strings.Contains(strings.ToLower(version), "mariadb"), myscope.New()
	return nil
}

func (d *mysqlDB) close() error {
	if d.db != nil {
		return d.db.Close()
	}
	return nil
}

func (d *mysqlDB) schema(ctx context.Context) (*sqlscope.Schema, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT table_name, column_name, column_type FROM information_schema.columns
		WHERE table_schema = DATABASE() ORDER BY table_name, ordinal_position`)
	if err != nil {
		return nil, fmt.Errorf("mysql: read schema: %w", err)
	}
	defer rows.Close()
	s, err := schemaOf(rows)
	if err != nil {
		return nil, fmt.Errorf("mysql: read schema: %w", err)
	}
	return s, nil
}

// analyze lets only the ddl tool's statements reach vitess's DDL grammar.
func (d *mysqlDB) analyze(_ context.Context, sql string, schema *sqlscope.Schema, ddl bool) (*sqlscope.Analysis, error) {
	if ddl {
		return d.analyzer.Analyze(sql, schema)
	}
	return d.analyzer.AnalyzeNoDDL(sql, schema)
}

// begin takes a connection, sets the server-side time limits and starts
// Warden's transaction.
func (d *mysqlDB) begin(ctx context.Context, readOnly bool, timeout time.Duration) (*sql.Conn, error) {
	c, err := d.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("mysql: connect: %w", err)
	}
	secs := max(int64(timeout/time.Second), 1)
	limit := fmt.Sprintf("SET SESSION max_execution_time = %d", timeout.Milliseconds())
	if d.mariadb {
		limit = fmt.Sprintf("SET SESSION max_statement_time = %d", secs)
	}
	// The session's default is set too: DDL commits the transaction it
	// runs in, and the implicit transaction after it takes the session's
	// mode, so a read-only session refuses DDL where a read-only
	// transaction alone would not.
	mode, start := "SET SESSION TRANSACTION READ ONLY", "START TRANSACTION READ ONLY"
	if !readOnly {
		mode, start = "SET SESSION TRANSACTION READ WRITE", "START TRANSACTION READ WRITE"
	}
	for _, s := range []string{limit, fmt.Sprintf("SET SESSION innodb_lock_wait_timeout = %d", secs), fmt.Sprintf("SET SESSION lock_wait_timeout = %d", secs), mode, start} {
		if _, err := c.ExecContext(ctx, s); err != nil {
			d.end(ctx, c)
			return nil, fmt.Errorf("mysql: %s: %w", s, err)
		}
	}
	return c, nil
}

// end rolls back and returns the connection, or discards it when the
// rollback fails.
func (d *mysqlDB) end(ctx context.Context, c *sql.Conn) {
	if _, err := c.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); err != nil {
		_ = c.Raw(func(any) error { return driver.ErrBadConn })
	}
	c.Close()
}

func (d *mysqlDB) query(ctx context.Context, s *statement, lim limits) (*table, error) {
	c, err := d.begin(ctx, true, lim.timeout)
	if err != nil {
		return nil, err
	}
	defer d.end(ctx, c)
	sock, err := d.conns.socket(c)
	if err != nil {
		return nil, err
	}
	defer sock.unbound()
	st, err := c.PrepareContext(ctx, s.sql)
	if err != nil {
		return nil, mysqlError(err)
	}
	defer st.Close()
	// From here the socket yields the result's bytes up to the bound:
	// one row larger than the whole result may be is never read whole.
	sock.bound(lim.bytes + messageSlack)
	rows, err := st.QueryContext(ctx, s.params...)
	if err != nil {
		if sock.hit.Load() {
			d.kill(ctx, sock)
			return &table{Columns: []string{}, Rows: [][]any{}, Truncated: true, Why: "max_result_bytes"}, nil
		}
		return nil, mysqlError(err)
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		return nil, mysqlError(err)
	}
	t := &table{Columns: make([]string, len(types)), Rows: [][]any{}}
	for i, ct := range types {
		t.Columns[i] = ct.Name()
	}
	vals := make([]any, len(types))
	ptrs := make([]any, len(types))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, mysqlError(err)
		}
		row := make([]any, len(vals))
		var size int64
		for i, v := range vals {
			row[i] = mysqlValue(types[i].DatabaseTypeName(), v)
			if b, ok := v.([]byte); ok {
				size += int64(len(b))
			}
			size += 8
		}
		if !t.add(row, size, lim) {
			// The rest is not wanted: the server stops the statement
			// instead of sending it.
			d.kill(ctx, sock)
			_ = rows.Close()
			return t, nil
		}
	}
	if err := rows.Err(); err != nil {
		if sock.hit.Load() {
			// The driver dropped the connection at the bound.
			d.kill(ctx, sock)
			t.Truncated, t.Why = true, "max_result_bytes"
			return t, nil
		}
		return nil, mysqlError(err)
	}
	return t, nil
}

// kill stops the statement running on sock's connection, from another
// connection. A user may kill its own statements without privileges.
func (d *mysqlDB) kill(ctx context.Context, sock *meteredConn) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_, _ = d.db.ExecContext(ctx, fmt.Sprintf("KILL QUERY %d", sock.id))
}

func (d *mysqlDB) execute(ctx context.Context, s *statement, dryRun bool, lim limits) (int64, error) {
	c, err := d.begin(ctx, false, lim.timeout)
	if err != nil {
		return 0, err
	}
	defer d.end(ctx, c)
	st, err := c.PrepareContext(ctx, s.sql)
	if err != nil {
		return 0, mysqlError(err)
	}
	defer st.Close()
	res, err := st.ExecContext(ctx, s.params...)
	if err != nil {
		return 0, mysqlError(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, mysqlError(err)
	}
	if dryRun {
		return n, nil
	}
	if _, err := c.ExecContext(ctx, "COMMIT"); err != nil {
		return 0, mysqlError(err)
	}
	return n, nil
}

// ddl runs DDL as a server-side prepared statement (one statement). MySQL
// commits before and after DDL and cannot roll it back, so there is no dry
// run.
func (d *mysqlDB) ddl(ctx context.Context, s *statement, dryRun bool, lim limits) error {
	if dryRun {
		return errNoMySQLDryRun("sql.ddl")
	}
	c, err := d.begin(ctx, false, lim.timeout)
	if err != nil {
		return err
	}
	defer d.end(ctx, c)
	st, err := c.PrepareContext(ctx, s.sql)
	if err != nil {
		return mysqlError(err)
	}
	defer st.Close()
	if _, err := st.ExecContext(ctx); err != nil {
		return mysqlError(err)
	}
	return nil
}

// mysqlValue converts one scanned value for JSON.
func mysqlValue(typ string, v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case int64, uint64:
		return x
	case float64:
		return jsonFloat(x)
	case float32:
		return jsonFloat(float64(x))
	case []byte:
		switch {
		case typ == "DECIMAL" && json.Valid(x):
			return json.Number(x)
		case typ == "JSON" && json.Valid(x):
			return json.RawMessage(x)
		case strings.Contains(typ, "BLOB") || strings.Contains(typ, "BINARY") || typ == "BIT" || typ == "GEOMETRY":
			return blob(x)
		}
		return string(x)
	case time.Time:
		return x.Format(time.RFC3339Nano)
	}
	return fmt.Sprint(v)
}

func mysqlError(err error) error {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		if me.Number == 1969 || me.Number == 3024 { // MariaDB's max_statement_time, MySQL's max_execution_time
			return errTimeout
		}
		return fmt.Errorf("%s (error %s)", me.Message, strconv.Itoa(int(me.Number)))
	}
	return err
}
