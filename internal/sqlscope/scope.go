// Package sqlscope is the vocabulary shared by Warden's SQL analyzers and
// the sql connector: what a statement is, which columns of which tables it
// reads or writes, and why an analyzer refused it.
//
// An analyzer (one per dialect, in the sub-packages) parses a statement
// with the database's own grammar and returns an [Analysis]. It never
// guesses: anything it cannot attribute to a known column of a known table
// of the default schema, any function not on its allowlist, and any
// statement kind other than those in [Kind] is a [*Refusal]. The connector
// then asks the policy whether every [Ref] is granted.
//
// A [DDL] statement changes tables, not rows: it writes the column "*" of
// each table it creates, alters, drops, truncates or indexes ([AllOf]), so
// only a grant of every column of that table covers it.
//
// It imports nothing internal, so analyzers and the connector depend on it
// and not on each other.
package sqlscope

import (
	"fmt"
	"slices"
	"strings"
)

// Kind is what a statement does.
type Kind int

const (
	// Invalid is the zero Kind; an Analysis with it is never run.
	Invalid Kind = iota
	Select       // reads rows (SELECT, VALUES, TABLE, and WITH … SELECT)
	Insert       // adds rows
	Update       // changes rows
	Delete       // removes rows
	DDL          // creates, alters, drops, truncates or indexes tables
)

func (k Kind) String() string {
	switch k {
	case Select:
		return "select"
	case Insert:
		return "insert"
	case Update:
		return "update"
	case Delete:
		return "delete"
	case DDL:
		return "ddl"
	}
	return "invalid"
}

// ReadOnly reports whether the kind never changes data.
func (k Kind) ReadOnly() bool { return k == Select }

// Ref is one column of one table a statement touches. Names are as the
// database stores them (PostgreSQL folds unquoted names to lower case;
// MySQL and SQLite compare case-insensitively, and analyzers report the
// name as the schema spells it).
type Ref struct {
	Table  string
	Column string
}

func (r Ref) String() string { return r.Table + "." + r.Column }

// AllColumns is the column of the [Ref] a DDL statement writes for each
// table it changes: the table as a whole, including columns it adds.
const AllColumns = "*"

// AllOf is the write of a DDL statement that changes table.
func AllOf(table string) Ref { return Ref{Table: table, Column: AllColumns} }

// Analysis is what a statement touches.
type Analysis struct {
	Kind Kind
	// Reads are the columns whose values the statement can observe: in the
	// result, in conditions, joins, ordering, grouping, function arguments,
	// whole-row references and * (expanded to every column). Sorted, no
	// duplicates.
	Reads []Ref
	// Writes are the columns an INSERT or UPDATE sets. A DELETE writes
	// every column of its table. A DDL statement writes [AllOf] each
	// table it changes and nothing else. Sorted, no duplicates.
	Writes []Ref
	// Tables are the tables named, sorted, no duplicates. For DDL they
	// include tables the statement creates, which the Schema does not
	// hold yet, and tables it only refers to (a foreign key's target,
	// whose referenced columns are in Reads).
	Tables []string
}

// Refs returns Reads and Writes together, sorted, without duplicates.
func (a *Analysis) Refs() []Ref {
	out := append(slices.Clone(a.Reads), a.Writes...)
	return Normalize(out)
}

// Normalize sorts refs and drops duplicates.
func Normalize(refs []Ref) []Ref {
	slices.SortFunc(refs, func(a, b Ref) int {
		if c := strings.Compare(a.Table, b.Table); c != 0 {
			return c
		}
		return strings.Compare(a.Column, b.Column)
	})
	return slices.Compact(refs)
}

// Schema is what the analyzer may resolve names against: the tables of the
// default schema (PostgreSQL's search path head, MySQL's current database,
// SQLite's main) with their columns in table order. Analyzers refuse names
// it does not hold.
type Schema struct {
	Tables map[string]*Table // by name as stored
}

// Table is one table of a [Schema].
type Table struct {
	Name    string
	Columns []Column
}

// Column is one column of a [Table].
type Column struct {
	Name string
	Type string // as the database declares it, for display
}

// Lookup finds a table by name. fold makes the match case-insensitive, as
// MySQL and SQLite compare names; PostgreSQL passes false (its analyzer
// has already folded unquoted names).
func (s *Schema) Lookup(name string, fold bool) *Table {
	if s == nil {
		return nil
	}
	if t := s.Tables[name]; t != nil {
		return t
	}
	if fold {
		for n, t := range s.Tables {
			if strings.EqualFold(n, name) {
				return t
			}
		}
	}
	return nil
}

// Column finds a column by name, or "" if the table has none of that name.
func (t *Table) Column(name string, fold bool) string {
	for _, c := range t.Columns {
		if c.Name == name || (fold && strings.EqualFold(c.Name, name)) {
			return c.Name
		}
	}
	return ""
}

// All returns a Ref for every column of the table, in table order.
func (t *Table) All() []Ref {
	out := make([]Ref, len(t.Columns))
	for i, c := range t.Columns {
		out[i] = Ref{Table: t.Name, Column: c.Name}
	}
	return out
}

// Refusal is why an analyzer refused a statement. Its message is meant for
// the agent: it names the construct, never data.
type Refusal struct {
	// Class is a short, stable name of the class of construct:
	// "parse", "multiple-statements", "statement-kind", "function",
	// "table", "column", "schema", "clause", "comment", "variable".
	Class string
	Msg   string
}

func (r *Refusal) Error() string { return r.Msg }

// Refuse returns a [*Refusal] of a class with a formatted message.
func Refuse(class, format string, args ...any) *Refusal {
	return &Refusal{Class: class, Msg: fmt.Sprintf(format, args...)}
}

// Analyzer analyses one statement of one dialect.
type Analyzer interface {
	// Analyze parses sql, which must be exactly one statement, and returns
	// what it touches, resolving names against schema. Any error is a
	// refusal: the statement must not run.
	Analyze(sql string, schema *Schema) (*Analysis, error)
}
