package pgscope

import (
	pg "github.com/pganalyze/pg_query_go/v6"

	"github.com/warden-dev/warden/internal/sqlscope"
)

// fromClause adds a FROM (or UPDATE … FROM, DELETE … USING) list to the
// level. While an item is analysed the earlier ones are visible only to
// LATERAL subqueries and table functions.
func (a *analysis) fromClause(lv *level, from []*pg.Node) error {
	start := len(lv.items)
	for _, n := range from {
		items, _, err := a.fromItem(lv, n)
		if err != nil {
			return err
		}
		for _, it := range items {
			it.lateralOnly = true
			lv.items = append(lv.items, it)
		}
	}
	for i := start; i < len(lv.items); i++ {
		lv.items[i].lateralOnly = false
	}
	return nil
}

// fromItem analyses one FROM item and returns the namespace entries it
// adds and the relation it forms.
func (a *analysis) fromItem(lv *level, n *pg.Node) ([]item, *rel, error) {
	if err := a.enter(); err != nil {
		return nil, nil, err
	}
	defer a.leave()
	var r *rel
	var err error
	switch x := n.GetNode().(type) {
	case *pg.Node_RangeVar:
		r, err = a.rangeVar(lv, x.RangeVar)
	case *pg.Node_RangeSubselect:
		r, err = a.rangeSubselect(lv, x.RangeSubselect)
	case *pg.Node_RangeFunction:
		r, err = a.rangeFunction(lv, x.RangeFunction)
	case *pg.Node_RangeTableSample:
		r, err = a.tableSample(lv, x.RangeTableSample)
	case *pg.Node_JoinExpr:
		return a.join(lv, x.JoinExpr)
	default:
		return nil, nil, refuseNode(n)
	}
	if err != nil {
		return nil, nil, err
	}
	return []item{{rel: r, relVisible: r.name != "", colsVisible: true}}, r, nil
}

// rangeVar resolves a table name: a WITH query in scope, else a table of
// the resource's schema.
func (a *analysis) rangeVar(lv *level, rv *pg.RangeVar) (*rel, error) {
	if err := a.checkQualifier(rv); err != nil {
		return nil, err
	}
	if rv.Schemaname == "" {
		if d := lv.ctes.lookup(rv.Relname); d != nil {
			name, sh := rv.Relname, d.shape
			if rv.Alias != nil {
				aliases, err := strs(rv.Alias.Colnames)
				if err != nil {
					return nil, err
				}
				name, sh = rv.Alias.Aliasname, sh.rename(aliases)
			}
			return derived(name, sh), nil
		}
	}
	t, err := a.table(rv.Relname)
	if err != nil {
		return nil, err
	}
	return baseRel(t, rv.Alias)
}

func (a *analysis) checkQualifier(rv *pg.RangeVar) error {
	if rv.Catalogname != "" {
		return sqlscope.Refuse("schema", "references to another database are not allowed")
	}
	if rv.Schemaname != "" && rv.Schemaname != a.defaultSchema {
		return refuseSchema(rv.Schemaname, a.defaultSchema)
	}
	return nil
}

// table finds a table of the schema. The refusal does not say whether
// the table exists in the database.
func (a *analysis) table(name string) (*sqlscope.Table, error) {
	t := a.schema.Lookup(name, false)
	if t == nil {
		return nil, sqlscope.Refuse("table", "table %q is not in this resource's scope", name)
	}
	a.tables[t.Name] = struct{}{}
	return t, nil
}

func (a *analysis) rangeSubselect(lv *level, rs *pg.RangeSubselect) (*rel, error) {
	sel := rs.Subquery.GetSelectStmt()
	if sel == nil {
		return nil, refuseNode(rs.Subquery)
	}
	saved := lv.lateral
	lv.lateral = rs.Lateral
	sh, err := a.query(lv, sel, nil)
	lv.lateral = saved
	if err != nil {
		return nil, err
	}
	name := ""
	if rs.Alias != nil {
		aliases, err := strs(rs.Alias.Colnames)
		if err != nil {
			return nil, err
		}
		name, sh = rs.Alias.Aliasname, sh.rename(aliases)
	}
	return derived(name, sh), nil
}

// rangeFunction analyses a function in FROM (always LATERAL) and works
// out its columns the way PostgreSQL names them.
func (a *analysis) rangeFunction(lv *level, rf *pg.RangeFunction) (*rel, error) {
	saved := lv.lateral
	lv.lateral = true
	defer func() { lv.lateral = saved }()
	sh := shape{exact: true}
	relName := ""
	for i, fn := range rf.Functions {
		l := fn.GetList()
		if l == nil || len(l.Items) == 0 {
			return nil, refuseNode(fn)
		}
		call := l.Items[0]
		var defs []*pg.Node
		if len(l.Items) > 1 && l.Items[1].GetList() != nil {
			defs = l.Items[1].GetList().Items
		}
		if i == 0 && !rf.IsRowsfrom {
			defs = append(defs, rf.Coldeflist...)
		}
		if err := a.expr(lv, call); err != nil {
			return nil, err
		}
		defNames, err := a.coldefs(lv, defs)
		if err != nil {
			return nil, err
		}
		fname, known := a.colname(call)
		if i == 0 && known {
			relName = fname
		}
		kind := shapeScalar
		var fixed []string
		if fc := call.GetFuncCall(); fc != nil {
			if tf, ok := tableFuncs[lastName(fc.Funcname)]; ok {
				kind, fixed = tf.shape, tf.cols
			}
		}
		switch kind {
		case shapeScalar:
			// The alias names the column of a lone scalar function
			// (chooseScalarFunctionAlias), else the function does.
			switch {
			case !known:
				sh.exact = false
			case len(rf.Functions) == 1 && rf.Alias != nil:
				sh.names = append(sh.names, rf.Alias.Aliasname)
			default:
				sh.names = append(sh.names, fname)
			}
		case shapeNamed:
			sh.names = append(sh.names, fixed...)
		case shapeRecord:
			if len(defNames) == 0 {
				sh.exact = false
			}
			sh.names = append(sh.names, defNames...)
		case shapeDynamic:
			// unnest's columns depend on its argument's type.
			sh.exact = false
		}
	}
	if rf.Ordinality {
		sh.names = append(sh.names, "ordinality")
	}
	if rf.Alias != nil {
		aliases, err := strs(rf.Alias.Colnames)
		if err != nil {
			return nil, err
		}
		relName, sh = rf.Alias.Aliasname, sh.rename(aliases)
	}
	return derived(relName, sh), nil
}

// coldefs checks a column definition list (AS t(a int, b text)).
func (a *analysis) coldefs(lv *level, defs []*pg.Node) ([]string, error) {
	var names []string
	for _, d := range defs {
		cd := d.GetColumnDef()
		if cd == nil {
			return nil, refuseNode(d)
		}
		if len(cd.Constraints) > 0 || cd.RawDefault != nil || cd.CookedDefault != nil {
			return nil, sqlscope.Refuse("clause", "malformed column definition list")
		}
		if err := a.typeName(lv, cd.TypeName); err != nil {
			return nil, err
		}
		if cd.CollClause != nil {
			if err := checkCollation(cd.CollClause.Collname); err != nil {
				return nil, err
			}
		}
		names = append(names, cd.Colname)
	}
	return names, nil
}

// tableSample allows the two built-in sampling methods on a table.
func (a *analysis) tableSample(lv *level, ts *pg.RangeTableSample) (*rel, error) {
	rv := ts.Relation.GetRangeVar()
	if rv == nil {
		return nil, refuseNode(ts.Relation)
	}
	method, err := strs(ts.Method)
	if err != nil {
		return nil, err
	}
	if len(method) != 1 || (method[0] != "system" && method[0] != "bernoulli") {
		return nil, sqlscope.Refuse("clause", "only TABLESAMPLE SYSTEM and BERNOULLI are allowed")
	}
	r, err := a.rangeVar(lv, rv)
	if err != nil {
		return nil, err
	}
	if r.table == nil {
		return nil, sqlscope.Refuse("clause", "TABLESAMPLE applies to tables only")
	}
	if err := a.exprs(lv, ts.Args); err != nil {
		return nil, err
	}
	return r, a.expr(lv, ts.Repeatable)
}

// join analyses a JOIN. Its inputs' names stay visible for qualified
// references unless the join has an alias; unqualified names go through
// the join's own column list, where a USING or NATURAL column stands for
// both sides.
func (a *analysis) join(lv *level, j *pg.JoinExpr) ([]item, *rel, error) {
	switch j.Jointype {
	case pg.JoinType_JOIN_INNER, pg.JoinType_JOIN_LEFT, pg.JoinType_JOIN_FULL, pg.JoinType_JOIN_RIGHT:
	default:
		return nil, nil, sqlscope.Refuse("clause", "unsupported join type")
	}
	litems, lrel, err := a.fromItem(lv, j.Larg)
	if err != nil {
		return nil, nil, err
	}
	// The left side is visible to LATERAL items on the right.
	saved := len(lv.items)
	for _, it := range litems {
		it.lateralOnly = true
		lv.items = append(lv.items, it)
	}
	ritems, rrel, err := a.fromItem(lv, j.Rarg)
	lv.items = lv.items[:saved]
	if err != nil {
		return nil, nil, err
	}

	using, err := strs(j.UsingClause)
	if err != nil {
		return nil, nil, err
	}
	if j.IsNatural {
		if !lrel.exact || !rrel.exact {
			return nil, nil, sqlscope.Refuse("clause", "NATURAL JOIN needs inputs whose columns are all known; use JOIN … USING (…) or ON")
		}
		seen := map[string]bool{}
		for _, c := range lrel.cols {
			if !seen[c.name] && hasCol(rrel, c.name) {
				using = append(using, c.name)
			}
			seen[c.name] = true
		}
	}
	jr := &rel{exact: lrel.exact && rrel.exact}
	merged := map[string]bool{}
	for _, name := range using {
		lrefs, lok := colRefs(lrel, name)
		rrefs, rok := colRefs(rrel, name)
		if !lok || !rok {
			return nil, nil, sqlscope.Refuse("column", "join column %q is not in scope on both sides of the join", name)
		}
		refs := append(lrefs, rrefs...)
		a.read(refs...) // the join compares them
		jr.cols = append(jr.cols, col{name: name, refs: refs})
		merged[name] = true
	}
	for _, side := range []*rel{lrel, rrel} {
		for _, c := range side.cols {
			if !merged[c.name] {
				jr.cols = append(jr.cols, c)
			}
		}
	}

	// ON sees the join's inputs and outer query levels, nothing else.
	if j.Quals != nil {
		on := &level{parent: lv.parent, ctes: lv.ctes}
		for _, it := range append(append([]item(nil), litems...), ritems...) {
			it.lateralOnly = false
			on.items = append(on.items, it)
		}
		if err := a.expr(on, j.Quals); err != nil {
			return nil, nil, err
		}
	}

	var items []item
	if j.Alias == nil {
		for _, it := range append(append([]item(nil), litems...), ritems...) {
			it.colsVisible = false
			items = append(items, it)
		}
	} else {
		jr.name = j.Alias.Aliasname
		aliases, err := strs(j.Alias.Colnames)
		if err != nil {
			return nil, nil, err
		}
		if len(aliases) > 0 && !jr.exact {
			// Which column an alias renames is unknown past an inexact input.
			return nil, nil, sqlscope.Refuse("clause", "column aliases on a join of a table function or WITH query whose columns are not all known are not supported; alias the columns inside instead")
		}
		if len(aliases) > len(jr.cols) {
			return nil, nil, sqlscope.Refuse("column", "join alias %q names more columns than the join has", j.Alias.Aliasname)
		}
		jr.cols = append([]col(nil), jr.cols...)
		for i, n := range aliases {
			jr.cols[i].name = n
		}
	}
	items = append(items, item{rel: jr, relVisible: j.Alias != nil, colsVisible: true})
	if j.JoinUsingAlias != nil {
		if j.Alias != nil {
			return nil, nil, sqlscope.Refuse("clause", "a JOIN … USING alias together with a join alias is not supported; drop one of them")
		}
		ur := &rel{name: j.JoinUsingAlias.Aliasname, exact: true, cols: jr.cols[:len(using)]}
		items = append(items, item{rel: ur, relVisible: true})
	}
	return items, jr, nil
}

func hasCol(r *rel, name string) bool {
	_, ok := colRefs(r, name)
	return ok
}

func colRefs(r *rel, name string) ([]sqlscope.Ref, bool) {
	var refs []sqlscope.Ref
	found := false
	for _, c := range r.cols {
		if c.name == name {
			found = true
			refs = append(refs, c.refs...)
		}
	}
	return refs, found
}
