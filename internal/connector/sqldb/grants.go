package sqldb

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"

	"github.com/warden-dev/warden/internal/core"
)

// Need is what a policy's grants need of one table: the columns agents may
// read (query, and the conditions of execute) and write (execute). "*"
// stands for every column.
type Need struct {
	Table string
	Read  []string
	Write []string
	// DDL is set when a ddl grant covers the whole table.
	DDL bool
}

// NeedsOf adds up what grants need per table. actions and tables are one
// grant's; call it once per grant.
func NeedsOf(needs map[string]*Need, actions []string, tables map[string][]string) {
	for t, cols := range tables {
		n := needs[t]
		if n == nil {
			n = &Need{Table: t}
			needs[t] = n
		}
		if slices.Contains(actions, "query") || slices.Contains(actions, "execute") {
			n.Read = union(n.Read, cols)
		}
		if slices.Contains(actions, "execute") {
			n.Write = union(n.Write, cols)
		}
		if slices.Contains(actions, "ddl") && slices.Contains(cols, "*") {
			n.DDL = true
		}
	}
}

func union(a, b []string) []string {
	if slices.Contains(a, "*") || slices.Contains(b, "*") {
		return []string{"*"}
	}
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}

// GrantScript returns the SQL that creates a login able to do what needs
// say and nothing more, for a PostgreSQL or MySQL resource. host is the
// MySQL account's host part.
func GrantScript(spec *core.ResourceSpec, role, host string, needs map[string]*Need) (string, error) {
	sc, err := configOf(spec)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	tables := slices.Sorted(maps.Keys(needs))
	switch sc.Driver {
	case "postgres":
		cfg, err := pgx.ParseConfig(sc.DSN.Reveal())
		if err != nil {
			return "", errors.New("the dsn cannot be parsed")
		}
		r := pgx.Identifier{role}.Sanitize()
		fmt.Fprintf(&b, "-- A login for resource %q that can do what its grants need and no more.\n", spec.Name)
		fmt.Fprintf(&b, "-- Run as an administrator of database %q; choose the password and put it in the dsn secret.\n", cfg.Database)
		fmt.Fprintf(&b, "CREATE ROLE %s LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOINHERIT PASSWORD 'choose-a-password';\n", r)
		fmt.Fprintf(&b, "GRANT CONNECT ON DATABASE %s TO %s;\n", pgx.Identifier{cfg.Database}.Sanitize(), r)
		fmt.Fprintf(&b, "GRANT USAGE ON SCHEMA public TO %s;\n", r)
		ddl := false
		for _, t := range tables {
			n := needs[t]
			tn := "public." + pgx.Identifier{t}.Sanitize()
			for _, p := range privilegeList(n, func(c string) string { return pgx.Identifier{c}.Sanitize() }) {
				fmt.Fprintf(&b, "GRANT %s ON TABLE %s TO %s;\n", p, tn, r)
			}
			if n.DDL {
				ddl = true
				fmt.Fprintf(&b, "-- ddl on %s: PostgreSQL lets only a table's owner alter or drop it; if it exists:\n", t)
				fmt.Fprintf(&b, "ALTER TABLE %s OWNER TO %s;\n", tn, r)
			}
		}
		if ddl {
			fmt.Fprintf(&b, "-- ddl grants create tables: CREATE on the schema (it covers any table name; Warden's grants narrow it).\n")
			fmt.Fprintf(&b, "GRANT CREATE ON SCHEMA public TO %s;\n", r)
		}
	case "mysql":
		cfg, err := mysql.ParseDSN(sc.DSN.Reveal())
		if err != nil {
			return "", errors.New("the dsn cannot be parsed")
		}
		acct := fmt.Sprintf("'%s'@'%s'", strings.ReplaceAll(role, "'", "''"), strings.ReplaceAll(host, "'", "''"))
		fmt.Fprintf(&b, "-- A login for resource %q that can do what its grants need and no more.\n", spec.Name)
		fmt.Fprintf(&b, "-- Run as an administrator; choose the password and put it in the dsn secret.\n")
		fmt.Fprintf(&b, "CREATE USER %s IDENTIFIED BY 'choose-a-password';\n", acct)
		for _, t := range tables {
			tn := myQuote(cfg.DBName) + "." + myQuote(t)
			for _, p := range privilegeList(needs[t], myQuote) {
				fmt.Fprintf(&b, "GRANT %s ON %s TO %s;\n", p, tn, acct)
			}
			if needs[t].DDL {
				// MySQL grants on a table name whether or not it exists yet.
				fmt.Fprintf(&b, "GRANT CREATE, ALTER, DROP, INDEX ON %s TO %s;\n", tn, acct)
			}
		}
	default:
		return "", fmt.Errorf("resource %q uses %s, which has no logins: Warden opens its query connections read-only", spec.Name, sc.Driver)
	}
	return b.String(), nil
}

// privilegeList renders one table's privileges, column by column where
// the grants name columns.
func privilegeList(n *Need, quote func(string) string) []string {
	cols := func(list []string) string {
		q := make([]string, len(list))
		for i, c := range list {
			q[i] = quote(c)
		}
		return " (" + strings.Join(q, ", ") + ")"
	}
	var out []string
	add := func(priv string, list []string) {
		switch {
		case len(list) == 0:
		case slices.Contains(list, "*"):
			out = append(out, priv)
		default:
			out = append(out, priv+cols(list))
		}
	}
	add("SELECT", n.Read)
	add("INSERT", n.Write)
	add("UPDATE", n.Write)
	if slices.Contains(n.Write, "*") {
		// A DELETE removes whole rows: only a grant of every column needs it.
		out = append(out, "DELETE")
	}
	return out
}

func myQuote(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }
