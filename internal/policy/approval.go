package policy

import (
	"context"
	"slices"

	"github.com/warden-dev/warden/internal/core"
)

// forAction returns the rule as it applies to one of its actions: a grant
// that is silent about approval asks for it on the actions its kind asks
// for by default (those that change a database), and not on the others.
func (r *rule) forAction(action string) *rule {
	if r.approvalSet || r.approval || !slices.Contains(r.kind.ApprovalByDefault, action) {
		return r
	}
	c := *r
	c.approval = true
	return &c
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
