package core

import "strings"

// SQLTarget is the policy target for one column of one table of a sql
// resource: "table.column". The sql connector lists one per column a
// statement touches, so a grant's tables decide each of them. Names that
// contain a dot are refused by the connector before they get here.
func SQLTarget(table, column string) string { return table + "." + column }

// SplitSQLTarget is the inverse of [SQLTarget]. ok is false for a target
// without a dot.
func SplitSQLTarget(target string) (table, column string, ok bool) {
	return strings.Cut(target, ".")
}
