// Package pgscope is Warden's [sqlscope.Analyzer] for PostgreSQL. It
// parses with PostgreSQL's own grammar (libpg_query, through pg_query_go)
// and walks the raw parse tree, resolving every column to a column of a
// table of the resource's schema the way PostgreSQL's analyser would.
//
// It fails closed: a statement kind, clause, node type, function, type,
// operator or collation it does not know is refused, so a construct added
// to a later grammar cannot slip through unchecked. Where it cannot tell
// exactly which column a name means, it charges every candidate. A
// statement can depend on a table without naming a column of it
// (SELECT count(*) FROM t): Analysis.Tables lists every table named, and
// the policy must grant those as well.
//
// INSERT … ON CONFLICT DO UPDATE is an Insert whose Writes include the
// SET columns, as sqlscope has no kind for an upsert. DDL on tables is
// analysed in ddl.go.
//
// The connection it guards must use client_encoding UTF8 and
// standard_conforming_strings on (PostgreSQL's defaults): the analysis
// assumes the server reads the statement's bytes and string literals as
// the parser here does.
package pgscope

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/pganalyze/pg_query_go/v6/parser"

	"github.com/warden-dev/warden/internal/sqlscope"
)

// Analyzer analyses PostgreSQL statements. The zero value is ready to use.
type Analyzer struct {
	// DefaultSchema is the schema the resource's tables live in (the head
	// of the connection's search_path); "" means "public". Only it may be
	// written as a qualifier.
	DefaultSchema string
}

// New returns an Analyzer for tables in the public schema.
func New() Analyzer { return Analyzer{} }

var _ sqlscope.Analyzer = Analyzer{}

// Limits on what one statement may make the walker do; no real query
// comes near them.
const (
	maxDepth = 5000
	maxSteps = 1_000_000
)

// internalMsg is the refusal for a bug in the analyzer (a recovered
// panic); the fuzz test looks for it.
const internalMsg = "the statement could not be analysed (internal error); it was not run"

// analysis is the state of one Analyze call.
type analysis struct {
	schema        *sqlscope.Schema
	defaultSchema string
	reads, writes map[sqlscope.Ref]struct{}
	tables        map[string]struct{}
	depth, steps  int
	// sublinks holds the output of expression subqueries, which name
	// the column of (SELECT x ...) in a select list.
	sublinks map[*pg.SubLink]shape
	// inDDL is set for a DDL statement, whose expressions (DEFAULT,
	// CHECK, index expressions) may not hold subqueries.
	inDDL bool
}

// Analyze parses sql, which must be exactly one statement, and returns the
// columns it reads and writes. Every error is a *sqlscope.Refusal.
func (an Analyzer) Analyze(sql string, schema *sqlscope.Schema) (res *sqlscope.Analysis, err error) {
	defer func() {
		// A bug must refuse the statement, not take Warden down.
		if r := recover(); r != nil {
			res, err = nil, sqlscope.Refuse("parse", internalMsg)
		}
	}()
	if strings.IndexByte(sql, 0) >= 0 {
		// The C parser would stop at the NUL and see less than the server.
		return nil, sqlscope.Refuse("parse", "the statement contains a NUL byte; remove it")
	}
	if !utf8.ValidString(sql) {
		return nil, sqlscope.Refuse("parse", "the statement is not valid UTF-8; send it as UTF-8 text")
	}
	tree, perr := pg.Parse(sql)
	if perr != nil {
		return nil, parseRefusal(perr)
	}
	switch len(tree.Stmts) {
	case 1:
	case 0:
		return nil, sqlscope.Refuse("multiple-statements", "the input contains no SQL statement; send exactly one statement")
	default:
		return nil, sqlscope.Refuse("multiple-statements", "the input contains %d statements; send exactly one statement per call", len(tree.Stmts))
	}
	def := an.DefaultSchema
	if def == "" {
		def = "public"
	}
	a := &analysis{
		schema:        schema,
		defaultSchema: def,
		reads:         map[sqlscope.Ref]struct{}{},
		writes:        map[sqlscope.Ref]struct{}{},
		tables:        map[string]struct{}{},
		sublinks:      map[*pg.SubLink]shape{},
	}
	kind, err := a.statement(tree.Stmts[0].Stmt)
	if err != nil {
		return nil, err
	}
	return &sqlscope.Analysis{
		Kind:   kind,
		Reads:  refList(a.reads),
		Writes: refList(a.writes),
		Tables: slices.Sorted(maps.Keys(a.tables)),
	}, nil
}

func refList(m map[sqlscope.Ref]struct{}) []sqlscope.Ref {
	if len(m) == 0 {
		return nil
	}
	return sqlscope.Normalize(slices.Collect(maps.Keys(m)))
}

// parseRefusal reports a syntax error by position: the parser's message
// quotes the offending token, which may be a literal value.
func parseRefusal(err error) error {
	var pe *parser.Error
	if !errors.As(err, &pe) {
		// Decoding the tree failed: it nests deeper than protobuf allows.
		return sqlscope.Refuse("parse", "the statement nests too deeply to analyse; simplify it")
	}
	msg := pe.Message
	if i := strings.Index(msg, " at or near"); i >= 0 {
		msg = msg[:i]
	} else if i := strings.IndexByte(msg, '"'); i >= 0 {
		msg = strings.TrimSpace(msg[:i])
	}
	if msg == "" {
		msg = "syntax error"
	}
	if pe.Cursorpos > 0 {
		return sqlscope.Refuse("parse", "the statement is not valid PostgreSQL: %s at character %d", msg, pe.Cursorpos)
	}
	return sqlscope.Refuse("parse", "the statement is not valid PostgreSQL: %s", msg)
}

// statement dispatches on the statement kind.
func (a *analysis) statement(n *pg.Node) (sqlscope.Kind, error) {
	switch s := n.GetNode().(type) {
	case *pg.Node_SelectStmt:
		_, err := a.query(&level{}, s.SelectStmt, nil)
		return sqlscope.Select, err
	case *pg.Node_InsertStmt:
		return sqlscope.Insert, a.insert(s.InsertStmt)
	case *pg.Node_UpdateStmt:
		return sqlscope.Update, a.update(s.UpdateStmt)
	case *pg.Node_DeleteStmt:
		return sqlscope.Delete, a.delete(s.DeleteStmt)
	case *pg.Node_ExplainStmt:
		return a.explain(s.ExplainStmt)
	case *pg.Node_VariableShowStmt:
		if !showable[strings.ToLower(s.VariableShowStmt.Name)] {
			return sqlscope.Invalid, sqlscope.Refuse("statement-kind", "SHOW %s is not allowed: only settings that describe the session's dialect (search_path, timezone, datestyle, server_version, …) may be shown", s.VariableShowStmt.Name)
		}
		return sqlscope.Select, nil
	}
	if ok, err := a.ddl(n); ok {
		return sqlscope.DDL, err
	}
	return sqlscope.Invalid, sqlscope.Refuse("statement-kind",
		"%s statements are not allowed: send one SELECT (or INSERT, UPDATE or DELETE, or DDL on tables, where the resource allows them)", stmtName(n))
}

// explain allows EXPLAIN of a SELECT the analysis accepts, with options
// that only shape the plan's display. ANALYZE runs the SELECT, which the
// read-only transaction allows anyway. EXPLAIN of a write is refused even
// without ANALYZE: it names a write in a read-only call.
func (a *analysis) explain(e *pg.ExplainStmt) (sqlscope.Kind, error) {
	for _, o := range e.Options {
		d, ok := o.GetNode().(*pg.Node_DefElem)
		if !ok || !explainOptions[strings.ToLower(d.DefElem.Defname)] {
			name := nodeName(o)
			if ok {
				name = d.DefElem.Defname
			}
			return sqlscope.Invalid, sqlscope.Refuse("clause", "EXPLAIN option %s is not allowed; use ANALYZE, VERBOSE, COSTS, BUFFERS, WAL, TIMING, SUMMARY or FORMAT", name)
		}
	}
	sel, ok := e.Query.GetNode().(*pg.Node_SelectStmt)
	if !ok {
		return sqlscope.Invalid, sqlscope.Refuse("statement-kind", "EXPLAIN of %s is not allowed: only a SELECT may be explained", stmtName(e.Query))
	}
	_, err := a.query(&level{}, sel.SelectStmt, nil)
	return sqlscope.Select, err
}

// explainOptions change how a plan is shown, not what runs. SETTINGS
// (which lists changed server settings) and GENERIC_PLAN are absent.
var explainOptions = map[string]bool{"analyze": true, "verbose": true, "costs": true, "buffers": true, "wal": true, "timing": true, "summary": true, "format": true}

// showable settings describe how the session reads and prints SQL; none
// reveals the server's files, hosts or other users.
var showable = map[string]bool{
	"search_path": true, "timezone": true, "datestyle": true, "intervalstyle": true,
	"server_version": true, "server_version_num": true, "server_encoding": true, "client_encoding": true,
	"standard_conforming_strings": true, "transaction_isolation": true, "transaction_read_only": true,
	"default_transaction_read_only": true, "statement_timeout": true, "lock_timeout": true,
	"max_identifier_length": true, "integer_datetimes": true, "extra_float_digits": true,
}

// stmtNames names the statements agents try most; others are named by
// their parse node.
var stmtNames = map[string]string{
	"AlterSystemStmt":     "ALTER SYSTEM",
	"CallStmt":            "CALL",
	"CheckPointStmt":      "CHECKPOINT",
	"ClusterStmt":         "CLUSTER",
	"CopyStmt":            "COPY",
	"CreateStmt":          "CREATE TABLE",
	"CreateSeqStmt":       "CREATE SEQUENCE",
	"CreateFunctionStmt":  "CREATE FUNCTION",
	"CreateTrigStmt":      "CREATE TRIGGER",
	"CreateSchemaStmt":    "CREATE SCHEMA",
	"CreateExtensionStmt": "CREATE EXTENSION",
	"CommentStmt":         "COMMENT",
	"ViewStmt":            "CREATE VIEW",
	"CreateTableAsStmt":   "CREATE TABLE AS / SELECT INTO",
	"DeallocateStmt":      "DEALLOCATE",
	"DeleteStmt":          "DELETE",
	"DiscardStmt":         "DISCARD",
	"DoStmt":              "DO",
	"DropStmt":            "DROP",
	"ExecuteStmt":         "EXECUTE",
	"ExplainStmt":         "EXPLAIN",
	"GrantStmt":           "GRANT/REVOKE",
	"InsertStmt":          "INSERT",
	"ListenStmt":          "LISTEN",
	"LoadStmt":            "LOAD",
	"LockStmt":            "LOCK",
	"MergeStmt":           "MERGE",
	"NotifyStmt":          "NOTIFY",
	"PrepareStmt":         "PREPARE",
	"TransactionStmt":     "transaction control (BEGIN, COMMIT, ROLLBACK, SAVEPOINT)",
	"TruncateStmt":        "TRUNCATE",
	"UnlistenStmt":        "UNLISTEN",
	"UpdateStmt":          "UPDATE",
	"VacuumStmt":          "VACUUM/ANALYZE",
	"VariableSetStmt":     "SET/RESET",
	"VariableShowStmt":    "SHOW",
}

func stmtName(n *pg.Node) string {
	t := nodeName(n)
	if s, ok := stmtNames[t]; ok {
		return s
	}
	return strings.TrimSuffix(t, "Stmt")
}

// nodeName is the parse node's type, e.g. "XmlExpr".
func nodeName(n *pg.Node) string {
	if n == nil || n.Node == nil {
		return "empty node"
	}
	return strings.TrimPrefix(fmt.Sprintf("%T", n.Node), "*pg_query.Node_")
}

func (a *analysis) read(refs ...sqlscope.Ref) {
	for _, r := range refs {
		a.reads[r] = struct{}{}
	}
}

func (a *analysis) write(refs ...sqlscope.Ref) {
	for _, r := range refs {
		a.writes[r] = struct{}{}
	}
}

// enter counts a step of the walk and its depth; leave undoes the depth.
func (a *analysis) enter() error {
	a.depth++
	a.steps++
	if a.depth > maxDepth {
		return sqlscope.Refuse("clause", "the statement nests more than %d levels deep; simplify it", maxDepth)
	}
	if a.steps > maxSteps {
		return sqlscope.Refuse("clause", "the statement is too large to analyse; simplify it")
	}
	return nil
}

func (a *analysis) leave() { a.depth-- }

// strs returns the values of a list of String nodes.
func strs(nodes []*pg.Node) ([]string, error) {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		s, ok := n.GetNode().(*pg.Node_String_)
		if !ok {
			return nil, sqlscope.Refuse("clause", "unexpected %s in a name", nodeName(n))
		}
		out[i] = s.String_.Sval
	}
	return out, nil
}
