package sqldb

import (
	"context"
	"maps"
	"slices"

	"github.com/warden-dev/warden/internal/core"
)

type schemaResult struct {
	Tables []schemaTable `json:"tables"`
}

type schemaTable struct {
	Name    string         `json:"name"`
	Columns []schemaColumn `json:"columns"`
}

type schemaColumn struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// describe lists the tables and columns the agent may query, read fresh
// from the database; the rest of the schema stays hidden.
func (c *Connector) describe(ctx context.Context, scope core.Scope) (*core.Result, error) {
	s, _, err := c.schema(ctx, true)
	if err != nil {
		return nil, err
	}
	res := schemaResult{Tables: []schemaTable{}}
	for _, name := range slices.Sorted(maps.Keys(s.Tables)) {
		t := s.Tables[name]
		if scope == nil || !scope.Visible(SQLTarget(t.Name, "")) {
			continue
		}
		st := schemaTable{Name: t.Name, Columns: []schemaColumn{}}
		for _, col := range t.Columns {
			if scope.Visible(SQLTarget(t.Name, col.Name)) {
				st.Columns = append(st.Columns, schemaColumn{Name: col.Name, Type: col.Type})
			}
		}
		if len(st.Columns) > 0 {
			res.Tables = append(res.Tables, st)
		}
	}
	return &core.Result{Value: res}, nil
}
