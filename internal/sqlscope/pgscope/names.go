package pgscope

import pg "github.com/pganalyze/pg_query_go/v6"

// colname is the name PostgreSQL gives a select-list expression
// (FigureColname); ok is false when it depends on something not known.
func (a *analysis) colname(n *pg.Node) (string, bool) {
	name, strength, ok := a.figure(n)
	if !ok {
		return "", false
	}
	if strength == 0 {
		return "?column?", true
	}
	return name, true
}

var sqlValueNames = map[pg.SQLValueFunctionOp]string{
	pg.SQLValueFunctionOp_SVFOP_CURRENT_DATE:        "current_date",
	pg.SQLValueFunctionOp_SVFOP_CURRENT_TIME:        "current_time",
	pg.SQLValueFunctionOp_SVFOP_CURRENT_TIME_N:      "current_time",
	pg.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP:   "current_timestamp",
	pg.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP_N: "current_timestamp",
	pg.SQLValueFunctionOp_SVFOP_LOCALTIME:           "localtime",
	pg.SQLValueFunctionOp_SVFOP_LOCALTIME_N:         "localtime",
	pg.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP:      "localtimestamp",
	pg.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP_N:    "localtimestamp",
	pg.SQLValueFunctionOp_SVFOP_CURRENT_ROLE:        "current_role",
	pg.SQLValueFunctionOp_SVFOP_CURRENT_USER:        "current_user",
	pg.SQLValueFunctionOp_SVFOP_USER:                "user",
	pg.SQLValueFunctionOp_SVFOP_SESSION_USER:        "session_user",
	pg.SQLValueFunctionOp_SVFOP_CURRENT_CATALOG:     "current_catalog",
	pg.SQLValueFunctionOp_SVFOP_CURRENT_SCHEMA:      "current_schema",
}

// figure mirrors FigureColnameInternal: strength 2 is a sure name, 1 a
// fallback (a cast's type, "case"), 0 none.
func (a *analysis) figure(n *pg.Node) (string, int, bool) {
	switch x := n.GetNode().(type) {
	case *pg.Node_ColumnRef:
		f := x.ColumnRef.Fields
		if len(f) == 0 {
			return "", 0, false
		}
		if s := f[len(f)-1].GetString_(); s != nil {
			return s.Sval, 2, true
		}
		return "", 0, true
	case *pg.Node_AIndirection:
		name := ""
		for _, el := range x.AIndirection.Indirection {
			if s := el.GetString_(); s != nil {
				name = s.Sval
			}
		}
		if name != "" {
			return name, 2, true
		}
		return a.figure(x.AIndirection.Arg)
	case *pg.Node_FuncCall:
		return lastName(x.FuncCall.Funcname), 2, true
	case *pg.Node_AExpr:
		if x.AExpr.Kind == pg.A_Expr_Kind_AEXPR_NULLIF {
			return "nullif", 2, true
		}
		return "", 0, true
	case *pg.Node_TypeCast:
		name, s, ok := a.figure(x.TypeCast.Arg)
		if ok && s <= 1 {
			return lastName(x.TypeCast.TypeName.GetNames()), 1, true
		}
		return name, s, ok
	case *pg.Node_CollateClause:
		return a.figure(x.CollateClause.Arg)
	case *pg.Node_GroupingFunc:
		return "grouping", 2, true
	case *pg.Node_SubLink:
		switch x.SubLink.SubLinkType {
		case pg.SubLinkType_EXISTS_SUBLINK:
			return "exists", 2, true
		case pg.SubLinkType_ARRAY_SUBLINK:
			return "array", 2, true
		case pg.SubLinkType_EXPR_SUBLINK:
			sh, ok := a.sublinks[x.SubLink]
			if !ok || !sh.exact || len(sh.names) == 0 {
				return "", 0, false
			}
			return sh.names[0], 2, true
		}
		return "", 0, true
	case *pg.Node_CaseExpr:
		name, s, ok := "", 0, true
		if x.CaseExpr.Defresult != nil {
			name, s, ok = a.figure(x.CaseExpr.Defresult)
		}
		if ok && s <= 1 {
			return "case", 1, true
		}
		return name, s, ok
	case *pg.Node_AArrayExpr:
		return "array", 2, true
	case *pg.Node_RowExpr:
		return "row", 2, true
	case *pg.Node_CoalesceExpr:
		return "coalesce", 2, true
	case *pg.Node_MinMaxExpr:
		if x.MinMaxExpr.Op == pg.MinMaxOp_IS_GREATEST {
			return "greatest", 2, true
		}
		return "least", 2, true
	case *pg.Node_SqlvalueFunction:
		if name, ok := sqlValueNames[x.SqlvalueFunction.Op]; ok {
			return name, 2, true
		}
		return "", 0, false
	case *pg.Node_AConst, *pg.Node_ParamRef, *pg.Node_BoolExpr, *pg.Node_NullTest,
		*pg.Node_BooleanTest, *pg.Node_SetToDefault, *pg.Node_NamedArgExpr, *pg.Node_MultiAssignRef:
		return "", 0, true
	}
	return "", 0, false
}

// lastName is the last String of a qualified name.
func lastName(names []*pg.Node) string {
	if len(names) == 0 {
		return ""
	}
	if s := names[len(names)-1].GetString_(); s != nil {
		return s.Sval
	}
	return ""
}

// bareName reports an unqualified column name.
func bareName(n *pg.Node) (string, bool) {
	cr := n.GetColumnRef()
	if cr == nil || len(cr.Fields) != 1 {
		return "", false
	}
	s := cr.Fields[0].GetString_()
	if s == nil {
		return "", false
	}
	return s.Sval, true
}

func isIntConst(n *pg.Node) bool {
	c := n.GetAConst()
	return c != nil && c.GetIval() != nil
}
