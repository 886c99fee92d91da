// Package sqldb is the resource kind "sql": SQLite files, PostgreSQL and
// MySQL/MariaDB servers. It registers [Kind] from init; nothing outside
// this package knows the kind by name.
//
// In the policy (policydecode.go), a resource names its driver and dsn (a
// secret reference when it holds a password, whose password alone is then
// a secret of its own; a SQLite path otherwise), strict_credentials and
// limits; a grant lists the tables and columns it covers and may lower
// max_rows. The grant's constraint decides each table.column a statement
// touches ([SQLTarget]), and says which one it does not cover and what
// the grant does ("orders.card_number is not granted; granted on orders:
// id, total"). The kind also states what a resource opens under Landlock
// (its SQLite file), checks each database for "warden doctor" (doctor.go),
// and has its own command, "warden sql grants" (command.go, grants.go).
//
// Tools, for a resource named shop:
//
//   - shop_query (action query): one read-only statement, with parameters
//     bound, never interpolated; returns columns, rows and truncated.
//   - shop_schema (action query): the tables and columns the agent may read.
//   - shop_execute (action execute): one INSERT, UPDATE or DELETE; by
//     default each call waits for a human, who is shown how many rows a
//     rolled-back dry run changed.
//   - shop_ddl (action ddl): one CREATE/ALTER/DROP/TRUNCATE TABLE or
//     CREATE/DROP INDEX on tables a grant names with "*" (the analysis
//     writes table.* for each table it changes); by default each call
//     waits for a human. SQLite and PostgreSQL run it in a transaction (a
//     dry run is rolled back); MySQL commits DDL at once, so there it has
//     no dry run. The cached schema is read again after each change.
//
// A statement passes three independent layers:
//
//  1. Analysis with the database's own grammar ([Connector.Prepare]): the
//     analyzer of the dialect (SQLite's authorizer; the PostgreSQL and
//     MySQL parsers in package sqlscope) names every column of every table
//     the statement touches, and refuses anything it cannot attribute,
//     every function off its allowlist and every statement kind but
//     SELECT, INSERT, UPDATE, DELETE and DDL on tables. The policy then
//     decides each table.column ([SQLTarget]).
//  2. The engine enforces read-only: SQLite connections for queries are
//     opened read-only with query_only set, attachments limited to none and
//     the authorizer enforcing the columns the policy allowed; PostgreSQL
//     queries run in a READ ONLY transaction begun before the statement,
//     through the extended protocol (one statement), with statement and
//     lock timeouts, always rolled back; MySQL queries run in START
//     TRANSACTION READ ONLY, as a server-side prepared statement (one
//     statement), with an execution time limit, always rolled back. SQLite
//     DDL runs with the authorizer enforcing the allowed tables, and its
//     effect on SQLite's schema is checked before COMMIT (sqlite_ddl.go).
//  3. Least-privilege credentials: see credentials.go (warden sql grants).
//
// Each backend (sqlite.go, postgres.go, mysql.go) implements [backend].
package sqldb
