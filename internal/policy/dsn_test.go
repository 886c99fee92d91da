package policy

import (
	"testing"
)

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
	} {
		pw, ok := dsnPassword(tc.dsn)
		if pw != tc.pw || ok != tc.ok {
			t.Errorf("dsnPassword(%q) = %q, %v; want %q, %v", tc.dsn, pw, ok, tc.pw, tc.ok)
		}
	}
}

// A database password is as secret alone as inside its DSN: a file or a
// row holding only the password must be redacted too, so the policy lists
// it as a secret of its own.
func TestDSNPasswordIsASecret(t *testing.T) {
	const pw = "Zx9-pa55w0rd-q7"
	src := `version: 1
resources:
  shop: {kind: sql, driver: postgres, dsn: env:SHOP_DSN}
agents:
  default:
    grants:
      - {resource: shop, actions: [query], tables: {orders: "*"}}
`
	p, err := Compile([]byte(src), WithBaseDir(t.TempDir()), WithLookupEnv(func(k string) (string, bool) {
		return "postgres://app:" + pw + "@127.0.0.1:5432/shop", k == "SHOP_DSN"
	}))
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, s := range p.Secrets() {
		if s.Reveal() == pw {
			found = true
			if s.Ref() != "env:SHOP_DSN (password)" {
				t.Errorf("the password's reference is %q", s.Ref())
			}
		}
	}
	if !found {
		t.Fatalf("the DSN's password is not among the policy's %d secrets", len(p.Secrets()))
	}
}
