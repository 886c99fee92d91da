package sqldb_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/warden-dev/warden/internal/connector/connectortest"
	"github.com/warden-dev/warden/internal/connector/sqldb"
	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/policy"
	"github.com/warden-dev/warden/internal/sqltest"
)

// compile compiles a policy with the sql kind registered (this package's
// init), in dir, with env as its environment.
func compile(t *testing.T, dir, src string, env map[string]string) (*policy.Policy, error) {
	t.Helper()
	return policy.Compile([]byte(src), policy.WithSource("warden.yaml"), policy.WithBaseDir(dir), policy.WithLookupEnv(func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}))
}

func mustCompile(t *testing.T, dir, src string, env map[string]string) *policy.Policy {
	t.Helper()
	p, err := compile(t, dir, src, env)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPolicyProblems compiles a policy with every problem a sql resource
// or grant can have: each is reported with the text, hint and position
// the policy compiler gave before the kind was a package of its own
// (testdata/problems.golden was written by the compiler of commit 45d3ebd).
func TestPolicyProblems(t *testing.T) {
	src, err := os.ReadFile("testdata/problems.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/problems.golden")
	if err != nil {
		t.Fatal(err)
	}
	_, err = policy.Compile(src, policy.WithSource("problems.yaml"), policy.WithBaseDir(t.TempDir()))
	if err == nil {
		t.Fatal("the policy compiled")
	}
	if got := err.Error(); got != strings.TrimSuffix(string(want), "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", got, want)
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
	p := mustCompile(t, t.TempDir(), src, map[string]string{"SHOP_DSN": "postgres://app:" + pw + "@127.0.0.1:5432/shop"})
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

// TestResourceConfig: a SQLite path is resolved against the policy's
// directory; limits and strict_credentials are kept.
func TestResourceConfig(t *testing.T) {
	dir := t.TempDir()
	p := mustCompile(t, dir, `version: 1
resources:
  shop:
    kind: sql
    driver: sqlite
    dsn: ./data/shop.db
    strict_credentials: true
    limits: {max_rows: 50, max_result_bytes: 64KiB, timeout: 3s}
agents:
  a:
    grants:
      - {resource: shop, actions: [query], tables: {orders: "*"}}
`, nil)
	cfg, ok := p.Resource("shop").Config.(*sqldb.Config)
	if !ok {
		t.Fatalf("config is %T", p.Resource("shop").Config)
	}
	want := sqldb.Config{Driver: "sqlite", DSN: core.NewSecret("", filepath.Join(dir, "data", "shop.db")), StrictCredentials: true,
		Limits: sqldb.Limits{MaxRows: 50, MaxResultBytes: 64 << 10, Timeout: 3e9}}
	if cfg.Driver != want.Driver || cfg.DSN.Reveal() != want.DSN.Reveal() || cfg.DSN.Ref() != "" || cfg.StrictCredentials != want.StrictCredentials || cfg.Limits != want.Limits {
		t.Errorf("config = %+v (dsn %q)\nwant %+v (dsn %q)", *cfg, cfg.DSN.Reveal(), want, want.DSN.Reveal())
	}
}

const shopPolicy = `version: 1
resources:
  shop: {kind: sql, driver: sqlite, dsn: ./shop.db}
agents:
  analyst:
    grants:
      - resource: shop
        actions: [query]
        tables: {orders: [id, customer_id, total, created_at], customers: "*"}
        max_rows: 500
      - {resource: shop, actions: [execute], tables: {orders: [total]}}
`

// TestGrantWhy: a statement that names an ungranted column or table is
// denied, and the decision says which, with what the grant does allow.
// The targets are the connector's own, from a real statement.
func TestGrantWhy(t *testing.T) {
	file := sqltest.SQLiteFile(t, sqltest.CorpusFixture)
	p := mustCompile(t, filepath.Dir(file), strings.Replace(shopPolicy, "./shop.db", filepath.Base(file), 1), nil)
	c := openShop(t, p)
	ctx := context.Background()
	decide := func(op, sql string) core.Decision {
		t.Helper()
		args, _ := json.Marshal(map[string]string{"sql": sql})
		inv := &core.Invocation{Op: op, Args: args}
		if err := c.Prepare(ctx, inv); err != nil {
			t.Fatalf("prepare %q: %v", sql, err)
		}
		return p.Evaluate(ctx, &core.Request{Agent: "analyst", Resource: "shop", Action: op, Path: inv.Path, Paths: inv.Paths, Args: map[string]any{"sql": sql}})
	}
	for _, tc := range []struct {
		op, sql string
		effect  core.Effect
		why     string
	}{
		{"query", "SELECT id, total FROM orders", core.Allow, ""},
		{"query", "SELECT count(*) FROM customers", core.Allow, ""},
		{"query", "SELECT 1", core.Allow, ""},
		{"query", "SELECT id, email FROM customers", core.Allow, ""},
		{"query", "SELECT o.id FROM orders o JOIN secrets s ON s.id = o.id", core.Deny, `table "secrets" is not granted; granted tables: orders, customers`},
		{"query", "SELECT count(*) FROM secrets", core.Deny, `table "secrets" is not granted; granted tables: orders, customers`},
		{"execute", "UPDATE orders SET customer_id = 2 WHERE id = 1", core.Deny, "orders.customer_id is not granted; granted on orders: total"},
		{"execute", "UPDATE orders SET total = 2", core.NeedsApproval, ""},
	} {
		d := decide(tc.op, tc.sql)
		if d.Effect != tc.effect || d.Why != tc.why {
			t.Errorf("%s %q: %v, why %q; want %v, why %q", tc.op, tc.sql, d, d.Why, tc.effect, tc.why)
		}
		if tc.effect == core.Allow && d.Options.Cap(sqldb.OptMaxRows) != 500 {
			t.Errorf("%q: options %+v, want max_rows 500", tc.sql, d.Options)
		}
	}
	// A column of a table granted in part; the real statement would name
	// a column the fixture lacks, which the analysis refuses first.
	d := p.Evaluate(ctx, &core.Request{Agent: "analyst", Resource: "shop", Action: "query", Path: "orders.id", Paths: []string{"orders.card_number"},
		Args: map[string]any{"sql": "SELECT id, Card_Number FROM orders"}})
	if want := "orders.card_number is not granted; granted on orders: id, customer_id, total, created_at"; d.Effect != core.Deny || d.Why != want {
		t.Errorf("orders.card_number: %v, why %q; want deny, why %q", d, d.Why, want)
	}
	// DDL needs the whole table.
	d = p.Evaluate(ctx, &core.Request{Agent: "analyst", Resource: "shop", Action: "execute", Path: "orders.*"})
	if want := "orders.* (the whole table) is not granted; granted on orders: total"; d.Effect != core.Deny || d.Why != want {
		t.Errorf("orders.*: %v, why %q; want deny, why %q", d, d.Why, want)
	}
}

// TestGrantWhyNamesOnlyWhatWasWritten: a statement that reaches an
// ungranted column or table without naming it (SELECT *, a view) is told
// what the grant allows, but not the names the schema tool hides.
func TestGrantWhyNamesOnlyWhatWasWritten(t *testing.T) {
	file := sqltest.SQLiteFile(t, sqltest.CorpusFixture)
	p := mustCompile(t, filepath.Dir(file), `version: 1
resources:
  shop: {kind: sql, driver: sqlite, dsn: `+filepath.Base(file)+`}
agents:
  analyst:
    grants:
      - {resource: shop, actions: [query], tables: {orders: [id, total], customers: "*"}}
`, nil)
	c := openShop(t, p)
	ctx := context.Background()
	for sql, want := range map[string]string{
		"SELECT * FROM orders":           "the statement reaches a column of orders that is not granted (name the columns instead of *); granted on orders: id, total",
		"PRAGMA table_info(orders)":      "the statement reaches a column of orders that is not granted (name the columns instead of *); granted on orders: id, total",
		"SELECT customer_id FROM orders": "orders.customer_id is not granted; granted on orders: id, total",
	} {
		args, _ := json.Marshal(map[string]string{"sql": sql})
		inv := &core.Invocation{Op: "query", Args: args}
		if err := c.Prepare(ctx, inv); err != nil {
			t.Fatalf("prepare %q: %v", sql, err)
		}
		d := p.Evaluate(ctx, &core.Request{Agent: "analyst", Resource: "shop", Action: "query", Path: inv.Path, Paths: inv.Paths, Args: map[string]any{"sql": sql}})
		if d.Effect != core.Deny || d.Why != want {
			t.Errorf("%q (targets %q %q): %v, why %q; want deny, why %q", sql, inv.Path, inv.Paths, d, d.Why, want)
		}
	}
	// A table reached without being named (as through a view, which the
	// analysis refuses today) is not named either.
	d := p.Evaluate(ctx, &core.Request{Agent: "analyst", Resource: "shop", Action: "query", Path: "secrets.token", Args: map[string]any{"sql": "SELECT * FROM recent"}})
	if want := "the statement reaches a table that is not granted; granted tables: orders, customers"; d.Why != want {
		t.Errorf("unnamed table: why %q, want %q", d.Why, want)
	}
	// Named in any letter case, or quoted, it is the agent's own word.
	d = p.Evaluate(ctx, &core.Request{Agent: "analyst", Resource: "shop", Action: "query", Path: "secrets.token", Args: map[string]any{"sql": `SELECT token FROM "SECRETS"`}})
	if want := `table "secrets" is not granted; granted tables: orders, customers`; d.Why != want {
		t.Errorf("named table: why %q, want %q", d.Why, want)
	}
}

// TestGrantScope: the grant states its tables, columns and max_rows in
// words, for tool descriptions.
func TestGrantScope(t *testing.T) {
	p := mustCompile(t, t.TempDir(), shopPolicy, nil)
	var got []string
	for _, g := range p.Grants("analyst", "shop") {
		got = append(got, g.Constraint.Scope())
	}
	want := []string{"tables orders: id, customer_id, total, created_at; customers: all columns; at most 500 rows", "tables orders: total"}
	if !slices.Equal(got, want) {
		t.Errorf("scopes = %q\nwant %q", got, want)
	}
}

// TestOperations: the row limit in the query tool's summary is the
// resource's, and says a grant may lower it; the statement is the key
// argument.
func TestOperations(t *testing.T) {
	p := mustCompile(t, t.TempDir(), strings.Replace(shopPolicy, "./shop.db}", "./shop.db, limits: {max_rows: 1000}}", 1), nil)
	c, err := sqldb.Kind.New(p.Resource("shop"), core.Host{})
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range c.Operations() {
		if op.Name == "query" && !strings.Contains(op.Summary, "at most 1000 rows per query unless the grant sets fewer") {
			t.Errorf("query summary: %s", op.Summary)
		}
		if want := []string{"sql"}; op.Name != "schema" && (!slices.Equal(op.KeyArgs, want) || op.TargetArg != "") {
			t.Errorf("%s: key args %q, target arg %q", op.Name, op.KeyArgs, op.TargetArg)
		}
	}
	if got := sqldb.Kind.Describe(p.Resource("shop")); got != "a sqlite database" {
		t.Errorf("describe = %q", got)
	}
}

func TestHostPaths(t *testing.T) {
	dir := t.TempDir()
	p := mustCompile(t, dir, `version: 1
resources:
  shop: {kind: sql, driver: sqlite, dsn: ./shop.db}
  pg: {kind: sql, driver: postgres, dsn: env:PG}
agents:
  a:
    grants:
      - {resource: shop, actions: [query], tables: {orders: "*"}}
`, map[string]string{"PG": "postgres://app@127.0.0.1/shop"})
	file := filepath.Join(dir, "shop.db")
	// Not there yet: the directory, so that the file can open once it is
	// created (Landlock cannot admit a file by a path that did not exist).
	if got := sqldb.Kind.HostPaths(p.Resource("shop"), false); len(got) != 1 || got[0] != (core.HostPath{Path: dir, Dir: true, Why: "resource shop (the directory of its SQLite file, read, until the file exists)"}) {
		t.Errorf("read-only, missing file: %+v", got)
	}
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := sqldb.Kind.HostPaths(p.Resource("shop"), false); len(got) != 1 || got[0] != (core.HostPath{Path: file, Why: "resource shop (its SQLite file, read)"}) {
		t.Errorf("read-only: %+v", got)
	}
	if got := sqldb.Kind.HostPaths(p.Resource("shop"), true); len(got) != 1 || got[0] != (core.HostPath{Path: dir, Write: true, Dir: true, Why: "resource shop (the directory of its SQLite file, write)"}) {
		t.Errorf("writable: %+v", got)
	}
	if got := sqldb.Kind.HostPaths(p.Resource("pg"), true); len(got) != 0 {
		t.Errorf("server: %+v", got)
	}
}

// TestDoctor: a database that opens connects; one that does not is a
// problem whose line gives the operator's cause.
func TestDoctor(t *testing.T) {
	file := sqltest.SQLiteFile(t, sqltest.CorpusFixture)
	dir := filepath.Dir(file)
	p := mustCompile(t, dir, `version: 1
resources:
  shop: {kind: sql, driver: sqlite, dsn: `+filepath.Base(file)+`}
  gone: {kind: sql, driver: sqlite, dsn: ./missing.db}
agents:
  a:
    grants:
      - {resource: shop, actions: [query], tables: {orders: "*"}}
`, nil)
	got := sqldb.Kind.Doctor(context.Background(), core.DoctorInput{
		Specs: []*core.ResourceSpec{p.Resource("shop"), p.Resource("gone")},
		Needed: func(resource, action, target string) bool {
			return p.Covered(context.Background(), resource, action, target)
		},
	})
	if len(got) != 1 || got[0].Title != "database" || len(got[0].Lines) != 2 {
		t.Fatalf("checkups = %+v", got)
	}
	if l := got[0].Lines[0]; l.Problem || l.Text != "shop (sqlite): connects" {
		t.Errorf("shop: %+v", l)
	}
	l := got[0].Lines[1]
	if want := "gone (sqlite): cannot open the SQLite database " + filepath.Join(dir, "missing.db") + ": no such file or directory"; !l.Problem || l.Text != want {
		t.Errorf("gone: %+v\nwant %q", l, want)
	}
}

// TestGrantsCommand: "warden sql grants" prints a login with what the
// grants need, and refuses what it cannot do as a usage problem.
func TestGrantsCommand(t *testing.T) {
	p := mustCompile(t, t.TempDir(), `version: 1
resources:
  shop: {kind: sql, driver: postgres, dsn: env:SHOP_DSN}
  lite: {kind: sql, driver: sqlite, dsn: ./lite.db}
agents:
  a:
    grants:
      - {resource: shop, actions: [query], tables: {orders: "*", customers: [id, country]}}
      - {resource: shop, actions: [execute], tables: {orders: [total]}}
      - {resource: lite, actions: [query], tables: {orders: "*"}}
    deny:
      - {resource: shop, actions: [execute]}
`, map[string]string{"SHOP_DSN": "postgres://app@127.0.0.1/shopdb"})
	var cmd core.Command
	for _, c := range sqldb.Kind.Commands {
		if c.Name == "sql" {
			cmd = c
		}
	}
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		env := core.CommandEnv{
			Ctx: context.Background(), Stdout: &out, Stderr: io.Discard,
			Flags: func(verb, usage, help string) *flag.FlagSet {
				fs := flag.NewFlagSet(verb, flag.ContinueOnError)
				fs.SetOutput(io.Discard)
				fs.String("policy", "", "")
				return fs
			},
			Load: func() (core.PolicyView, error) { return p, nil },
		}
		err := cmd.Verbs["grants"](env, args)
		return out.String(), err
	}
	out, err := run("--resource", "shop")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`CREATE ROLE "warden_shop" LOGIN`,
		`GRANT CONNECT ON DATABASE "shopdb" TO "warden_shop";`,
		`GRANT SELECT ON TABLE public."orders" TO "warden_shop";`,
		`GRANT UPDATE ("total") ON TABLE public."orders" TO "warden_shop";`,
		`GRANT SELECT ("country", "id") ON TABLE public."customers" TO "warden_shop";`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("script lacks %s:\n%s", want, out)
		}
	}
	for _, args := range [][]string{
		{},
		{"--resource", "shop", "extra"},
		{"--resource", "nosuch"},
		{"--resource", "lite"},
		{"--bogus"},
	} {
		if out, err := run(args...); core.KindOf(err) != core.KindInvalid || out != "" {
			t.Errorf("%q: %q, %v; want a usage error and no output", args, out, err)
		}
	}
}

// TestKindContract runs the contract suite on the kind's example, compiled
// from a policy as a user would write it.
func TestKindContract(t *testing.T) { connectortest.RunKind(t, sqldb.Kind) }

// openShop opens the sql connector of the policy's resource "shop", closed
// with the test.
func openShop(t *testing.T, p *policy.Policy) core.Connector {
	t.Helper()
	c, err := sqldb.Kind.New(p.Resource("shop"), core.Host{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.(core.Opener).Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.(io.Closer).Close() })
	return c
}
