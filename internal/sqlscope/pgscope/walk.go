package pgscope

import (
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"

	"github.com/warden-dev/warden/internal/sqlscope"
)

// expr walks an expression, charging every column it names. Node types
// it does not list are refused: a construct it has not been taught
// cannot pass unchecked.
func (a *analysis) expr(lv *level, n *pg.Node) error {
	if n == nil {
		return nil
	}
	if err := a.enter(); err != nil {
		return err
	}
	defer a.leave()
	switch x := n.Node.(type) {
	case *pg.Node_AConst, *pg.Node_ParamRef, *pg.Node_SetToDefault, *pg.Node_SqlvalueFunction:
		// Constants, $n, DEFAULT, CURRENT_DATE/CURRENT_USER/...: no columns.
		return nil
	case *pg.Node_ColumnRef:
		return a.columnRef(lv, x.ColumnRef)
	case *pg.Node_AExpr:
		return a.aExpr(lv, x.AExpr)
	case *pg.Node_BoolExpr:
		return a.exprs(lv, x.BoolExpr.Args)
	case *pg.Node_FuncCall:
		return a.funcCall(lv, x.FuncCall)
	case *pg.Node_TypeCast:
		if err := a.typeName(lv, x.TypeCast.TypeName); err != nil {
			return err
		}
		return a.expr(lv, x.TypeCast.Arg)
	case *pg.Node_CollateClause:
		if err := checkCollation(x.CollateClause.Collname); err != nil {
			return err
		}
		return a.expr(lv, x.CollateClause.Arg)
	case *pg.Node_SubLink:
		return a.subLink(lv, x.SubLink)
	case *pg.Node_CaseExpr:
		c := x.CaseExpr
		if err := a.expr(lv, c.Arg); err != nil {
			return err
		}
		for _, w := range c.Args {
			cw := w.GetCaseWhen()
			if cw == nil {
				return refuseNode(w)
			}
			if err := a.expr(lv, cw.Expr); err != nil {
				return err
			}
			if err := a.expr(lv, cw.Result); err != nil {
				return err
			}
		}
		return a.expr(lv, c.Defresult)
	case *pg.Node_CoalesceExpr:
		return a.exprs(lv, x.CoalesceExpr.Args)
	case *pg.Node_MinMaxExpr:
		return a.exprs(lv, x.MinMaxExpr.Args)
	case *pg.Node_NullTest:
		return a.expr(lv, x.NullTest.Arg)
	case *pg.Node_BooleanTest:
		return a.expr(lv, x.BooleanTest.Arg)
	case *pg.Node_AArrayExpr:
		return a.exprs(lv, x.AArrayExpr.Elements)
	case *pg.Node_RowExpr:
		return a.exprs(lv, x.RowExpr.Args)
	case *pg.Node_AIndirection:
		return a.indirection(lv, x.AIndirection)
	case *pg.Node_GroupingFunc:
		return a.exprs(lv, x.GroupingFunc.Args)
	case *pg.Node_NamedArgExpr:
		return a.expr(lv, x.NamedArgExpr.Arg)
	case *pg.Node_MultiAssignRef:
		return a.expr(lv, x.MultiAssignRef.Source)
	case *pg.Node_List:
		// IN (...) and BETWEEN operands.
		return a.exprs(lv, x.List.Items)
	}
	return refuseNode(n)
}

func (a *analysis) exprs(lv *level, ns []*pg.Node) error {
	for _, n := range ns {
		if err := a.expr(lv, n); err != nil {
			return err
		}
	}
	return nil
}

// refuseNode refuses a parse node the walker does not handle where it
// appears.
func refuseNode(n *pg.Node) error {
	name := nodeName(n)
	switch {
	case strings.HasPrefix(name, "Xml"), name == "RangeTableFunc":
		return sqlscope.Refuse("function", "XML functions and XMLTABLE are not allowed")
	case strings.HasPrefix(name, "Json"):
		return sqlscope.Refuse("function", "SQL/JSON constructors and functions (JSON_OBJECT, JSON_TABLE, IS JSON, …) are not allowed; use json_build_object, jsonb_path_query and the JSON operators")
	case name == "CurrentOfExpr":
		return sqlscope.Refuse("clause", "WHERE CURRENT OF needs a cursor; cursors are not allowed")
	}
	return sqlscope.Refuse("clause", "%s is not supported by Warden's SQL analyzer; rewrite the statement without it", name)
}

func (a *analysis) aExpr(lv *level, e *pg.A_Expr) error {
	switch e.Kind {
	case pg.A_Expr_Kind_AEXPR_BETWEEN, pg.A_Expr_Kind_AEXPR_NOT_BETWEEN,
		pg.A_Expr_Kind_AEXPR_BETWEEN_SYM, pg.A_Expr_Kind_AEXPR_NOT_BETWEEN_SYM:
		// Named "BETWEEN" etc.; PostgreSQL expands them to <= and >=.
	case pg.A_Expr_Kind_AEXPR_OP, pg.A_Expr_Kind_AEXPR_OP_ANY, pg.A_Expr_Kind_AEXPR_OP_ALL,
		pg.A_Expr_Kind_AEXPR_DISTINCT, pg.A_Expr_Kind_AEXPR_NOT_DISTINCT, pg.A_Expr_Kind_AEXPR_NULLIF,
		pg.A_Expr_Kind_AEXPR_IN, pg.A_Expr_Kind_AEXPR_LIKE, pg.A_Expr_Kind_AEXPR_ILIKE, pg.A_Expr_Kind_AEXPR_SIMILAR:
		if err := checkOp(e.Name); err != nil {
			return err
		}
	default:
		return sqlscope.Refuse("clause", "unsupported operator expression")
	}
	if err := a.expr(lv, e.Lexpr); err != nil {
		return err
	}
	return a.expr(lv, e.Rexpr)
}

// checkOp allows built-in operators, bare or as OPERATOR(pg_catalog.op).
func checkOp(names []*pg.Node) error {
	if len(names) == 0 {
		return nil
	}
	parts, err := strs(names)
	if err != nil {
		return err
	}
	op := parts[len(parts)-1]
	if len(parts) > 2 || (len(parts) == 2 && parts[0] != "pg_catalog") {
		return sqlscope.Refuse("schema", "OPERATOR(%s) is not allowed: only built-in operators, optionally written OPERATOR(pg_catalog.%s), may be used", strings.Join(parts, "."), op)
	}
	if !allowedOps[op] {
		return sqlscope.Refuse("function", "operator %q is not allowed: only built-in operators on Warden's allowlist may be used", op)
	}
	return nil
}

// funcName checks a function name against the allowlist.
func funcName(names []*pg.Node) (string, error) {
	parts, err := strs(names)
	if err != nil {
		return "", err
	}
	if len(parts) == 0 {
		return "", sqlscope.Refuse("function", "function call without a name")
	}
	name := parts[len(parts)-1]
	if len(parts) > 2 || (len(parts) == 2 && parts[0] != "pg_catalog") {
		return "", sqlscope.Refuse("function", "function %s is not allowed: only built-in functions on Warden's allowlist may be called, unqualified or as pg_catalog.<name>", strings.Join(parts, "."))
	}
	if !allowedFuncs[name] {
		return "", sqlscope.Refuse("function", "function %q is not allowed: only functions on Warden's allowlist of side-effect-free functions may be called", name)
	}
	return name, nil
}

func (a *analysis) funcCall(lv *level, fc *pg.FuncCall) error {
	if _, err := funcName(fc.Funcname); err != nil {
		return err
	}
	if err := a.exprs(lv, fc.Args); err != nil {
		return err
	}
	for _, o := range fc.AggOrder {
		if err := a.sortBy(lv, o); err != nil {
			return err
		}
	}
	if err := a.expr(lv, fc.AggFilter); err != nil {
		return err
	}
	if fc.Over != nil {
		return a.windowDef(lv, fc.Over)
	}
	return nil
}

// typeName allows casts to built-in scalar types and their arrays.
func (a *analysis) typeName(lv *level, tn *pg.TypeName) error {
	if tn == nil {
		return sqlscope.Refuse("clause", "cast without a type")
	}
	if tn.Setof || tn.PctType {
		return sqlscope.Refuse("clause", "SETOF and %%TYPE are not allowed in casts")
	}
	parts, err := strs(tn.Names)
	if err != nil {
		return err
	}
	if len(parts) == 0 || len(parts) > 2 || (len(parts) == 2 && parts[0] != "pg_catalog") {
		return sqlscope.Refuse("function", "type %s is not allowed: only built-in scalar types may be used in casts", strings.Join(parts, "."))
	}
	if name := parts[len(parts)-1]; !allowedTypes[name] {
		return sqlscope.Refuse("function", "type %q is not allowed: only built-in scalar types may be used in casts (reg* types and oid read the catalog)", name)
	}
	return a.exprs(lv, tn.Typmods)
}

func checkCollation(names []*pg.Node) error {
	parts, err := strs(names)
	if err != nil {
		return err
	}
	if len(parts) == 2 && parts[0] == "pg_catalog" {
		parts = parts[1:]
	}
	if len(parts) != 1 || !allowedCollations[parts[0]] {
		return sqlscope.Refuse("clause", "collation %s is not allowed: use \"C\", \"POSIX\", \"default\" or \"ucs_basic\"", strings.Join(parts, "."))
	}
	return nil
}

func (a *analysis) subLink(lv *level, sl *pg.SubLink) error {
	if a.inDDL {
		return sqlscope.Refuse("clause", "subqueries are not allowed in DDL")
	}
	switch sl.SubLinkType {
	case pg.SubLinkType_EXISTS_SUBLINK, pg.SubLinkType_ALL_SUBLINK, pg.SubLinkType_ANY_SUBLINK,
		pg.SubLinkType_ROWCOMPARE_SUBLINK, pg.SubLinkType_EXPR_SUBLINK, pg.SubLinkType_MULTIEXPR_SUBLINK,
		pg.SubLinkType_ARRAY_SUBLINK:
	default:
		return sqlscope.Refuse("clause", "unsupported subquery")
	}
	if err := checkOp(sl.OperName); err != nil {
		return err
	}
	if err := a.expr(lv, sl.Testexpr); err != nil {
		return err
	}
	sel := sl.Subselect.GetSelectStmt()
	if sel == nil {
		return refuseNode(sl.Subselect)
	}
	sh, err := a.query(lv, sel, nil)
	if err != nil {
		return err
	}
	a.sublinks[sl] = sh
	return nil
}

// indirection walks subscripts. Field selection, (expr).name, is
// refused: when the field does not exist PostgreSQL calls name(expr)
// instead, a function this walker never saw.
func (a *analysis) indirection(lv *level, ind *pg.A_Indirection) error {
	if err := a.expr(lv, ind.Arg); err != nil {
		return err
	}
	for i, el := range ind.Indirection {
		switch x := el.GetNode().(type) {
		case *pg.Node_AIndices:
			if err := a.expr(lv, x.AIndices.Lidx); err != nil {
				return err
			}
			if err := a.expr(lv, x.AIndices.Uidx); err != nil {
				return err
			}
		case *pg.Node_AStar:
			if i != len(ind.Indirection)-1 {
				return refuseNode(el)
			}
		case *pg.Node_String_:
			return sqlscope.Refuse("clause", "field selection (…).%s is not supported: select the column through a FROM-clause relation instead", x.String_.Sval)
		default:
			return refuseNode(el)
		}
	}
	return nil
}
