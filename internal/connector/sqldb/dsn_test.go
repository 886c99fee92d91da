package sqldb

import "testing"

func TestDSNPassword(t *testing.T) {
	for _, tc := range []struct {
		dsn, pw string
		ok      bool
	}{
		{"postgres://app:s3cr-et@db.internal:5432/shop", "s3cr-et", true},
		{"postgres://app@db.internal/shop", "", false},
		{"postgres://db.internal/shop?user=app&password=q%40w", "q@w", true},
		{"host=db user=app password=plain dbname=shop", "plain", true},
		{"host=db user=app password='with space' dbname=shop", "with space", true},
		{"Server=db;Uid=app;Pwd=semi;Database=shop", "semi", true},
		{"app:my@pass@tcp(127.0.0.1:3306)/shop", "my@pass", true},
		{"app@tcp(127.0.0.1:3306)/shop", "", false},
		{"/var/lib/app/shop.db", "", false},
		{"./data/a@b.db", "", false},
		// As the driver reads it: an escaped quote is part of the password.
		{`host=db password='it\'s' dbname=shop`, "it's", true},
		// The PostgreSQL parser refuses this one (no such file), but the
		// text still holds a password.
		{"host=db password=x sslmode=verify-full sslrootcert=/nonexistent/ca.pem", "x", true},
		{"host=db user=app dbname=shop", "", false},
		// The sentinel the parser is given is no blind spot.
		{"host=db password=" + pgSentinels[0], pgSentinels[0], true},
		{"mysql://app:pw@tcp(db)/shop", "//app:pw", true},
	} {
		pw, ok := dsnPassword(tc.dsn)
		if pw != tc.pw || ok != tc.ok {
			t.Errorf("dsnPassword(%q) = %q, %v; want %q, %v", tc.dsn, pw, ok, tc.pw, tc.ok)
		}
	}
}

// TestDSNPasswordNotFromEnvironment: the PostgreSQL driver falls back on
// PGPASSWORD and ~/.pgpass; neither is the DSN's password, so neither
// makes a DSN without one look inline.
func TestDSNPasswordNotFromEnvironment(t *testing.T) {
	t.Setenv("PGPASSWORD", "from-the-environment")
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("PGPASSFILE", home+"/.pgpass")
	for _, dsn := range []string{"host=db user=app dbname=shop", "postgres://app@db/shop"} {
		if pw, ok := dsnPassword(dsn); ok {
			t.Errorf("dsnPassword(%q) = %q, true; want none", dsn, pw)
		}
	}
}

// TestCredentialPart: a DSN is secret in pieces only through its
// password; any other secret is secret in pieces whole.
func TestCredentialPart(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:pw-secret-9@127.0.0.1/shop": "pw-secret-9",
		"host=db password=kv-secret dbname=shop":  "kv-secret",
		"app:my-secret@tcp(127.0.0.1:3306)/shop":  "my-secret",
		"wq8t3r9vzn2m6b4c1x7h5j0kdg3f8r2v":        "wq8t3r9vzn2m6b4c1x7h5j0kdg3f8r2v",
		"dGVzdA==":                                "dGVzdA==",
		"postgres://app@db/shop":                  "postgres://app@db/shop",
	} {
		if got := credentialPart(in); got != want {
			t.Errorf("credentialPart(%q) = %q, want %q", in, got, want)
		}
	}
}
