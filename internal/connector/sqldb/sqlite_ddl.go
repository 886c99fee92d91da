package sqldb

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"

	"github.com/ncruces/go-sqlite3"

	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/sqlscope"
)

// DDL on SQLite. The authorizer reports CREATE TABLE, DROP TABLE, ALTER
// TABLE and CREATE/DROP INDEX with the table each changes, and refuses
// temporary tables, views, triggers and virtual tables. While SQLite
// carries out DDL it reads and writes its own schema table and calls
// internal functions; those are allowed for a DDL statement and refuse
// any other. Two things the authorizer does not report are read from the
// statement's text (sqliteTokens): the new name of ALTER TABLE … RENAME
// TO, and the target of each REFERENCES clause. Execution then checks,
// inside the transaction and before COMMIT, that SQLite's schema changed
// only for the tables the policy allowed and gained no foreign key it did
// not allow, so a misreading of the text cannot commit.

// sqliteInternalTables are SQLite's own tables that DDL maintains.
var sqliteInternalTables = set("sqlite_master", "sqlite_temp_master", "sqlite_schema", "sqlite_temp_schema", "sqlite_sequence", "pragma_quick_check")

// sqliteDDLFuncs are SQLite's internal functions for ALTER TABLE; SQL
// cannot call them.
var sqliteDDLFuncs = set("sqlite_rename_table", "sqlite_rename_test", "sqlite_rename_column", "sqlite_rename_quotefix", "sqlite_drop_column")

// sqliteInternal allows SQLite's own work on its schema during DDL. A
// statement that is not DDL is refused: at once when enforcing, after
// compiling when analysing.
func (a *sqliteAuth) sqliteInternal(name string) sqlite3.AuthorizerReturnCode {
	if a.allowed != nil && !a.ddl {
		return a.refuse("table", "table %q is not in this resource's scope", name)
	}
	if a.internal == "" {
		a.internal = name
	}
	return sqlite3.AUTH_OK
}

func (a *sqliteAuth) isDDL() bool { return len(a.changed) > 0 }

// isChanged reports whether the statement creates, alters, drops or
// indexes a table; SQLite compares names without case.
func (a *sqliteAuth) isChanged(name string) bool {
	for t := range a.changed {
		if strings.EqualFold(t, name) {
			return true
		}
	}
	return false
}

// ddlTable records a table a DDL statement changes; how is "create",
// "drop", "alter" or "index".
func (a *sqliteAuth) ddlTable(name, schema, how string) sqlite3.AuthorizerReturnCode {
	switch {
	case a.allowed != nil && !a.ddl:
		return a.refuse("statement-kind", "DDL is not allowed here")
	case schema == "temp":
		return a.refuse("clause", "temporary tables are not allowed")
	case schema != "main":
		return a.refuse("schema", "only tables of the main database may be changed, not of %q", schema)
	case how == "create" && strings.EqualFold(name, "sqlite_sequence") && len(a.created) > 0:
		// The first AUTOINCREMENT table makes SQLite create its own.
		return sqlite3.AUTH_OK
	case strings.HasPrefix(strings.ToLower(name), "sqlite_"):
		return a.refuse("table", "table %q is SQLite's own", name)
	}
	if a.changed == nil {
		a.changed, a.created, a.dropped = map[string]bool{}, map[string]bool{}, map[string]bool{}
	}
	if a.tables == nil {
		a.tables = map[string]bool{}
	}
	key := strings.ToLower(name)
	t := name
	switch {
	case how == "create":
		if existing := a.schema.Lookup(name, true); existing != nil {
			t = existing.Name // IF NOT EXISTS, or SQLite refuses
		}
		a.created[key] = true
	case a.created[key]:
		// An index of the table the statement creates (UNIQUE, PRIMARY KEY).
		for c := range a.changed {
			if strings.EqualFold(c, name) {
				t = c
			}
		}
	default:
		tbl := a.table(name, schema)
		if tbl == nil {
			return sqlite3.AUTH_DENY
		}
		t = tbl.Name
		if how == "drop" {
			a.dropped[key] = true
		}
	}
	if a.allowed != nil && !a.allowed[sqlscope.AllOf(t)] {
		return a.refuse("table", "table %q was not allowed for this call", t)
	}
	a.changed[t] = true
	a.tables[t] = true
	return sqlite3.AUTH_OK
}

// analyzeDDL compiles a DDL statement on a read-write connection, without
// running it, and analyses it.
func (d *sqliteDB) analyzeDDL(sql string, schema *sqlscope.Schema) (*sqlscope.Analysis, error) {
	c, err := d.connect(false)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	// ddl lets SQLite's ALTER TABLE compile its quick_check of the table.
	a := &sqliteAuth{schema: schema, ddl: true}
	st, err := a.prepare(c, sql)
	if err != nil {
		return nil, err
	}
	st.Close()
	if !a.isDDL() {
		return nil, sqlscope.Refuse("statement-kind", "the statement compiles differently on a read-write connection")
	}
	return a.ddlAnalysis(sql)
}

// ddlAnalysis completes the analysis of a DDL statement.
func (a *sqliteAuth) ddlAnalysis(sql string) (*sqlscope.Analysis, error) {
	switch {
	case a.create && a.selected:
		return nil, sqlscope.Refuse("clause", "CREATE TABLE … AS SELECT is not allowed; create the table, then INSERT … SELECT")
	case a.insert || a.update || a.delet || len(a.reads) > 0 || len(a.writes) > 0:
		return nil, sqlscope.Refuse("clause", "a DDL statement may not read or change rows of other tables")
	}
	toks, err := sqliteTokens(sql)
	if err != nil {
		return nil, err
	}
	changed := maps.Clone(a.changed)
	if a.renamesTable {
		name, err := renameTarget(toks)
		if err != nil {
			return nil, err
		}
		if strings.HasPrefix(strings.ToLower(name), "sqlite_") {
			return nil, sqlscope.Refuse("table", "table %q is SQLite's own", name)
		}
		if t := a.schema.Lookup(name, true); t != nil {
			name = t.Name
		}
		changed[name] = true
	}
	an := &sqlscope.Analysis{Kind: sqlscope.DDL}
	tables := maps.Clone(changed)
	refs, err := sqliteReferences(toks)
	if err != nil {
		return nil, err
	}
	for _, fk := range refs {
		if a.isChanged(fk.table) {
			continue // the table refers to itself
		}
		t := a.schema.Lookup(fk.table, true)
		if t == nil {
			return nil, sqlscope.Refuse("table", "table %q is not in this resource's scope", fk.table)
		}
		tables[t.Name] = true
		for _, c := range fk.columns {
			name := t.Column(c, true)
			if name == "" {
				return nil, sqlscope.Refuse("column", "column %q of table %q is not in this resource's scope", c, t.Name)
			}
			an.Reads = append(an.Reads, sqlscope.Ref{Table: t.Name, Column: name})
		}
	}
	for t := range changed {
		an.Writes = append(an.Writes, sqlscope.AllOf(t))
	}
	an.Reads, an.Writes = sqlscope.Normalize(an.Reads), sqlscope.Normalize(an.Writes)
	an.Tables = slices.Sorted(maps.Keys(tables))
	return an, nil
}

// sqliteToken is a token of SQLite's grammar, as far as Warden reads it.
type sqliteToken struct {
	text  string // an identifier's or string's value, else the token as written
	word  bool   // a bare word: a keyword or an unquoted identifier
	ident bool   // a name: a bare word or a quoted identifier or string
}

// sqliteTokens splits a statement as SQLite's tokenizer does into words,
// quoted names, strings and single characters, and drops whitespace and
// comments.
func sqliteTokens(sql string) ([]sqliteToken, error) {
	var out []sqliteToken
	idChar := func(c byte) bool {
		return c >= 0x80 || c == '_' || c == '$' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
	}
	n := len(sql)
	for i := 0; i < n; {
		c := sql[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '-' && i+1 < n && sql[i+1] == '-':
			if j := strings.IndexByte(sql[i:], '\n'); j >= 0 {
				i += j + 1
			} else {
				i = n
			}
		case c == '/' && i+1 < n && sql[i+1] == '*':
			if j := strings.Index(sql[i+2:], "*/"); j >= 0 {
				i += j + 4
			} else {
				i = n // SQLite ends an unterminated comment at the end
			}
		case c == '\'' || c == '"' || c == '`' || c == '[':
			end := c
			if c == '[' {
				end = ']'
			}
			var b strings.Builder
			j := i + 1
			for ; j < n; j++ {
				if sql[j] == end {
					if end != ']' && j+1 < n && sql[j+1] == end {
						b.WriteByte(end)
						j++
						continue
					}
					break
				}
				b.WriteByte(sql[j])
			}
			if j >= n {
				return nil, sqlscope.Refuse("parse", "unterminated quote")
			}
			out = append(out, sqliteToken{text: b.String(), ident: true})
			i = j + 1
		case idChar(c) && !('0' <= c && c <= '9'):
			j := i
			for j < n && idChar(sql[j]) {
				j++
			}
			out = append(out, sqliteToken{text: sql[i:j], word: true, ident: true})
			i = j
		case idChar(c):
			j := i
			for j < n && (idChar(sql[j]) || sql[j] == '.') {
				j++
			}
			out = append(out, sqliteToken{text: sql[i:j]})
			i = j
		default:
			out = append(out, sqliteToken{text: string(c)})
			i++
		}
	}
	for len(out) > 0 && out[len(out)-1].text == ";" && !out[len(out)-1].ident {
		out = out[:len(out)-1]
	}
	return out, nil
}

func (t sqliteToken) is(word string) bool { return t.word && strings.EqualFold(t.text, word) }

// renameTarget reads the new name of ALTER TABLE [schema.]t RENAME TO new.
func renameTarget(toks []sqliteToken) (string, error) {
	bad := sqlscope.Refuse("clause", "write the rename as ALTER TABLE t RENAME TO new_name")
	i := 0
	next := func() (sqliteToken, bool) {
		if i >= len(toks) {
			return sqliteToken{}, false
		}
		i++
		return toks[i-1], true
	}
	for _, w := range []string{"ALTER", "TABLE"} {
		if t, ok := next(); !ok || !t.is(w) {
			return "", bad
		}
	}
	if t, ok := next(); !ok || !t.ident {
		return "", bad
	}
	if i < len(toks) && toks[i].text == "." && !toks[i].ident {
		i++
		if t, ok := next(); !ok || !t.ident {
			return "", bad
		}
	}
	for _, w := range []string{"RENAME", "TO"} {
		if t, ok := next(); !ok || !t.is(w) {
			return "", bad
		}
	}
	t, ok := next()
	if !ok || !t.ident || i != len(toks) {
		return "", bad
	}
	return t.text, nil
}

// sqliteFK is one REFERENCES clause: the table and the columns named.
type sqliteFK struct {
	table   string
	columns []string
}

// sqliteReferences finds every REFERENCES clause. The referenced columns
// must be listed.
func sqliteReferences(toks []sqliteToken) ([]sqliteFK, error) {
	var out []sqliteFK
	for i := 0; i < len(toks); i++ {
		if !toks[i].is("REFERENCES") {
			continue
		}
		if i+1 >= len(toks) || !toks[i+1].ident {
			return nil, sqlscope.Refuse("clause", "REFERENCES without a table")
		}
		fk := sqliteFK{table: toks[i+1].text}
		i += 2
		if i >= len(toks) || toks[i].text != "(" || toks[i].ident {
			return nil, sqlscope.Refuse("clause", "name the referenced columns: REFERENCES %s (column, …)", fk.table)
		}
		for i++; ; i += 2 {
			if i+1 >= len(toks) || !toks[i].ident {
				return nil, sqlscope.Refuse("clause", "REFERENCES %s needs a list of column names", fk.table)
			}
			fk.columns = append(fk.columns, toks[i].text)
			if sep := toks[i+1]; sep.ident || sep.text != "," && sep.text != ")" {
				return nil, sqlscope.Refuse("clause", "REFERENCES %s needs a list of column names", fk.table)
			} else if sep.text == ")" {
				i++
				break
			}
		}
		out = append(out, fk)
	}
	return out, nil
}

// sqliteSchemaState is what DDL can change: each row of sqlite_schema, and
// the foreign keys of the tables a statement changes.
type sqliteSchemaState struct {
	objects map[string][2]string // "type name" (lower case) → tbl_name, sql
	fks     map[[2]string]int    // (lower-case target table, target column) → count
}

func sqliteState(c *sqlite3.Conn, tables map[string]bool) (*sqliteSchemaState, error) {
	s := &sqliteSchemaState{objects: map[string][2]string{}, fks: map[[2]string]int{}}
	st, _, err := c.Prepare(`SELECT type, name, tbl_name, coalesce(sql, '') FROM main.sqlite_schema`)
	if err != nil {
		return nil, err
	}
	var names []string
	for st.Step() {
		typ, name := st.ColumnText(0), st.ColumnText(1)
		s.objects[typ+" "+strings.ToLower(name)] = [2]string{st.ColumnText(2), st.ColumnText(3)}
		if typ == "table" && tables[strings.ToLower(name)] {
			names = append(names, name)
		}
	}
	if err := errors.Join(st.Err(), st.Close()); err != nil {
		return nil, err
	}
	for _, name := range names {
		st, _, err := c.Prepare(`SELECT "table", coalesce("to", '') FROM pragma_foreign_key_list(?)`)
		if err != nil {
			return nil, err
		}
		st.BindText(1, name)
		for st.Step() {
			s.fks[[2]string{strings.ToLower(st.ColumnText(0)), strings.ToLower(st.ColumnText(1))}]++
		}
		if err := errors.Join(st.Err(), st.Close()); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// checkDDLEffects compares SQLite's schema before and after a DDL
// statement with what the policy allowed: every object that changed
// belongs to a table the statement may change, and every new foreign key
// refers to a column the statement may read (or a table it may change).
func checkDDLEffects(before, after *sqliteSchemaState, an *sqlscope.Analysis) error {
	changes, reads := map[string]bool{}, map[[2]string]bool{}
	for _, w := range an.Writes {
		changes[strings.ToLower(w.Table)] = true
	}
	for _, r := range an.Reads {
		reads[[2]string{strings.ToLower(r.Table), strings.ToLower(r.Column)}] = true
	}
	refuse := func(format string, v ...any) error {
		return core.Errorf("sql.ddl", core.KindDenied, core.ReasonSQLRefused, "The statement was refused and rolled back: "+format+".", v...)
	}
	keys := slices.Sorted(maps.Keys(before.objects))
	for k := range after.objects {
		if _, ok := before.objects[k]; !ok {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		b, inBefore := before.objects[k]
		af, inAfter := after.objects[k]
		if inBefore && inAfter && b == af {
			continue
		}
		for _, o := range [][2]string{b, af} {
			if t := strings.ToLower(o[0]); t != "" && !changes[t] && t != "sqlite_sequence" {
				return refuse("it would also change %q, which this call may not change", o[0])
			}
		}
	}
	for fk, n := range after.fks {
		if n <= before.fks[fk] || changes[fk[0]] || reads[fk] {
			continue
		}
		return refuse("it would add a foreign key to %q that this call may not refer to; name the referenced columns", fk[0])
	}
	return nil
}

// ddl runs a DDL statement on a read-write connection in BEGIN IMMEDIATE,
// with the authorizer enforcing the tables the policy allowed, checks its
// effect on SQLite's schema, and commits unless dryRun.
func (d *sqliteDB) ddl(ctx context.Context, s *statement, dryRun bool, lim limits) error {
	ctx, cancel := context.WithTimeout(ctx, lim.timeout)
	defer cancel()
	d.rwMu.Lock()
	defer d.rwMu.Unlock()
	c, err := d.connect(false)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetInterrupt(ctx)
	if err := c.Exec("BEGIN IMMEDIATE"); err != nil {
		return sqliteError(ctx, err)
	}
	err = func() error {
		tables := map[string]bool{}
		for _, w := range s.analysis.Writes {
			tables[strings.ToLower(w.Table)] = true
		}
		before, err := sqliteState(c, tables)
		if err != nil {
			return sqliteError(ctx, err)
		}
		st, err := enforce(s.schema, s.analysis).prepare(c, s.sql)
		if err != nil {
			return err
		}
		err = st.Exec()
		st.Close()
		c.SetAuthorizer(nil)
		if err != nil {
			return sqliteError(ctx, err)
		}
		after, err := sqliteState(c, tables)
		if err != nil {
			return sqliteError(ctx, err)
		}
		return checkDDLEffects(before, after, s.analysis)
	}()
	c.SetAuthorizer(nil)
	c.SetInterrupt(context.Background())
	if err != nil || dryRun {
		return errors.Join(err, c.Exec("ROLLBACK"))
	}
	if err := c.Exec("COMMIT"); err != nil {
		return errors.Join(sqliteError(ctx, err), c.Exec("ROLLBACK"))
	}
	return nil
}
