package pgscope

import (
	"slices"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"

	"github.com/warden-dev/warden/internal/sqlscope"
)

// DDL is allowed on tables of the default schema only, in the forms
// below; everything else (views, sequences, functions, triggers, schemas,
// roles, GRANT, COMMENT, …) is a "statement-kind" refusal, and a clause
// of an allowed form that is not listed is a "clause" refusal:
//
//   - CREATE TABLE t (columns and constraints): built-in column types,
//     NOT NULL, DEFAULT (an expression that names no column), CHECK,
//     PRIMARY KEY, UNIQUE, REFERENCES u (columns), GENERATED AS IDENTITY.
//     No TEMPORARY, UNLOGGED, AS, LIKE, INHERITS, OF, PARTITION,
//     TABLESPACE, USING or WITH (storage options).
//   - ALTER TABLE t ADD/DROP COLUMN, ALTER COLUMN TYPE/SET DEFAULT/DROP
//     DEFAULT/SET NOT NULL/DROP NOT NULL, ADD/DROP CONSTRAINT; ALTER TABLE
//     t RENAME TO u and RENAME COLUMN.
//   - DROP TABLE t, …; TRUNCATE t, …; CREATE [UNIQUE] INDEX ON t (…).
//
// CASCADE is refused everywhere: it changes objects the statement does
// not name. DROP INDEX is refused: it names only the index, and the
// analysis has no catalogue to tell which table it belongs to.
//
// Each table the statement changes is written as a whole ([sqlscope.AllOf]);
// a foreign key's target table is named and its referenced columns read.
// Every table but one that CREATE TABLE makes must be in the schema.

func (a *analysis) ddl(n *pg.Node) (bool, error) {
	a.inDDL = true
	var err error
	switch s := n.GetNode().(type) {
	case *pg.Node_CreateStmt:
		err = a.createTable(s.CreateStmt)
	case *pg.Node_AlterTableStmt:
		err = a.alterTable(s.AlterTableStmt)
	case *pg.Node_RenameStmt:
		err = a.rename(s.RenameStmt)
	case *pg.Node_DropStmt:
		err = a.drop(s.DropStmt)
	case *pg.Node_TruncateStmt:
		err = a.truncate(s.TruncateStmt)
	case *pg.Node_IndexStmt:
		err = a.createIndex(s.IndexStmt)
	default:
		a.inDDL = false
		return false, nil
	}
	if err != nil {
		return true, err
	}
	// Reads of a changed table are covered by its write as a whole.
	for r := range a.reads {
		if _, ok := a.writes[sqlscope.AllOf(r.Table)]; ok {
			delete(a.reads, r)
		}
	}
	return true, nil
}

// change records a table the statement changes.
func (a *analysis) change(name string) {
	a.tables[name] = struct{}{}
	a.writes[sqlscope.AllOf(name)] = struct{}{}
}

// existing resolves a table the statement changes, which must be in the
// schema.
func (a *analysis) existing(rv *pg.RangeVar) (*sqlscope.Table, error) {
	if rv == nil {
		return nil, sqlscope.Refuse("clause", "statement without a table")
	}
	if err := a.checkQualifier(rv); err != nil {
		return nil, err
	}
	if rv.Alias != nil {
		return nil, sqlscope.Refuse("clause", "an alias is not allowed here")
	}
	return a.table(rv.Relname)
}

// tableLevel is a query level whose only item is t, for the expressions
// of CHECK constraints, indexes and USING, which see t's columns.
func tableLevel(t *sqlscope.Table) *level {
	r, _ := baseRel(t, nil)
	return &level{items: []item{targetItem(r)}}
}

func refuseCascade() error {
	return sqlscope.Refuse("clause", "CASCADE is not allowed: it changes objects the statement does not name; drop or change them one by one")
}

func (a *analysis) createTable(s *pg.CreateStmt) error {
	rv := s.Relation
	if rv == nil {
		return sqlscope.Refuse("clause", "CREATE TABLE without a name")
	}
	if err := a.checkQualifier(rv); err != nil {
		return err
	}
	switch {
	case rv.Relpersistence != "p":
		return sqlscope.Refuse("clause", "TEMPORARY and UNLOGGED tables are not allowed")
	case len(s.InhRelations) > 0:
		return sqlscope.Refuse("clause", "INHERITS is not allowed")
	case s.Partbound != nil || s.Partspec != nil:
		return sqlscope.Refuse("clause", "partitioned tables and partitions are not allowed")
	case s.OfTypename != nil:
		return sqlscope.Refuse("clause", "CREATE TABLE … OF a type is not allowed")
	case len(s.Options) > 0 || s.Tablespacename != "" || s.AccessMethod != "":
		return sqlscope.Refuse("clause", "storage options (WITH, TABLESPACE, USING) are not allowed")
	case s.Oncommit != pg.OnCommitAction_ONCOMMIT_NOOP:
		return sqlscope.Refuse("clause", "ON COMMIT is not allowed")
	case len(s.Constraints) > 0:
		return sqlscope.Refuse("clause", "this form of CREATE TABLE is not supported")
	}
	// The table as the statement defines it: CHECK constraints see its
	// columns.
	t := &sqlscope.Table{Name: rv.Relname}
	var cols []*pg.ColumnDef
	var cons []*pg.Constraint
	for _, n := range s.TableElts {
		switch x := n.GetNode().(type) {
		case *pg.Node_ColumnDef:
			cols = append(cols, x.ColumnDef)
			t.Columns = append(t.Columns, sqlscope.Column{Name: x.ColumnDef.Colname})
		case *pg.Node_Constraint:
			cons = append(cons, x.Constraint)
		case *pg.Node_TableLikeClause:
			return sqlscope.Refuse("clause", "CREATE TABLE … (LIKE …) is not allowed; list the columns")
		default:
			return refuseNode(n)
		}
	}
	for _, cd := range cols {
		if err := a.columnDef(t, cd); err != nil {
			return err
		}
	}
	for _, c := range cons {
		if err := a.constraint(t, c, ""); err != nil {
			return err
		}
	}
	a.change(t.Name)
	return nil
}

// columnDef checks a column of CREATE TABLE or ALTER TABLE ADD COLUMN; t
// holds the table's columns, the new one included.
func (a *analysis) columnDef(t *sqlscope.Table, cd *pg.ColumnDef) error {
	if cd.Colname == "" {
		return sqlscope.Refuse("clause", "a column without a name")
	}
	if systemColumns[cd.Colname] {
		return refuseSystem(cd.Colname)
	}
	switch {
	case cd.Compression != "" || cd.Storage != "" || cd.StorageName != "" || len(cd.Fdwoptions) > 0:
		return sqlscope.Refuse("clause", "column storage, compression and foreign-data options are not allowed")
	case cd.RawDefault != nil || cd.CookedDefault != nil || cd.Identity != "" || cd.IdentitySequence != nil || cd.Generated != "" || cd.IsFromType:
		return sqlscope.Refuse("clause", "this form of column definition is not supported")
	}
	if err := columnType(cd.TypeName); err != nil {
		return err
	}
	if cd.CollClause != nil {
		if err := checkCollation(cd.CollClause.Collname); err != nil {
			return err
		}
	}
	for _, n := range cd.Constraints {
		c := n.GetConstraint()
		if c == nil {
			return refuseNode(n)
		}
		if err := a.constraint(t, c, cd.Colname); err != nil {
			return err
		}
	}
	return nil
}

// serialTypes are the pseudo-types that make an integer column with a
// sequence the table owns.
var serialTypes = map[string]bool{"serial": true, "serial2": true, "serial4": true, "serial8": true, "smallserial": true, "bigserial": true}

// columnType allows the built-in scalar types a cast may name, their
// arrays, and serial.
func columnType(tn *pg.TypeName) error {
	if tn == nil {
		return sqlscope.Refuse("clause", "a column without a type")
	}
	if tn.Setof || tn.PctType {
		return sqlscope.Refuse("clause", "SETOF and %%TYPE are not allowed")
	}
	parts, err := strs(tn.Names)
	if err != nil {
		return err
	}
	if len(parts) == 0 || len(parts) > 2 || (len(parts) == 2 && parts[0] != "pg_catalog") {
		return sqlscope.Refuse("function", "type %s is not allowed: only built-in scalar types may be used", strings.Join(parts, "."))
	}
	name := parts[len(parts)-1]
	if !allowedTypes[name] && !(len(parts) == 1 && serialTypes[name]) {
		return sqlscope.Refuse("function", "type %q is not allowed: only built-in scalar types (and serial) may be used", name)
	}
	for _, m := range tn.Typmods {
		if m.GetAConst() == nil {
			return sqlscope.Refuse("clause", "a type modifier must be a constant")
		}
	}
	return nil
}

// constraint checks a column constraint (column names the column) or a
// table constraint (column is "") of table t.
func (a *analysis) constraint(t *sqlscope.Table, c *pg.Constraint, column string) error {
	switch {
	case len(c.Including) > 0 || len(c.Options) > 0 || c.Indexname != "" || c.Indexspace != "" || c.AccessMethod != "" || c.WhereClause != nil:
		return sqlscope.Refuse("clause", "constraint options (INCLUDE, WITH, USING INDEX, TABLESPACE, WHERE) are not allowed")
	case c.CookedExpr != "" || len(c.OldConpfeqop) > 0 || c.OldPktableOid != 0:
		return sqlscope.Refuse("clause", "this form of constraint is not supported")
	}
	if err := columnsOf(t, c.Keys); err != nil {
		return err
	}
	switch c.Contype {
	case pg.ConstrType_CONSTR_NULL, pg.ConstrType_CONSTR_NOTNULL, pg.ConstrType_CONSTR_PRIMARY, pg.ConstrType_CONSTR_UNIQUE,
		pg.ConstrType_CONSTR_IDENTITY,
		pg.ConstrType_CONSTR_ATTR_DEFERRABLE, pg.ConstrType_CONSTR_ATTR_NOT_DEFERRABLE,
		pg.ConstrType_CONSTR_ATTR_DEFERRED, pg.ConstrType_CONSTR_ATTR_IMMEDIATE:
		if c.RawExpr != nil {
			return refuseNode(c.RawExpr)
		}
		return nil
	case pg.ConstrType_CONSTR_DEFAULT:
		if column == "" {
			return sqlscope.Refuse("clause", "DEFAULT belongs to a column")
		}
		return a.defaultExpr(c.RawExpr)
	case pg.ConstrType_CONSTR_CHECK:
		return a.expr(tableLevel(t), c.RawExpr)
	case pg.ConstrType_CONSTR_FOREIGN:
		return a.foreignKey(t, c)
	case pg.ConstrType_CONSTR_GENERATED:
		return sqlscope.Refuse("clause", "generated columns are not allowed")
	case pg.ConstrType_CONSTR_EXCLUSION:
		return sqlscope.Refuse("clause", "EXCLUDE constraints are not allowed")
	}
	return sqlscope.Refuse("clause", "this kind of constraint is not supported")
}

// defaultExpr allows a DEFAULT that names no column and calls only
// allowlisted functions (so no nextval: sequences stay out of reach).
func (a *analysis) defaultExpr(n *pg.Node) error {
	if n == nil {
		return sqlscope.Refuse("clause", "DEFAULT without a value")
	}
	return a.expr(&level{}, n)
}

// columnsOf checks that names (String nodes) are columns of t.
func columnsOf(t *sqlscope.Table, names []*pg.Node) error {
	cols, err := strs(names)
	if err != nil {
		return err
	}
	for _, c := range cols {
		if t.Column(c, false) == "" {
			return sqlscope.Refuse("column", "column %q of table %q is not in this resource's scope", c, t.Name)
		}
	}
	return nil
}

// foreignKey names the referenced table and reads the referenced columns,
// which must be listed: an inserted row then tells whether a key exists.
func (a *analysis) foreignKey(t *sqlscope.Table, c *pg.Constraint) error {
	pk := c.Pktable
	if pk == nil {
		return sqlscope.Refuse("clause", "REFERENCES without a table")
	}
	if err := a.checkQualifier(pk); err != nil {
		return err
	}
	if err := columnsOf(t, c.FkAttrs); err != nil {
		return err
	}
	if err := columnsOf(t, c.FkDelSetCols); err != nil {
		return err
	}
	if len(c.PkAttrs) == 0 {
		return sqlscope.Refuse("clause", "name the referenced columns: REFERENCES %s (column, …)", pk.Relname)
	}
	if pk.Relname == t.Name {
		return columnsOf(t, c.PkAttrs)
	}
	ref, err := a.table(pk.Relname)
	if err != nil {
		return err
	}
	if err := columnsOf(ref, c.PkAttrs); err != nil {
		return err
	}
	cols, _ := strs(c.PkAttrs)
	for _, col := range cols {
		a.read(sqlscope.Ref{Table: ref.Name, Column: col})
	}
	return nil
}

func (a *analysis) alterTable(s *pg.AlterTableStmt) error {
	if s.Objtype != pg.ObjectType_OBJECT_TABLE {
		return sqlscope.Refuse("statement-kind", "only ALTER TABLE is allowed, not ALTER of an index, view, sequence or other object")
	}
	t, err := a.existing(s.Relation)
	if err != nil {
		return err
	}
	// cur is the table as the commands so far leave it.
	cur := &sqlscope.Table{Name: t.Name, Columns: slices.Clone(t.Columns)}
	column := func(name string) error {
		if cur.Column(name, false) == "" {
			return sqlscope.Refuse("column", "column %q of table %q is not in this resource's scope", name, cur.Name)
		}
		return nil
	}
	for _, n := range s.Cmds {
		cmd := n.GetAlterTableCmd()
		if cmd == nil {
			return refuseNode(n)
		}
		if cmd.Behavior == pg.DropBehavior_DROP_CASCADE {
			return refuseCascade()
		}
		if cmd.Newowner != nil || cmd.Num != 0 {
			return sqlscope.Refuse("clause", "this form of ALTER TABLE is not supported")
		}
		switch cmd.Subtype {
		case pg.AlterTableType_AT_AddColumn:
			cd := cmd.Def.GetColumnDef()
			if cd == nil {
				return refuseNode(cmd.Def)
			}
			cur.Columns = append(cur.Columns, sqlscope.Column{Name: cd.Colname})
			err = a.columnDef(cur, cd)
		case pg.AlterTableType_AT_DropColumn:
			if err = column(cmd.Name); err == nil {
				cur.Columns = slices.DeleteFunc(cur.Columns, func(c sqlscope.Column) bool { return c.Name == cmd.Name })
			}
		case pg.AlterTableType_AT_AlterColumnType:
			err = a.alterType(cur, cmd)
		case pg.AlterTableType_AT_ColumnDefault:
			if err = column(cmd.Name); err == nil && cmd.Def != nil {
				err = a.defaultExpr(cmd.Def)
			}
		case pg.AlterTableType_AT_SetNotNull, pg.AlterTableType_AT_DropNotNull:
			err = column(cmd.Name)
		case pg.AlterTableType_AT_AddConstraint:
			c := cmd.Def.GetConstraint()
			if c == nil {
				return refuseNode(cmd.Def)
			}
			err = a.constraint(cur, c, "")
		case pg.AlterTableType_AT_DropConstraint:
			if cmd.Name == "" {
				err = sqlscope.Refuse("clause", "DROP CONSTRAINT without a name")
			}
		default:
			err = sqlscope.Refuse("clause", "ALTER TABLE … %s is not allowed: only ADD/DROP COLUMN, ALTER COLUMN TYPE/SET DEFAULT/DROP DEFAULT/SET NOT NULL/DROP NOT NULL, ADD/DROP CONSTRAINT and RENAME are",
				strings.TrimPrefix(cmd.Subtype.String(), "AT_"))
		}
		if err != nil {
			return err
		}
	}
	a.change(t.Name)
	return nil
}

// alterType checks ALTER COLUMN … TYPE … [COLLATE …] [USING expr].
func (a *analysis) alterType(t *sqlscope.Table, cmd *pg.AlterTableCmd) error {
	if t.Column(cmd.Name, false) == "" {
		return sqlscope.Refuse("column", "column %q of table %q is not in this resource's scope", cmd.Name, t.Name)
	}
	cd := cmd.Def.GetColumnDef()
	if cd == nil {
		return refuseNode(cmd.Def)
	}
	if cd.Colname != "" || len(cd.Constraints) > 0 || cd.Compression != "" || cd.Storage != "" || cd.StorageName != "" ||
		len(cd.Fdwoptions) > 0 || cd.CookedDefault != nil || cd.Identity != "" || cd.IdentitySequence != nil || cd.Generated != "" {
		return sqlscope.Refuse("clause", "this form of ALTER COLUMN TYPE is not supported")
	}
	if err := columnType(cd.TypeName); err != nil {
		return err
	}
	if cd.CollClause != nil {
		if err := checkCollation(cd.CollClause.Collname); err != nil {
			return err
		}
	}
	// USING computes the new value from the row.
	return a.expr(tableLevel(t), cd.RawDefault)
}

func (a *analysis) rename(s *pg.RenameStmt) error {
	switch {
	case s.RenameType == pg.ObjectType_OBJECT_TABLE:
	case s.RenameType == pg.ObjectType_OBJECT_COLUMN && s.RelationType == pg.ObjectType_OBJECT_TABLE:
	default:
		return sqlscope.Refuse("statement-kind", "only renaming a table or a column of a table is allowed")
	}
	if s.Object != nil || s.Behavior == pg.DropBehavior_DROP_CASCADE {
		return sqlscope.Refuse("clause", "this form of RENAME is not supported")
	}
	t, err := a.existing(s.Relation)
	if err != nil {
		return err
	}
	if s.Newname == "" {
		return sqlscope.Refuse("clause", "RENAME without a new name")
	}
	a.change(t.Name)
	if s.RenameType == pg.ObjectType_OBJECT_COLUMN {
		if t.Column(s.Subname, false) == "" {
			return sqlscope.Refuse("column", "column %q of table %q is not in this resource's scope", s.Subname, t.Name)
		}
		if systemColumns[s.Newname] {
			return refuseSystem(s.Newname)
		}
		return nil
	}
	// The table's new name needs the grant as much as its old one.
	a.change(s.Newname)
	return nil
}

func (a *analysis) drop(s *pg.DropStmt) error {
	switch s.RemoveType {
	case pg.ObjectType_OBJECT_TABLE:
	case pg.ObjectType_OBJECT_INDEX:
		return sqlscope.Refuse("statement-kind", "DROP INDEX is not allowed on PostgreSQL: it names only the index, and Warden cannot tell which table that changes; ALTER TABLE … DROP CONSTRAINT drops a constraint's index")
	default:
		return sqlscope.Refuse("statement-kind", "only DROP TABLE is allowed, not DROP of other objects")
	}
	if s.Behavior == pg.DropBehavior_DROP_CASCADE {
		return refuseCascade()
	}
	for _, o := range s.Objects {
		l := o.GetList()
		if l == nil {
			return refuseNode(o)
		}
		parts, err := strs(l.Items)
		if err != nil {
			return err
		}
		switch {
		case len(parts) == 2 && parts[0] != a.defaultSchema:
			return refuseSchema(parts[0], a.defaultSchema)
		case len(parts) < 1 || len(parts) > 2:
			return sqlscope.Refuse("schema", "references to another database are not allowed")
		}
		t, err := a.table(parts[len(parts)-1])
		if err != nil {
			return err
		}
		a.change(t.Name)
	}
	return nil
}

func (a *analysis) truncate(s *pg.TruncateStmt) error {
	if s.Behavior == pg.DropBehavior_DROP_CASCADE {
		return refuseCascade()
	}
	for _, n := range s.Relations {
		rv := n.GetRangeVar()
		if rv == nil {
			return refuseNode(n)
		}
		t, err := a.existing(rv)
		if err != nil {
			return err
		}
		a.change(t.Name)
	}
	return nil
}

// indexMethods are the built-in index access methods.
var indexMethods = map[string]bool{"btree": true, "hash": true, "gist": true, "gin": true, "brin": true, "spgist": true}

func (a *analysis) createIndex(s *pg.IndexStmt) error {
	switch {
	case s.Concurrent:
		return sqlscope.Refuse("clause", "CREATE INDEX CONCURRENTLY cannot run inside Warden's transaction; leave out CONCURRENTLY")
	case s.TableSpace != "" || len(s.Options) > 0:
		return sqlscope.Refuse("clause", "storage options (WITH, TABLESPACE) are not allowed")
	case len(s.ExcludeOpNames) > 0 || s.Primary || s.Isconstraint || s.Idxcomment != "" || s.IndexOid != 0 || s.OldNumber != 0:
		return sqlscope.Refuse("clause", "this form of CREATE INDEX is not supported")
	case !indexMethods[s.AccessMethod]:
		return sqlscope.Refuse("clause", "index method %q is not allowed", s.AccessMethod)
	}
	t, err := a.existing(s.Relation)
	if err != nil {
		return err
	}
	lv := tableLevel(t)
	elems := func(list []*pg.Node, exprs bool) error {
		for _, n := range list {
			ie := n.GetIndexElem()
			if ie == nil {
				return refuseNode(n)
			}
			if len(ie.Opclass) > 0 || len(ie.Opclassopts) > 0 {
				return sqlscope.Refuse("clause", "operator classes are not allowed in an index")
			}
			if len(ie.Collation) > 0 {
				if err := checkCollation(ie.Collation); err != nil {
					return err
				}
			}
			switch {
			case ie.Name != "" && ie.Expr == nil:
				if t.Column(ie.Name, false) == "" {
					return sqlscope.Refuse("column", "column %q of table %q is not in this resource's scope", ie.Name, t.Name)
				}
			case ie.Name == "" && ie.Expr != nil && exprs:
				if err := a.expr(lv, ie.Expr); err != nil {
					return err
				}
			default:
				return sqlscope.Refuse("clause", "an index element must be a column or an expression")
			}
		}
		return nil
	}
	if err := elems(s.IndexParams, true); err != nil {
		return err
	}
	if err := elems(s.IndexIncludingParams, false); err != nil {
		return err
	}
	if err := a.expr(lv, s.WhereClause); err != nil {
		return err
	}
	a.change(t.Name)
	return nil
}
