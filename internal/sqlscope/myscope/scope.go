package myscope

import (
	"slices"
	"strings"

	"github.com/warden-dev/warden/internal/sqlscope"
)

// relation is one row source of a FROM clause: a base table, a CTE
// reference, a derived table, or the new-row alias of an INSERT.
type relation struct {
	name  string          // alias, or the name as written; qualifies columns
	table *sqlscope.Table // the base table the columns read, nil if derived
	cols  []column
}

// column is one output column of a relation.
type column struct {
	name string // as the relation exposes it
	base string // the base table column it reads; "" for derived columns
}

func baseRelation(name string, t *sqlscope.Table) *relation {
	r := &relation{name: name, table: t, cols: make([]column, len(t.Columns))}
	for i, c := range t.Columns {
		r.cols[i] = column{name: c.Name, base: c.Name}
	}
	return r
}

func derivedRelation(name string, names []string) *relation {
	r := &relation{name: name, cols: make([]column, len(names))}
	for i, n := range names {
		r.cols[i] = column{name: n}
	}
	return r
}

// find returns the columns of r named name. Column names compare
// case-insensitively in MySQL; "" (an unnamed expression) never matches.
func (r *relation) find(name string) []column {
	var out []column
	for _, c := range r.cols {
		if c.name != "" && strings.EqualFold(c.name, name) {
			out = append(out, c)
		}
	}
	return out
}

func (r *relation) names() []string {
	out := make([]string, len(r.cols))
	for i, c := range r.cols {
		out[i] = c.name
	}
	return out
}

// scope is the set of relations an expression can name, and the scope of
// the enclosing query for correlated references.
type scope struct {
	parent *scope
	rels   []*relation
}

// add puts r into the scope. Two relations whose names differ only in
// letter case are distinct to a server with lower_case_table_names=0 and
// the same to one with 1, so they are refused rather than guessed.
func (s *scope) add(r *relation) error {
	for _, o := range s.rels {
		if o.name != "" && strings.EqualFold(o.name, r.name) {
			return sqlscope.Refuse("table", "table or alias %q appears twice in one FROM clause; give each occurrence its own alias", r.name)
		}
	}
	s.rels = append(s.rels, r)
	return nil
}

// qualifier finds the relation a qualified column reference (q.col) or
// q.* names, searching this scope and, if outer, the enclosing ones.
// Whether aliases compare with or without case depends on the server's
// lower_case_table_names; both readings must find the same relation.
func (s *scope) qualifier(q string, outer bool) (*relation, error) {
	exact := s.lookup(func(r *relation) bool { return r.name == q }, outer)
	fold := s.lookup(func(r *relation) bool { return strings.EqualFold(r.name, q) }, outer)
	switch {
	case fold == nil:
		return nil, sqlscope.Refuse("table", "table or alias %q is not in this resource's scope", q)
	case exact != fold:
		return nil, sqlscope.Refuse("table", "table or alias %q matches a name that differs only in letter case; spell it exactly as in FROM", q)
	}
	return fold, nil
}

func (s *scope) lookup(match func(*relation) bool, outer bool) *relation {
	for sc := s; sc != nil; sc = sc.parent {
		for _, r := range sc.rels {
			if r.name != "" && match(r) {
				return r
			}
		}
		if !outer {
			break
		}
	}
	return nil
}

// unqualified finds the relations an unqualified column name can belong
// to: every relation of the innermost scope that has the name. More than
// one is either a USING/NATURAL column (it reads both sides) or an
// ambiguity the server rejects; both are recorded for every candidate.
func (s *scope) unqualified(name string) []*relation {
	for sc := s; sc != nil; sc = sc.parent {
		var hits []*relation
		for _, r := range sc.rels {
			if len(r.find(name)) > 0 {
				hits = append(hits, r)
			}
		}
		if len(hits) > 0 {
			return hits
		}
	}
	return nil
}

// cteEnv is the chain of common table expressions visible to a query,
// innermost first. Unlike scope it is inherited by derived tables too.
type cteEnv struct {
	parent *cteEnv
	name   string
	cols   []string
}

// lookup finds the CTE a table name refers to, or nil for a base table.
// As with aliases, the case-sensitive and case-insensitive readings must
// agree: otherwise one server would read a base table the other shadows.
func (e *cteEnv) lookup(name string) (*cteEnv, error) {
	var exact, fold *cteEnv
	for c := e; c != nil; c = c.parent {
		if exact == nil && c.name == name {
			exact = c
		}
		if fold == nil && strings.EqualFold(c.name, name) {
			fold = c
		}
	}
	if exact != fold {
		return nil, sqlscope.Refuse("table", "table %q differs only in letter case from a WITH name; spell it exactly as in WITH", name)
	}
	return fold, nil
}

// analysis collects what one statement touches.
type analysis struct {
	schema *sqlscope.Schema
	reads  map[sqlscope.Ref]struct{}
	writes map[sqlscope.Ref]struct{}
	tables map[string]struct{}
	// inDDL is set for a DDL statement, whose expressions (DEFAULT,
	// CHECK, keys) may not hold subqueries.
	inDDL bool
}

func newAnalysis(schema *sqlscope.Schema) *analysis {
	return &analysis{
		schema: schema,
		reads:  map[sqlscope.Ref]struct{}{},
		writes: map[sqlscope.Ref]struct{}{},
		tables: map[string]struct{}{},
	}
}

// read records that c of r is read. Derived columns record nothing: the
// query that produced them has been analysed already.
func (a *analysis) read(r *relation, c column) {
	if r.table != nil && c.base != "" {
		a.reads[sqlscope.Ref{Table: r.table.Name, Column: c.base}] = struct{}{}
	}
}

func (a *analysis) readAll(r *relation) {
	for _, c := range r.cols {
		a.read(r, c)
	}
}

// table resolves a base table name against the schema: the exact name,
// else the one table whose name differs only in letter case. Two such
// tables (possible with lower_case_table_names=0) would make the choice
// arbitrary, so that is refused like a missing table.
func (a *analysis) table(name string) (*sqlscope.Table, error) {
	t := a.schema.Lookup(name, false)
	if t == nil && a.schema != nil {
		for n, c := range a.schema.Tables {
			if strings.EqualFold(n, name) {
				if t != nil {
					t = nil
					break
				}
				t = c
			}
		}
	}
	if t == nil {
		return nil, sqlscope.Refuse("table", "table %q is not in this resource's scope", name)
	}
	a.tables[t.Name] = struct{}{}
	return t, nil
}

func (a *analysis) result(kind sqlscope.Kind) *sqlscope.Analysis {
	out := &sqlscope.Analysis{Kind: kind}
	for r := range a.reads {
		out.Reads = append(out.Reads, r)
	}
	for r := range a.writes {
		out.Writes = append(out.Writes, r)
	}
	for t := range a.tables {
		out.Tables = append(out.Tables, t)
	}
	out.Reads = sqlscope.Normalize(out.Reads)
	out.Writes = sqlscope.Normalize(out.Writes)
	slices.Sort(out.Tables)
	return out
}
