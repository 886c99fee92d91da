package sqldb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/sqlscope"
	"github.com/warden-dev/warden/internal/sqlscope/pgscope"
)

// postgresPoolSize bounds the connections of one PostgreSQL resource.
const postgresPoolSize = 8

// postgresDB is a PostgreSQL server. Every statement runs in a transaction
// Warden begins itself (READ ONLY for queries) with local statement and
// lock timeouts, through the extended protocol's unnamed statement, which
// the server parses as exactly one statement; the transaction is always
// rolled back unless an execute call commits.
type postgresDB struct {
	dsn core.Secret
	// maxMessage bounds every message read from the server: a row is one
	// message, read whole into memory, so this is what stops one huge
	// value before it is read.
	maxMessage int
	addr       string // host:port, for messages; set by open
	pool       *pgxpool.Pool
	analyzer   pgscope.Analyzer
}

func (d *postgresDB) open(ctx context.Context) error {
	cfg, err := pgxpool.ParseConfig(d.dsn.Reveal())
	if err != nil {
		// pgx's message can quote the DSN: keep only that it failed.
		return errors.New("the PostgreSQL dsn cannot be parsed")
	}
	d.addr = hostPort(cfg.ConnConfig.Host, int(cfg.ConnConfig.Port))
	cfg.MaxConns = postgresPoolSize
	cfg.ConnConfig.BuildFrontend = func(r io.Reader, w io.Writer) *pgproto3.Frontend {
		f := pgproto3.NewFrontend(r, w)
		f.SetMaxBodyLen(d.maxMessage)
		return f
	}
	rp := cfg.ConnConfig.RuntimeParams
	// The analyzer resolves names in public and reads strings as the
	// standard says; the session must agree. Every transaction is read
	// only unless Warden begins it otherwise.
	rp["search_path"] = "public"
	rp["standard_conforming_strings"] = "on"
	rp["default_transaction_read_only"] = "on"
	rp["application_name"] = "warden"
	rp["idle_in_transaction_session_timeout"] = "60000"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return postgresOpenError(d.addr, cfg.ConnConfig.User, err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return postgresOpenError(d.addr, cfg.ConnConfig.User, err)
	}
	d.pool = pool
	return nil
}

func (d *postgresDB) close() error {
	if d.pool != nil {
		d.pool.Close()
	}
	return nil
}

func (d *postgresDB) schema(ctx context.Context) (*sqlscope.Schema, error) {
	rows, err := d.pool.Query(ctx, `SELECT c.table_name, c.column_name, c.data_type
		FROM information_schema.columns c
		JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
		WHERE c.table_schema = 'public' AND t.table_type IN ('BASE TABLE', 'VIEW')
		ORDER BY c.table_name, c.ordinal_position`)
	if err != nil {
		return nil, fmt.Errorf("postgres: read schema: %w", err)
	}
	defer rows.Close()
	s, err := schemaOf(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres: read schema: %w", err)
	}
	return s, nil
}

func (d *postgresDB) analyze(_ context.Context, sql string, schema *sqlscope.Schema, _ bool) (*sqlscope.Analysis, error) {
	return d.analyzer.Analyze(sql, schema)
}

// begin acquires a connection and begins Warden's transaction on it.
func (d *postgresDB) begin(ctx context.Context, readOnly bool, timeout time.Duration) (*pgxpool.Conn, error) {
	c, err := d.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	pc := c.Conn().PgConn()
	begin := "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"
	if !readOnly {
		begin = "BEGIN ISOLATION LEVEL READ COMMITTED, READ WRITE"
	}
	// Warden's own text, with integers it formats itself, in one round
	// trip; the agent's statement never goes through this simple-protocol
	// call, which would run several statements.
	ms := max(timeout.Milliseconds(), 1)
	setup := fmt.Sprintf("%s; SET LOCAL statement_timeout = %d; SET LOCAL lock_timeout = %d", begin, ms, max(ms/2, 1))
	if _, err := pc.Exec(ctx, setup).ReadAll(); err != nil {
		d.end(ctx, c)
		return nil, fmt.Errorf("postgres: begin: %w", err)
	}
	return c, nil
}

// end rolls back Warden's transaction and returns the connection. A
// connection left inside a transaction is destroyed by the pool.
func (d *postgresDB) end(ctx context.Context, c *pgxpool.Conn) {
	_, _ = c.Conn().PgConn().Exec(context.WithoutCancel(ctx), "ROLLBACK").ReadAll()
	c.Release()
}

func (d *postgresDB) query(ctx context.Context, s *statement, lim limits) (*table, error) {
	c, err := d.begin(ctx, true, lim.timeout)
	if err != nil {
		return nil, err
	}
	defer d.end(ctx, c)
	rr := c.Conn().PgConn().ExecParams(ctx, s.sql, pgParams(s.params), nil, nil, nil)
	fields := rr.FieldDescriptions()
	t := &table{Columns: make([]string, len(fields)), Rows: [][]any{}}
	for i, f := range fields {
		t.Columns[i] = f.Name
	}
	cut := false
	for rr.NextRow() {
		vals := rr.Values()
		row := make([]any, len(vals))
		var size int64
		for i, v := range vals {
			row[i] = pgValue(fields[i].DataTypeOID, v)
			size += int64(len(v)) + 4
		}
		if !t.add(row, size, lim) {
			cut = true
			break
		}
	}
	if cut {
		// The rest is not wanted: the server stops the statement instead
		// of sending it, and what is already on the way is read and
		// dropped one bounded message at a time.
		d.cancel(ctx, c)
		_, _ = rr.Close()
		return t, nil
	}
	if _, err := rr.Close(); err != nil {
		var big *pgproto3.ExceededMaxBodyLenErr
		if errors.As(err, &big) {
			// One row (or one message) is larger than the whole result may
			// be: pgconn has closed the connection without reading it, and
			// the server is told to stop the statement.
			d.cancel(ctx, c)
			t.Truncated, t.Why = true, "max_result_bytes"
			return t, nil
		}
		return nil, pgError(err)
	}
	return t, nil
}

// cancel asks the server to stop the statement running on c, and waits
// until the request is delivered (not until the statement stops).
func (d *postgresDB) cancel(ctx context.Context, c *pgxpool.Conn) {
	ctx, stop := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer stop()
	_ = c.Conn().PgConn().CancelRequest(ctx)
}

func (d *postgresDB) execute(ctx context.Context, s *statement, dryRun bool, lim limits) (int64, error) {
	c, err := d.begin(ctx, false, lim.timeout)
	if err != nil {
		return 0, err
	}
	defer d.end(ctx, c)
	pc := c.Conn().PgConn()
	tag, err := pc.ExecParams(ctx, s.sql, pgParams(s.params), nil, nil, nil).Close()
	if err != nil {
		return 0, pgError(err)
	}
	if dryRun {
		return tag.RowsAffected(), nil
	}
	if _, err := pc.Exec(ctx, "COMMIT").ReadAll(); err != nil {
		return 0, pgError(err)
	}
	return tag.RowsAffected(), nil
}

// ddl runs DDL in a READ WRITE transaction through the extended protocol
// (one statement, no parameters); PostgreSQL's DDL is transactional, so a
// dry run is rolled back like any other.
func (d *postgresDB) ddl(ctx context.Context, s *statement, dryRun bool, lim limits) error {
	c, err := d.begin(ctx, false, lim.timeout)
	if err != nil {
		return err
	}
	defer d.end(ctx, c)
	pc := c.Conn().PgConn()
	if _, err := pc.ExecParams(ctx, s.sql, nil, nil, nil, nil).Close(); err != nil {
		return pgError(err)
	}
	if dryRun {
		return nil
	}
	if _, err := pc.Exec(ctx, "COMMIT").ReadAll(); err != nil {
		return pgError(err)
	}
	return nil
}

// pgParams sends every parameter as text of unknown type, so the server
// infers each type from the statement, as it does for a literal.
func pgParams(params []any) [][]byte {
	out := make([][]byte, len(params))
	for i, p := range params {
		switch v := p.(type) {
		case nil:
			out[i] = nil
		case bool:
			out[i] = []byte(strconv.FormatBool(v))
		case int64:
			out[i] = strconv.AppendInt(nil, v, 10)
		case float64:
			out[i] = strconv.AppendFloat(nil, v, 'g', -1, 64)
		case string:
			out[i] = []byte(v)
		}
	}
	return out
}

// PostgreSQL type OIDs that have a JSON form other than a string.
const (
	oidBool    = 16
	oidInt8    = 20
	oidInt2    = 21
	oidInt4    = 23
	oidOID     = 26
	oidJSON    = 114
	oidFloat4  = 700
	oidFloat8  = 701
	oidNumeric = 1700
	oidJSONB   = 3802
)

// pgValue converts one text-format value for JSON: numbers stay exact.
func pgValue(oid uint32, v []byte) any {
	if v == nil {
		return nil
	}
	switch oid {
	case oidBool:
		return string(v) == "t"
	case oidInt2, oidInt4, oidInt8, oidOID, oidFloat4, oidFloat8, oidNumeric:
		if json.Valid(v) {
			return json.Number(v)
		}
	case oidJSON, oidJSONB:
		if json.Valid(v) {
			return json.RawMessage(v)
		}
	}
	return string(v)
}

// pgError keeps the server's message and position, which the model needs
// to fix its statement.
func pgError(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		if pe.Code == "57014" { // query_canceled: the statement timeout
			return errTimeout
		}
		return fmt.Errorf("%s (SQLSTATE %s)", pe.Message, pe.Code)
	}
	return err
}
