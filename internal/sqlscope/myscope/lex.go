package myscope

import (
	"strings"
	"unicode/utf8"

	"github.com/warden-dev/warden/internal/sqlscope"
)

// scan reads the raw statement the way MySQL's lexer would (default
// sql_mode, utf8mb4) and refuses every construct on which the server and
// vitess's tokenizer can disagree, before vitess sees the text. It returns
// the first keyword of the statement, upper-cased ("(" or "?" for any
// other first token), also when it refuses a later part of the text; and
// where the statement ends: at its ';', after which only whitespace and
// comments follow, or at the end.
//
// It knows quotes ('…' and "…" with backslash escapes and doubled quotes,
// `…` with doubled backticks) and comments (# and "-- " to end of line,
// /* … */). It does not know the grammar: it only decides where strings,
// identifiers and comments begin and end, which is exactly where the two
// lexers could split the text differently.
func scan(sql string) (first string, end int, err error) {
	if !utf8.ValidString(sql) {
		return "", 0, sqlscope.Refuse("parse", "the statement is not valid UTF-8; send it as UTF-8 text")
	}
	if strings.IndexByte(sql, 0) >= 0 {
		return "", 0, sqlscope.Refuse("parse", "the statement contains a NUL byte; remove it")
	}
	var (
		ended    bool   // a ';' ended the statement
		prevWord string // the previous token, upper-cased, if it was a bare word
		prevDot  bool   // the previous token was '.'
		gap      bool   // whitespace or a comment since the previous token
	)
	n := len(sql)
	end = n
	for i := 0; i < n; {
		c := sql[i]
		next := byte(0)
		if i+1 < n {
			next = sql[i+1]
		}

		// Whitespace and comments separate tokens.
		switch {
		case isSpace(c):
			i++
			gap = true
			continue
		case c == '#':
			i = lineEnd(sql, i)
			gap = true
			continue
		case c == '-' && next == '-':
			// MySQL starts a comment only when the dashes are followed by
			// whitespace or a control character; otherwise "--1" is minus
			// minus one. vitess accepts a smaller set of followers, so
			// only the forms both agree on are accepted.
			if i+2 == n || isSpace(sql[i+2]) && sql[i+2] != '\v' && sql[i+2] != '\f' {
				i = lineEnd(sql, i)
				gap = true
				continue
			}
			return first, 0, sqlscope.Refuse("comment", "'--' must be followed by a space to start a comment (MySQL reads '--x' as minus minus x); write '-- ' for a comment or '- -' for a double minus")
		case c == '/' && next == '*':
			j, err := blockComment(sql, i)
			if err != nil {
				return first, 0, err
			}
			i = j
			gap = true
			continue
		case c == '/' && next == '/':
			// vitess reads '//' as a line comment, MySQL as two divisions.
			return first, 0, sqlscope.Refuse("comment", "'//' is not a comment in MySQL; use '-- ' or /* */ for comments")
		case c == '*' && next == '/' && !strings.HasPrefix(sql[i+1:], "/*"):
			// "*/*c*/" is a '*' and a comment; a lone "*/" means the
			// author thinks a comment is open that is not.
			return first, 0, sqlscope.Refuse("comment", "'*/' outside a comment is refused; check that every /* comment is closed once")
		}

		// Anything else is a token, and no token may follow the ';'.
		if ended {
			return first, 0, sqlscope.Refuse("multiple-statements", "only one statement per call is allowed; send each statement separately")
		}
		wasWord, wasGap, wasDot := prevWord, gap, prevDot
		prevWord, gap, prevDot = "", false, c == '.'
		switch {
		case c == ';':
			ended, end = true, i
			i++
			continue
		case c == '\'' || c == '"':
			j, err := quoted(sql, i)
			if err != nil {
				return first, 0, err
			}
			i = j
		case c == '`':
			j, err := backticked(sql, i)
			if err != nil {
				return first, 0, err
			}
			// `dual` is a table name to MySQL but the DUAL keyword to vitess.
			if strings.EqualFold(sql[i+1:j-1], "dual") {
				return first, 0, sqlscope.Refuse("table", "a table named `dual` cannot be told apart from the DUAL keyword; it is refused")
			}
			i = j
		case c == '@':
			return first, 0, sqlscope.Refuse("variable", "user and system variables (@name, @@name) are not allowed; use literal values")
		case c == ':':
			// vitess reads :name and ::name as placeholders, which MySQL
			// does not have; MySQL's placeholder is ?.
			if next == '=' {
				return first, 0, sqlscope.Refuse("variable", "assignments (:=) are not allowed")
			}
			return first, 0, sqlscope.Refuse("parse", "named placeholders (:name) are not supported; use ? and pass the values as params")
		case c >= utf8.RuneSelf:
			return first, 0, sqlscope.Refuse("parse", "characters outside ASCII are only allowed inside quotes; quote such identifiers with backticks")
		case isDigit(c) || c == '.' && isDigit(next):
			j, err := number(sql, i)
			if err != nil {
				return first, 0, err
			}
			i = j
		case isWordByte(c):
			j := i
			for j < n && isWordByte(sql[j]) {
				j++
			}
			w := strings.ToUpper(sql[i:j])
			// N"…" is a national string to vitess but the column N with a
			// string alias to MySQL.
			if w == "N" && j < n && sql[j] == '"' {
				return first, 0, sqlscope.Refuse("parse", `N"…" is read differently by MySQL and the analyzer; write N'…'`)
			}
			// vitess also reads NOW, CURDATE, CURTIME and SYSDATE without
			// parentheses as calls; MySQL reads them as column names.
			if needsParens[w] && (j == n || sql[j] != '(') && wasWord != "AS" && !wasDot {
				return first, 0, sqlscope.Refuse("parse", "write %s() with parentheses; without them MySQL reads a column of that name", strings.ToLower(w))
			}
			if first == "" {
				first = w
			}
			prevWord = w
			i = j
		case c == '(':
			// Without IGNORE_SPACE, MySQL takes "SUM (x)" as a call of a
			// stored or loadable function named sum, not the built-in.
			if wasGap && spaceSensitive[wasWord] {
				return first, 0, sqlscope.Refuse("function", "write built-in function calls without a space or comment before '(' (MySQL would look for a stored function otherwise)")
			}
			if first == "" {
				first = "("
			}
			i++
		default:
			i++
		}
		if first == "" {
			first = "?" // a statement that starts with a literal or operator
		}
	}
	if first == "" {
		return "", 0, sqlscope.Refuse("multiple-statements", "the statement is empty; send exactly one SQL statement")
	}
	return first, end, nil
}

// blockComment returns the offset after the /* … */ comment at i, or a
// refusal for comments the server would run or read differently.
func blockComment(sql string, i int) (int, error) {
	body := sql[i+2:]
	switch {
	case strings.HasPrefix(body, "!"):
		return 0, sqlscope.Refuse("comment", "executable comments (/*! … */) are refused: the server runs their content; write the SQL without the comment")
	case strings.HasPrefix(body, "M!") || strings.HasPrefix(body, "m!"):
		return 0, sqlscope.Refuse("comment", "MariaDB executable comments (/*M! … */) are refused: the server runs their content; write the SQL without the comment")
	case strings.HasPrefix(body, "+"):
		return 0, sqlscope.Refuse("comment", "optimizer hints (/*+ … */) are not allowed; remove the hint")
	}
	for j := 0; j+1 < len(body); j++ {
		switch {
		case body[j] == '*' && body[j+1] == '/':
			return i + 2 + j + 2, nil
		case body[j] == '/' && body[j+1] == '*':
			return 0, sqlscope.Refuse("comment", "nested comments are refused (servers disagree on where they end); use a single /* … */")
		}
	}
	return 0, sqlscope.Refuse("comment", "unterminated /* comment; close it with */")
}

// quoted returns the offset after the string literal that starts at i.
// With the pinned sql_mode a backslash escapes the next byte and a doubled
// quote stands for itself.
func quoted(sql string, i int) (int, error) {
	q := sql[i]
	for j := i + 1; j < len(sql); j++ {
		switch sql[j] {
		case '\\':
			j++
		case q:
			if j+1 < len(sql) && sql[j+1] == q {
				j++
				continue
			}
			return j + 1, nil
		}
	}
	return 0, sqlscope.Refuse("parse", "unterminated string literal; close the quote")
}

// backticked returns the offset after the quoted identifier that starts at
// i. Backslashes have no meaning inside backticks.
func backticked(sql string, i int) (int, error) {
	for j := i + 1; j < len(sql); j++ {
		if sql[j] == '`' {
			if j+1 < len(sql) && sql[j+1] == '`' {
				j++
				continue
			}
			if j == i+1 {
				return 0, sqlscope.Refuse("parse", "empty quoted identifier")
			}
			return j + 1, nil
		}
	}
	return 0, sqlscope.Refuse("parse", "unterminated quoted identifier; close the backtick")
}

// number returns the offset after the numeric literal at i. MySQL reads
// a run that starts with a digit and contains letters (1abc, 0b2, 12e) as
// an identifier, vitess sometimes as a number followed by something else,
// so only plain decimal, exponent, 0x and 0b forms are accepted.
func number(sql string, i int) (int, error) {
	n := len(sql)
	bad := sqlscope.Refuse("parse", "identifiers that start with a digit must be quoted with backticks, and numbers must not run into letters")
	j := i
	// Only lower-case 0x and 0b are numbers to MySQL; 0X1 is an identifier.
	if j+1 < n && sql[j] == '0' && (sql[j+1] == 'x' || sql[j+1] == 'b') {
		hex := sql[j+1] == 'x'
		j += 2
		start := j
		for j < n && (hex && isHexDigit(sql[j]) || !hex && (sql[j] == '0' || sql[j] == '1')) {
			j++
		}
		if j == start || j < n && (isWordByte(sql[j]) || sql[j] >= utf8.RuneSelf) {
			return 0, bad
		}
		return j, nil
	}
	for j < n && isDigit(sql[j]) {
		j++
	}
	if j < n && sql[j] == '.' {
		j++
		for j < n && isDigit(sql[j]) {
			j++
		}
	}
	if j < n && (sql[j] == 'e' || sql[j] == 'E') {
		j++
		if j < n && (sql[j] == '+' || sql[j] == '-') {
			j++
		}
		start := j
		for j < n && isDigit(sql[j]) {
			j++
		}
		if j == start {
			return 0, bad
		}
	}
	if j < n && (isWordByte(sql[j]) || sql[j] >= utf8.RuneSelf || sql[j] == '.') {
		return 0, bad
	}
	return j, nil
}

// lineEnd returns the offset after the line comment that starts at i.
func lineEnd(sql string, i int) int {
	if k := strings.IndexByte(sql[i:], '\n'); k >= 0 {
		return i + k + 1
	}
	return len(sql)
}

// isSpace reports whether c separates tokens. \v and \f are spaces to
// MySQL but errors to vitess; accepting them here only lets vitess refuse.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isHexDigit(c byte) bool {
	return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// isWordByte reports whether c continues an unquoted ASCII identifier.
func isWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || isDigit(c) || c == '_' || c == '$'
}

// needsParens are the built-ins that MySQL calls only with parentheses
// but vitess also without.
var needsParens = map[string]bool{"CURDATE": true, "CURTIME": true, "NOW": true, "SYSDATE": true}

// spaceSensitive are the built-ins MySQL recognises only when '(' follows
// the name directly (sql_functions in the server's lexer); with a space
// between, the name is an ordinary identifier and the call resolves to a
// stored or loadable function of that name.
var spaceSensitive = map[string]bool{
	"ADDDATE": true, "BIT_AND": true, "BIT_OR": true, "BIT_XOR": true,
	"CAST": true, "COUNT": true, "CURDATE": true, "CURTIME": true,
	"DATE_ADD": true, "DATE_SUB": true, "EXTRACT": true, "GROUP_CONCAT": true,
	"JSON_ARRAYAGG": true, "JSON_OBJECTAGG": true, "MAX": true, "MID": true,
	"MIN": true, "NOW": true, "POSITION": true, "SESSION_USER": true,
	"STD": true, "STDDEV": true, "STDDEV_POP": true, "STDDEV_SAMP": true,
	"ST_COLLECT": true, "SUBDATE": true, "SUBSTR": true, "SUBSTRING": true,
	"SUM": true, "SYSDATE": true, "SYSTEM_USER": true, "TRIM": true,
	"VARIANCE": true, "VAR_POP": true, "VAR_SAMP": true,
}
