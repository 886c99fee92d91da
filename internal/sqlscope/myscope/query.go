package myscope

import (
	"fmt"
	"strings"

	"vitess.io/vitess/go/vt/sqlparser"

	"github.com/warden-dev/warden/internal/sqlscope"
)

// query analyses a query expression (SELECT, UNION or VALUES) whose
// correlated references resolve in outer, and returns the names of its
// output columns ("" for an expression without a usable name).
func (a *analysis) query(q sqlparser.TableStatement, outer *scope, env *cteEnv) ([]string, error) {
	switch q := q.(type) {
	case *sqlparser.Select:
		return a.selectQuery(q, outer, env)
	case *sqlparser.Union:
		return a.union(q, outer, env)
	case *sqlparser.ValuesStatement:
		return a.values(q, outer, env)
	case nil:
		return nil, sqlscope.Refuse("parse", "missing query")
	}
	return nil, unknown(q)
}

func (a *analysis) selectQuery(s *sqlparser.Select, outer *scope, env *cteEnv) ([]string, error) {
	if s.Into != nil {
		return nil, refuseInto()
	}
	if s.Lock != sqlparser.NoLock {
		return nil, refuseLock()
	}
	if s.SQLCalcFoundRows {
		// It only feeds FOUND_ROWS(), which is session state and refused.
		return nil, sqlscope.Refuse("clause", "SQL_CALC_FOUND_ROWS is not allowed; run a separate COUNT(*) query")
	}
	env, err := a.with(s.With, outer, env)
	if err != nil {
		return nil, err
	}
	from := &scope{parent: outer}
	for _, te := range s.From {
		if _, err := a.tableExpr(te, from, outer, env); err != nil {
			return nil, err
		}
	}
	x := &ctx{sc: from, env: env}
	var names, aliases []string
	if s.SelectExprs == nil {
		return nil, sqlscope.Refuse("parse", "SELECT without a select list")
	}
	for _, se := range s.SelectExprs.Exprs {
		switch se := se.(type) {
		case *sqlparser.StarExpr:
			n, err := a.star(se, from)
			if err != nil {
				return nil, err
			}
			names = append(names, n...)
		case *sqlparser.AliasedExpr:
			if err := a.expr(se.Expr, x); err != nil {
				return nil, err
			}
			names = append(names, outputName(se))
			if !se.As.IsEmpty() {
				aliases = append(aliases, se.As.String())
			}
		default:
			// NEXT VALUE FOR and anything newer.
			return nil, unknown(se)
		}
	}
	if s.Where != nil {
		if err := a.expr(s.Where.Expr, x); err != nil {
			return nil, err
		}
	}
	for _, nw := range s.Windows {
		for _, wd := range nw.Windows {
			if err := a.windowSpec(wd.WindowSpec, x); err != nil {
				return nil, err
			}
		}
	}
	// GROUP BY, HAVING and ORDER BY may also name select-list aliases.
	y := &ctx{sc: from, env: env, aliases: aliases}
	if s.GroupBy != nil {
		for _, e := range s.GroupBy.Exprs {
			if err := a.expr(e, y); err != nil {
				return nil, err
			}
		}
	}
	if s.Having != nil {
		if err := a.expr(s.Having.Expr, y); err != nil {
			return nil, err
		}
	}
	if err := a.orderBy(s.OrderBy, y); err != nil {
		return nil, err
	}
	if err := a.limit(s.Limit, x); err != nil {
		return nil, err
	}
	return names, nil
}

// outputName is the column name MySQL gives a select-list item when it is
// referenced from outside (a derived table or CTE). Unaliased expressions
// are named after their text, which the analyzer does not reproduce; they
// get "" and cannot be referenced by name.
func outputName(e *sqlparser.AliasedExpr) string {
	if !e.As.IsEmpty() {
		return e.As.String()
	}
	if c, ok := e.Expr.(*sqlparser.ColName); ok {
		return c.Name.String()
	}
	return ""
}

// star expands * or q.* to every column of the relations in the FROM
// clause, and reads each base column.
func (a *analysis) star(se *sqlparser.StarExpr, from *scope) ([]string, error) {
	rels := from.rels
	if !se.TableName.Qualifier.IsEmpty() {
		return nil, refuseQualified()
	}
	if q := se.TableName.Name.String(); q != "" {
		r, err := from.qualifier(q, false)
		if err != nil {
			return nil, err
		}
		rels = []*relation{r}
	} else if len(rels) == 0 {
		return nil, sqlscope.Refuse("column", "SELECT * needs a FROM clause")
	}
	var names []string
	for _, r := range rels {
		a.readAll(r)
		names = append(names, r.names()...)
	}
	return names, nil
}

func (a *analysis) union(u *sqlparser.Union, outer *scope, env *cteEnv) ([]string, error) {
	if u.Into != nil {
		return nil, refuseInto()
	}
	if u.Lock != sqlparser.NoLock {
		return nil, refuseLock()
	}
	env, err := a.with(u.With, outer, env)
	if err != nil {
		return nil, err
	}
	names, err := a.query(u.Left, outer, env)
	if err != nil {
		return nil, err
	}
	if _, err := a.query(u.Right, outer, env); err != nil {
		return nil, err
	}
	// ORDER BY and LIMIT of a UNION see its result columns, which were
	// read already.
	x := &ctx{sc: &scope{parent: outer, rels: []*relation{derivedRelation("", names)}}, env: env}
	if err := a.orderBy(u.OrderBy, x); err != nil {
		return nil, err
	}
	return names, a.limit(u.Limit, x)
}

// values analyses VALUES ROW(…), …; MySQL names its columns column_0, ….
func (a *analysis) values(v *sqlparser.ValuesStatement, outer *scope, env *cteEnv) ([]string, error) {
	if v.ListArg != "" || len(v.Rows) == 0 {
		return nil, sqlscope.Refuse("parse", "VALUES needs at least one ROW(…) of literal values")
	}
	env, err := a.with(v.With, outer, env)
	if err != nil {
		return nil, err
	}
	x := &ctx{sc: &scope{parent: outer}, env: env}
	for _, row := range v.Rows {
		for _, e := range row {
			if err := a.expr(e, x); err != nil {
				return nil, err
			}
		}
	}
	names := make([]string, len(v.Rows[0]))
	for i := range names {
		names[i] = fmt.Sprintf("column_%d", i)
	}
	y := &ctx{sc: &scope{parent: outer, rels: []*relation{derivedRelation("", names)}}, env: env}
	if err := a.orderBy(v.Order, y); err != nil {
		return nil, err
	}
	return names, a.limit(v.Limit, y)
}

// with analyses a WITH clause and returns the CTE environment its query
// sees. A CTE sees the CTEs before it, itself too when RECURSIVE, and
// never the ones after it (MySQL resolves such names to base tables).
func (a *analysis) with(w *sqlparser.With, outer *scope, env *cteEnv) (*cteEnv, error) {
	if w == nil {
		return env, nil
	}
	seen := map[string]bool{}
	for _, c := range w.CTEs {
		name := c.ID.String()
		if seen[strings.ToLower(name)] {
			return nil, sqlscope.Refuse("table", "WITH name %q is defined twice", name)
		}
		seen[strings.ToLower(name)] = true
		if w.Recursive {
			next, err := a.recursive(c, outer, env)
			if err != nil {
				return nil, err
			}
			env = next
			continue
		}
		cols, err := a.query(c.Subquery, outer, env)
		if err != nil {
			return nil, err
		}
		if cols, err = renamed(cols, c.Columns, name); err != nil {
			return nil, err
		}
		env = &cteEnv{parent: env, name: name, cols: cols}
	}
	return env, nil
}

// recursive analyses a CTE of WITH RECURSIVE and returns the environment
// with it added. The anchor, the leftmost query of the UNION chain, names
// the columns and cannot see the CTE; the other members can. Every part is
// analysed once, so nesting stays linear.
func (a *analysis) recursive(c *sqlparser.CommonTableExpr, outer *scope, env *cteEnv) (*cteEnv, error) {
	name := c.ID.String()
	var spine []*sqlparser.Union
	anchor := c.Subquery
	for {
		u, ok := anchor.(*sqlparser.Union)
		if !ok {
			break
		}
		spine = append(spine, u)
		anchor = u.Left
	}
	cols, err := a.query(anchor, outer, env)
	if err != nil {
		return nil, err
	}
	if cols, err = renamed(cols, c.Columns, name); err != nil {
		return nil, err
	}
	self := &cteEnv{parent: env, name: name, cols: cols}
	for i := len(spine) - 1; i >= 0; i-- {
		u := spine[i]
		switch {
		case u.Into != nil:
			return nil, refuseInto()
		case u.Lock != sqlparser.NoLock:
			return nil, refuseLock()
		case u.With != nil:
			return nil, sqlscope.Refuse("clause", "WITH inside the body of a recursive CTE is not supported; define all CTEs in the outer WITH")
		}
		if _, err := a.query(u.Right, outer, self); err != nil {
			return nil, err
		}
		x := &ctx{sc: &scope{parent: outer, rels: []*relation{derivedRelation("", cols)}}, env: self}
		if err := a.orderBy(u.OrderBy, x); err != nil {
			return nil, err
		}
		if err := a.limit(u.Limit, x); err != nil {
			return nil, err
		}
	}
	return self, nil
}

// renamed applies an explicit column list, as in WITH c(a, b) or AS d(a, b).
func renamed(cols []string, list sqlparser.Columns, name string) ([]string, error) {
	if len(list) == 0 {
		return cols, nil
	}
	if len(list) != len(cols) {
		return nil, sqlscope.Refuse("column", "the column list of %q does not match its query's column count", name)
	}
	out := make([]string, len(list))
	for i, c := range list {
		out[i] = c.String()
	}
	return out, nil
}

// tableExpr adds the relations of one FROM item to from and returns them.
// Derived tables see the enclosing query (outer) but not their siblings.
func (a *analysis) tableExpr(te sqlparser.TableExpr, from, outer *scope, env *cteEnv) ([]*relation, error) {
	switch te := te.(type) {
	case *sqlparser.AliasedTableExpr:
		r, err := a.aliasedTable(te, outer, env)
		if err != nil || r == nil {
			return nil, err
		}
		return []*relation{r}, from.add(r)
	case *sqlparser.ParenTableExpr:
		var rels []*relation
		for _, inner := range te.Exprs {
			rs, err := a.tableExpr(inner, from, outer, env)
			if err != nil {
				return nil, err
			}
			rels = append(rels, rs...)
		}
		return rels, nil
	case *sqlparser.JoinTableExpr:
		return a.join(te, from, outer, env)
	case *sqlparser.JSONTableExpr:
		return nil, sqlscope.Refuse("clause", "JSON_TABLE is not supported; extract values with JSON_EXTRACT or ->> instead")
	}
	return nil, unknown(te)
}

func (a *analysis) join(j *sqlparser.JoinTableExpr, from, outer *scope, env *cteEnv) ([]*relation, error) {
	// vitess (and MariaDB, tested) nest "A JOIN B JOIN C ON x" as
	// (A JOIN B) JOIN C ON x. MySQL 8's grammar gives the conditionless
	// JOIN a lower precedence than the next JOIN and nests it as
	// A JOIN (B JOIN C ON x), where x cannot see A and an unqualified name
	// in it may resolve in an outer query instead. The same holds for a
	// LEFT, RIGHT or NATURAL join after a join without condition. Where
	// the servers disagree, the shape is refused.
	if l, ok := j.LeftExpr.(*sqlparser.JoinTableExpr); ok && conditionless(l) && !conditionless(j) {
		return nil, sqlscope.Refuse("clause", "a JOIN without ON or USING followed by a join with a condition is read differently by MySQL; give every JOIN an ON clause, or parenthesise: (a JOIN b) JOIN c ON …")
	}
	left, err := a.tableExpr(j.LeftExpr, from, outer, env)
	if err != nil {
		return nil, err
	}
	right, err := a.tableExpr(j.RightExpr, from, outer, env)
	if err != nil {
		return nil, err
	}
	both := append(append([]*relation{}, left...), right...)
	switch j.Join {
	case sqlparser.NormalJoinType, sqlparser.StraightJoinType, sqlparser.LeftJoinType, sqlparser.RightJoinType:
		if j.Condition == nil {
			return both, nil
		}
		if j.Condition.On != nil {
			// ON sees only the join's own operands, then outer queries.
			x := &ctx{sc: &scope{parent: outer, rels: both}, env: env}
			if err := a.expr(j.Condition.On, x); err != nil {
				return nil, err
			}
		}
		for _, c := range j.Condition.Using {
			if err := a.joinColumn(c.String(), left, right); err != nil {
				return nil, err
			}
		}
	case sqlparser.NaturalJoinType, sqlparser.NaturalLeftJoinType, sqlparser.NaturalRightJoinType:
		// A natural join compares every column name the two sides share.
		for _, n := range sharedNames(left, right) {
			if err := a.joinColumn(n, left, right); err != nil {
				return nil, err
			}
		}
	default:
		return nil, sqlscope.Refuse("clause", "unsupported join type")
	}
	return both, nil
}

// conditionless reports whether j is an inner, cross or straight join
// without ON or USING.
func conditionless(j *sqlparser.JoinTableExpr) bool {
	switch j.Join {
	case sqlparser.NormalJoinType, sqlparser.StraightJoinType:
		return j.Condition == nil || j.Condition.On == nil && len(j.Condition.Using) == 0
	}
	return false
}

// joinColumn reads a USING or NATURAL join column on both sides.
func (a *analysis) joinColumn(name string, left, right []*relation) error {
	for _, side := range [][]*relation{left, right} {
		found := false
		for _, r := range side {
			for _, c := range r.find(name) {
				a.read(r, c)
				found = true
			}
		}
		if !found {
			return sqlscope.Refuse("column", "join column %q is not in this resource's scope on both sides of the join", name)
		}
	}
	return nil
}

func sharedNames(left, right []*relation) []string {
	var out []string
	seen := map[string]bool{}
	for _, l := range left {
		for _, c := range l.cols {
			k := strings.ToLower(c.name)
			if c.name == "" || seen[k] {
				continue
			}
			for _, r := range right {
				if len(r.find(c.name)) > 0 {
					seen[k] = true
					out = append(out, c.name)
					break
				}
			}
		}
	}
	return out
}

// aliasedTable resolves a table name, CTE reference or derived table. It
// returns nil for DUAL.
func (a *analysis) aliasedTable(t *sqlparser.AliasedTableExpr, outer *scope, env *cteEnv) (*relation, error) {
	if len(t.Partitions) > 0 {
		return nil, sqlscope.Refuse("clause", "PARTITION selection is not allowed; filter with WHERE instead")
	}
	alias := t.As.String()
	switch e := t.Expr.(type) {
	case sqlparser.TableName:
		if !e.Qualifier.IsEmpty() {
			return nil, refuseQualified()
		}
		name := e.Name.String()
		if len(t.Columns) > 0 {
			return nil, sqlscope.Refuse("clause", "a column list after a table alias is only allowed for derived tables")
		}
		if name == "dual" && alias == "" {
			// The lexer refused `dual` in backticks, so this is the keyword.
			return nil, nil
		}
		if alias == "" {
			alias = name
		}
		cte, err := env.lookup(name)
		if err != nil {
			return nil, err
		}
		if cte != nil {
			return derivedRelation(alias, cte.cols), nil
		}
		tbl, err := a.table(name)
		if err != nil {
			return nil, err
		}
		return baseRelation(alias, tbl), nil
	case *sqlparser.DerivedTable:
		if e.Lateral {
			return nil, sqlscope.Refuse("clause", "LATERAL derived tables are not supported; use a join or a correlated subquery in the select list")
		}
		if alias == "" {
			return nil, sqlscope.Refuse("clause", "every derived table needs an alias")
		}
		cols, err := a.query(e.Select, outer, env)
		if err != nil {
			return nil, err
		}
		if cols, err = renamed(cols, t.Columns, alias); err != nil {
			return nil, err
		}
		return derivedRelation(alias, cols), nil
	}
	return nil, unknown(t.Expr)
}

func (a *analysis) orderBy(ob sqlparser.OrderBy, x *ctx) error {
	for _, o := range ob {
		if err := a.expr(o.Expr, x); err != nil {
			return err
		}
	}
	return nil
}

func (a *analysis) limit(l *sqlparser.Limit, x *ctx) error {
	if l == nil {
		return nil
	}
	if err := a.optExpr(l.Offset, x); err != nil {
		return err
	}
	return a.optExpr(l.Rowcount, x)
}

func refuseInto() error {
	return sqlscope.Refuse("clause", "SELECT … INTO (OUTFILE, DUMPFILE or variables) is not allowed; the result is returned to you directly")
}

func refuseLock() error {
	return sqlscope.Refuse("clause", "locking reads (FOR UPDATE, FOR SHARE, LOCK IN SHARE MODE) are not allowed; remove the locking clause")
}

func refuseQualified() error {
	return sqlscope.Refuse("schema", "database-qualified names (db.table) are not allowed; name tables of this resource without a database")
}

// unknown refuses an AST node the analyzer does not handle, so that a
// construct added to the parser later is refused until it is understood.
func unknown(n any) error {
	return sqlscope.Refuse("clause", "unsupported SQL construct (%s); rewrite the statement with plain SELECT, INSERT, UPDATE or DELETE", strings.TrimPrefix(fmt.Sprintf("%T", n), "*sqlparser."))
}
