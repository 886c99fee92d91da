package myscope

import (
	"strings"

	"vitess.io/vitess/go/vt/sqlparser"

	"github.com/warden-dev/warden/internal/sqlscope"
)

// ctx is where an expression is analysed.
type ctx struct {
	sc      *scope
	env     *cteEnv
	aliases []string  // select-list aliases (GROUP BY, HAVING, ORDER BY)
	target  *relation // INSERT target, for VALUES(col) in ON DUPLICATE KEY UPDATE
	dflt    bool      // a bare DEFAULT is allowed (INSERT values, UPDATE SET)
}

func (a *analysis) optExpr(e sqlparser.Expr, x *ctx) error {
	if e == nil {
		return nil
	}
	return a.expr(e, x)
}

func (a *analysis) exprs(es []sqlparser.Expr, x *ctx) error {
	for _, e := range es {
		if err := a.optExpr(e, x); err != nil {
			return err
		}
	}
	return nil
}

// expr records every column e reads and refuses what is not understood.
// Every node type is named: the default case refuses, so a construct the
// parser learns later is refused until this switch learns it too.
func (a *analysis) expr(e sqlparser.Expr, x *ctx) error {
	switch e := e.(type) {
	case *sqlparser.Literal, *sqlparser.NullVal, sqlparser.BoolVal:
		return nil
	case *sqlparser.ColName:
		return a.column(e, x)
	case *sqlparser.Subquery:
		if a.inDDL {
			return refuseDDLSubquery()
		}
		_, err := a.query(e.Select, x.sc, x.env)
		return err
	case *sqlparser.ExistsExpr:
		if a.inDDL {
			return refuseDDLSubquery()
		}
		if e.Subquery == nil {
			return unknown(e)
		}
		_, err := a.query(e.Subquery.Select, x.sc, x.env)
		return err
	case sqlparser.ValTuple:
		return a.exprs(e, x)

	case *sqlparser.AndExpr:
		return a.exprs([]sqlparser.Expr{e.Left, e.Right}, x)
	case *sqlparser.OrExpr:
		return a.exprs([]sqlparser.Expr{e.Left, e.Right}, x)
	case *sqlparser.XorExpr:
		return a.exprs([]sqlparser.Expr{e.Left, e.Right}, x)
	case *sqlparser.NotExpr:
		return a.expr(e.Expr, x)
	case *sqlparser.ComparisonExpr:
		return a.exprs([]sqlparser.Expr{e.Left, e.Right, e.Escape}, x)
	case *sqlparser.BetweenExpr:
		return a.exprs([]sqlparser.Expr{e.Left, e.From, e.To}, x)
	case *sqlparser.IsExpr:
		return a.expr(e.Left, x)
	case *sqlparser.BinaryExpr:
		return a.exprs([]sqlparser.Expr{e.Left, e.Right}, x)
	case *sqlparser.UnaryExpr:
		return a.expr(e.Expr, x)
	case *sqlparser.IntroducerExpr:
		// _binary'…' and friends reinterpret a literal; harmless.
		return a.expr(e.Expr, x)
	case *sqlparser.CollateExpr:
		// A collation only changes comparison; an unknown one is an error.
		return a.expr(e.Expr, x)
	case *sqlparser.CaseExpr:
		if err := a.optExpr(e.Expr, x); err != nil {
			return err
		}
		for _, w := range e.Whens {
			if err := a.exprs([]sqlparser.Expr{w.Cond, w.Val}, x); err != nil {
				return err
			}
		}
		return a.optExpr(e.Else, x)
	case *sqlparser.MemberOfExpr:
		return a.exprs([]sqlparser.Expr{e.Value, e.JSONArr}, x)

	case *sqlparser.FuncExpr:
		if !e.Qualifier.IsEmpty() {
			return sqlscope.Refuse("function", "database-qualified (stored) functions are not allowed; use built-in functions")
		}
		if err := checkFunc(e.Name.Lowered()); err != nil {
			return err
		}
		return a.exprs(e.Exprs, x)
	case *sqlparser.CurTimeFuncExpr:
		return checkFunc(e.Name.Lowered())
	case *sqlparser.CastExpr:
		if e.Array {
			return sqlscope.Refuse("function", "CAST … ARRAY is only for index definitions")
		}
		return a.expr(e.Expr, x)
	case *sqlparser.ConvertExpr:
		return a.expr(e.Expr, x)
	case *sqlparser.ConvertUsingExpr:
		// Transcoding happens after parsing, so it cannot change what the
		// lexer saw.
		return a.expr(e.Expr, x)
	case *sqlparser.WeightStringFuncExpr:
		return a.expr(e.Expr, x)
	case *sqlparser.TimestampDiffExpr:
		return a.exprs([]sqlparser.Expr{e.Expr1, e.Expr2}, x)
	case *sqlparser.ExtractFuncExpr:
		return a.expr(e.Expr, x)
	case *sqlparser.IntervalDateExpr:
		return a.exprs([]sqlparser.Expr{e.Date, e.Interval}, x)
	case *sqlparser.SubstrExpr:
		return a.exprs([]sqlparser.Expr{e.Name, e.From, e.To}, x)
	case *sqlparser.InsertExpr:
		// The INSERT(str, pos, len, newstr) string function.
		return a.exprs([]sqlparser.Expr{e.Str, e.Pos, e.Len, e.NewStr}, x)
	case *sqlparser.IntervalFuncExpr:
		if err := a.expr(e.Expr, x); err != nil {
			return err
		}
		return a.exprs(e.Exprs, x)
	case *sqlparser.LocateExpr:
		return a.exprs([]sqlparser.Expr{e.SubStr, e.Str, e.Pos}, x)
	case *sqlparser.CharExpr:
		return a.exprs(e.Exprs, x)
	case *sqlparser.TrimFuncExpr:
		return a.exprs([]sqlparser.Expr{e.TrimArg, e.StringArg}, x)
	case *sqlparser.MatchExpr:
		for _, c := range e.Columns {
			if err := a.column(c, x); err != nil {
				return err
			}
		}
		return a.expr(e.Expr, x)
	case *sqlparser.RegexpInstrExpr:
		return a.exprs([]sqlparser.Expr{e.Expr, e.Pattern, e.Position, e.Occurrence, e.ReturnOption, e.MatchType}, x)
	case *sqlparser.RegexpLikeExpr:
		return a.exprs([]sqlparser.Expr{e.Expr, e.Pattern, e.MatchType}, x)
	case *sqlparser.RegexpReplaceExpr:
		return a.exprs([]sqlparser.Expr{e.Expr, e.Pattern, e.Repl, e.Occurrence, e.Position, e.MatchType}, x)
	case *sqlparser.RegexpSubstrExpr:
		return a.exprs([]sqlparser.Expr{e.Expr, e.Pattern, e.Occurrence, e.Position, e.MatchType}, x)

	// JSON functions are pure: they compute on their arguments.
	case *sqlparser.JSONArrayExpr:
		return a.exprs(e.Params, x)
	case *sqlparser.JSONObjectExpr:
		return a.jsonParams(e.Params, x)
	case *sqlparser.JSONQuoteExpr:
		return a.expr(e.StringArg, x)
	case *sqlparser.JSONContainsExpr:
		if err := a.exprs([]sqlparser.Expr{e.Target, e.Candidate}, x); err != nil {
			return err
		}
		return a.exprs(e.PathList, x)
	case *sqlparser.JSONContainsPathExpr:
		if err := a.exprs([]sqlparser.Expr{e.JSONDoc, e.OneOrAll}, x); err != nil {
			return err
		}
		return a.exprs(e.PathList, x)
	case *sqlparser.JSONExtractExpr:
		if err := a.expr(e.JSONDoc, x); err != nil {
			return err
		}
		return a.exprs(e.PathList, x)
	case *sqlparser.JSONKeysExpr:
		return a.exprs([]sqlparser.Expr{e.JSONDoc, e.Path}, x)
	case *sqlparser.JSONOverlapsExpr:
		return a.exprs([]sqlparser.Expr{e.JSONDoc1, e.JSONDoc2}, x)
	case *sqlparser.JSONSearchExpr:
		if err := a.exprs([]sqlparser.Expr{e.JSONDoc, e.OneOrAll, e.SearchStr, e.EscapeChar}, x); err != nil {
			return err
		}
		return a.exprs(e.PathList, x)
	case *sqlparser.JSONValueExpr:
		if err := a.exprs([]sqlparser.Expr{e.JSONDoc, e.Path}, x); err != nil {
			return err
		}
		for _, r := range []*sqlparser.JtOnResponse{e.EmptyOnResponse, e.ErrorOnResponse} {
			if r != nil {
				if err := a.optExpr(r.Expr, x); err != nil {
					return err
				}
			}
		}
		return nil
	case *sqlparser.JSONAttributesExpr:
		return a.exprs([]sqlparser.Expr{e.JSONDoc, e.Path}, x)
	case *sqlparser.JSONValueModifierExpr:
		// JSON_SET and friends return a modified copy; nothing is stored.
		if err := a.expr(e.JSONDoc, x); err != nil {
			return err
		}
		return a.jsonParams(e.Params, x)
	case *sqlparser.JSONValueMergeExpr:
		if err := a.expr(e.JSONDoc, x); err != nil {
			return err
		}
		return a.exprs(e.JSONDocList, x)
	case *sqlparser.JSONRemoveExpr:
		if err := a.expr(e.JSONDoc, x); err != nil {
			return err
		}
		return a.exprs(e.PathList, x)
	case *sqlparser.JSONUnquoteExpr:
		return a.expr(e.JSONValue, x)
	case *sqlparser.JSONPrettyExpr:
		return a.expr(e.JSONVal, x)
	case *sqlparser.JSONStorageSizeExpr:
		return a.expr(e.JSONVal, x)
	case *sqlparser.JSONStorageFreeExpr:
		return a.expr(e.JSONVal, x)
	case *sqlparser.JSONSchemaValidFuncExpr:
		return a.exprs([]sqlparser.Expr{e.Schema, e.Document}, x)
	case *sqlparser.JSONSchemaValidationReportFuncExpr:
		return a.exprs([]sqlparser.Expr{e.Schema, e.Document}, x)

	// Aggregates.
	case *sqlparser.CountStar:
		return a.over(e.OverClause, x)
	case *sqlparser.Count:
		return a.aggregate(e.Args, e.OverClause, x)
	case *sqlparser.Sum:
		return a.aggregate([]sqlparser.Expr{e.Arg}, e.OverClause, x)
	case *sqlparser.Avg:
		return a.aggregate([]sqlparser.Expr{e.Arg}, e.OverClause, x)
	case *sqlparser.Min:
		return a.aggregate([]sqlparser.Expr{e.Arg}, e.OverClause, x)
	case *sqlparser.Max:
		return a.aggregate([]sqlparser.Expr{e.Arg}, e.OverClause, x)
	case *sqlparser.BitAnd:
		return a.aggregate([]sqlparser.Expr{e.Arg}, e.OverClause, x)
	case *sqlparser.BitOr:
		return a.aggregate([]sqlparser.Expr{e.Arg}, e.OverClause, x)
	case *sqlparser.BitXor:
		return a.aggregate([]sqlparser.Expr{e.Arg}, e.OverClause, x)
	case *sqlparser.Std:
		return a.aggregate([]sqlparser.Expr{e.Arg}, e.OverClause, x)
	case *sqlparser.StdDev:
		return a.aggregate([]sqlparser.Expr{e.Arg}, e.OverClause, x)
	case *sqlparser.StdPop:
		return a.aggregate([]sqlparser.Expr{e.Arg}, e.OverClause, x)
	case *sqlparser.StdSamp:
		return a.aggregate([]sqlparser.Expr{e.Arg}, e.OverClause, x)
	case *sqlparser.VarPop:
		return a.aggregate([]sqlparser.Expr{e.Arg}, e.OverClause, x)
	case *sqlparser.VarSamp:
		return a.aggregate([]sqlparser.Expr{e.Arg}, e.OverClause, x)
	case *sqlparser.Variance:
		return a.aggregate([]sqlparser.Expr{e.Arg}, e.OverClause, x)
	case *sqlparser.AnyValue:
		return a.expr(e.Arg, x)
	case *sqlparser.JSONArrayAgg:
		return a.aggregate([]sqlparser.Expr{e.Expr}, e.OverClause, x)
	case *sqlparser.JSONObjectAgg:
		return a.aggregate([]sqlparser.Expr{e.Key, e.Value}, e.OverClause, x)
	case *sqlparser.GroupConcatExpr:
		// Output is cut at group_concat_max_len (1024 bytes by default).
		if err := a.exprs(e.Exprs, x); err != nil {
			return err
		}
		if err := a.orderBy(e.OrderBy, x); err != nil {
			return err
		}
		return a.limit(e.Limit, x)

	// Window functions.
	case *sqlparser.ArgumentLessWindowExpr:
		return a.over(e.OverClause, x)
	case *sqlparser.FirstOrLastValueExpr:
		return a.aggregate([]sqlparser.Expr{e.Expr}, e.OverClause, x)
	case *sqlparser.NtileExpr:
		return a.aggregate([]sqlparser.Expr{e.N}, e.OverClause, x)
	case *sqlparser.NTHValueExpr:
		return a.aggregate([]sqlparser.Expr{e.Expr, e.N}, e.OverClause, x)
	case *sqlparser.LagLeadExpr:
		return a.aggregate([]sqlparser.Expr{e.Expr, e.N, e.Default}, e.OverClause, x)

	// Only meaningful in some statements.
	case *sqlparser.ValuesFuncExpr:
		return a.valuesFunc(e, x)
	case *sqlparser.Default:
		if x.dflt && e.ColName == "" {
			return nil
		}
		return sqlscope.Refuse("function", "DEFAULT is only allowed as a whole value in INSERT … VALUES or UPDATE … SET")

	// Refused families.
	case *sqlparser.Variable:
		return refuseVariable()
	case *sqlparser.AssignmentExpr:
		return refuseVariable()
	case *sqlparser.Argument:
		// A ? placeholder: the connector binds a value to it server-side
		// (the lexer refused vitess's :name forms).
		return nil
	case sqlparser.ListArg:
		return sqlscope.Refuse("parse", "list placeholders are not supported; use one ? per value")
	case *sqlparser.LockingFunc:
		return sqlscope.Refuse("function", "advisory lock functions (GET_LOCK, RELEASE_LOCK, …) are not allowed: locks outlive the statement")
	case *sqlparser.ExtractValueExpr, *sqlparser.UpdateXMLExpr:
		return sqlscope.Refuse("function", "ExtractValue and UpdateXML are not allowed: their errors can carry data out")
	case *sqlparser.PerformanceSchemaFuncExpr, *sqlparser.GTIDFuncExpr:
		return sqlscope.Refuse("function", "server, replication and performance-schema functions are not allowed")
	case *sqlparser.PointExpr, *sqlparser.LineStringExpr, *sqlparser.PolygonExpr,
		*sqlparser.MultiPointExpr, *sqlparser.MultiLinestringExpr, *sqlparser.MultiPolygonExpr,
		*sqlparser.GeomFromTextExpr, *sqlparser.GeomFromWKBExpr, *sqlparser.GeomFormatExpr,
		*sqlparser.GeomPropertyFuncExpr, *sqlparser.PointPropertyFuncExpr, *sqlparser.LinestrPropertyFuncExpr,
		*sqlparser.PolygonPropertyFuncExpr, *sqlparser.GeomCollPropertyFuncExpr,
		*sqlparser.GeoHashFromLatLongExpr, *sqlparser.GeoHashFromPointExpr,
		*sqlparser.GeomFromGeoHashExpr, *sqlparser.GeoJSONFromGeomExpr, *sqlparser.GeomFromGeoJSONExpr:
		return sqlscope.Refuse("function", "spatial functions are not on the allowlist")
	case nil:
		return sqlscope.Refuse("parse", "missing expression")
	}
	return unknown(e)
}

func (a *analysis) jsonParams(ps []*sqlparser.JSONObjectParam, x *ctx) error {
	for _, p := range ps {
		if err := a.exprs([]sqlparser.Expr{p.Key, p.Value}, x); err != nil {
			return err
		}
	}
	return nil
}

func (a *analysis) aggregate(args []sqlparser.Expr, o *sqlparser.OverClause, x *ctx) error {
	if err := a.exprs(args, x); err != nil {
		return err
	}
	return a.over(o, x)
}

// over analyses an OVER clause. A named window was analysed with the
// WINDOW clause.
func (a *analysis) over(o *sqlparser.OverClause, x *ctx) error {
	if o == nil {
		return nil
	}
	return a.windowSpec(o.WindowSpec, x)
}

func (a *analysis) windowSpec(w *sqlparser.WindowSpecification, x *ctx) error {
	if w == nil {
		return nil
	}
	if err := a.exprs(w.PartitionClause, x); err != nil {
		return err
	}
	if err := a.orderBy(w.OrderClause, x); err != nil {
		return err
	}
	if f := w.FrameClause; f != nil {
		for _, p := range []*sqlparser.FramePoint{f.Start, f.End} {
			if p != nil {
				if err := a.optExpr(p.Expr, x); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// column records the column a reference reads.
func (a *analysis) column(c *sqlparser.ColName, x *ctx) error {
	if !c.Qualifier.Qualifier.IsEmpty() {
		return refuseQualified()
	}
	name := c.Name.String()
	if q := c.Qualifier.Name.String(); q != "" {
		r, err := x.sc.qualifier(q, true)
		if err != nil {
			return err
		}
		cols := r.find(name)
		if len(cols) == 0 {
			return refuseColumn(name)
		}
		for _, col := range cols {
			a.read(r, col)
		}
		return nil
	}
	rels := x.sc.unqualified(name)
	for _, r := range rels {
		for _, col := range r.find(name) {
			a.read(r, col)
		}
	}
	if len(rels) > 0 {
		return nil
	}
	for _, al := range x.aliases {
		if strings.EqualFold(al, name) {
			// The aliased expression was read with the select list.
			return nil
		}
	}
	return refuseColumn(name)
}

// valuesFunc handles VALUES(col), the value a conflicting INSERT row would
// have set; it is only meaningful in ON DUPLICATE KEY UPDATE.
func (a *analysis) valuesFunc(e *sqlparser.ValuesFuncExpr, x *ctx) error {
	if x.target == nil || e.Name == nil {
		return sqlscope.Refuse("function", "VALUES(col) is only allowed in ON DUPLICATE KEY UPDATE")
	}
	if !e.Name.Qualifier.IsEmpty() {
		return sqlscope.Refuse("column", "write VALUES(col) without a table name")
	}
	cols := x.target.find(e.Name.Name.String())
	if len(cols) == 0 {
		return refuseColumn(e.Name.Name.String())
	}
	for _, c := range cols {
		a.read(x.target, c)
	}
	return nil
}

func refuseDDLSubquery() error {
	return sqlscope.Refuse("clause", "subqueries are not allowed in DDL")
}

func refuseColumn(name string) error {
	return sqlscope.Refuse("column", "column %q is not in this resource's scope", name)
}

func refuseVariable() error {
	return sqlscope.Refuse("variable", "user and system variables (@name, @@name) and assignments are not allowed; use literal values")
}
