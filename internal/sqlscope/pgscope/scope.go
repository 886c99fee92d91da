package pgscope

import (
	pg "github.com/pganalyze/pg_query_go/v6"

	"github.com/warden-dev/warden/internal/sqlscope"
)

// Name resolution follows PostgreSQL's parser (parse_relation.c): a query
// level holds the FROM items in scope, an unqualified column is looked up
// level by level from the innermost, and at the first level where any
// relation has it, every such relation is charged. Only then is the name
// tried as a relation (a whole-row reference).
//
// The one rule everything depends on: the columns a derived relation
// (subquery, CTE, table function) claims must be a subset of what
// PostgreSQL sees. Claiming a name PostgreSQL does not see would stop the
// search at the wrong level and miss an outer table's column; missing a
// name only makes the search go further out, which over-charges or
// refuses. Derived relations whose columns are not fully known are marked
// inexact.

// col is one output column of a relation. refs are the base columns it
// stands for: one for a table column, both sides' for a merged join
// column, none for a derived relation's column (its query was analysed,
// and charged, on its own).
type col struct {
	name string
	refs []sqlscope.Ref
}

// rel is a relation in a FROM clause.
type rel struct {
	name    string // reference name: alias, table or CTE name; "" if none
	cols    []col
	exact   bool            // cols are all the relation's columns
	table   *sqlscope.Table // the base table, nil for derived relations
	aliased bool            // a base table under an alias (schema.table.col cannot reach it)
}

// item is a relation as a level's namespace sees it (ParseNamespaceItem).
type item struct {
	rel         *rel
	relVisible  bool // reachable by name (qualified refs, whole-row refs)
	colsVisible bool // its columns are reachable unqualified
	lateralOnly bool // an earlier FROM item: visible only inside LATERAL
}

// level is one query level (ParseState).
type level struct {
	parent  *level
	items   []item
	lateral bool // a LATERAL item of this level is being analysed
	ctes    *cteScope
}

func (lv *level) child() *level { return &level{parent: lv, ctes: lv.ctes} }

// visible reports whether it can be seen from its level right now.
func (lv *level) visible(it item) bool { return !it.lateralOnly || lv.lateral }

// cteScope is one WITH clause's names, chained to the enclosing ones.
type cteScope struct {
	parent *cteScope
	defs   map[string]*cte
}

type cte struct {
	shape shape
}

func (s *cteScope) lookup(name string) *cte {
	for ; s != nil; s = s.parent {
		if d := s.defs[name]; d != nil {
			return d
		}
	}
	return nil
}

// shape is a query's output: column names and whether they are all of
// them (see the rule above).
type shape struct {
	names []string
	exact bool
}

func (s shape) has(name string) bool {
	for _, n := range s.names {
		if n == name {
			return true
		}
	}
	return false
}

// rename applies alias column names, which rename the leading columns.
func (s shape) rename(aliases []string) shape {
	if len(aliases) == 0 {
		return s
	}
	if !s.exact {
		// Positions are unknown; only the aliases are sure to exist.
		return shape{names: aliases}
	}
	names := append([]string(nil), s.names...)
	for i, a := range aliases {
		if i < len(names) {
			names[i] = a
		}
	}
	return shape{names: names, exact: len(aliases) <= len(names)}
}

// derived makes the relation of a subquery, CTE or function.
func derived(name string, s shape) *rel {
	r := &rel{name: name, exact: s.exact, cols: make([]col, len(s.names))}
	for i, n := range s.names {
		r.cols[i] = col{name: n}
	}
	return r
}

// baseRel makes the relation of a schema table, with alias column names
// applied.
func baseRel(t *sqlscope.Table, alias *pg.Alias) (*rel, error) {
	r := &rel{name: t.Name, table: t, exact: true, cols: make([]col, len(t.Columns))}
	for i, c := range t.Columns {
		r.cols[i] = col{name: c.Name, refs: []sqlscope.Ref{{Table: t.Name, Column: c.Name}}}
	}
	if alias != nil {
		r.name, r.aliased = alias.Aliasname, true
		names, err := strs(alias.Colnames)
		if err != nil {
			return nil, err
		}
		if len(names) > len(r.cols) {
			return nil, sqlscope.Refuse("column", "alias %q names more columns than table %q has", alias.Aliasname, t.Name)
		}
		for i, n := range names {
			r.cols[i].name = n
		}
	}
	return r, nil
}

// allRefs is what a whole-row reference or rel.* reads.
func (r *rel) allRefs() []sqlscope.Ref {
	var out []sqlscope.Ref
	if r.table != nil {
		out = r.table.All()
	}
	for _, c := range r.cols {
		out = append(out, c.refs...)
	}
	return out
}

// unqualified charges a bare column name; see the package comment above.
func (a *analysis) unqualified(lv *level, name string) error {
	if systemColumns[name] {
		// Checked first: they resolve at the level of any table in scope.
		return refuseSystem(name)
	}
	for l := lv; l != nil; l = l.parent {
		found := false
		for _, it := range l.items {
			if !it.colsVisible || !l.visible(it) {
				continue
			}
			for _, c := range it.rel.cols {
				if c.name == name {
					found = true
					a.read(c.refs...)
				}
			}
		}
		if found {
			return nil
		}
	}
	// Not a column anywhere: a whole-row reference to a relation.
	if rels := findRel(lv, name); rels != nil {
		for _, r := range rels {
			a.read(r.allRefs()...)
		}
		return nil
	}
	return refuseColumn(name)
}

// findRel finds the relations a name refers to, at the innermost level
// that has any.
func findRel(lv *level, name string) []*rel {
	for l := lv; l != nil; l = l.parent {
		var out []*rel
		for _, it := range l.items {
			if it.relVisible && l.visible(it) && it.rel.name == name {
				out = append(out, it.rel)
			}
		}
		if out != nil {
			return out
		}
	}
	return nil
}

// findTable finds schema.table references: base tables without an alias.
func findTable(lv *level, table string) []*rel {
	for l := lv; l != nil; l = l.parent {
		var out []*rel
		for _, it := range l.items {
			r := it.rel
			if it.relVisible && l.visible(it) && r.table != nil && !r.aliased && r.table.Name == table {
				out = append(out, r)
			}
		}
		if out != nil {
			return out
		}
	}
	return nil
}

// qualified charges rel.col.
func (a *analysis) qualified(rels []*rel, relName, name string) error {
	if systemColumns[name] {
		return refuseSystem(name)
	}
	for _, r := range rels {
		found := false
		for _, c := range r.cols {
			if c.name == name {
				found = true
				a.read(c.refs...)
			}
		}
		if !found {
			// PostgreSQL would next try name(rel) as a function call.
			return sqlscope.Refuse("column", "column %q of %q is not in this resource's scope", name, relName)
		}
	}
	return nil
}

// localColumn reports whether a bare name is a column of the level's own
// FROM items (GROUP BY prefers those to output aliases).
func localColumn(lv *level, name string) bool {
	if systemColumns[name] {
		return true
	}
	for _, it := range lv.items {
		if !it.colsVisible || !lv.visible(it) {
			continue
		}
		for _, c := range it.rel.cols {
			if c.name == name {
				return true
			}
		}
	}
	return false
}

func refuseSystem(name string) error {
	return sqlscope.Refuse("column", "system column %q is not allowed: it exposes row versions, not data in scope", name)
}

func refuseColumn(name string) error {
	return sqlscope.Refuse("column", "column %q is not in this resource's scope or not in the FROM clause of the query that uses it", name)
}

func isStar(cr *pg.ColumnRef) bool {
	f := cr.Fields
	return len(f) > 0 && f[len(f)-1].GetAStar() != nil
}

// star charges *, rel.* or schema.rel.* and returns the columns it
// expands to.
func (a *analysis) star(lv *level, cr *pg.ColumnRef) (shape, error) {
	names, err := strs(cr.Fields[:len(cr.Fields)-1])
	if err != nil {
		return shape{}, err
	}
	var rels []*rel
	switch len(names) {
	case 0:
		for _, it := range lv.items {
			if it.colsVisible && lv.visible(it) {
				rels = append(rels, it.rel)
			}
		}
		if rels == nil {
			return shape{}, sqlscope.Refuse("clause", "* needs a FROM clause")
		}
	case 1:
		if rels = findRel(lv, names[0]); rels == nil {
			return shape{}, refuseRelRef(names[0])
		}
	case 2:
		if names[0] != a.defaultSchema {
			return shape{}, refuseSchema(names[0], a.defaultSchema)
		}
		if rels = findTable(lv, names[1]); rels == nil {
			return shape{}, refuseRelRef(names[1])
		}
	default:
		return shape{}, sqlscope.Refuse("schema", "references through another database are not allowed")
	}
	out := shape{exact: true}
	for _, r := range rels {
		for _, c := range r.cols {
			a.read(c.refs...)
			out.names = append(out.names, c.name)
		}
		out.exact = out.exact && r.exact
	}
	return out, nil
}

// columnRef charges a column reference.
func (a *analysis) columnRef(lv *level, cr *pg.ColumnRef) error {
	if isStar(cr) {
		_, err := a.star(lv, cr)
		return err
	}
	names, err := strs(cr.Fields)
	if err != nil {
		return err
	}
	switch len(names) {
	case 1:
		return a.unqualified(lv, names[0])
	case 2:
		rels := findRel(lv, names[0])
		if rels == nil {
			return refuseRelRef(names[0])
		}
		return a.qualified(rels, names[0], names[1])
	case 3:
		if names[0] != a.defaultSchema {
			return refuseSchema(names[0], a.defaultSchema)
		}
		rels := findTable(lv, names[1])
		if rels == nil {
			return refuseRelRef(names[1])
		}
		return a.qualified(rels, names[1], names[2])
	}
	return sqlscope.Refuse("schema", "references through another database are not allowed")
}

func refuseRelRef(name string) error {
	return sqlscope.Refuse("table", "%q is not a table or alias in the FROM clause of this query", name)
}

func refuseSchema(schema, def string) error {
	return sqlscope.Refuse("schema", "schema %q is not in this resource's scope: only tables of schema %q may be used", schema, def)
}
