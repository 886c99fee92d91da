package myscope

import (
	"testing"

	"github.com/warden-dev/warden/internal/corpus"
	"github.com/warden-dev/warden/internal/sqlscope"
)

// corpusGranted is the policy of the shared SQL corpora: read-only, every
// column of orders, and customers.id and customers.country.
var corpusGranted = map[sqlscope.Ref]bool{
	{Table: "orders", Column: "id"}:          true,
	{Table: "orders", Column: "customer_id"}: true,
	{Table: "orders", Column: "total"}:       true,
	{Table: "orders", Column: "created_at"}:  true,
	{Table: "customers", Column: "id"}:       true,
	{Table: "customers", Column: "country"}:  true,
}

// corpusTables are the tables with at least one granted column.
var corpusTables = map[string]bool{"orders": true, "customers": true}

// corpusKnown are allow lines this analyzer refuses on purpose. Keyed by
// payload, as line numbers move when the corpus grows.
var corpusKnown = map[string]string{
	// SHOW TABLES lists every table of the database, secrets included:
	// the schema tool lists what the agent may query instead. The corpus
	// marks the line debatable.
	"SHOW TABLES": "it reveals tables outside the resource's scope",
}

// corpusVerdict reports whether the corpus policy refuses sql, and why.
func corpusVerdict(a *Analyzer, sql string) (refused bool, why string) {
	an, err := a.Analyze(sql, fixtureSchema())
	switch {
	case err != nil:
		return true, err.Error()
	case an.Kind != sqlscope.Select:
		return true, "kind " + an.Kind.String()
	}
	for _, r := range an.Refs() {
		if !corpusGranted[r] {
			return true, "not granted: " + r.String()
		}
	}
	// The connector also needs a grant on every table named (see
	// sqldb.targetsOf), so that COUNT(*) FROM secrets, which reads no
	// column, is refused.
	for _, tbl := range an.Tables {
		if !corpusTables[tbl] {
			return true, "table not granted: " + tbl
		}
	}
	return false, ""
}

func TestCorpus(t *testing.T) {
	a := New()
	for _, c := range corpus.Load(t, "sql-mysql.txt") {
		t.Run(c.String(), func(t *testing.T) {
			refused, why := corpusVerdict(a, c.Payload)
			if reason, ok := corpusKnown[c.Payload]; ok && c.Expect == "allow" {
				if !refused {
					t.Errorf("listed as a known failure (%s) but now accepted; remove it from corpusKnown", reason)
				}
				t.Skipf("known: %s", reason)
			}
			switch {
			case c.Expect == "allow" && refused:
				t.Errorf("Analyze(%q) refused (%s), want accepted", c.Payload, why)
			case c.Expect == "deny" && !refused:
				t.Errorf("Analyze(%q) accepted, want refused", c.Payload)
			}
		})
	}
}
