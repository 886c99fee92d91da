package pgscope

import "github.com/warden-dev/warden/internal/sqlscope"

// fixture is the corpora's schema.
func fixture() *sqlscope.Schema {
	tab := func(name string, cols ...string) *sqlscope.Table {
		t := &sqlscope.Table{Name: name}
		for _, c := range cols {
			t.Columns = append(t.Columns, sqlscope.Column{Name: c})
		}
		return t
	}
	return &sqlscope.Schema{Tables: map[string]*sqlscope.Table{
		"customers": tab("customers", "id", "name", "email", "country"),
		"orders":    tab("orders", "id", "customer_id", "total", "created_at"),
		"secrets":   tab("secrets", "id", "token"),
	}}
}
