package sqltest

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// State describes everything in the database that a statement could leave
// changed, one line per item: for the diff when a [DB.Checksum] changed.
// Table rows appear as a count and a hash.
//
// PostgreSQL: the rows of every table and materialized view and the value
// of every sequence in every non-system schema; the definitions of
// schemas, relations, columns, indexes, constraints, functions, views,
// triggers, policies, rules, extensions, default privileges and comments,
// with owners and ACLs; the OIDs of every user object in every
// per-database catalog (which catches object kinds not listed); large
// objects and their contents; prepared transactions; the database's
// owner, ACL and settings; and the attributes, memberships and settings of
// the test logins and of every role not made by sqltest.
//
// MariaDB: the rows of every table and sequence in the database;
// SHOW CREATE of the database and each table or view; its columns,
// routines, triggers and events; the databases not made by sqltest; the
// grant tables' rows for the test logins, the database, and every login
// not made by sqltest; plugins, UDFs and servers; and the global variables
// (less the few the server changes itself).
//
// Temporary tables of other live sessions are listed on PostgreSQL only;
// session state (prepared statements, settings) is out of reach: see
// [DB.Leftovers].
func (d *DB) State(tb testing.TB) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	lines, err := d.srv.eng.state(ctx, d)
	if err != nil {
		tb.Fatalf("sqltest: state of %s: %v", d.Name, err)
	}
	return strings.Join(lines, "\n") + "\n"
}

// Checksum is a hash of [DB.State]: equal checksums mean nothing a
// statement could change has changed.
func (d *DB) Checksum(tb testing.TB) string {
	tb.Helper()
	sum := sha256.Sum256([]byte(d.State(tb)))
	return hex.EncodeToString(sum[:])
}

// stateConn returns a connection whose queries give up on locks held by
// other sessions instead of waiting: a lock left behind must show up as a
// changed state, not hang the test.
func stateConn(ctx context.Context, db *sql.DB, setup string) (*sql.Conn, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, setup); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// pgNonSystem is the condition on a pg_namespace alias n for the schemas
// whose contents the checksums cover; temporary schemas are included.
const pgNonSystem = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'`

// pgStateQueries return one text column; each is a kind of object. $1 is
// the text[] of logins the state covers besides every role not made by
// sqltest.
var pgStateQueries = []string{
	// Temporary schemas are left out: they outlive the session's tables.
	`SELECT format('schema %I owner=%s acl=%s', nspname, pg_get_userbyid(nspowner), nspacl)
	   FROM pg_namespace WHERE nspname !~ '^pg_(toast_)?temp_' ORDER BY 1`,
	`SELECT format('relation %I.%I kind=%s owner=%s persistence=%s rls=%s/%s acl=%s options=%s', n.nspname, c.relname,
	        c.relkind, pg_get_userbyid(c.relowner), c.relpersistence, c.relrowsecurity, c.relforcerowsecurity, c.relacl, c.reloptions)
	   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ` + pgNonSystem + ` ORDER BY 1`,
	`SELECT format('column %I.%I %s %I %s notnull=%s default=%s identity=%s generated=%s acl=%s', n.nspname, c.relname, a.attnum,
	        a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(ad.adbin, ad.adrelid),
	        a.attidentity, a.attgenerated, a.attacl)
	   FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
	   LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
	  WHERE a.attnum > 0 AND NOT a.attisdropped AND ` + pgNonSystem + ` ORDER BY 1`,
	`SELECT format('index %I.%I %s', schemaname, tablename, indexdef) FROM pg_indexes
	  WHERE schemaname NOT IN ('pg_catalog', 'information_schema') AND schemaname !~ '^pg_toast' ORDER BY 1`,
	`SELECT format('constraint %I.%I %I %s', n.nspname, c.relname, k.conname, pg_get_constraintdef(k.oid))
	   FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
	  WHERE ` + pgNonSystem + ` ORDER BY 1`,
	`SELECT format('function %I.%I(%s) kind=%s lang=%s owner=%s acl=%s secdef=%s config=%s returns=%s src=%s', n.nspname, p.proname,
	        pg_get_function_identity_arguments(p.oid), p.prokind, l.lanname, pg_get_userbyid(p.proowner), p.proacl,
	        p.prosecdef, p.proconfig, pg_get_function_result(p.oid), md5(coalesce(p.prosrc, '')))
	   FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang
	  WHERE ` + pgNonSystem + ` ORDER BY 1`,
	`SELECT format('view %I.%I %s', schemaname, viewname, md5(definition)) FROM pg_views
	  WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`,
	`SELECT format('matview %I.%I %s', schemaname, matviewname, md5(definition)) FROM pg_matviews ORDER BY 1`,
	`SELECT format('trigger %s enabled=%s', pg_get_triggerdef(oid), tgenabled) FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1`,
	`SELECT format('policy %I on %s %s roles=%s using=%s check=%s', polname, polrelid::regclass, polcmd, polroles,
	        pg_get_expr(polqual, polrelid), pg_get_expr(polwithcheck, polrelid)) FROM pg_policy ORDER BY 1`,
	`SELECT format('rule %I.%I %s', schemaname, rulename, definition) FROM pg_rules
	  WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`,
	`SELECT format('extension %I %s schema=%s', extname, extversion, extnamespace::regnamespace) FROM pg_extension ORDER BY 1`,
	`SELECT format('default acl %s %s %s %s', pg_get_userbyid(defaclrole), defaclnamespace, defaclobjtype, defaclacl)
	   FROM pg_default_acl ORDER BY 1`,
	`SELECT format('sequence def %s %s %s %s %s %s %s', seqrelid::regclass, seqtypid::regtype, seqstart, seqincrement, seqmax, seqmin, seqcycle)
	   FROM pg_sequence ORDER BY 1`,
	`SELECT format('comment %s %s %s %s', classoid::regclass, objoid, objsubid, md5(description)) FROM pg_description
	  WHERE objoid >= 16384 ORDER BY 1`,
	`SELECT format('large object %s owner=%s acl=%s', oid, pg_get_userbyid(lomowner), lomacl) FROM pg_largeobject_metadata ORDER BY oid`,
	`SELECT format('large object data %s %s %s', loid, pageno, md5(data)) FROM pg_largeobject ORDER BY loid, pageno`,
	`SELECT format('prepared transaction %s owner=%s', gid, owner) FROM pg_prepared_xacts
	  WHERE database = current_database() ORDER BY 1`,
	`SELECT format('database %I owner=%s acl=%s allowconn=%s connlimit=%s template=%s comment=%s', d.datname,
	        pg_get_userbyid(d.datdba), d.datacl, d.datallowconn, d.datconnlimit, d.datistemplate, md5(sd.description))
	   FROM pg_database d LEFT JOIN pg_shdescription sd ON sd.objoid = d.oid AND sd.classoid = 'pg_database'::regclass
	  WHERE d.datname = current_database()`,
	`SELECT format('role %I super=%s inherit=%s createrole=%s createdb=%s login=%s replication=%s bypassrls=%s connlimit=%s valid=%s password=%s',
	        rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, rolbypassrls,
	        rolconnlimit, rolvaliduntil, md5(coalesce(rolpassword, '')))
	   FROM pg_authid WHERE rolname = ANY($1) OR rolname !~ '^(pg_|` + namePrefix + `[0-9]+_)' ORDER BY 1`,
	`SELECT format('membership %I in %I admin=%s', m.rolname, r.rolname, am.admin_option)
	   FROM pg_auth_members am JOIN pg_authid m ON m.oid = am.member JOIN pg_authid r ON r.oid = am.roleid
	  WHERE m.rolname = ANY($1) OR r.rolname = ANY($1)
	     OR m.rolname !~ '^(pg_|` + namePrefix + `[0-9]+_)' OR r.rolname !~ '^(pg_|` + namePrefix + `[0-9]+_)' ORDER BY 1`,
	`SELECT format('settings database=%s role=%s %s', coalesce(d.datname, '*'), coalesce(r.rolname, '*'), s.setconfig)
	   FROM pg_db_role_setting s LEFT JOIN pg_database d ON d.oid = s.setdatabase LEFT JOIN pg_authid r ON r.oid = s.setrole
	  WHERE (s.setdatabase = 0 OR d.datname = current_database())
	    AND (s.setrole = 0 OR r.rolname = ANY($1) OR r.rolname !~ '^(pg_|` + namePrefix + `[0-9]+_)') ORDER BY 1`,
}

func (pgEngine) state(ctx context.Context, d *DB) ([]string, error) {
	conn, err := stateConn(ctx, d.admin, "SET lock_timeout = '2s'")
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	roles := []string{d.Owner, d.Reader}
	var out []string
	for _, q := range pgStateQueries {
		var args []any
		if strings.Contains(q, "$1") {
			args = append(args, roles)
		}
		lines, err := queryStrings(ctx, conn, q, args...)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", strings.Fields(q)[1], err)
		}
		out = append(out, lines...)
	}

	// Every object lives in some catalog with an OID column; OIDs below
	// 16384 belong to the system. Shared catalogs hold other tests'
	// databases and roles and are covered above.
	catalogs, err := queryStrings(ctx, conn, `SELECT c.relname FROM pg_class c
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'oid'
		WHERE c.relnamespace = 'pg_catalog'::regnamespace AND c.relkind = 'r' AND NOT c.relisshared ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("catalogs: %w", err)
	}
	for _, cat := range catalogs {
		where := ""
		if cat == "pg_namespace" {
			where = ` AND nspname !~ '^pg_(toast_)?temp_'`
		}
		q := fmt.Sprintf(`SELECT format('objects %%s %%s', %s, coalesce(string_agg(oid::text, ',' ORDER BY oid), ''))
			FROM pg_catalog.%s WHERE oid >= 16384%s HAVING count(*) > 0`, pgQuoteLiteral(cat), pgIdent(cat), where)
		lines, err := queryStrings(ctx, conn, q)
		if err != nil {
			return nil, fmt.Errorf("objects in %s: %w", cat, err)
		}
		out = append(out, lines...)
	}

	// Contents. An error (a table locked by a leftover transaction, a
	// materialized view without data) is part of the state.
	rels, err := queryStrings(ctx, conn, `SELECT format('%I.%I %s', n.nspname, c.relname, c.relkind)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p', 'm', 'S') AND c.relpersistence <> 't' AND `+pgNonSystem+` ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("tables: %w", err)
	}
	for _, rel := range rels {
		i := strings.LastIndexByte(rel, ' ')
		name, kind := rel[:i], rel[i+1:]
		q := fmt.Sprintf(`SELECT format('rows %%s %%s %%s', %s, count(*), md5(coalesce(string_agg(ROW(r.*)::text, '|' ORDER BY ROW(r.*)::text), '')))
			FROM %s r`, pgQuoteLiteral(name), name)
		if kind == "S" {
			q = fmt.Sprintf(`SELECT format('sequence %%s last_value=%%s is_called=%%s', %s, last_value, is_called) FROM %s`, pgQuoteLiteral(name), name)
		}
		lines, err := queryStrings(ctx, conn, q)
		if err != nil {
			lines = []string{fmt.Sprintf("rows %s error: %v", name, err)}
		}
		out = append(out, lines...)
	}
	return out, nil
}

// pgQuoteLiteral quotes a string literal (standard_conforming_strings is on).
func pgQuoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

func (pgEngine) leftovers(ctx context.Context, d *DB) ([]string, error) {
	queries := []string{
		`SELECT format('session pid=%s user=%s state=%s query=%s', pid, usename, state, left(query, 100))
		   FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
		    AND backend_type = 'client backend' AND state IS DISTINCT FROM 'idle' ORDER BY 1`,
		`SELECT format('advisory lock pid=%s key=%s,%s,%s mode=%s granted=%s', pid, classid, objid, objsubid, mode, granted)
		   FROM pg_locks WHERE locktype = 'advisory' AND pid IS DISTINCT FROM pg_backend_pid()
		    AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) ORDER BY 1`,
		`SELECT format('temporary table %I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		  WHERE c.relpersistence = 't' AND c.relkind IN ('r', 'p') ORDER BY 1`,
		`SELECT format('prepared transaction %s', gid) FROM pg_prepared_xacts WHERE database = current_database() ORDER BY 1`,
	}
	var out []string
	for _, q := range queries {
		lines, err := queryStrings(ctx, d.admin, q)
		if err != nil {
			return nil, err
		}
		out = append(out, lines...)
	}
	return out, nil
}

// testLogin matches the logins and databases sqltest makes.
var testLogin = regexp.MustCompile(`^` + namePrefix + `[0-9]+_`)

// mariaVolatile are global variables the server changes by itself.
var mariaVolatile = map[string]bool{
	"gtid_binlog_pos":   true,
	"gtid_binlog_state": true,
	"gtid_current_pos":  true,
	"gtid_slave_pos":    true,
}

func (mariaEngine) state(ctx context.Context, d *DB) ([]string, error) {
	conn, err := stateConn(ctx, d.srv.admin, "SET SESSION lock_wait_timeout = 2, innodb_lock_wait_timeout = 2")
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	var out []string
	add := func(prefix, query string, args ...any) error {
		lines, err := queryRows(ctx, conn, query, args...)
		if err != nil {
			return fmt.Errorf("%s: %w", prefix, err)
		}
		slices.Sort(lines)
		for _, l := range lines {
			out = append(out, prefix+" "+l)
		}
		return nil
	}
	users := []any{d.Owner, d.Reader, testLogin.String()}
	userCond := "(User IN (?, ?) OR User NOT REGEXP ?)"
	dbArgs := append(slices.Clone(users), d.Name)
	steps := []struct {
		prefix, query string
		args          []any
	}{
		{"grant", "SELECT * FROM mysql.global_priv WHERE " + userCond, users},
		{"grant db", "SELECT * FROM mysql.db WHERE " + userCond + " OR Db = ?", dbArgs},
		{"grant table", "SELECT * FROM mysql.tables_priv WHERE " + userCond + " OR Db = ?", dbArgs},
		{"grant column", "SELECT * FROM mysql.columns_priv WHERE " + userCond + " OR Db = ?", dbArgs},
		{"grant routine", "SELECT * FROM mysql.procs_priv WHERE " + userCond + " OR Db = ?", dbArgs},
		{"grant proxy", "SELECT * FROM mysql.proxies_priv WHERE " + userCond, users},
		{"grant role", "SELECT * FROM mysql.roles_mapping WHERE " + userCond, users},
		{"plugin", "SELECT * FROM mysql.plugin", nil},
		{"udf", "SELECT * FROM mysql.func", nil},
		{"server", "SELECT * FROM mysql.servers", nil},
		{"columns", "SELECT * FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ?", []any{d.Name}},
		{"routine", "SELECT * FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?", []any{d.Name}},
		{"parameter", "SELECT * FROM information_schema.PARAMETERS WHERE SPECIFIC_SCHEMA = ?", []any{d.Name}},
		{"trigger", "SELECT * FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?", []any{d.Name}},
		{"event", "SELECT * FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?", []any{d.Name}},
	}
	for _, st := range steps {
		if err := add(st.prefix, st.query, st.args...); err != nil {
			return nil, err
		}
	}

	dbs, err := queryStrings(ctx, conn, "SHOW DATABASES")
	if err != nil {
		return nil, fmt.Errorf("databases: %w", err)
	}
	exists := false
	for _, name := range dbs {
		exists = exists || name == d.Name
		if name == d.Name || !testLogin.MatchString(name) {
			out = append(out, "database "+name)
		}
	}

	vars, err := queryRows(ctx, conn, "SHOW GLOBAL VARIABLES")
	if err != nil {
		return nil, fmt.Errorf("global variables: %w", err)
	}
	for _, v := range vars {
		name, _, _ := strings.Cut(v, "\t")
		if !mariaVolatile[strings.Trim(name, `"`)] {
			out = append(out, "variable "+v)
		}
	}

	if !exists {
		return out, nil // dropped: nothing more to look at
	}
	if err := add("create database", "SHOW CREATE DATABASE "+myIdent(d.Name)); err != nil {
		return nil, err
	}
	tables, err := queryRows(ctx, conn, "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY 1", d.Name)
	if err != nil {
		return nil, fmt.Errorf("tables: %w", err)
	}
	for _, t := range tables {
		quotedName, kind, _ := strings.Cut(t, "\t")
		name, _ := strconv.Unquote(quotedName)
		qualified := myIdent(d.Name) + "." + myIdent(name)
		// AUTO_INCREMENT counters show here: a rolled-back INSERT
		// consumes values too.
		if err := add("create", "SHOW CREATE TABLE "+qualified); err != nil {
			out = append(out, fmt.Sprintf("create %s error: %v", qualified, err))
		}
		if kind == `"VIEW"` {
			continue
		}
		rows, err := queryRows(ctx, conn, "SELECT * FROM "+qualified)
		if err != nil {
			out = append(out, fmt.Sprintf("rows %s error: %v", qualified, err))
			continue
		}
		slices.Sort(rows)
		h := sha256.New()
		for _, r := range rows {
			io.WriteString(h, r+"\n")
		}
		out = append(out, fmt.Sprintf("rows %s %d %x", qualified, len(rows), h.Sum(nil)))
	}
	return out, nil
}

// queryRows runs a query and renders each row as its values, quoted (NULL
// bare), separated by tabs.
func queryRows(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	vals := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var out []string
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		fields := make([]string, len(vals))
		for i, v := range vals {
			if v == nil {
				fields[i] = "NULL"
			} else {
				fields[i] = strconv.Quote(string(v))
			}
		}
		out = append(out, strings.Join(fields, "\t"))
	}
	return out, rows.Err()
}

func (mariaEngine) leftovers(ctx context.Context, d *DB) ([]string, error) {
	queries := []struct {
		what, query string
		args        []any
	}{
		// A transaction that touched a table holds a metadata lock on it
		// until it ends; LOCK TABLES and GET_LOCK show here too.
		{"locks", `SELECT CONCAT('lock thread=', m.THREAD_ID, ' user=', COALESCE(p.USER, ''), ' ', m.LOCK_TYPE, ' ', m.LOCK_MODE,
			' on ', m.TABLE_SCHEMA, '.', m.TABLE_NAME)
			FROM information_schema.METADATA_LOCK_INFO m LEFT JOIN information_schema.PROCESSLIST p ON p.ID = m.THREAD_ID
			WHERE m.THREAD_ID <> CONNECTION_ID() AND (m.TABLE_SCHEMA = ? OR p.DB = ? OR p.USER IN (?, ?)) ORDER BY 1`,
			[]any{d.Name, d.Name, d.Owner, d.Reader}},
		// INNODB_TRX is a cache refreshed at most every 0.1 s: it finds
		// older transactions only.
		{"transactions", `SELECT CONCAT('transaction thread=', t.trx_mysql_thread_id, ' user=', p.USER,
			' state=', t.trx_state, ' query=', COALESCE(LEFT(t.trx_query, 100), ''))
			FROM information_schema.INNODB_TRX t JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
			WHERE p.DB = ? AND p.ID <> CONNECTION_ID() ORDER BY 1`, []any{d.Name}},
		{"sessions", `SELECT CONCAT('session thread=', ID, ' user=', USER, ' command=', COMMAND,
			' time=', TIME, ' query=', COALESCE(LEFT(INFO, 100), ''))
			FROM information_schema.PROCESSLIST
			WHERE DB = ? AND ID <> CONNECTION_ID() AND COMMAND NOT IN ('Sleep', 'Daemon') ORDER BY 1`, []any{d.Name}},
	}
	var out []string
	for _, q := range queries {
		lines, err := queryStrings(ctx, d.srv.admin, q.query, q.args...)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", q.what, err)
		}
		out = append(out, lines...)
	}
	return out, nil
}

// SQLiteChecksum is a hash of a SQLite database file and of the directory
// beside it: every entry's name and type and every regular file's
// contents, so that a new -journal, -wal or attached database file changes
// it too.
func SQLiteChecksum(tb testing.TB, path string) string {
	tb.Helper()
	dir := filepath.Dir(path)
	entries, err := os.ReadDir(dir) // sorted by name
	if err != nil {
		tb.Fatalf("sqltest: checksum %s: %v", path, err)
	}
	h := sha256.New()
	if _, err := os.Stat(path); err != nil {
		fmt.Fprintf(h, "missing %s\n", filepath.Base(path))
	}
	for _, e := range entries {
		fmt.Fprintf(h, "%q %s", e.Name(), e.Type())
		if e.Type().IsRegular() {
			f, err := os.Open(filepath.Join(dir, e.Name()))
			if err != nil {
				tb.Fatalf("sqltest: checksum %s: %v", path, err)
			}
			fh := sha256.New()
			_, err = io.Copy(fh, f)
			f.Close()
			if err != nil {
				tb.Fatalf("sqltest: checksum %s: %v", path, err)
			}
			fmt.Fprintf(h, " %x", fh.Sum(nil))
		}
		io.WriteString(h, "\n")
	}
	return hex.EncodeToString(h.Sum(nil))
}
