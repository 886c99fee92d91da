package sqldb

import (
	"net/url"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
)

// dsnPassword returns the password a DSN holds, as the drivers read it:
// the user info or password parameter of a URL (postgres://u:p@h/db),
// PostgreSQL's keyword/value form (password=p, quoted or not) and MySQL's
// user:p@tcp(host)/db form. A password key in a form no driver reads
// (ODBC's Server=h;Pwd=p), or in a keyword/value DSN the PostgreSQL
// parser rejects for another reason, counts too: the text says it is a
// password, so it is treated as one. ok is false when the DSN holds none.
//
// Only the text is read: the PostgreSQL parser's fallbacks (PGPASSWORD,
// ~/.pgpass) never count as the DSN's password.
func dsnPassword(dsn string) (pw string, ok bool) {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" && strings.Contains(dsn, "://") {
		if u.Scheme != "postgres" && u.Scheme != "postgresql" {
			// Not a URL to the PostgreSQL driver; the MySQL driver may
			// read it its own way (mysql://u:p@tcp(h)/db is user "mysql").
			if cfg, err := mysql.ParseDSN(dsn); err == nil && cfg.Passwd != "" {
				return cfg.Passwd, true
			}
		}
		// What pgconn reads from a URL: the user info, then the password
		// parameter, which overrides it.
		if q := u.Query(); q.Has("password") {
			return q.Get("password"), true
		}
		if u.User != nil {
			return u.User.Password()
		}
		return "", false
	}
	if pw, ok := pgPassword(dsn); ok {
		return pw, true
	}
	if cfg, err := mysql.ParseDSN(dsn); err == nil && cfg.Passwd != "" {
		return cfg.Passwd, true
	}
	return passwordField(dsn)
}

// pgSentinels stand for "no password" in pgPassword: two, so that a DSN
// whose password is one of them is still found.
var pgSentinels = [2]string{"wardenNoPassword7Kq2", "wardenNoPassword9Xr4"}

// pgPassword reads a keyword/value DSN with the PostgreSQL driver's own
// parser. A password given before the DSN's text is overridden by one in
// it, which tells a password the DSN holds from the parser's fallbacks.
func pgPassword(dsn string) (string, bool) {
	if !strings.Contains(dsn, "=") {
		return "", false
	}
	for _, s := range pgSentinels {
		cfg, err := pgconn.ParseConfig("password=" + s + " " + dsn)
		if err != nil {
			return "", false
		}
		if cfg.Password != s {
			return cfg.Password, true
		}
	}
	return "", false
}

// passwordField finds a password= or pwd= field (any letter case) among
// fields separated by spaces or semicolons outside single quotes.
func passwordField(dsn string) (string, bool) {
	var field strings.Builder
	quoted := false
	check := func() (string, bool) {
		k, v, found := strings.Cut(field.String(), "=")
		field.Reset()
		if k = strings.ToLower(strings.TrimSpace(k)); found && (k == "password" || k == "pwd") {
			return strings.Trim(strings.TrimSpace(v), `'"`), true
		}
		return "", false
	}
	for _, r := range dsn {
		switch {
		case r == '\'':
			quoted = !quoted
			field.WriteRune(r)
		case !quoted && (r == ' ' || r == ';'):
			if pw, ok := check(); ok {
				return pw, true
			}
		default:
			field.WriteRune(r)
		}
	}
	return check()
}

// credentialPart returns the password of a database DSN, or v itself:
// what of a secret is secret in pieces.
func credentialPart(v string) string {
	if pw, ok := dsnPassword(v); ok && pw != "" {
		return pw
	}
	return v
}
