package policy

import (
	"context"
	"slices"

	"github.com/warden-dev/warden/internal/core"
)

// changesData lists the sql actions that need a human's approval unless
// the grant says approval: none.
var changesData = []string{"execute", "ddl"}

// forAction returns the rule as it applies to one of its actions: a sql
// grant that is silent about approval asks for it on actions that change
// the database, and not on query.
func (r *rule) forAction(action string) *rule {
	if r.kind != core.KindSQL || r.approvalSet || r.approval || !slices.Contains(changesData, action) {
		return r
	}
	c := *r
	c.approval = true
	return &c
}

// coversColumn reports whether a sql grant's tables cover a target made by
// [core.SQLTarget]. The empty target stands for a statement that touches
// no table (SELECT 1) and is covered by any grant of the action; a target
// with an empty column ("customers.", a count(*)) by any grant naming the
// table.
func (r *rule) coversColumn(target string) bool {
	if target == "" {
		return true
	}
	table, column, ok := core.SplitSQLTarget(target)
	if !ok {
		return false
	}
	cols, ok := r.tables[table]
	return ok && (column == "" || slices.Contains(cols, "*") || slices.Contains(cols, column))
}

// Covered reports whether some agent's grant covers an action on a target
// of a resource: what a resource's login must at least be able to do.
func (p *Policy) Covered(ctx context.Context, resource, action, target string) bool {
	for _, a := range p.Agents() {
		if p.Scope(ctx, &core.Request{Agent: a, Resource: resource, Action: action}).Visible(target) {
			return true
		}
	}
	return false
}
