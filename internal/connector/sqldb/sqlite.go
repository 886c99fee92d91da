package sqldb

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/ncruces/go-sqlite3"

	"github.com/warden-dev/warden/internal/sqlscope"
)

// sqlitePoolSize is how many read-only connections a SQLite resource keeps.
const sqlitePoolSize = 4

// sqliteMaxLength bounds any one string or blob a statement makes
// (randomblob, zeroblob, printf padding), so a query cannot exhaust memory.
const sqliteMaxLength = 16 << 20

// sqliteDB is a SQLite file. Queries run on read-only connections with
// query_only on, no attachments and the authorizer enforcing exactly what
// the policy allowed; writes run on one read-write connection at a time.
type sqliteDB struct {
	path string
	// maxValue bounds any one string or blob a query makes: no more than
	// the whole result may hold (and never over sqliteMaxLength).
	maxValue int
	idle     chan *sqlite3.Conn // read-only connections not in use
	slot     chan struct{}      // one token per connection that may be opened
	rwMu     sync.Mutex         // serialises writes
}

func (d *sqliteDB) open(ctx context.Context) error {
	d.idle = make(chan *sqlite3.Conn, sqlitePoolSize)
	d.slot = make(chan struct{}, sqlitePoolSize)
	for range sqlitePoolSize {
		d.slot <- struct{}{}
	}
	c, err := d.get(ctx)
	if err != nil {
		return err // get says which file and why, once
	}
	d.put(c)
	return nil
}

// connect opens the file (never creating it, never as a URI) and sets the
// limits every connection has.
func (d *sqliteDB) connect(readOnly bool) (*sqlite3.Conn, error) {
	flags := sqlite3.OPEN_READWRITE
	if readOnly {
		flags = sqlite3.OPEN_READONLY
	}
	c, err := sqlite3.OpenFlags(d.path, flags|sqlite3.OPEN_NOFOLLOW)
	if err != nil {
		return nil, sqliteOpenError(d.path, err)
	}
	c.Limit(sqlite3.LIMIT_ATTACHED, 0)
	c.Limit(sqlite3.LIMIT_LENGTH, sqliteMaxLength)
	if readOnly && d.maxValue > 0 {
		c.Limit(sqlite3.LIMIT_LENGTH, min(d.maxValue, sqliteMaxLength))
	}
	setup := []string{"PRAGMA trusted_schema = OFF", "PRAGMA busy_timeout = 5000"}
	if readOnly {
		setup = append(setup, "PRAGMA query_only = ON")
	}
	for _, s := range setup {
		if err := c.Exec(s); err != nil {
			c.Close()
			return nil, sqliteOpenError(d.path, err)
		}
	}
	if _, err := c.Config(sqlite3.DBCONFIG_DEFENSIVE, true); err != nil {
		c.Close()
		return nil, sqliteOpenError(d.path, err)
	}
	return c, nil
}

// get takes an idle read-only connection, or opens one if the pool has
// room, or waits.
func (d *sqliteDB) get(ctx context.Context) (*sqlite3.Conn, error) {
	select {
	case c := <-d.idle:
		return c, nil
	default:
	}
	select {
	case c := <-d.idle:
		return c, nil
	case <-d.slot:
		c, err := d.connect(true)
		if err != nil {
			d.slot <- struct{}{}
			return nil, err
		}
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (d *sqliteDB) put(c *sqlite3.Conn) {
	c.SetAuthorizer(nil)
	c.SetInterrupt(context.Background())
	d.idle <- c
}

func (d *sqliteDB) close() error {
	var errs []error
	for {
		select {
		case c := <-d.idle:
			errs = append(errs, c.Close())
		default:
			return errors.Join(errs...)
		}
	}
}

func (d *sqliteDB) schema(ctx context.Context) (*sqlscope.Schema, error) {
	c, err := d.get(ctx)
	if err != nil {
		return nil, err
	}
	defer d.put(c)
	s := &sqlscope.Schema{Tables: map[string]*sqlscope.Table{}}
	names, err := sqliteStrings(c, `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		st, _, err := c.Prepare(`SELECT name, type FROM pragma_table_info(?) ORDER BY cid`)
		if err != nil {
			return nil, err
		}
		st.BindText(1, n)
		t := &sqlscope.Table{Name: n}
		for st.Step() {
			t.Columns = append(t.Columns, sqlscope.Column{Name: st.ColumnText(0), Type: st.ColumnText(1)})
		}
		err = errors.Join(st.Err(), st.Close())
		if err != nil {
			return nil, err
		}
		s.Tables[n] = t
	}
	return s, nil
}

func sqliteStrings(c *sqlite3.Conn, q string) ([]string, error) {
	st, _, err := c.Prepare(q)
	if err != nil {
		return nil, err
	}
	var out []string
	for st.Step() {
		out = append(out, st.ColumnText(0))
	}
	return out, errors.Join(st.Err(), st.Close())
}

// analyze prepares the statement with an authorizer that records every
// table, column and function SQLite's own compiler touches, and refuses
// whatever is not a read or write of a known column or an allowlisted
// function.
func (d *sqliteDB) analyze(ctx context.Context, sql string, schema *sqlscope.Schema, ddl bool) (*sqlscope.Analysis, error) {
	c, err := d.get(ctx)
	if err != nil {
		return nil, err
	}
	defer d.put(c)
	a := &sqliteAuth{schema: schema}
	st, err := a.prepare(c, sql)
	if err != nil {
		return nil, err
	}
	readOnly := st.ReadOnly()
	st.Close()
	if a.isDDL() && ddl {
		// A read-only connection compiles DDL without resolving CHECK
		// constraints and other expressions: for the ddl tool, compile it
		// again, without running it, where it would run. (The query and
		// execute tools refuse DDL; their process may not write the file.)
		return d.analyzeDDL(sql, schema)
	}
	return a.analysis(readOnly, sql)
}

// sqliteAuth is one statement's authorizer. With allowed nil it records;
// otherwise it also refuses any column or table outside allowed.
type sqliteAuth struct {
	schema  *sqlscope.Schema
	allowed map[sqlscope.Ref]bool // nil while analysing
	// ddl is set when enforcing a DDL statement: SQLite's own work on its
	// schema table during DDL is expected. While analysing, that work is
	// allowed and the statement refused afterwards unless it is DDL.
	ddl     bool
	refused *sqlscope.Refusal // the first refusal

	reads, writes         []sqlscope.Ref
	tables                map[string]bool
	insert, update, delet bool
	// pragmaRead is set for an allowed pragma read, which SQLite does not
	// always call read-only (journal_mode); the connection is read-only.
	pragmaRead bool

	// DDL, as SQLite reports it (see sqlite_ddl.go).
	changed                map[string]bool // tables created, altered, dropped or indexed
	created, dropped       map[string]bool // by lower-case name
	alter, index, selected bool
	create, renamesTable   bool
	internal               string // SQLite's own table or function the statement used, if any
}

// prepare compiles exactly one statement under the authorizer.
func (a *sqliteAuth) prepare(c *sqlite3.Conn, sql string) (*sqlite3.Stmt, error) {
	if err := c.SetAuthorizer(a.check); err != nil {
		return nil, err
	}
	// No virtual tables, except for DDL being enforced: SQLite's ALTER
	// TABLE … ADD COLUMN checks the table with the quick_check pragma, a
	// virtual table, which the authorizer allows for that table only.
	flags := sqlite3.PREPARE_NO_VTAB
	if a.ddl {
		flags = 0
	}
	st, tail, err := c.PrepareFlags(sql, flags)
	if a.refused != nil {
		if st != nil {
			st.Close()
		}
		return nil, a.refused
	}
	if err != nil {
		return nil, sqlscope.Refuse("parse", "SQLite cannot compile the statement: %s", sqliteMessage(err))
	}
	if st == nil {
		return nil, sqlscope.Refuse("multiple-statements", "the text holds no statement")
	}
	// Whatever follows the statement must be nothing but space and
	// comments: SQLite compiles it to no statement.
	for tail != "" {
		next, rest, err := c.PrepareFlags(tail, flags)
		if next != nil || err != nil || a.refused != nil {
			if next != nil {
				next.Close()
			}
			st.Close()
			return nil, sqlscope.Refuse("multiple-statements", "send exactly one statement; the text holds more than one")
		}
		tail = rest
	}
	return st, nil
}

func (a *sqliteAuth) refuse(class, format string, v ...any) sqlite3.AuthorizerReturnCode {
	if a.refused == nil {
		a.refused = sqlscope.Refuse(class, format, v...)
	}
	return sqlite3.AUTH_DENY
}

func (a *sqliteAuth) check(action sqlite3.AuthorizerActionCode, name3, name4, schema, inner string) sqlite3.AuthorizerReturnCode {
	switch action {
	case sqlite3.AUTH_SELECT:
		a.selected = true
		return sqlite3.AUTH_OK
	case sqlite3.AUTH_RECURSIVE:
		return sqlite3.AUTH_OK
	case sqlite3.AUTH_FUNCTION:
		switch name := strings.ToLower(name4); {
		case sqliteFuncs[name]:
			return sqlite3.AUTH_OK
		case sqliteDDLFuncs[name]:
			a.renamesTable = a.renamesTable || name == "sqlite_rename_table"
			return a.sqliteInternal(name)
		}
		return a.refuse("function", "function %q is not allowed: only side-effect-free functions on Warden's allowlist may be called", name4)
	case sqlite3.AUTH_READ:
		switch {
		case sqliteInternalTables[strings.ToLower(name3)]:
			return a.sqliteInternal(name3)
		case a.isChanged(name3):
			// A CHECK, key or ALTER of a table the statement changes: its
			// write as a whole covers it.
			return sqlite3.AUTH_OK
		}
		return a.column(name3, name4, schema, false)
	case sqlite3.AUTH_UPDATE:
		if sqliteInternalTables[strings.ToLower(name3)] {
			return a.sqliteInternal(name3)
		}
		a.update = true
		return a.column(name3, name4, schema, true)
	case sqlite3.AUTH_INSERT, sqlite3.AUTH_DELETE:
		switch {
		case sqliteInternalTables[strings.ToLower(name3)]:
			return a.sqliteInternal(name3)
		case action == sqlite3.AUTH_DELETE && a.dropped[strings.ToLower(name3)]:
			return sqlite3.AUTH_OK // DROP TABLE empties the table it drops
		}
		t := a.table(name3, schema)
		if t == nil {
			return sqlite3.AUTH_DENY
		}
		if action == sqlite3.AUTH_INSERT {
			a.insert = true
		} else {
			a.delet = true
		}
		// SQLite names only the table: the statement may set (insert) or
		// remove (delete) every column.
		for _, r := range t.All() {
			if code := a.use(r, true); code != sqlite3.AUTH_OK {
				return code
			}
		}
		return sqlite3.AUTH_OK
	case sqlite3.AUTH_PRAGMA:
		if a.alter && strings.EqualFold(name3, "quick_check") && a.isChanged(name4) && schema == "main" {
			// ALTER TABLE … ADD COLUMN with a constraint checks the table.
			return sqlite3.AUTH_OK
		}
		return a.pragma(strings.ToLower(name3), name4, schema)
	case sqlite3.AUTH_CREATE_TABLE:
		a.create = true
		return a.ddlTable(name3, schema, "create")
	case sqlite3.AUTH_DROP_TABLE:
		return a.ddlTable(name3, schema, "drop")
	case sqlite3.AUTH_ALTER_TABLE:
		a.alter = true
		return a.ddlTable(name4, name3, "alter") // name3 is the database
	case sqlite3.AUTH_CREATE_INDEX, sqlite3.AUTH_DROP_INDEX:
		a.index = true
		return a.ddlTable(name4, schema, "index") // name3 is the index
	case sqlite3.AUTH_REINDEX:
		if a.index && a.isDDL() {
			return sqlite3.AUTH_OK // SQLite fills the index it creates
		}
		return a.refuse("statement-kind", "REINDEX is not allowed")
	case sqlite3.AUTH_DROP_TRIGGER:
		if a.dropped[strings.ToLower(name4)] && schema == "main" {
			return sqlite3.AUTH_OK // DROP TABLE drops the table's triggers
		}
		return a.refuse("statement-kind", "only DDL on tables and indexes is allowed, not on views, triggers or virtual tables")
	case sqlite3.AUTH_CREATE_TEMP_TABLE, sqlite3.AUTH_CREATE_TEMP_INDEX, sqlite3.AUTH_DROP_TEMP_TABLE, sqlite3.AUTH_DROP_TEMP_INDEX:
		return a.refuse("clause", "temporary tables are not allowed")
	case sqlite3.AUTH_CREATE_VIEW, sqlite3.AUTH_CREATE_TEMP_VIEW, sqlite3.AUTH_DROP_VIEW, sqlite3.AUTH_DROP_TEMP_VIEW,
		sqlite3.AUTH_CREATE_TRIGGER, sqlite3.AUTH_CREATE_TEMP_TRIGGER, sqlite3.AUTH_DROP_TEMP_TRIGGER,
		sqlite3.AUTH_CREATE_VTABLE, sqlite3.AUTH_DROP_VTABLE:
		return a.refuse("statement-kind", "only DDL on tables and indexes is allowed, not on views, triggers or virtual tables")
	case sqlite3.AUTH_ATTACH, sqlite3.AUTH_DETACH:
		return a.refuse("statement-kind", "ATTACH and DETACH are not allowed")
	case sqlite3.AUTH_TRANSACTION, sqlite3.AUTH_SAVEPOINT:
		return a.refuse("statement-kind", "transaction control is not allowed: Warden runs each statement in its own transaction")
	}
	return a.refuse("statement-kind", "only SELECT, INSERT, UPDATE, DELETE and DDL on tables are allowed")
}

// pragma allows the read-only pragmas of sqliteTablePragmas (about a
// table, which then counts as reading every column: they show its
// structure) and sqliteValuePragmas (read, never set).
func (a *sqliteAuth) pragma(name, arg, schema string) sqlite3.AuthorizerReturnCode {
	if schema != "" && schema != "main" {
		return a.refuse("schema", "only the main database may be inspected, not %q", schema)
	}
	switch {
	case sqliteTablePragmas[name] && arg != "":
		t := a.table(arg, "main")
		if t == nil {
			return sqlite3.AUTH_DENY
		}
		for _, r := range t.All() {
			if code := a.use(r, false); code != sqlite3.AUTH_OK {
				return code
			}
		}
		return sqlite3.AUTH_OK
	case sqliteValuePragmas[name] && arg == "":
		a.pragmaRead = true
		return sqlite3.AUTH_OK
	}
	return a.refuse("statement-kind", "PRAGMA %s is not allowed: only reading the pragmas %s is", name, "table_info(TABLE), index_list(TABLE), foreign_key_list(TABLE), user_version, journal_mode and similar")
}

// table checks that a statement names a table of the main schema that the
// resource's schema holds.
func (a *sqliteAuth) table(name, schema string) *sqlscope.Table {
	if schema != "main" {
		a.refuse("schema", "only tables of the main database may be used, not of %q", schema)
		return nil
	}
	t := a.schema.Lookup(name, true)
	if t == nil {
		a.refuse("table", "table %q is not in this resource's scope", name)
		return nil
	}
	if a.tables == nil {
		a.tables = map[string]bool{}
	}
	a.tables[t.Name] = true
	return t
}

func (a *sqliteAuth) column(table, column, schema string, write bool) sqlite3.AuthorizerReturnCode {
	if column == "" && schema == "" {
		// SQLite reports a read of no column (count(*)) without a schema.
		// It names the base table under a CTE or subquery, or, for a
		// recursive CTE, the CTE itself: a name that is no table of the
		// database reads nothing. SQLite's own tables are refused.
		if strings.HasPrefix(strings.ToLower(table), "sqlite_") {
			return a.refuse("table", "table %q is not in this resource's scope", table)
		}
		if a.schema.Lookup(table, true) == nil {
			return sqlite3.AUTH_OK
		}
		schema = "main"
	}
	t := a.table(table, schema)
	if t == nil {
		return sqlite3.AUTH_DENY
	}
	if column == "" {
		// A read that needs no column's value (count(*)): the table is
		// recorded, which needs a grant on it.
		return sqlite3.AUTH_OK
	}
	name := t.Column(column, true)
	if name == "" {
		return a.refuse("column", "column %q of table %q is not in this resource's scope", column, t.Name)
	}
	return a.use(sqlscope.Ref{Table: t.Name, Column: name}, write)
}

func (a *sqliteAuth) use(r sqlscope.Ref, write bool) sqlite3.AuthorizerReturnCode {
	if a.allowed != nil && !a.allowed[r] {
		return a.refuse("column", "column %s was not allowed for this call", r)
	}
	if write {
		a.writes = append(a.writes, r)
	} else {
		a.reads = append(a.reads, r)
	}
	return sqlite3.AUTH_OK
}

func (a *sqliteAuth) analysis(readOnly bool, sql string) (*sqlscope.Analysis, error) {
	switch {
	case a.isDDL():
		return a.ddlAnalysis(sql)
	case a.internal != "":
		return nil, sqlscope.Refuse("table", "table %q is not in this resource's scope", a.internal)
	}
	an := &sqlscope.Analysis{Reads: sqlscope.Normalize(a.reads), Writes: sqlscope.Normalize(a.writes)}
	for t := range a.tables {
		an.Tables = append(an.Tables, t)
	}
	sortStrings(an.Tables)
	switch {
	case (readOnly || a.pragmaRead) && !a.insert && !a.update && !a.delet:
		an.Kind = sqlscope.Select
	case a.insert:
		an.Kind = sqlscope.Insert
	case a.update:
		an.Kind = sqlscope.Update
	case a.delet:
		an.Kind = sqlscope.Delete
	default:
		return nil, sqlscope.Refuse("statement-kind", "only SELECT, INSERT, UPDATE, DELETE and DDL on tables are allowed; SQLite reports nothing this statement reads or changes (DROP … IF EXISTS of something that does not exist does nothing)")
	}
	return an, nil
}

// enforce returns an authorizer that allows exactly the columns and tables
// of an analysis the policy allowed.
func enforce(schema *sqlscope.Schema, an *sqlscope.Analysis) *sqliteAuth {
	allowed := map[sqlscope.Ref]bool{}
	for _, r := range an.Refs() {
		allowed[r] = true
	}
	return &sqliteAuth{schema: schema, allowed: allowed, ddl: an.Kind == sqlscope.DDL}
}

func (d *sqliteDB) query(ctx context.Context, s *statement, lim limits) (*table, error) {
	ctx, cancel := context.WithTimeout(ctx, lim.timeout)
	defer cancel()
	c, err := d.get(ctx)
	if err != nil {
		return nil, err
	}
	defer d.put(c)
	c.SetInterrupt(ctx)
	auth := enforce(s.schema, s.analysis)
	st, err := auth.prepare(c, s.sql)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if !st.ReadOnly() && !auth.pragmaRead {
		return nil, sqlscope.Refuse("statement-kind", "the statement is not read-only")
	}
	if err := sqliteBind(st, s.params); err != nil {
		return nil, err
	}
	n := st.ColumnCount()
	t := &table{Columns: make([]string, n), Rows: [][]any{}}
	for i := range n {
		t.Columns[i] = st.ColumnName(i)
	}
	for st.Step() {
		row := make([]any, n)
		var size int64
		for i := range n {
			row[i], size = sqliteValue(st, i, size)
		}
		if !t.add(row, size, lim) {
			break
		}
	}
	if err := st.Err(); err != nil {
		if errors.Is(err, sqlite3.TOOBIG) && ctx.Err() == nil {
			// A value larger than the whole result may be was refused
			// before it was made.
			t.Truncated, t.Why = true, "max_result_bytes"
			return t, nil
		}
		return nil, sqliteError(ctx, err)
	}
	return t, nil
}

func (d *sqliteDB) execute(ctx context.Context, s *statement, dryRun bool, lim limits) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, lim.timeout)
	defer cancel()
	d.rwMu.Lock()
	defer d.rwMu.Unlock()
	c, err := d.connect(false)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetInterrupt(ctx)
	if err := c.Exec("BEGIN IMMEDIATE"); err != nil {
		return 0, sqliteError(ctx, err)
	}
	n, err := func() (int64, error) {
		st, err := enforce(s.schema, s.analysis).prepare(c, s.sql)
		if err != nil {
			return 0, err
		}
		defer st.Close()
		if err := sqliteBind(st, s.params); err != nil {
			return 0, err
		}
		if err := st.Exec(); err != nil {
			return 0, sqliteError(ctx, err)
		}
		return c.Changes(), nil
	}()
	c.SetAuthorizer(nil)
	c.SetInterrupt(context.Background())
	if err != nil || dryRun {
		return n, errors.Join(err, c.Exec("ROLLBACK"))
	}
	if err := c.Exec("COMMIT"); err != nil {
		return 0, errors.Join(sqliteError(ctx, err), c.Exec("ROLLBACK"))
	}
	return n, nil
}

func sqliteBind(st *sqlite3.Stmt, params []any) error {
	if n := st.BindCount(); n != len(params) {
		return sqlscope.Refuse("parse", "the statement has %d placeholders and %d params were given", n, len(params))
	}
	for i, p := range params {
		var err error
		switch v := p.(type) {
		case nil:
			err = st.BindNull(i + 1)
		case bool:
			err = st.BindBool(i+1, v)
		case int64:
			err = st.BindInt64(i+1, v)
		case float64:
			err = st.BindFloat(i+1, v)
		case string:
			err = st.BindText(i+1, v)
		default:
			err = fmt.Errorf("unsupported parameter type %T", p)
		}
		if err != nil {
			return fmt.Errorf("sqlite: bind params[%d]: %w", i, err)
		}
	}
	return nil
}

// sqliteValue converts one column of the current row for JSON and adds
// its size to size.
func sqliteValue(st *sqlite3.Stmt, i int, size int64) (any, int64) {
	switch st.ColumnType(i) {
	case sqlite3.INTEGER:
		return st.ColumnInt64(i), size + 8
	case sqlite3.FLOAT:
		return jsonFloat(st.ColumnFloat(i)), size + 8
	case sqlite3.TEXT:
		s := st.ColumnText(i)
		return s, size + int64(len(s)) + 2
	case sqlite3.BLOB:
		b := st.ColumnRawBlob(i)
		return blob(b), size + int64(base64.StdEncoding.EncodedLen(len(b))) + 16
	}
	return nil, size + 4
}

func sqliteError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return errTimeout
	}
	return err
}

// sqliteMessage is SQLite's own message without the statement text.
func sqliteMessage(err error) string {
	var se *sqlite3.Error
	if errors.As(err, &se) {
		return se.Error()
	}
	return err.Error()
}
