package pgscope

import (
	pg "github.com/pganalyze/pg_query_go/v6"

	"github.com/warden-dev/warden/internal/sqlscope"
)

// target resolves the table an INSERT, UPDATE or DELETE changes. It is
// always a table of the schema, never a WITH query.
func (a *analysis) target(lv *level, rv *pg.RangeVar) (*rel, error) {
	if rv == nil {
		return nil, sqlscope.Refuse("clause", "statement without a target table")
	}
	if err := a.checkQualifier(rv); err != nil {
		return nil, err
	}
	if rv.Schemaname == "" && lv.ctes.lookup(rv.Relname) != nil {
		return nil, sqlscope.Refuse("table", "%q is both a WITH query and the statement's target table; rename the WITH query", rv.Relname)
	}
	t, err := a.table(rv.Relname)
	if err != nil {
		return nil, err
	}
	return baseRel(t, rv.Alias)
}

// dmlTarget opens the level of an INSERT, UPDATE or DELETE: its WITH
// clause, then the table it changes.
func (a *analysis) dmlTarget(w *pg.WithClause, rv *pg.RangeVar) (*level, *rel, error) {
	lv := &level{}
	if w != nil {
		if err := a.with(lv, w); err != nil {
			return nil, nil, err
		}
	}
	tr, err := a.target(lv, rv)
	return lv, tr, err
}

func targetItem(r *rel) item { return item{rel: r, relVisible: true, colsVisible: true} }

func (a *analysis) insert(s *pg.InsertStmt) error {
	lv, tr, err := a.dmlTarget(s.WithClause, s.Relation)
	if err != nil {
		return err
	}
	t := tr.table
	if len(s.Cols) == 0 {
		a.write(t.All()...)
	}
	for _, n := range s.Cols {
		rt := n.GetResTarget()
		if rt == nil {
			return refuseNode(n)
		}
		if err := a.assignTarget(lv, t, rt); err != nil {
			return err
		}
	}
	if s.SelectStmt != nil {
		sel := s.SelectStmt.GetSelectStmt()
		if sel == nil {
			return refuseNode(s.SelectStmt)
		}
		// The source sees WITH queries but not the target table.
		if _, err := a.query(lv, sel, nil); err != nil {
			return err
		}
	}
	if s.OnConflictClause != nil {
		if err := a.onConflict(lv, tr, s.OnConflictClause); err != nil {
			return err
		}
	}
	rl := &level{ctes: lv.ctes, items: []item{targetItem(tr)}}
	_, err = a.targetList(rl, s.ReturningList)
	return err
}

// onConflict analyses ON CONFLICT. EXCLUDED.col is the proposed row;
// reading it counts as reading the target table's column.
func (a *analysis) onConflict(lv *level, tr *rel, oc *pg.OnConflictClause) error {
	t := tr.table
	excluded := &rel{name: "excluded", table: t, aliased: true, exact: true}
	for _, c := range t.Columns {
		excluded.cols = append(excluded.cols, col{name: c.Name, refs: []sqlscope.Ref{{Table: t.Name, Column: c.Name}}})
	}
	cl := &level{ctes: lv.ctes, items: []item{targetItem(tr), {rel: excluded, relVisible: true}}}
	if inf := oc.Infer; inf != nil {
		for _, n := range inf.IndexElems {
			ie := n.GetIndexElem()
			if ie == nil {
				return refuseNode(n)
			}
			if len(ie.Opclass) > 0 || len(ie.Opclassopts) > 0 {
				return sqlscope.Refuse("clause", "operator classes in ON CONFLICT are not supported")
			}
			if len(ie.Collation) > 0 {
				if err := checkCollation(ie.Collation); err != nil {
					return err
				}
			}
			if ie.Name != "" {
				if err := a.unqualified(cl, ie.Name); err != nil {
					return err
				}
			}
			if err := a.expr(cl, ie.Expr); err != nil {
				return err
			}
		}
		if err := a.expr(cl, inf.WhereClause); err != nil {
			return err
		}
	}
	switch oc.Action {
	case pg.OnConflictAction_ONCONFLICT_NOTHING:
		return nil
	case pg.OnConflictAction_ONCONFLICT_UPDATE:
		if err := a.assignments(cl, t, oc.TargetList); err != nil {
			return err
		}
		return a.expr(cl, oc.WhereClause)
	}
	return sqlscope.Refuse("clause", "unsupported ON CONFLICT action")
}

func (a *analysis) update(s *pg.UpdateStmt) error {
	lv, tr, err := a.dmlTarget(s.WithClause, s.Relation)
	if err != nil {
		return err
	}
	lv.items = append(lv.items, targetItem(tr))
	if err := a.fromClause(lv, s.FromClause); err != nil {
		return err
	}
	if err := a.assignments(lv, tr.table, s.TargetList); err != nil {
		return err
	}
	if err := a.expr(lv, s.WhereClause); err != nil {
		return err
	}
	_, err = a.targetList(lv, s.ReturningList)
	return err
}

func (a *analysis) delete(s *pg.DeleteStmt) error {
	lv, tr, err := a.dmlTarget(s.WithClause, s.Relation)
	if err != nil {
		return err
	}
	a.write(tr.table.All()...)
	lv.items = append(lv.items, targetItem(tr))
	if err := a.fromClause(lv, s.UsingClause); err != nil {
		return err
	}
	if err := a.expr(lv, s.WhereClause); err != nil {
		return err
	}
	_, err = a.targetList(lv, s.ReturningList)
	return err
}

// assignments analyses SET col = expr lists: the columns are written, the
// expressions read.
func (a *analysis) assignments(lv *level, t *sqlscope.Table, list []*pg.Node) error {
	for _, n := range list {
		rt := n.GetResTarget()
		if rt == nil {
			return refuseNode(n)
		}
		if err := a.assignTarget(lv, t, rt); err != nil {
			return err
		}
		if err := a.expr(lv, rt.Val); err != nil {
			return err
		}
	}
	return nil
}

// assignTarget records the column an INSERT or SET writes. A subscript or
// subfield (SET arr[1] = …, SET comp.f = …) writes part of the column.
func (a *analysis) assignTarget(lv *level, t *sqlscope.Table, rt *pg.ResTarget) error {
	if systemColumns[rt.Name] || t.Column(rt.Name, false) == "" {
		return sqlscope.Refuse("column", "column %q of table %q is not in this resource's scope", rt.Name, t.Name)
	}
	a.write(sqlscope.Ref{Table: t.Name, Column: rt.Name})
	for _, el := range rt.Indirection {
		switch x := el.GetNode().(type) {
		case *pg.Node_AIndices:
			if err := a.expr(lv, x.AIndices.Lidx); err != nil {
				return err
			}
			if err := a.expr(lv, x.AIndices.Uidx); err != nil {
				return err
			}
		case *pg.Node_String_:
		default:
			return refuseNode(el)
		}
	}
	return nil
}
