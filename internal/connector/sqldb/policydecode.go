package sqldb

import (
	"fmt"
	"slices"
	"strings"

	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/sqlscope"
)

// SQLTarget is the policy target for one column of one table: "table.column".
// The connector lists one per column a statement touches, so a grant's
// tables decide each of them; "table." (no column) stands for the table
// itself (a count(*) reads no column) and "table.*" for all of it (DDL).
// Names that contain a dot are refused before they get here.
func SQLTarget(table, column string) string { return table + "." + column }

// SplitSQLTarget is the inverse of [SQLTarget]. ok is false for a target
// without a dot.
func SplitSQLTarget(target string) (table, column string, ok bool) {
	return strings.Cut(target, ".")
}

// decodeResource reads a resource block:
//
//	shop: {kind: sql, driver: postgres, dsn: env:SHOP_DSN, strict_credentials: true,
//	       limits: {max_rows: 500, max_result_bytes: 1MiB, timeout: 5s}}
func decodeResource(n core.PolicyNode) any {
	name := resourceName(n)
	cfg := &Config{}
	if f := n.Field("driver"); f == nil {
		n.Missing("driver", "add driver: sqlite, postgres or mysql", "resource %q of kind sql needs a driver", name)
	} else if d, ok := f.OneOf("driver", drivers); ok {
		cfg.Driver = d
	}
	if f := n.Field("dsn"); f == nil {
		n.Missing("dsn", "add dsn: ./file.db for SQLite, or dsn: env:NAME for a server", "resource %q of kind sql needs a dsn", name)
	} else if dsn, ok := f.String("dsn"); ok {
		switch _, inline := dsnPassword(dsn); {
		case core.IsSecretRef(dsn):
			if s, ok := f.Secret("dsn"); ok {
				cfg.DSN = s
				// The password alone, in a file or a row, is as secret as
				// the whole DSN, which redaction would not find in it.
				if pw, ok := dsnPassword(s.Reveal()); ok && pw != "" {
					f.AddSecret(core.NewSecret(s.Ref()+" (password)", pw))
				}
			}
		case inline:
			f.Problem("move the DSN into an environment variable or file and write dsn: env:NAME", "the dsn contains a password inline")
		default:
			if cfg.Driver == "sqlite" {
				dsn = n.Abs(dsn)
			}
			cfg.DSN = core.NewSecret("", dsn)
		}
	}
	if f := n.Field("strict_credentials"); f != nil {
		cfg.StrictCredentials, _ = f.Bool("strict_credentials")
	}
	if f := n.Field("limits"); f != nil {
		l := &cfg.Limits
		for _, x := range f.Fields("limits", []string{"max_rows", "max_result_bytes", "timeout"}) {
			switch x.Key {
			case "max_rows":
				v, _ := x.Value.Int(x.Key, 1, 10_000_000)
				l.MaxRows = int(v)
			case "max_result_bytes":
				l.MaxResultBytes, _ = x.Value.Size(x.Key, 1024, 1<<30)
			case "timeout":
				l.Timeout, _ = x.Value.Duration(x.Key, 1e6, 3600e9)
			}
		}
	}
	return cfg
}

// resourceName is the name of the resource a node's block describes
// ("resources.shop"): resource names hold no dot.
func resourceName(n core.PolicyNode) string {
	p := n.Path()
	return p[strings.LastIndex(p, ".")+1:]
}

// decodeRule reads a grant's tables and max_rows:
//
//	{resource: shop, actions: [query], tables: {orders: [id, total], customers: "*"}, max_rows: 500}
//
// Deny rules take neither: they deny the actions they name on the whole
// database.
func decodeRule(n core.PolicyNode, r *core.RuleDraft) {
	if r.Deny {
		return
	}
	g := &grantTables{}
	if f := n.Field("tables"); f == nil {
		n.Missing("tables", `add tables: {orders: "*", customers: [id, country]}`, "a grant on a sql resource must list the tables and columns it covers")
	} else {
		g.tables = decodeTables(f)
	}
	g.index = make(map[string]int, len(g.tables))
	for i, t := range g.tables {
		g.index[t.name] = i
	}
	if f := n.Field("max_rows"); f != nil {
		if v, ok := f.Int("max_rows", 1, 10_000_000); ok {
			g.maxRows = v
			r.Options = r.Options.WithCap(OptMaxRows, v)
		}
	}
	r.Constraint = g
}

// decodeTables reads "tables: {orders: [id, total], customers: '*'}".
func decodeTables(f core.PolicyNode) []tableGrant {
	var out []tableGrant
	for _, t := range f.Fields("tables", nil) {
		if s, ok := t.Value.Text(); ok {
			if s != "*" {
				t.Value.Problem(`list the columns, or write "*" for all of them`, "columns of %q must be a list", t.Key)
				continue
			}
			out = append(out, tableGrant{name: t.Key, columns: []string{"*"}})
			continue
		}
		cols, _, _ := t.Value.Strings("columns")
		if len(cols) == 0 {
			t.Value.KeyProblem(`list the columns, or write "*" for all of them`, "table %q grants no columns", t.Key)
			continue
		}
		out = append(out, tableGrant{name: t.Key, columns: cols})
	}
	return out
}

// grantTables is the constraint of a sql grant: the tables and columns it
// covers, in the order the policy lists them. It is immutable.
type grantTables struct {
	tables  []tableGrant
	index   map[string]int // table name → its place in tables
	maxRows int64          // the grant's max_rows, or 0
}

type tableGrant struct {
	name    string
	columns []string // "*" alone for every column
}

func (g *grantTables) table(name string) *tableGrant {
	if i, ok := g.index[name]; ok {
		return &g.tables[i]
	}
	return nil
}

// Tables returns the grant's tables and their columns ("*" for all).
func (g *grantTables) Tables() map[string][]string {
	out := make(map[string][]string, len(g.tables))
	for _, t := range g.tables {
		out[t.name] = slices.Clone(t.columns)
	}
	return out
}

// Admits reports whether the grant's tables cover a target made by
// [SQLTarget]. The empty target stands for a statement that touches no
// table (SELECT 1) and is covered by any grant of the action; a target
// with an empty column ("customers.", a count(*)) by any grant naming the
// table; "orders.*" (DDL on the table) only by one granting it whole.
//
// The why names only what the agent supplied and what the grant allows: a
// table or column the statement reaches without naming it (SELECT *, a
// view) is not named, since the schema tool hides what is not granted.
func (g *grantTables) Admits(req *core.Request, target string) (bool, string) {
	if target == "" {
		return true, ""
	}
	table, column, ok := SplitSQLTarget(target)
	if !ok {
		return false, fmt.Sprintf("%q is not a table.column", target)
	}
	t := g.table(table)
	if t == nil {
		if !mentioned(req, table) {
			return false, "the statement reaches a table that is not granted; " + g.grantedTables()
		}
		return false, fmt.Sprintf("table %q is not granted; %s", table, g.grantedTables())
	}
	if column == "" || slices.Contains(t.columns, "*") || slices.Contains(t.columns, column) {
		return true, ""
	}
	granted := strings.Join(t.columns, ", ")
	switch {
	case column == sqlscope.AllColumns:
		// DDL changes the whole table: only a grant of all of it covers it.
		return false, fmt.Sprintf("%s.* (the whole table) is not granted; granted on %s: %s", table, table, granted)
	case !mentioned(req, column):
		return false, fmt.Sprintf("the statement reaches a column of %s that is not granted (name the columns instead of *); granted on %s: %s", table, table, granted)
	}
	return false, fmt.Sprintf("%s.%s is not granted; granted on %s: %s", table, column, table, granted)
}

// mentioned reports whether the statement of req names name: as a whole
// word, in any letter case, quoted or not. Without a statement (a request
// an operator wrote, for "policy explain") the target itself was supplied.
func mentioned(req *core.Request, name string) bool {
	if req == nil {
		return true
	}
	sql, ok := req.Args["sql"].(string)
	if !ok {
		return true
	}
	s, w := asciiLower(sql), asciiLower(name)
	if w == "" {
		return false
	}
	for i := 0; i+len(w) <= len(s); {
		j := strings.Index(s[i:], w)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(w)
		if (j == 0 || !identByte(s[j-1])) && (end == len(s) || !identByte(s[end])) {
			return true
		}
		i = j + 1
	}
	return false
}

func identByte(b byte) bool {
	return b == '_' || b == '$' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= 0x80
}

func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, s)
}

func (g *grantTables) grantedTables() string {
	if len(g.tables) == 0 {
		return "this grant names no tables"
	}
	names := make([]string, len(g.tables))
	for i, t := range g.tables {
		names[i] = t.name
	}
	return "granted tables: " + strings.Join(names, ", ")
}

// Scope states the tables and columns and the grant's max_rows:
// "tables orders: id, total; customers: all columns; at most 500 rows".
func (g *grantTables) Scope() string {
	var parts []string
	for _, t := range g.tables {
		cols := strings.Join(t.columns, ", ")
		if slices.Contains(t.columns, "*") {
			cols = "all columns"
		}
		parts = append(parts, t.name+": "+cols)
	}
	s := "no tables (only statements that read none)"
	if len(parts) > 0 {
		s = "tables " + strings.Join(parts, "; ")
	}
	if g.maxRows > 0 {
		s += fmt.Sprintf("; at most %d rows", g.maxRows)
	}
	return s
}
