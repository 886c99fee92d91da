// Package myscope is the [sqlscope.Analyzer] for MySQL 8 and MariaDB 10.11.
//
// It parses a statement with vitess's MySQL grammar
// (vitess.io/vitess/go/vt/sqlparser) and walks the tree with its own type
// switch, resolving every column reference against the resource's
// [sqlscope.Schema] with MySQL's scoping rules: FROM relations, then the
// enclosing queries (correlated subqueries); JOIN … USING and NATURAL JOIN
// columns read both sides; CTEs and derived tables shadow base tables and
// expose their own output columns; select-list aliases and positions are
// valid in GROUP BY, HAVING and ORDER BY. Table and column names compare
// case-insensitively and are reported as the schema spells them. Tables
// lists every base table named, also one of which no column is read
// (SELECT COUNT(*) FROM t), so a policy must grant tables as well as
// columns.
//
// # Fail closed
//
// Anything the walker does not know is refused: every AST node type is
// named in a switch whose default case refuses, every function must be on
// an allowlist of side-effect-free built-ins, and only SELECT (also UNION,
// WITH and VALUES), INSERT, UPDATE, DELETE and DDL on tables (ddl.go) are
// accepted; [Analyzer.AnalyzeNoDDL] refuses DDL by its first word. REPLACE,
// SHOW, EXPLAIN, SELECT … INTO, locking reads, variables,
// database-qualified names, JSON_TABLE, LATERAL and PARTITION selection are
// refused. Names that could be read two ways are refused rather than
// guessed: a qualifier or table that matches a relation, CTE or table only
// when letter case is ignored (servers with lower_case_table_names=0 and 1
// would read different things), and a JOIN with a condition right after a
// JOIN without one (MySQL 8 nests it differently from vitess and MariaDB).
//
// # Parser and server must read the same statement
//
// The main risk of analysing with a parser other than the server's is
// that the two split the text differently. Before vitess sees the text, a
// small lexer (lex.go) reads it the way MySQL does and refuses the
// constructs on which they can disagree: executable comments (/*! and
// MariaDB's /*M!), optimizer hints (/*+), nested or unterminated comments,
// "--" not followed by a space, "//", numbers that run into letters
// (0X1F, 0b2, 12e), `dual` in backticks, NOW and CURDATE without
// parentheses, built-ins spaced from their '(' (COUNT (*)), characters
// outside ASCII outside quotes, NUL bytes and invalid UTF-8,
// vitess's :name placeholders and variables, and a second statement after
// ';'. The ? placeholder is accepted as a value: the connector binds it
// server-side.
//
// This relies on how the connector runs statements:
//
//   - The session sql_mode contains neither ANSI_QUOTES nor
//     NO_BACKSLASH_ESCAPES: "…" is a string, and a backslash escapes the
//     next character inside quotes, as vitess assumes. With either mode set
//     the lexers would disagree about where strings end.
//   - The connection character set is utf8mb4 (or another ASCII-safe
//     one), so a backslash can never be the second byte of a multi-byte
//     character as in GBK or SJIS.
//   - IGNORE_SPACE is not set; built-ins that MySQL recognises only when
//     '(' follows directly (COUNT, SUM, …) are refused when spaced.
package myscope
