package myscope

import (
	"errors"
	"regexp"

	"vitess.io/vitess/go/vt/sqlparser"

	"github.com/warden-dev/warden/internal/sqlscope"
)

// serverVersion selects vitess's MySQL 8.0 grammar. Version-gated
// executable comments never reach the parser (the lexer refuses them), so
// the version matters only for grammar features.
const serverVersion = "8.0.40"

// Analyzer analyses MySQL and MariaDB statements. The zero value is not
// usable; call [New]. An Analyzer is safe for concurrent use.
type Analyzer struct {
	parser *sqlparser.Parser
}

// New returns an Analyzer for MySQL 8 and MariaDB 10.11.
func New() *Analyzer {
	p, err := sqlparser.New(sqlparser.Options{MySQLServerVersion: serverVersion})
	if err != nil {
		// Only a malformed version string fails, and serverVersion is fixed.
		panic("myscope: " + err.Error())
	}
	return &Analyzer{parser: p}
}

var _ sqlscope.Analyzer = (*Analyzer)(nil)

// statementKeywords are first words that may be named in a refusal; any
// other first word is not echoed, as it may be data.
var statementKeywords = setOf(
	"ALTER", "ANALYZE", "BEGIN", "BINLOG", "CALL", "CHANGE", "CHECK", "CHECKSUM",
	"CLONE", "COMMIT", "CREATE", "DEALLOCATE", "DESC", "DESCRIBE", "DO", "DROP",
	"EXECUTE", "EXPLAIN", "FLUSH", "GET", "GRANT", "HANDLER", "HELP", "IMPORT",
	"INSTALL", "KILL", "LOAD", "LOCK", "OPTIMIZE", "PREPARE", "PURGE", "RELEASE",
	"RENAME", "REPAIR", "RESET", "RESIGNAL", "RESTART", "REVOKE", "ROLLBACK",
	"SAVEPOINT", "SET", "SHOW", "SHUTDOWN", "SIGNAL", "START", "STOP", "TRUNCATE",
	"UNINSTALL", "UNLOCK", "USE", "XA",
)

// Analyze parses sql, which must be exactly one statement, and returns the
// columns it reads and writes. Every error is a [*sqlscope.Refusal].
func (a *Analyzer) Analyze(sql string, schema *sqlscope.Schema) (*sqlscope.Analysis, error) {
	return a.analyze(sql, schema, true)
}

// AnalyzeNoDDL is Analyze for a caller that never runs DDL: a statement
// that starts with CREATE, ALTER, DROP, TRUNCATE or RENAME is refused by
// its first word, so vitess's DDL grammar never sees the text.
func (a *Analyzer) AnalyzeNoDDL(sql string, schema *sqlscope.Schema) (*sqlscope.Analysis, error) {
	return a.analyze(sql, schema, false)
}

func (a *Analyzer) analyze(sql string, schema *sqlscope.Schema, ddl bool) (*sqlscope.Analysis, error) {
	first, end, err := scan(sql)
	// Refuse other statement kinds before parsing: vitess accepts some
	// malformed DDL partially, and nothing about them needs the parser.
	// The kind is the clearer reason, so it wins over a lexical one.
	switch first {
	case "SELECT", "WITH", "INSERT", "UPDATE", "DELETE", "VALUES", "(", "", "EXPLAIN", "DESCRIBE", "DESC", "SHOW":
		if err != nil {
			return nil, err
		}
	case "REPLACE":
		return nil, refuseReplace()
	case "TABLE":
		return nil, sqlscope.Refuse("statement-kind", "TABLE statements are not supported; write SELECT * FROM the table")
	case "CREATE", "ALTER", "DROP", "TRUNCATE", "RENAME":
		// DDL on tables (ddl.go), only for the connector's ddl tool.
		if !ddl {
			return nil, sqlscope.Refuse("statement-kind", "%s statements are not allowed here: DDL on tables runs only through the ddl tool, where a grant allows it", first)
		}
		if err != nil {
			return nil, err
		}
		stmt, err := a.parseWith(sql[:end], a.parser.ParseStrictDDL)
		if err != nil {
			return nil, err
		}
		an := newAnalysis(schema)
		if err := an.ddl(stmt); err != nil {
			return nil, err
		}
		return an.result(sqlscope.DDL), nil
	default:
		if statementKeywords[first] {
			return nil, sqlscope.Refuse("statement-kind", "%s statements are not allowed; only SELECT, INSERT, UPDATE, DELETE and DDL on tables are", first)
		}
		return nil, sqlscope.Refuse("statement-kind", "only SELECT, INSERT, UPDATE, DELETE and DDL on tables are allowed")
	}
	// Only whitespace and comments follow end; vitess would count them as
	// a second, empty statement.
	stmt, err := a.parse(sql[:end])
	if err != nil {
		return nil, err
	}
	an := newAnalysis(schema)
	var kind sqlscope.Kind
	switch s := stmt.(type) {
	case *sqlparser.Select, *sqlparser.Union, *sqlparser.ValuesStatement:
		kind = sqlscope.Select
		_, err = an.query(s.(sqlparser.TableStatement), nil, nil)
	case *sqlparser.Insert:
		kind = sqlscope.Insert
		err = an.insert(s)
	case *sqlparser.Update:
		kind = sqlscope.Update
		err = an.update(s)
	case *sqlparser.Delete:
		kind = sqlscope.Delete
		err = an.delete(s)
	case *sqlparser.ExplainStmt, *sqlparser.ExplainTab, *sqlparser.Show:
		kind = sqlscope.Select
		err = an.metadata(s)
	default:
		return nil, sqlscope.Refuse("statement-kind", "only SELECT, INSERT, UPDATE and DELETE statements are allowed")
	}
	if err != nil {
		return nil, err
	}
	return an.result(kind), nil
}

var positionRE = regexp.MustCompile(`at position (\d+)`)

// parse runs vitess's parser. Its error messages quote the statement, so
// only the position is passed on.
func (a *Analyzer) parse(sql string) (stmt sqlparser.Statement, err error) {
	return a.parseWith(sql, a.parser.Parse)
}

// parseWith runs one of vitess's parse functions: DDL uses ParseStrictDDL,
// which refuses what Parse would accept half-parsed.
func (a *Analyzer) parseWith(sql string, parse func(string) (sqlparser.Statement, error)) (stmt sqlparser.Statement, err error) {
	defer func() {
		// The parser is not ours; a panic in it refuses the statement.
		if recover() != nil {
			stmt, err = nil, sqlscope.Refuse("parse", "the statement could not be parsed as MySQL")
		}
	}()
	stmt, err = parse(sql)
	switch {
	case errors.Is(err, sqlparser.ErrMultipleStatements):
		return nil, sqlscope.Refuse("multiple-statements", "only one statement per call is allowed; send each statement separately")
	case errors.Is(err, sqlparser.ErrEmpty):
		return nil, sqlscope.Refuse("multiple-statements", "the statement is empty; send exactly one SQL statement")
	case err != nil:
		if m := positionRE.FindStringSubmatch(err.Error()); m != nil {
			return nil, sqlscope.Refuse("parse", "the statement could not be parsed as MySQL (syntax error at position %s); check the syntax", m[1])
		}
		return nil, sqlscope.Refuse("parse", "the statement could not be parsed as MySQL; check the syntax")
	}
	return stmt, nil
}

// metadata analyses the read-only statements about a query or a table:
// EXPLAIN of a SELECT (its plan; what the SELECT reads is what it reads),
// and DESCRIBE, SHOW COLUMNS and SHOW CREATE TABLE of one table (its
// structure: every column counts as read). SHOW TABLES and the rest of
// SHOW are refused: they describe the database beyond the resource's
// scope.
func (a *analysis) metadata(s sqlparser.Statement) error {
	switch m := s.(type) {
	case *sqlparser.ExplainStmt:
		if m.Type != sqlparser.EmptyType && m.Type != sqlparser.TraditionalType && m.Type != sqlparser.TreeType && m.Type != sqlparser.JSONType {
			return sqlscope.Refuse("statement-kind", "only EXPLAIN [FORMAT=TRADITIONAL|TREE|JSON] of a SELECT is allowed")
		}
		switch q := m.Statement.(type) {
		case *sqlparser.Select, *sqlparser.Union:
			_, err := a.query(q.(sqlparser.TableStatement), nil, nil)
			return err
		}
		return sqlscope.Refuse("statement-kind", "EXPLAIN is allowed only of a SELECT")
	case *sqlparser.ExplainTab:
		if m.Wild != "" {
			return sqlscope.Refuse("statement-kind", "DESCRIBE a whole table, without a column pattern")
		}
		return a.describe(m.Table)
	case *sqlparser.Show:
		switch in := m.Internal.(type) {
		case *sqlparser.ShowBasic:
			if in.Command == sqlparser.Column && in.Filter == nil && in.DbName.IsEmpty() && !in.Full {
				return a.describe(in.Tbl)
			}
		case *sqlparser.ShowCreate:
			if in.Command == sqlparser.CreateTbl {
				return a.describe(in.Op)
			}
		}
		return sqlscope.Refuse("statement-kind", "SHOW is allowed only as SHOW COLUMNS FROM t and SHOW CREATE TABLE t of a table in scope; use the schema tool to list tables")
	}
	return unknown(s)
}

// describe records every column of a table whose structure is shown.
func (a *analysis) describe(tn sqlparser.TableName) error {
	if !tn.Qualifier.IsEmpty() {
		return refuseQualified()
	}
	t, err := a.table(tn.Name.String())
	if err != nil {
		return err
	}
	a.readAll(baseRelation(t.Name, t))
	return nil
}

func refuseReplace() error {
	return sqlscope.Refuse("statement-kind", "REPLACE is not allowed: it deletes the rows it conflicts with; use INSERT (… ON DUPLICATE KEY UPDATE)")
}

// insert analyses INSERT … VALUES / SET / SELECT [ON DUPLICATE KEY UPDATE].
// The listed columns (all columns when none are listed) are written.
func (a *analysis) insert(ins *sqlparser.Insert) error {
	if ins.Action != sqlparser.InsertAct {
		return refuseReplace()
	}
	if len(ins.Partitions) > 0 {
		return sqlscope.Refuse("clause", "PARTITION selection is not allowed")
	}
	tn, ok := ins.Table.Expr.(sqlparser.TableName)
	if !ok || !ins.Table.As.IsEmpty() {
		return unknown(ins.Table.Expr)
	}
	if !tn.Qualifier.IsEmpty() {
		return refuseQualified()
	}
	tbl, err := a.table(tn.Name.String())
	if err != nil {
		return err
	}
	target := baseRelation(tn.Name.String(), tbl)
	// cols are the target columns in insert order.
	var cols []column
	if len(ins.Columns) == 0 {
		cols = target.cols
	}
	for _, c := range ins.Columns {
		found := target.find(c.String())
		if len(found) == 0 {
			return refuseColumn(c.String())
		}
		cols = append(cols, found[0])
	}
	for _, c := range cols {
		a.writes[sqlscope.Ref{Table: tbl.Name, Column: c.base}] = struct{}{}
	}

	switch rows := ins.Rows.(type) {
	case sqlparser.Values:
		// A value may name a column of the row being inserted.
		x := &ctx{sc: &scope{rels: []*relation{target}}, dflt: true}
		for _, row := range rows {
			if err := a.exprs(row, x); err != nil {
				return err
			}
		}
	case sqlparser.TableStatement:
		if len(ins.OnDup) > 0 {
			// Name resolution in the UPDATE part then mixes the target with
			// the SELECT's tables; refused rather than approximated.
			return sqlscope.Refuse("clause", "INSERT … SELECT … ON DUPLICATE KEY UPDATE is not supported; use INSERT … VALUES or separate statements")
		}
		if _, err := a.query(rows, nil, nil); err != nil {
			return err
		}
	default:
		return unknown(ins.Rows)
	}

	if len(ins.OnDup) == 0 {
		if ins.RowAlias != nil {
			return sqlscope.Refuse("clause", "a row alias (AS name) is only useful with ON DUPLICATE KEY UPDATE")
		}
		return nil
	}
	sc := &scope{rels: []*relation{target}}
	if ra := ins.RowAlias; ra != nil {
		// INSERT … AS new(a, b): new.a is the inserted value of the first
		// listed column, which reads that column.
		alias := &relation{name: ra.TableName.String(), table: tbl, cols: cols}
		if len(ra.Columns) > 0 {
			if len(ra.Columns) != len(cols) {
				return sqlscope.Refuse("column", "the row alias column list does not match the inserted columns")
			}
			alias.cols = make([]column, len(cols))
			for i, c := range ra.Columns {
				alias.cols[i] = column{name: c.String(), base: cols[i].base}
			}
		}
		if err := sc.add(alias); err != nil {
			return err
		}
	}
	x := &ctx{sc: sc, target: target}
	for _, ue := range ins.OnDup {
		if err := a.setTarget(ue.Name, &scope{rels: []*relation{target}}); err != nil {
			return err
		}
		if err := a.expr(ue.Expr, x); err != nil {
			return err
		}
	}
	return nil
}

// update analyses single- and multi-table UPDATE: the SET targets are
// written, everything else is read.
func (a *analysis) update(u *sqlparser.Update) error {
	env, err := a.with(u.With, nil, nil)
	if err != nil {
		return err
	}
	from := &scope{}
	for _, te := range u.TableExprs {
		if _, err := a.tableExpr(te, from, nil, env); err != nil {
			return err
		}
	}
	x := &ctx{sc: from, env: env}
	for _, ue := range u.Exprs {
		if err := a.setTarget(ue.Name, from); err != nil {
			return err
		}
		if err := a.expr(ue.Expr, &ctx{sc: from, env: env, dflt: true}); err != nil {
			return err
		}
	}
	if u.Where != nil {
		if err := a.expr(u.Where.Expr, x); err != nil {
			return err
		}
	}
	if err := a.orderBy(u.OrderBy, x); err != nil {
		return err
	}
	return a.limit(u.Limit, x)
}

// setTarget records the column an assignment writes. It must be a column
// of a base table of sc.
func (a *analysis) setTarget(c *sqlparser.ColName, sc *scope) error {
	if c == nil {
		return unknown(c)
	}
	if !c.Qualifier.Qualifier.IsEmpty() {
		return refuseQualified()
	}
	name := c.Name.String()
	var rels []*relation
	if q := c.Qualifier.Name.String(); q != "" {
		r, err := sc.qualifier(q, false)
		if err != nil {
			return err
		}
		rels = []*relation{r}
	} else {
		rels = sc.unqualified(name)
	}
	if len(rels) == 0 {
		return refuseColumn(name)
	}
	for _, r := range rels {
		found := r.find(name)
		if len(found) == 0 {
			return refuseColumn(name)
		}
		if r.table == nil {
			return sqlscope.Refuse("clause", "only columns of base tables can be assigned")
		}
		for _, col := range found {
			a.writes[sqlscope.Ref{Table: r.table.Name, Column: col.base}] = struct{}{}
		}
	}
	return nil
}

// delete analyses DELETE. A DELETE writes every column of the tables it
// deletes from.
func (a *analysis) delete(d *sqlparser.Delete) error {
	if len(d.Partitions) > 0 {
		return sqlscope.Refuse("clause", "PARTITION selection is not allowed")
	}
	env, err := a.with(d.With, nil, nil)
	if err != nil {
		return err
	}
	from := &scope{}
	var rels []*relation
	for _, te := range d.TableExprs {
		rs, err := a.tableExpr(te, from, nil, env)
		if err != nil {
			return err
		}
		rels = append(rels, rs...)
	}
	var targets []*relation
	if len(d.Targets) == 0 {
		if len(d.TableExprs) != 1 || len(rels) != 1 {
			return sqlscope.Refuse("clause", "a DELETE without target list must name exactly one table")
		}
		targets = rels
	}
	for _, t := range d.Targets {
		if !t.Qualifier.IsEmpty() {
			return refuseQualified()
		}
		r, err := from.qualifier(t.Name.String(), false)
		if err != nil {
			return err
		}
		targets = append(targets, r)
	}
	for _, r := range targets {
		if r.table == nil {
			return sqlscope.Refuse("clause", "only base tables can be deleted from")
		}
		for _, c := range r.cols {
			a.writes[sqlscope.Ref{Table: r.table.Name, Column: c.base}] = struct{}{}
		}
	}
	x := &ctx{sc: from, env: env}
	if d.Where != nil {
		if err := a.expr(d.Where.Expr, x); err != nil {
			return err
		}
	}
	if err := a.orderBy(d.OrderBy, x); err != nil {
		return err
	}
	return a.limit(d.Limit, x)
}
