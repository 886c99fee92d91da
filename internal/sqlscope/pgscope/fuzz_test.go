package pgscope

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	pg "github.com/pganalyze/pg_query_go/v6"

	"github.com/warden-dev/warden/internal/corpus"
	"github.com/warden-dev/warden/internal/sqlscope"
)

// FuzzAnalyze checks that Analyze never panics, always refuses with a
// *sqlscope.Refusal, and that whatever it accepts as a SELECT passes an
// independent check of pg_query's JSON tree.
func FuzzAnalyze(f *testing.F) {
	for _, c := range corpus.Load(f, "sql-postgres.txt") {
		f.Add(c.Payload)
	}
	for _, c := range acceptedCases {
		f.Add(c.sql)
	}
	for _, c := range refusedCases {
		f.Add(c.sql)
	}
	for _, c := range ddlCases {
		f.Add(c.sql)
	}
	for _, c := range ddlRefusedCases {
		f.Add(c.sql)
	}
	schema := fixture()
	f.Fuzz(func(t *testing.T, sql string) {
		res, err := New().Analyze(sql, schema)
		if err != nil {
			var r *sqlscope.Refusal
			if !errors.As(err, &r) {
				t.Fatalf("error %T is not a *sqlscope.Refusal: %v", err, err)
			}
			if r.Msg == internalMsg {
				t.Fatalf("analyzer panicked on %q", sql)
			}
			return
		}
		if res.Kind == sqlscope.DDL {
			if err := checkDDL(sql, res, schema); err != nil {
				t.Fatalf("%q: accepted as DDL but %v", sql, err)
			}
			return
		}
		for _, ref := range res.Refs() {
			tab := schema.Lookup(ref.Table, false)
			if tab == nil || tab.Column(ref.Column, false) == "" {
				t.Fatalf("%q: ref %s is not in the schema", sql, ref)
			}
		}
		if res.Kind != sqlscope.Select {
			return
		}
		if len(res.Writes) > 0 {
			t.Fatalf("%q: a SELECT with writes %v", sql, res.Writes)
		}
		js, err := pg.ParseToJSON(sql)
		if err != nil {
			t.Fatalf("%q: accepted but ParseToJSON fails: %v", sql, err)
		}
		if err := checkSelectJSON(js); err != nil {
			t.Fatalf("%q: accepted as SELECT but %v", sql, err)
		}
	})
}

// checkSelectJSON is the fuzz oracle, written against pg_query's JSON and
// not the analyzer's code: one top-level SelectStmt, no data-modifying or
// row-locking node anywhere, and every function call, cast type and
// operator on the allowlists.
func checkSelectJSON(js string) error {
	var tree struct {
		Stmts []struct {
			Stmt map[string]any `json:"stmt"`
		} `json:"stmts"`
	}
	if err := json.Unmarshal([]byte(js), &tree); err != nil {
		return err
	}
	if len(tree.Stmts) != 1 {
		return fmt.Errorf("%d statements", len(tree.Stmts))
	}
	stmt := tree.Stmts[0].Stmt
	if len(stmt) != 1 {
		return fmt.Errorf("top-level statement has %d nodes", len(stmt))
	}
	if show, ok := stmt["VariableShowStmt"]; ok {
		return walkJSON(show) // SHOW of a setting: nothing to run
	}
	if ex, ok := stmt["ExplainStmt"].(map[string]any); ok {
		// EXPLAIN [ANALYZE] runs at most its query, which must be a SELECT.
		q, _ := ex["query"].(map[string]any)
		if _, isSelect := q["SelectStmt"]; !isSelect || len(q) != 1 {
			return fmt.Errorf("EXPLAIN of something other than a SelectStmt")
		}
		stmt = q
	}
	if _, ok := stmt["SelectStmt"]; !ok {
		return fmt.Errorf("top-level statement is not a SelectStmt")
	}
	return walkJSON(stmt)
}

// ddlStmts are the top-level nodes of the DDL the analyzer may accept.
var ddlStmts = map[string]bool{"CreateStmt": true, "AlterTableStmt": true, "RenameStmt": true, "DropStmt": true, "TruncateStmt": true, "IndexStmt": true}

// checkDDL is the fuzz oracle for DDL: one top-level statement of a DDL
// kind on tables (DROP only of tables), nothing data-modifying, no
// subquery, allowlisted functions and casts, no other schema; Writes are
// whole tables named in Tables; Reads are columns of the schema; every
// changed table but one CREATE TABLE makes (or RENAME names) exists.
func checkDDL(sql string, res *sqlscope.Analysis, schema *sqlscope.Schema) error {
	js, err := pg.ParseToJSON(sql)
	if err != nil {
		return err
	}
	var tree struct {
		Stmts []struct {
			Stmt map[string]any `json:"stmt"`
		} `json:"stmts"`
	}
	if err := json.Unmarshal([]byte(js), &tree); err != nil {
		return err
	}
	if len(tree.Stmts) != 1 || len(tree.Stmts[0].Stmt) != 1 {
		return fmt.Errorf("not exactly one statement")
	}
	var kind string
	for k := range tree.Stmts[0].Stmt {
		kind = k
	}
	if !ddlStmts[kind] {
		return fmt.Errorf("top-level statement is %s", kind)
	}
	if d, ok := tree.Stmts[0].Stmt["DropStmt"].(map[string]any); ok && d["removeType"] != "OBJECT_TABLE" {
		return fmt.Errorf("DROP of %v", d["removeType"])
	}
	if strings.Contains(js, `"SubLink"`) || strings.Contains(js, "DROP_CASCADE") {
		return fmt.Errorf("a subquery or CASCADE")
	}
	if err := walkJSON(tree.Stmts[0].Stmt); err != nil {
		return err
	}
	if len(res.Writes) == 0 {
		return fmt.Errorf("DDL that changes no table")
	}
	for _, w := range res.Writes {
		if w.Column != sqlscope.AllColumns || !slices.Contains(res.Tables, w.Table) {
			return fmt.Errorf("write %s", w)
		}
		if schema.Lookup(w.Table, false) == nil && kind != "CreateStmt" && kind != "RenameStmt" {
			return fmt.Errorf("changes %s, which is not in the schema", w.Table)
		}
	}
	for _, r := range res.Reads {
		tab := schema.Lookup(r.Table, false)
		if tab == nil || tab.Column(r.Column, false) == "" || !slices.Contains(res.Tables, r.Table) {
			return fmt.Errorf("read %s", r)
		}
	}
	return nil
}

var forbiddenKeys = map[string]bool{
	"InsertStmt": true, "UpdateStmt": true, "DeleteStmt": true, "MergeStmt": true,
	"intoClause": true, "lockingClause": true,
}

func walkJSON(v any) error {
	switch x := v.(type) {
	case map[string]any:
		for k, sub := range x {
			if forbiddenKeys[k] {
				return fmt.Errorf("contains %s", k)
			}
			var err error
			switch k {
			case "FuncCall":
				err = checkNames(sub, "funcname", func(s []string) bool {
					return len(s) <= 2 && (len(s) == 1 || s[0] == "pg_catalog") && allowedFuncs[s[len(s)-1]]
				})
			case "TypeCast":
				if m, ok := sub.(map[string]any); ok {
					err = checkNames(m["typeName"], "names", func(s []string) bool {
						return len(s) <= 2 && (len(s) == 1 || s[0] == "pg_catalog") && allowedTypes[s[len(s)-1]]
					})
				}
			case "RangeVar":
				if m, ok := sub.(map[string]any); ok {
					if s, _ := m["schemaname"].(string); s != "" && s != "public" {
						err = fmt.Errorf("RangeVar in schema %q", s)
					}
					if _, ok := m["catalogname"]; ok {
						err = fmt.Errorf("RangeVar with a catalog")
					}
				}
			}
			if err != nil {
				return err
			}
			if err := walkJSON(sub); err != nil {
				return err
			}
		}
	case []any:
		for _, e := range x {
			if err := walkJSON(e); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkNames checks a list of {"String":{"sval":…}} under key.
func checkNames(node any, key string, ok func([]string) bool) error {
	m, _ := node.(map[string]any)
	list, _ := m[key].([]any)
	var names []string
	for _, e := range list {
		s, _ := e.(map[string]any)["String"].(map[string]any)
		sval, _ := s["sval"].(string)
		names = append(names, sval)
	}
	if !ok(names) {
		return fmt.Errorf("%s %v is not allowed", key, names)
	}
	return nil
}
