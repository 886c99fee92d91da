package sqldb

import (
	"context"
	"time"

	"github.com/warden-dev/warden/internal/sqlscope"
)

// backend is one database engine behind the connector. Implementations
// are safe for concurrent use.
type backend interface {
	// open connects; it is called once, from Connector.Open.
	open(ctx context.Context) error
	// schema lists the tables of the default schema with their columns.
	schema(ctx context.Context) (*sqlscope.Schema, error)
	// analyze finds what a statement touches, without running it. ddl is
	// set for the ddl tool, for which SQLite compiles DDL again on a
	// read-write connection (a read-only one leaves CHECK constraints
	// unresolved).
	analyze(ctx context.Context, sql string, schema *sqlscope.Schema, ddl bool) (*sqlscope.Analysis, error)
	// query runs a read-only statement and returns at most lim.rows rows.
	// allowed are the columns the policy allowed, for backends that can
	// enforce them again while running (SQLite's authorizer).
	query(ctx context.Context, st *statement, lim limits) (*table, error)
	// execute runs a writing statement in a transaction, commits it unless
	// dryRun, and returns the rows it changed.
	execute(ctx context.Context, st *statement, dryRun bool, lim limits) (int64, error)
	// ddl runs a DDL statement in a transaction and commits it unless
	// dryRun. MySQL commits DDL implicitly: it refuses dryRun.
	ddl(ctx context.Context, st *statement, dryRun bool, lim limits) error
	close() error
}

// statement is a call's statement after analysis.
type statement struct {
	sql      string
	params   []any // nil, bool, int64, float64 or string
	analysis *sqlscope.Analysis
	schema   *sqlscope.Schema // what the analysis resolved names against
}

// limits bound one call.
type limits struct {
	rows    int
	bytes   int64
	timeout time.Duration
}

// table is a query's result.
type table struct {
	Columns   []string `json:"columns"`
	Rows      [][]any  `json:"rows"`
	Truncated bool     `json:"truncated"`
	// Why says which limit cut the result, when Truncated.
	Why   string `json:"truncated_by,omitempty"`
	bytes int64
}

// add appends a row unless a limit is reached; it reports whether the
// caller should read on.
func (t *table) add(row []any, size int64, lim limits) bool {
	if len(t.Rows) >= lim.rows {
		t.Truncated, t.Why = true, "max_rows"
		return false
	}
	if t.bytes+size > lim.bytes {
		t.Truncated, t.Why = true, "max_result_bytes"
		return false
	}
	t.Rows = append(t.Rows, row)
	t.bytes += size
	return true
}

// columnRows are the rows of a schema query: table, column, type, in table
// and column order. Both database/sql's and pgx's rows fit.
type columnRows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// schemaOf builds a schema from the rows of a schema query.
func schemaOf(rows columnRows) (*sqlscope.Schema, error) {
	s := &sqlscope.Schema{Tables: map[string]*sqlscope.Table{}}
	for rows.Next() {
		var table, column, typ string
		if err := rows.Scan(&table, &column, &typ); err != nil {
			return nil, err
		}
		t := s.Tables[table]
		if t == nil {
			t = &sqlscope.Table{Name: table}
			s.Tables[table] = t
		}
		t.Columns = append(t.Columns, sqlscope.Column{Name: column, Type: typ})
	}
	return s, rows.Err()
}
