package policy

import (
	"testing"
)

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
