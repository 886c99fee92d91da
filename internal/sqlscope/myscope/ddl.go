package myscope

import (
	"fmt"
	"slices"
	"strings"

	"vitess.io/vitess/go/vt/sqlparser"

	"github.com/warden-dev/warden/internal/sqlscope"
)

// DDL is allowed on tables of the current database only, in these forms;
// other DDL is a "statement-kind" refusal and an unlisted clause of an
// allowed form a "clause" refusal:
//
//   - CREATE TABLE t (columns, indexes and constraints): plain column
//     types, NULL/NOT NULL, DEFAULT (an expression that names no
//     column), ON UPDATE, AUTO_INCREMENT, PRIMARY KEY, UNIQUE, KEY, CHECK,
//     FOREIGN KEY … REFERENCES u (columns); table options ENGINE=InnoDB,
//     CHARSET, COLLATE, COMMENT, AUTO_INCREMENT. No TEMPORARY, LIKE,
//     SELECT, PARTITION, generated columns, FULLTEXT or SPATIAL keys, and
//     no other table option (DATA DIRECTORY, CONNECTION, UNION, …).
//   - ALTER TABLE t ADD/DROP/RENAME/MODIFY/CHANGE COLUMN, ALTER COLUMN
//     SET/DROP DEFAULT, ADD/DROP INDEX, KEY, CONSTRAINT, CHECK, FOREIGN
//     KEY, PRIMARY KEY, RENAME INDEX, RENAME TO; CREATE [UNIQUE] INDEX i
//     ON t (…) and DROP INDEX i ON t, which vitess reads as ALTER TABLE.
//   - DROP TABLE t, …; TRUNCATE [TABLE] t; RENAME TABLE t TO u, ….
//
// Each table the statement changes is written as a whole
// ([sqlscope.AllOf]); a foreign key's target table is named and its
// referenced columns read. New table names (CREATE TABLE, RENAME) must be
// lower case: servers with lower_case_table_names 0 and 1 would create
// different tables otherwise.

func refuseDDLKind() error {
	return sqlscope.Refuse("statement-kind", "only DDL on tables is allowed: CREATE/ALTER/DROP/TRUNCATE/RENAME TABLE, CREATE INDEX and DROP INDEX … ON a table")
}

// ddl analyses a DDL statement.
func (a *analysis) ddl(stmt sqlparser.Statement) error {
	a.inDDL = true
	var err error
	switch s := stmt.(type) {
	case *sqlparser.CreateTable:
		err = a.createTable(s)
	case *sqlparser.AlterTable:
		err = a.alterTable(s)
	case *sqlparser.DropTable:
		err = a.dropTable(s)
	case *sqlparser.TruncateTable:
		err = a.change(s.Table)
	case *sqlparser.RenameTable:
		err = a.renameTable(s)
	default:
		return refuseDDLKind()
	}
	if err != nil {
		return err
	}
	// Reads of a changed table are covered by its write as a whole.
	for r := range a.reads {
		if _, ok := a.writes[sqlscope.AllOf(r.Table)]; ok {
			delete(a.reads, r)
		}
	}
	return nil
}

// change resolves a table of the schema the statement changes.
func (a *analysis) change(tn sqlparser.TableName) error {
	if !tn.Qualifier.IsEmpty() {
		return refuseQualified()
	}
	t, err := a.table(tn.Name.String())
	if err != nil {
		return err
	}
	a.changed(t.Name)
	return nil
}

func (a *analysis) changed(name string) {
	a.tables[name] = struct{}{}
	a.writes[sqlscope.AllOf(name)] = struct{}{}
}

// newName checks a table name the statement creates and returns it as
// the schema spells it when the table exists already.
func (a *analysis) newName(tn sqlparser.TableName) (string, error) {
	if !tn.Qualifier.IsEmpty() {
		return "", refuseQualified()
	}
	name := tn.Name.String()
	if t := a.schema.Lookup(name, false); t != nil {
		return t.Name, nil
	}
	if name != strings.ToLower(name) {
		return "", sqlscope.Refuse("table", "write the new table name %q in lower case: MySQL servers differ in whether table names keep their letter case", name)
	}
	if a.schema.Lookup(name, true) != nil {
		return "", sqlscope.Refuse("table", "table %q differs only in letter case from a table of the schema", name)
	}
	return name, nil
}

func (a *analysis) createTable(s *sqlparser.CreateTable) error {
	switch {
	case !s.FullyParsed:
		return sqlscope.Refuse("parse", "the statement could not be parsed as MySQL; check the syntax")
	case s.Temp:
		return sqlscope.Refuse("clause", "TEMPORARY tables are not allowed")
	case s.OptLike != nil:
		return sqlscope.Refuse("clause", "CREATE TABLE … LIKE is not allowed; list the columns")
	case s.Select != nil || s.IgnoreOrReplace != sqlparser.NoIgnoreOrReplace:
		return sqlscope.Refuse("clause", "CREATE TABLE … SELECT is not allowed; create the table, then INSERT … SELECT")
	case s.TableSpec == nil:
		return sqlscope.Refuse("clause", "CREATE TABLE needs a column list")
	case s.TableSpec.PartitionOption != nil:
		return sqlscope.Refuse("clause", "partitioned tables are not allowed")
	}
	name, err := a.newName(s.Table)
	if err != nil {
		return err
	}
	spec := s.TableSpec
	// The table as the statement defines it: CHECK constraints and key
	// expressions see its columns.
	t := &sqlscope.Table{Name: name}
	for _, c := range spec.Columns {
		t.Columns = append(t.Columns, sqlscope.Column{Name: c.Name.String()})
	}
	for _, c := range spec.Columns {
		if err := a.columnDef(t, c); err != nil {
			return err
		}
	}
	for _, i := range spec.Indexes {
		if err := a.indexDef(t, i); err != nil {
			return err
		}
	}
	for _, c := range spec.Constraints {
		if err := a.constraintDef(t, c); err != nil {
			return err
		}
	}
	if err := tableOptions(spec.Options); err != nil {
		return err
	}
	a.changed(name)
	return nil
}

// columnTypes are the plain MySQL column types.
var columnTypes = setOf(
	"tinyint", "smallint", "mediumint", "int", "integer", "bigint",
	"decimal", "dec", "numeric", "fixed", "float", "double", "real", "bit", "bool", "boolean",
	"date", "datetime", "timestamp", "time", "year",
	"char", "varchar", "binary", "varbinary", "tinytext", "text", "mediumtext", "longtext",
	"tinyblob", "blob", "mediumblob", "longblob", "enum", "set", "json",
)

// tableScope is the scope of a CHECK constraint or key expression of t.
func tableScope(t *sqlscope.Table) *ctx {
	return &ctx{sc: &scope{rels: []*relation{baseRelation(t.Name, t)}}}
}

// hasColumn reports whether t has a column, comparing as MySQL does.
func hasColumn(t *sqlscope.Table, name string) error {
	if name == "" || t.Column(name, true) == "" {
		return sqlscope.Refuse("column", "column %q of table %q is not in this resource's scope", name, t.Name)
	}
	return nil
}

// columnDef checks a column definition of table t, whose columns include
// the one defined.
func (a *analysis) columnDef(t *sqlscope.Table, cd *sqlparser.ColumnDefinition) error {
	ct := cd.Type
	if ct == nil || !columnTypes[strings.ToLower(ct.Type)] {
		typ := ""
		if ct != nil {
			typ = ct.Type
		}
		return sqlscope.Refuse("function", "column type %q is not allowed: use a plain numeric, date, string, ENUM, SET or JSON type", typ)
	}
	o := ct.Options
	if o == nil {
		return nil
	}
	switch {
	case o.As != nil:
		return sqlscope.Refuse("clause", "generated columns are not allowed")
	case o.Format != sqlparser.UnspecifiedFormat || o.EngineAttribute != nil || o.SecondaryEngineAttribute != nil || o.SRID != nil:
		return sqlscope.Refuse("clause", "column storage options are not allowed")
	case o.KeyOpt == sqlparser.ColKeySpatialKey || o.KeyOpt == sqlparser.ColKeyFulltextKey:
		return sqlscope.Refuse("clause", "FULLTEXT and SPATIAL keys are not allowed")
	}
	if o.Default != nil {
		if err := a.defaultExpr(o.Default); err != nil {
			return err
		}
	}
	if o.OnUpdate != nil {
		if err := a.defaultExpr(o.OnUpdate); err != nil {
			return err
		}
	}
	if o.Reference != nil {
		return a.references(t, o.Reference)
	}
	return nil
}

// defaultExpr allows a DEFAULT or ON UPDATE that names no column and calls
// only allowlisted functions.
func (a *analysis) defaultExpr(e sqlparser.Expr) error {
	return a.expr(e, &ctx{sc: &scope{}})
}

func (a *analysis) indexDef(t *sqlscope.Table, d *sqlparser.IndexDefinition) error {
	if d.Info == nil {
		return unknown(d)
	}
	switch d.Info.Type {
	case sqlparser.IndexTypeDefault, sqlparser.IndexTypePrimary, sqlparser.IndexTypeUnique:
	default:
		return sqlscope.Refuse("clause", "FULLTEXT and SPATIAL keys are not allowed")
	}
	for _, c := range d.Columns {
		switch {
		case c.Expression != nil && c.Column.IsEmpty():
			if err := a.expr(c.Expression, tableScope(t)); err != nil {
				return err
			}
		case c.Expression == nil:
			if err := hasColumn(t, c.Column.String()); err != nil {
				return err
			}
		default:
			return unknown(c)
		}
	}
	for _, o := range d.Options {
		switch strings.ToUpper(o.Name) {
		case "USING":
			if m := strings.ToUpper(o.String); m != "BTREE" && m != "HASH" {
				return sqlscope.Refuse("clause", "index method %q is not allowed", o.String)
			}
		case "COMMENT", "VISIBLE", "INVISIBLE":
		default:
			return sqlscope.Refuse("clause", "index option %s is not allowed", o.Name)
		}
	}
	return nil
}

func (a *analysis) constraintDef(t *sqlscope.Table, c *sqlparser.ConstraintDefinition) error {
	switch d := c.Details.(type) {
	case *sqlparser.ForeignKeyDefinition:
		for _, col := range d.Source {
			if err := hasColumn(t, col.String()); err != nil {
				return err
			}
		}
		if d.ReferenceDefinition == nil {
			return unknown(d)
		}
		return a.references(t, d.ReferenceDefinition)
	case *sqlparser.CheckConstraintDefinition:
		return a.expr(d.Expr, tableScope(t))
	}
	return unknown(c.Details)
}

// references names a foreign key's target table and reads the referenced
// columns, which must be listed: an inserted row then tells whether a key
// exists.
func (a *analysis) references(t *sqlscope.Table, rd *sqlparser.ReferenceDefinition) error {
	tn := rd.ReferencedTable
	if !tn.Qualifier.IsEmpty() {
		return refuseQualified()
	}
	if len(rd.ReferencedColumns) == 0 {
		return sqlscope.Refuse("clause", "name the referenced columns: REFERENCES %s (column, …)", tn.Name.String())
	}
	target := t
	if name := tn.Name.String(); name != t.Name {
		var err error
		if target, err = a.table(name); err != nil {
			return err
		}
	}
	for _, c := range rd.ReferencedColumns {
		if err := hasColumn(target, c.String()); err != nil {
			return err
		}
		if target != t {
			a.reads[sqlscope.Ref{Table: target.Name, Column: target.Column(c.String(), true)}] = struct{}{}
		}
	}
	return nil
}

// tableOptions allows the options that do not choose where or how the
// table is stored, and ENGINE=InnoDB.
func tableOptions(opts sqlparser.TableOptions) error {
	for _, o := range opts {
		switch strings.ToUpper(o.Name) {
		case "ENGINE":
			if !strings.EqualFold(o.String, "InnoDB") {
				return sqlscope.Refuse("clause", "ENGINE=%s is not allowed; only InnoDB is", o.String)
			}
		case "CHARSET", "CHARACTER SET", "DEFAULT CHARSET", "DEFAULT CHARACTER SET", "COLLATE", "DEFAULT COLLATE", "COMMENT", "AUTO_INCREMENT":
		default:
			return sqlscope.Refuse("clause", "table option %s is not allowed", o.Name)
		}
	}
	return nil
}

func (a *analysis) alterTable(s *sqlparser.AlterTable) error {
	switch {
	case !s.FullyParsed:
		return sqlscope.Refuse("parse", "the statement could not be parsed as MySQL; check the syntax")
	case s.PartitionSpec != nil || s.PartitionOption != nil:
		return sqlscope.Refuse("clause", "partitioning is not allowed")
	case !s.Table.Qualifier.IsEmpty():
		return refuseQualified()
	}
	t, err := a.table(s.Table.Name.String())
	if err != nil {
		return err
	}
	// cur is the table as the options so far leave it.
	cur := &sqlscope.Table{Name: t.Name, Columns: slices.Clone(t.Columns)}
	colName := func(c *sqlparser.ColName) (string, error) {
		if c == nil || !c.Qualifier.IsEmpty() {
			return "", unknown(c)
		}
		return c.Name.String(), nil
	}
	rename := func(from, to string) {
		for i, c := range cur.Columns {
			if strings.EqualFold(c.Name, from) {
				cur.Columns[i].Name = to
			}
		}
	}
	for _, opt := range s.AlterOptions {
		var err error
		switch o := opt.(type) {
		case *sqlparser.AddColumns:
			for _, cd := range o.Columns {
				cur.Columns = append(cur.Columns, sqlscope.Column{Name: cd.Name.String()})
			}
			for _, cd := range o.Columns {
				if err = a.columnDef(cur, cd); err != nil {
					break
				}
			}
		case *sqlparser.DropColumn:
			var name string
			if name, err = colName(o.Name); err == nil {
				if err = hasColumn(cur, name); err == nil {
					cur.Columns = slices.DeleteFunc(cur.Columns, func(c sqlscope.Column) bool { return strings.EqualFold(c.Name, name) })
				}
			}
		case *sqlparser.RenameColumn:
			var from, to string
			if from, err = colName(o.OldName); err == nil {
				if to, err = colName(o.NewName); err == nil {
					if err = hasColumn(cur, from); err == nil {
						rename(from, to)
					}
				}
			}
		case *sqlparser.ModifyColumn:
			if err = hasColumn(cur, o.NewColDefinition.Name.String()); err == nil {
				err = a.columnDef(cur, o.NewColDefinition)
			}
		case *sqlparser.ChangeColumn:
			var from string
			if from, err = colName(o.OldColumn); err == nil {
				if err = hasColumn(cur, from); err == nil {
					rename(from, o.NewColDefinition.Name.String())
					err = a.columnDef(cur, o.NewColDefinition)
				}
			}
		case *sqlparser.AlterColumn:
			var name string
			if name, err = colName(o.Column); err == nil {
				if err = hasColumn(cur, name); err == nil && o.DefaultVal != nil {
					err = a.defaultExpr(o.DefaultVal)
				}
			}
		case *sqlparser.AddIndexDefinition:
			err = a.indexDef(cur, o.IndexDefinition)
		case *sqlparser.AddConstraintDefinition:
			err = a.constraintDef(cur, o.ConstraintDefinition)
		case *sqlparser.DropKey, *sqlparser.RenameIndex, sqlparser.AlgorithmValue, *sqlparser.LockOption:
		case *sqlparser.RenameTableName:
			var name string
			if name, err = a.newName(o.Table); err == nil {
				a.changed(name)
			}
		case sqlparser.TableOptions:
			err = tableOptions(o)
		default:
			err = sqlscope.Refuse("clause", "ALTER TABLE … %s is not allowed", strings.TrimPrefix(fmt.Sprintf("%T", opt), "*sqlparser."))
		}
		if err != nil {
			return err
		}
	}
	a.changed(t.Name)
	return nil
}

func (a *analysis) dropTable(s *sqlparser.DropTable) error {
	if s.Temp {
		return sqlscope.Refuse("clause", "DROP TEMPORARY TABLE is not allowed")
	}
	for _, tn := range s.FromTables {
		if err := a.change(tn); err != nil {
			return err
		}
	}
	return nil
}

// renameTable analyses RENAME TABLE a TO b, …: a pair may rename a table
// an earlier pair made.
func (a *analysis) renameTable(s *sqlparser.RenameTable) error {
	made := map[string]bool{}
	for _, p := range s.TablePairs {
		from := p.FromTable.Name.String()
		if !p.FromTable.Qualifier.IsEmpty() {
			return refuseQualified()
		}
		if made[from] {
			a.changed(from)
		} else if err := a.change(p.FromTable); err != nil {
			return err
		}
		to, err := a.newName(p.ToTable)
		if err != nil {
			return err
		}
		made[to] = true
		a.changed(to)
	}
	return nil
}
