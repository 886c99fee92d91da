package pgscope

import (
	"testing"

	"github.com/warden-dev/warden/internal/corpus"
	"github.com/warden-dev/warden/internal/sqlscope"
)

// granted is the corpus policy: read-only, every column of orders and
// customers.id, customers.country.
var granted = map[sqlscope.Ref]bool{
	{Table: "orders", Column: "id"}:          true,
	{Table: "orders", Column: "customer_id"}: true,
	{Table: "orders", Column: "total"}:       true,
	{Table: "orders", Column: "created_at"}:  true,
	{Table: "customers", Column: "id"}:       true,
	{Table: "customers", Column: "country"}:  true,
}

// grantedTable reports whether any column of a table is granted. A
// statement can observe a table without naming a column (SELECT count(*)
// FROM secrets), so the policy must check Analysis.Tables too.
func grantedTable(name string) bool {
	for r := range granted {
		if r.Table == name {
			return true
		}
	}
	return false
}

// verdict is the corpus policy applied to an analysis: "" if the
// statement may run, else why not.
func verdict(res *sqlscope.Analysis, err error) string {
	switch {
	case err != nil:
		return "refused: " + err.Error()
	case res.Kind != sqlscope.Select:
		return "not read-only: " + res.Kind.String()
	}
	for _, r := range res.Refs() {
		if !granted[r] {
			return "column not granted: " + r.String()
		}
	}
	for _, t := range res.Tables {
		if !grantedTable(t) {
			return "table not granted: " + t
		}
	}
	return ""
}

// disagreements are corpus lines this analyzer labels the other way on
// purpose. Each is reported upstream; the test fails if one starts to
// agree, so the list cannot go stale, and fails on any other mismatch.
var disagreements = map[string]string{
	"SELECT COUNT(*) FROM GENERATE_SERIES(1,5000000000)": "a long-running read of nothing in scope: only the connection's statement_timeout bounds it",
}

func TestCorpus(t *testing.T) {
	cases := corpus.Load(t, "sql-postgres.txt")
	for _, c := range cases {
		res, err := New().Analyze(c.Payload, fixture())
		v := verdict(res, err)
		agrees := (c.Expect == "allow") == (v == "")
		why, known := disagreements[c.Payload]
		switch {
		case agrees && known:
			t.Errorf("%s now agrees with the corpus; remove it from disagreements", c)
		case !agrees && known:
			t.Logf("known disagreement: %s: %s", c, why)
		case !agrees && c.Expect == "allow":
			t.Errorf("%s %s: %s", c, c.Note, v)
		case !agrees:
			t.Errorf("%s %s: accepted (Reads %v, Tables %v)", c, c.Note, res.Reads, res.Tables)
		}
	}
}
