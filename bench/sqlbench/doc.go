// Package sqlbench holds issue 4's SQL benchmark (sqlbench_test.go): the
// same read queries run directly through the database driver and through
// Warden's whole pipeline (engine.Call of shop_query, audit log on), in one
// run, for SQLite and PostgreSQL, plus the statement analysis alone.
//
// Run it with bench/sql.sh, which prints the medians as a markdown table
// (see bench/README.md, "SQL (issue 4)").
package sqlbench
