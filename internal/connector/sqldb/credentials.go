package sqldb

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/sqlscope"
)

// privileges is what a login can do, as the database reports it.
type privileges struct {
	// role lists powers beyond any table: superuser, reading server files.
	role []string
	// read are the columns the login can SELECT.
	read map[sqlscope.Ref]bool
	// write are the tables the login can change in any way.
	write map[string]bool
}

// privilegeLister is implemented by backends with logins.
type privilegeLister interface {
	privileges(ctx context.Context) (*privileges, error)
}

// CheckPrivileges reports what the resource's login can do beyond what some
// grant needs: powers beyond tables, columns it can read that no grant
// covers, and tables it can change that no execute grant covers. A ddl
// grant of a whole table covers reading and changing it: DDL needs the
// table's owner (PostgreSQL) or its ALTER and DROP privileges (MySQL).
// The report is strict when the resource says strict_credentials: true,
// also when the check fails. SQLite has no logins: nothing to find.
func (c *Connector) CheckPrivileges(ctx context.Context, needed func(action, target string) bool) (core.PrivilegeReport, error) {
	var rep core.PrivilegeReport
	if c.strict {
		rep.Strict = "strict_credentials"
	}
	pl, ok := c.db.(privilegeLister)
	if !ok {
		return rep, nil
	}
	rep.Fix = "warden sql grants --resource " + c.resource
	p, err := pl.privileges(ctx)
	if err != nil {
		return rep, err
	}
	findings := slices.Clone(p.role)
	extra := map[string][]string{}
	for r := range p.read {
		t := SQLTarget(r.Table, r.Column)
		if !needed("query", t) && !needed("execute", t) && !needed("ddl", SQLTarget(r.Table, sqlscope.AllColumns)) {
			extra[r.Table] = append(extra[r.Table], r.Column)
		}
	}
	for _, t := range slices.Sorted(maps.Keys(extra)) {
		cols := extra[t]
		slices.Sort(cols)
		findings = append(findings, fmt.Sprintf("it can read %s.{%s}, which no grant covers", t, strings.Join(cols, ", ")))
	}
	for _, t := range slices.Sorted(maps.Keys(p.write)) {
		if !needed("execute", SQLTarget(t, "")) && !needed("ddl", SQLTarget(t, sqlscope.AllColumns)) {
			findings = append(findings, fmt.Sprintf("it can change table %s, which no execute or ddl grant covers", t))
		}
	}
	rep.Findings = findings
	return rep, nil
}

func (d *postgresDB) privileges(ctx context.Context) (*privileges, error) {
	p := &privileges{read: map[sqlscope.Ref]bool{}, write: map[string]bool{}}
	var super, createRole, createDB, bypassRLS, readFiles, writeFiles, program bool
	err := d.pool.QueryRow(ctx, `SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls,
		pg_has_role(current_user, 'pg_read_server_files', 'USAGE'),
		pg_has_role(current_user, 'pg_write_server_files', 'USAGE'),
		pg_has_role(current_user, 'pg_execute_server_program', 'USAGE')
		FROM pg_roles WHERE rolname = current_user`).Scan(&super, &createRole, &createDB, &bypassRLS, &readFiles, &writeFiles, &program)
	if err != nil {
		return nil, fmt.Errorf("cannot read the login's role from PostgreSQL: %w", err)
	}
	for _, f := range []struct {
		has  bool
		what string
	}{
		{super, "it is a superuser"},
		{createRole, "it can create roles"},
		{createDB, "it can create databases"},
		{bypassRLS, "it bypasses row-level security"},
		{readFiles, "it can read the server's files (pg_read_server_files)"},
		{writeFiles, "it can write the server's files (pg_write_server_files)"},
		{program, "it can run programs on the server (pg_execute_server_program)"},
	} {
		if f.has {
			p.role = append(p.role, f.what)
		}
	}
	rows, err := d.pool.Query(ctx, `SELECT c.table_name, c.column_name,
		has_column_privilege(format('%I.%I', c.table_schema, c.table_name), c.column_name, 'SELECT')
		FROM information_schema.columns c WHERE c.table_schema = 'public'`)
	if err != nil {
		return nil, fmt.Errorf("cannot read the login's column privileges from PostgreSQL: %w", err)
	}
	for rows.Next() {
		var r sqlscope.Ref
		var can bool
		if err := rows.Scan(&r.Table, &r.Column, &can); err != nil {
			rows.Close()
			return nil, fmt.Errorf("cannot read the login's column privileges from PostgreSQL: %w", err)
		}
		if can {
			p.read[r] = true
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cannot read the login's column privileges from PostgreSQL: %w", err)
	}
	rows, err = d.pool.Query(ctx, `SELECT t.table_name
		FROM information_schema.tables t WHERE t.table_schema = 'public'
		AND has_table_privilege(format('%I.%I', t.table_schema, t.table_name), 'INSERT, UPDATE, DELETE, TRUNCATE, TRIGGER, REFERENCES')`)
	if err != nil {
		return nil, fmt.Errorf("cannot read the login's table privileges from PostgreSQL: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, fmt.Errorf("cannot read the login's table privileges from PostgreSQL: %w", err)
		}
		p.write[t] = true
	}
	return p, rows.Err()
}

// mysqlWrites are the table privileges that change data or structure.
var mysqlWrites = []string{"INSERT", "UPDATE", "DELETE", "DROP", "ALTER", "CREATE", "INDEX", "TRIGGER", "REFERENCES", "DELETE HISTORY", "CREATE VIEW"}

func (d *mysqlDB) privileges(ctx context.Context) (*privileges, error) {
	p := &privileges{read: map[sqlscope.Ref]bool{}, write: map[string]bool{}}
	var grantee string
	if err := d.db.QueryRowContext(ctx, `SELECT CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')`).Scan(&grantee); err != nil {
		return nil, fmt.Errorf("cannot read the login from MySQL: %w", err)
	}
	list := func(q string) ([][2]string, error) {
		rows, err := d.db.QueryContext(ctx, q, grantee)
		if err != nil {
			return nil, fmt.Errorf("cannot read the login's privileges from MySQL: %w", err)
		}
		defer rows.Close()
		var out [][2]string
		for rows.Next() {
			var a, b string
			if err := rows.Scan(&a, &b); err != nil {
				return nil, fmt.Errorf("cannot read the login's privileges from MySQL: %w", err)
			}
			out = append(out, [2]string{a, b})
		}
		return out, rows.Err()
	}
	s, err := d.schema(ctx)
	if err != nil {
		return nil, err
	}
	everyTable := func(priv string) {
		for _, t := range s.Tables {
			grantTable(p, t, priv)
		}
	}
	global, err := list(`SELECT '', PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = ?`)
	if err != nil {
		return nil, err
	}
	for _, g := range global {
		if g[1] != "USAGE" {
			p.role = append(p.role, fmt.Sprintf("it has the global privilege %s", g[1]))
			everyTable(g[1])
		}
	}
	schema, err := list(`SELECT '', PRIVILEGE_TYPE FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = ? AND TABLE_SCHEMA = DATABASE()`)
	if err != nil {
		return nil, err
	}
	for _, g := range schema {
		everyTable(g[1])
	}
	tables, err := list(`SELECT TABLE_NAME, PRIVILEGE_TYPE FROM information_schema.TABLE_PRIVILEGES WHERE GRANTEE = ? AND TABLE_SCHEMA = DATABASE()`)
	if err != nil {
		return nil, err
	}
	for _, g := range tables {
		if t := s.Lookup(g[0], true); t != nil {
			grantTable(p, t, g[1])
		}
	}
	cols, err := list(`SELECT CONCAT(TABLE_NAME, '.', COLUMN_NAME), PRIVILEGE_TYPE FROM information_schema.COLUMN_PRIVILEGES WHERE GRANTEE = ? AND TABLE_SCHEMA = DATABASE()`)
	if err != nil {
		return nil, err
	}
	for _, g := range cols {
		table, column, _ := strings.Cut(g[0], ".")
		if g[1] == "SELECT" {
			p.read[sqlscope.Ref{Table: table, Column: column}] = true
		} else if slices.Contains(mysqlWrites, g[1]) {
			p.write[table] = true
		}
	}
	return p, nil
}

func grantTable(p *privileges, t *sqlscope.Table, priv string) {
	switch {
	case priv == "SELECT":
		for _, r := range t.All() {
			p.read[r] = true
		}
	case slices.Contains(mysqlWrites, priv):
		p.write[t.Name] = true
	}
}

var _ core.PrivilegeChecker = (*Connector)(nil)
