package pgscope

import (
	"fmt"

	pg "github.com/pganalyze/pg_query_go/v6"

	"github.com/warden-dev/warden/internal/sqlscope"
)

// query analyses a SELECT, VALUES or set operation as a new query level
// under parent and returns its output columns. hook, when set, receives
// the output of a set operation's left arm before the right arm is
// analysed: a recursive CTE's non-recursive term fixes its columns.
func (a *analysis) query(parent *level, s *pg.SelectStmt, hook func(shape)) (shape, error) {
	if err := a.enter(); err != nil {
		return shape{}, err
	}
	defer a.leave()
	if s == nil {
		return shape{}, sqlscope.Refuse("clause", "empty subquery")
	}
	if s.IntoClause != nil {
		return shape{}, sqlscope.Refuse("clause", "SELECT … INTO creates a table: select the rows without INTO")
	}
	if len(s.LockingClause) > 0 {
		return shape{}, sqlscope.Refuse("clause", "FOR UPDATE/FOR SHARE lock rows: remove the locking clause")
	}
	lv := parent.child()
	if s.WithClause != nil {
		if err := a.with(lv, s.WithClause); err != nil {
			return shape{}, err
		}
	}
	switch s.Op {
	case pg.SetOperation_SETOP_NONE:
		if len(s.ValuesLists) > 0 {
			return a.values(lv, s)
		}
		return a.selectBody(lv, s)
	case pg.SetOperation_SETOP_UNION, pg.SetOperation_SETOP_INTERSECT, pg.SetOperation_SETOP_EXCEPT:
		return a.setOp(lv, s, hook)
	}
	return shape{}, sqlscope.Refuse("clause", "unknown set operation")
}

// leafClauses reports whether a SELECT node has clauses only a plain
// SELECT may have; set operations and VALUES must not.
func leafClauses(s *pg.SelectStmt) bool {
	return len(s.DistinctClause) > 0 || len(s.TargetList) > 0 || len(s.FromClause) > 0 ||
		s.WhereClause != nil || len(s.GroupClause) > 0 || s.HavingClause != nil || len(s.WindowClause) > 0
}

func (a *analysis) setOp(lv *level, s *pg.SelectStmt, hook func(shape)) (shape, error) {
	if leafClauses(s) || len(s.ValuesLists) > 0 {
		return shape{}, sqlscope.Refuse("clause", "malformed set operation")
	}
	left, err := a.query(lv, s.Larg, nil)
	if err != nil {
		return shape{}, err
	}
	if hook != nil {
		hook(left)
	}
	if _, err := a.query(lv, s.Rarg, nil); err != nil {
		return shape{}, err
	}
	out := shape{names: left.names, exact: left.exact}
	return out, a.resultClauses(lv, s, out)
}

func (a *analysis) values(lv *level, s *pg.SelectStmt) (shape, error) {
	if leafClauses(s) {
		return shape{}, sqlscope.Refuse("clause", "malformed VALUES list")
	}
	n := 0
	for i, row := range s.ValuesLists {
		l, ok := row.GetNode().(*pg.Node_List)
		if !ok {
			return shape{}, refuseNode(row)
		}
		if i == 0 {
			n = len(l.List.Items)
		}
		if err := a.exprs(lv, l.List.Items); err != nil {
			return shape{}, err
		}
	}
	out := shape{exact: true}
	for i := 1; i <= n; i++ {
		out.names = append(out.names, fmt.Sprintf("column%d", i))
	}
	return out, a.resultClauses(lv, s, out)
}

// resultClauses checks ORDER BY, LIMIT and OFFSET of a set operation or
// VALUES list, whose ORDER BY may only name result columns.
func (a *analysis) resultClauses(lv *level, s *pg.SelectStmt, out shape) error {
	for _, n := range s.SortClause {
		sb := n.GetSortBy()
		if sb == nil {
			return refuseNode(n)
		}
		if err := checkOp(sb.UseOp); err != nil {
			return err
		}
		if isIntConst(sb.Node) {
			continue
		}
		if name, ok := bareName(sb.Node); ok && out.has(name) {
			continue
		}
		return sqlscope.Refuse("clause", "ORDER BY of a UNION, INTERSECT, EXCEPT or VALUES may only name a result column or its position")
	}
	if err := a.expr(lv, s.LimitCount); err != nil {
		return err
	}
	return a.expr(lv, s.LimitOffset)
}

// selectBody analyses a plain SELECT in the order PostgreSQL does: FROM
// first, then the select list, then the clauses that may name its
// output columns.
func (a *analysis) selectBody(lv *level, s *pg.SelectStmt) (shape, error) {
	if err := a.fromClause(lv, s.FromClause); err != nil {
		return shape{}, err
	}
	out, err := a.targetList(lv, s.TargetList)
	if err != nil {
		return shape{}, err
	}
	if err := a.expr(lv, s.WhereClause); err != nil {
		return shape{}, err
	}
	for _, g := range s.GroupClause {
		if err := a.groupItem(lv, g, out); err != nil {
			return shape{}, err
		}
	}
	if err := a.expr(lv, s.HavingClause); err != nil {
		return shape{}, err
	}
	for _, w := range s.WindowClause {
		wd := w.GetWindowDef()
		if wd == nil {
			return shape{}, refuseNode(w)
		}
		if err := a.windowDef(lv, wd); err != nil {
			return shape{}, err
		}
	}
	for _, d := range s.DistinctClause {
		if d.GetNode() == nil {
			continue // plain DISTINCT
		}
		if err := a.sortKey(lv, d, out); err != nil {
			return shape{}, err
		}
	}
	for _, n := range s.SortClause {
		sb := n.GetSortBy()
		if sb == nil {
			return shape{}, refuseNode(n)
		}
		if err := checkOp(sb.UseOp); err != nil {
			return shape{}, err
		}
		if err := a.sortKey(lv, sb.Node, out); err != nil {
			return shape{}, err
		}
	}
	if err := a.expr(lv, s.LimitCount); err != nil {
		return shape{}, err
	}
	return out, a.expr(lv, s.LimitOffset)
}

// sortKey is an ORDER BY or DISTINCT ON item: a result column's name or
// position first, else an expression over the FROM clause.
func (a *analysis) sortKey(lv *level, n *pg.Node, out shape) error {
	if isIntConst(n) {
		return nil
	}
	if name, ok := bareName(n); ok && out.has(name) {
		return nil
	}
	return a.expr(lv, n)
}

// groupItem is a GROUP BY item: a bare name is a FROM column of this
// level if there is one, else a result column, else an expression.
func (a *analysis) groupItem(lv *level, n *pg.Node, out shape) error {
	if err := a.enter(); err != nil {
		return err
	}
	defer a.leave()
	switch x := n.GetNode().(type) {
	case *pg.Node_GroupingSet:
		for _, c := range x.GroupingSet.Content {
			if err := a.groupItem(lv, c, out); err != nil {
				return err
			}
		}
		return nil
	case *pg.Node_RowExpr:
		// (a, b) in GROUP BY is a list of items; ROW(a, b) is a value.
		if x.RowExpr.RowFormat == pg.CoercionForm_COERCE_IMPLICIT_CAST {
			for _, c := range x.RowExpr.Args {
				if err := a.groupItem(lv, c, out); err != nil {
					return err
				}
			}
			return nil
		}
	}
	if isIntConst(n) {
		return nil
	}
	if name, ok := bareName(n); ok && !localColumn(lv, name) && out.has(name) {
		return nil
	}
	return a.expr(lv, n)
}

func (a *analysis) windowDef(lv *level, w *pg.WindowDef) error {
	if err := a.exprs(lv, w.PartitionClause); err != nil {
		return err
	}
	for _, o := range w.OrderClause {
		if err := a.sortBy(lv, o); err != nil {
			return err
		}
	}
	if err := a.expr(lv, w.StartOffset); err != nil {
		return err
	}
	return a.expr(lv, w.EndOffset)
}

func (a *analysis) sortBy(lv *level, n *pg.Node) error {
	sb := n.GetSortBy()
	if sb == nil {
		return refuseNode(n)
	}
	if err := checkOp(sb.UseOp); err != nil {
		return err
	}
	return a.expr(lv, sb.Node)
}

// targetList analyses a select or RETURNING list and names its columns.
func (a *analysis) targetList(lv *level, list []*pg.Node) (shape, error) {
	out := shape{exact: true}
	for _, n := range list {
		rt := n.GetResTarget()
		if rt == nil {
			return shape{}, refuseNode(n)
		}
		if len(rt.Indirection) > 0 {
			return shape{}, sqlscope.Refuse("clause", "malformed select list")
		}
		if cr := rt.Val.GetColumnRef(); cr != nil && isStar(cr) {
			sh, err := a.star(lv, cr)
			if err != nil {
				return shape{}, err
			}
			out.names = append(out.names, sh.names...)
			out.exact = out.exact && sh.exact
			continue
		}
		if err := a.expr(lv, rt.Val); err != nil {
			return shape{}, err
		}
		if rt.Name != "" {
			out.names = append(out.names, rt.Name)
			continue
		}
		if ind := rt.Val.GetAIndirection(); ind != nil && len(ind.Indirection) > 0 &&
			ind.Indirection[len(ind.Indirection)-1].GetAStar() != nil {
			out.exact = false // (composite).* expands to fields not known here
			continue
		}
		name, ok := a.colname(rt.Val)
		if !ok {
			out.exact = false
			continue
		}
		out.names = append(out.names, name)
	}
	return out, nil
}

// with registers a WITH clause on the level. Only SELECT queries may
// appear in it. Without RECURSIVE a query sees the ones before it; with
// RECURSIVE it sees all of them, a query not yet analysed by its column
// aliases only.
func (a *analysis) with(lv *level, w *pg.WithClause) error {
	type entry struct {
		name    string
		sel     *pg.SelectStmt
		aliases []string
	}
	var entries []entry
	seen := map[string]bool{}
	for _, n := range w.Ctes {
		c := n.GetCommonTableExpr()
		if c == nil {
			return refuseNode(n)
		}
		sel := c.Ctequery.GetSelectStmt()
		if sel == nil {
			return sqlscope.Refuse("statement-kind", "WITH query %q is a %s: data-modifying statements in WITH are not allowed; only SELECT queries may appear in WITH", c.Ctename, stmtName(c.Ctequery))
		}
		if c.SearchClause != nil || c.CycleClause != nil {
			return sqlscope.Refuse("clause", "SEARCH and CYCLE clauses of WITH RECURSIVE are not supported")
		}
		if seen[c.Ctename] {
			return sqlscope.Refuse("clause", "WITH query name %q is used more than once", c.Ctename)
		}
		seen[c.Ctename] = true
		aliases, err := strs(c.Aliascolnames)
		if err != nil {
			return err
		}
		entries = append(entries, entry{c.Ctename, sel, aliases})
	}
	sc := &cteScope{parent: lv.ctes, defs: map[string]*cte{}}
	if w.Recursive {
		for _, e := range entries {
			sc.defs[e.name] = &cte{shape: shape{names: e.aliases}}
		}
	}
	lv.ctes = sc
	for _, e := range entries {
		var hook func(shape)
		if w.Recursive {
			d := sc.defs[e.name]
			aliases := e.aliases
			hook = func(left shape) { d.shape = left.rename(aliases) }
		}
		sh, err := a.query(lv, e.sel, hook)
		if err != nil {
			return err
		}
		if d := sc.defs[e.name]; d != nil {
			d.shape = sh.rename(e.aliases)
		} else {
			sc.defs[e.name] = &cte{shape: sh.rename(e.aliases)}
		}
	}
	return nil
}
