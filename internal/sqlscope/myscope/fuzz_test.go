package myscope

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"vitess.io/vitess/go/vt/sqlparser"

	"github.com/warden-dev/warden/internal/corpus"
	"github.com/warden-dev/warden/internal/sqlscope"
)

// FuzzAnalyze checks that Analyze never panics, only ever fails with a
// Refusal, returns well-formed analyses, and that whatever it accepts as a
// read-only statement passes a second check that does not share its walker.
func FuzzAnalyze(f *testing.F) {
	if dir := corpus.Dir(); dir != "" {
		if cases, err := corpus.Parse(filepath.Join(dir, "sql-mysql.txt")); err == nil {
			for _, c := range cases {
				f.Add(c.Payload)
			}
		}
	}
	for _, c := range analyzeCases {
		f.Add(c.sql)
	}
	for _, c := range refuseCases {
		f.Add(c.sql)
	}
	for _, c := range ddlCases {
		f.Add(c.sql)
	}
	for _, c := range ddlRefuseCases {
		f.Add(c.sql)
	}
	a := New()
	check, err := sqlparser.New(sqlparser.Options{MySQLServerVersion: serverVersion})
	if err != nil {
		f.Fatal(err)
	}
	schema := fixtureSchema()
	f.Fuzz(func(t *testing.T, sql string) {
		start := time.Now()
		an, err := a.Analyze(sql, schema)
		// The analysis must stay cheap: a slow input is a denial of service.
		// The bound is loose because fuzzing machines are often loaded; the
		// exponential case it caught once took minutes.
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("Analyze(%q) took %v", sql, d)
		}
		if err != nil {
			var r *sqlscope.Refusal
			if !errors.As(err, &r) || r.Class == "" || r.Msg == "" {
				t.Fatalf("Analyze(%q) = %v (%T), want a *sqlscope.Refusal", sql, err, err)
			}
			return
		}
		checkWellFormed(t, sql, an, schema)
		switch an.Kind {
		case sqlscope.Select:
			checkReadOnly(t, check, sql, an)
		case sqlscope.DDL:
			checkDDL(t, check, sql)
		}
	})
}

// checkWellFormed checks the Analysis contract: sorted, no duplicates,
// and only names of the schema, spelled as the schema spells them.
func checkWellFormed(t *testing.T, sql string, an *sqlscope.Analysis, schema *sqlscope.Schema) {
	t.Helper()
	switch an.Kind {
	case sqlscope.Select, sqlscope.Insert, sqlscope.Update, sqlscope.Delete, sqlscope.DDL:
	default:
		t.Fatalf("Analyze(%q).Kind = %v", sql, an.Kind)
	}
	// A DDL statement writes whole tables, which it may create: they need
	// not be in the schema, and nothing else it names may be missing.
	changed := map[string]bool{}
	if an.Kind == sqlscope.DDL {
		if len(an.Writes) == 0 {
			t.Fatalf("Analyze(%q) is DDL that changes no table", sql)
		}
		for _, w := range an.Writes {
			if w.Column != sqlscope.AllColumns || !slices.Contains(an.Tables, w.Table) {
				t.Fatalf("Analyze(%q) DDL write %v, Tables %v", sql, w, an.Tables)
			}
			changed[w.Table] = true
		}
	}
	for _, rs := range [][]sqlscope.Ref{an.Reads, an.Writes} {
		if !slices.Equal(rs, sqlscope.Normalize(slices.Clone(rs))) {
			t.Fatalf("Analyze(%q) refs not sorted or duplicated: %v", sql, rs)
		}
		for _, r := range rs {
			if an.Kind == sqlscope.DDL && r.Column == sqlscope.AllColumns {
				continue // a whole table, checked above
			}
			tbl := schema.Tables[r.Table]
			if tbl == nil || tbl.Column(r.Column, false) == "" {
				t.Fatalf("Analyze(%q) ref %v is not a schema column", sql, r)
			}
			if !slices.Contains(an.Tables, r.Table) {
				t.Fatalf("Analyze(%q) ref %v but Tables = %v", sql, r, an.Tables)
			}
		}
	}
	if !slices.IsSorted(an.Tables) || len(slices.Compact(slices.Clone(an.Tables))) != len(an.Tables) {
		t.Fatalf("Analyze(%q).Tables not sorted or duplicated: %v", sql, an.Tables)
	}
	for _, tbl := range an.Tables {
		if schema.Tables[tbl] == nil && !changed[tbl] {
			t.Fatalf("Analyze(%q).Tables has %q, not in the schema", sql, tbl)
		}
	}
	if an.Kind == sqlscope.Select && len(an.Writes) > 0 {
		t.Fatalf("Analyze(%q) is a SELECT with writes %v", sql, an.Writes)
	}
}

// checkReadOnly parses sql again, as all statements it contains, and
// walks the tree with vitess's own walker: one query statement, nothing
// that writes, no INTO or locking, no variables, only allowlisted
// functions, no database-qualified names, and every base table it names
// reported in Tables.
func checkReadOnly(t *testing.T, p *sqlparser.Parser, sql string, an *sqlscope.Analysis) {
	t.Helper()
	stmts, err := p.ParseMultipleIgnoreEmpty(sql)
	if err != nil || len(stmts) != 1 {
		t.Fatalf("Analyze(%q) accepted a SELECT that re-parses as %d statements (%v)", sql, len(stmts), err)
	}
	switch st := stmts[0].(type) {
	case *sqlparser.Select, *sqlparser.Union, *sqlparser.ValuesStatement:
	case *sqlparser.ExplainStmt:
		// EXPLAIN shows the plan of a SELECT, checked as one below.
		switch st.Statement.(type) {
		case *sqlparser.Select, *sqlparser.Union:
		default:
			t.Fatalf("Analyze(%q) accepted EXPLAIN of %T", sql, st.Statement)
		}
		if st.Type == sqlparser.AnalyzeType {
			t.Fatalf("Analyze(%q) accepted EXPLAIN ANALYZE", sql)
		}
		stmts[0] = st.Statement
	case *sqlparser.ExplainTab:
		return // the structure of one table: its columns are all in Reads
	case *sqlparser.Show:
		switch in := st.Internal.(type) {
		case *sqlparser.ShowBasic:
			if in.Command != sqlparser.Column {
				t.Fatalf("Analyze(%q) accepted SHOW %v", sql, in.Command)
			}
		case *sqlparser.ShowCreate:
			if in.Command != sqlparser.CreateTbl {
				t.Fatalf("Analyze(%q) accepted SHOW CREATE %v", sql, in.Command)
			}
		default:
			t.Fatalf("Analyze(%q) accepted SHOW %T", sql, in)
		}
		return
	default:
		t.Fatalf("Analyze(%q) accepted %T as a SELECT", sql, stmts[0])
	}
	ctes := map[string]bool{}
	var tables []string
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("Analyze(%q) accepted a SELECT with "+format, append([]any{sql}, args...)...)
	}
	_ = sqlparser.Walk(func(n sqlparser.SQLNode) (bool, error) {
		switch n := n.(type) {
		case *sqlparser.Select:
			if n.Into != nil || n.Lock != sqlparser.NoLock || n.SQLCalcFoundRows {
				fail("INTO, locking or SQL_CALC_FOUND_ROWS")
			}
			checkComments(fail, n.Comments)
		case *sqlparser.Union:
			if n.Into != nil || n.Lock != sqlparser.NoLock {
				fail("INTO or locking on a UNION")
			}
		case *sqlparser.ValuesStatement, *sqlparser.DerivedTable, *sqlparser.Subquery:
		case sqlparser.Statement:
			fail("a nested %T", n)
		case *sqlparser.Variable, *sqlparser.AssignmentExpr:
			fail("a variable")
		case *sqlparser.FuncExpr:
			if !n.Qualifier.IsEmpty() || !allowedFuncs[n.Name.Lowered()] {
				fail("function %s", n.Name.String())
			}
		case *sqlparser.CurTimeFuncExpr:
			if !allowedFuncs[n.Name.Lowered()] {
				fail("function %s", n.Name.String())
			}
		case *sqlparser.LockingFunc, *sqlparser.ExtractValueExpr, *sqlparser.UpdateXMLExpr,
			*sqlparser.PerformanceSchemaFuncExpr, *sqlparser.GTIDFuncExpr, *sqlparser.JSONTableExpr,
			*sqlparser.Nextval:
			fail("%T", n)
		case sqlparser.ListArg:
			if n != "" {
				fail("a list placeholder")
			}
		case *sqlparser.ColName:
			if !n.Qualifier.Qualifier.IsEmpty() {
				fail("a database-qualified column")
			}
		case *sqlparser.CommonTableExpr:
			ctes[strings.ToLower(n.ID.String())] = true
		case *sqlparser.AliasedTableExpr:
			if len(n.Partitions) > 0 {
				fail("PARTITION")
			}
			if tn, ok := n.Expr.(sqlparser.TableName); ok {
				if !tn.Qualifier.IsEmpty() {
					fail("a database-qualified table")
				}
				tables = append(tables, tn.Name.String())
			}
		}
		return true, nil
	}, stmts[0])
	for _, name := range tables {
		if ctes[strings.ToLower(name)] || name == "dual" {
			continue
		}
		if !slices.ContainsFunc(an.Tables, func(s string) bool { return strings.EqualFold(s, name) }) {
			fail("table %q missing from Tables %v", name, an.Tables)
		}
	}
}

// checkDDL parses an accepted DDL statement again and walks it with
// vitess's walker: one statement of a DDL kind on tables, no temporary
// table, no SELECT or LIKE source, no subquery or variable, only
// allowlisted functions, and no database-qualified name.
func checkDDL(t *testing.T, p *sqlparser.Parser, sql string) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("Analyze(%q) accepted DDL with "+format, append([]any{sql}, args...)...)
	}
	stmts, err := p.ParseMultipleIgnoreEmpty(sql)
	if err != nil || len(stmts) != 1 {
		fail("%d statements (%v)", len(stmts), err)
	}
	switch st := stmts[0].(type) {
	case *sqlparser.CreateTable:
		if st.Temp || st.Select != nil || st.OptLike != nil || st.TableSpec == nil || st.TableSpec.PartitionOption != nil {
			fail("TEMPORARY, SELECT, LIKE or PARTITION")
		}
		for _, o := range st.TableSpec.Options {
			if n := strings.ToUpper(o.Name); strings.Contains(n, "DIRECTORY") || n == "CONNECTION" || n == "UNION" || n == "ENGINE" && !strings.EqualFold(o.String, "innodb") {
				fail("table option %s", o.Name)
			}
		}
	case *sqlparser.AlterTable:
		if st.PartitionSpec != nil || st.PartitionOption != nil {
			fail("PARTITION")
		}
	case *sqlparser.DropTable:
		if st.Temp {
			fail("TEMPORARY")
		}
	case *sqlparser.TruncateTable, *sqlparser.RenameTable:
	default:
		fail("%T", st)
	}
	_ = sqlparser.Walk(func(n sqlparser.SQLNode) (bool, error) {
		switch n := n.(type) {
		case *sqlparser.Subquery, *sqlparser.ExistsExpr, *sqlparser.Variable, *sqlparser.AssignmentExpr:
			fail("%T", n)
		case *sqlparser.FuncExpr:
			if !n.Qualifier.IsEmpty() || !allowedFuncs[n.Name.Lowered()] {
				fail("function %s", n.Name.String())
			}
		case sqlparser.TableName:
			if !n.Qualifier.IsEmpty() {
				fail("a database-qualified table")
			}
		case *sqlparser.ColumnDefinition:
			if n.Type != nil && n.Type.Options != nil && n.Type.Options.As != nil {
				fail("a generated column")
			}
		}
		return true, nil
	}, stmts[0])
}

func checkComments(fail func(string, ...any), c *sqlparser.ParsedComments) {
	for _, s := range c.GetComments() {
		if strings.HasPrefix(s, "/*!") || strings.HasPrefix(s, "/*+") || strings.HasPrefix(s, "/*M!") {
			fail("comment %.6q", s)
		}
	}
}
