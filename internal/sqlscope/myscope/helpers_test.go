package myscope

import "github.com/warden-dev/warden/internal/sqlscope"

// fixtureSchema is the schema of the shared corpora.
func fixtureSchema() *sqlscope.Schema {
	table := func(name string, cols ...string) *sqlscope.Table {
		t := &sqlscope.Table{Name: name}
		for _, c := range cols {
			t.Columns = append(t.Columns, sqlscope.Column{Name: c})
		}
		return t
	}
	return &sqlscope.Schema{Tables: map[string]*sqlscope.Table{
		"customers": table("customers", "id", "name", "email", "country"),
		"orders":    table("orders", "id", "customer_id", "total", "created_at"),
		"secrets":   table("secrets", "id", "token"),
	}}
}
