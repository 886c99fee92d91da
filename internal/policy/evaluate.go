package policy

import (
	"context"

	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/glob"
)

// Evaluate decides a request. It does no I/O and never blocks beyond the
// cost-limited evaluation of when: conditions.
//
// The outcomes, in the order they are considered for each target path
// (req.Path, then every entry of req.Paths):
//   - unknown agent: Deny, reason unknown-agent;
//   - a deny rule for the agent, resource and action whose paths match and
//     whose condition holds (or fails to evaluate): Deny, reason deny-rule;
//   - a grant whose paths match, whose condition holds and which says
//     approval: required: NeedsApproval (approval wins over a plain grant,
//     as deny wins over both);
//   - otherwise the first such grant in file order: Allow.
//
// The decision's Options are the union of the options of every matching
// grant.
//
//	  A file that usually holds secrets (see package sensitive) matches only
//	  a grant whose pattern names it explicitly;
//	- otherwise Deny, with the closest reason: sensitive-path,
//	  condition-false, condition-error or no-matching-grant.
//
// With several targets the strictest outcome wins: any Deny denies, then any
// NeedsApproval asks, otherwise Allow (decided by the first target's rule).
func (p *Policy) Evaluate(ctx context.Context, req *core.Request) core.Decision {
	return p.evaluate(ctx, req, nil)
}

// Step is one rule considered while explaining a decision.
type Step struct {
	Rule     string
	Position string
	Target   string
	Outcome  string // "matched", "paths do not match", "condition false", ...
}

// Explain decides a request like Evaluate and also returns every rule that
// was considered and why it did or did not decide.
func (p *Policy) Explain(ctx context.Context, req *core.Request) (core.Decision, []Step) {
	var steps []Step
	d := p.evaluate(ctx, req, &steps)
	return d, steps
}

func (p *Policy) evaluate(ctx context.Context, req *core.Request, trace *[]Step) core.Decision {
	a := p.agents[req.Agent]
	if a == nil {
		return core.Decision{Reasons: []core.Reason{core.ReasonUnknownAgent}}
	}
	rs := a.index[req.Resource][req.Action]
	if rs == nil {
		if trace != nil {
			*trace = append(*trace, Step{Outcome: "no grant or deny rule covers this resource and action"})
		}
		return core.Decision{Reasons: []core.Reason{core.ReasonNoGrant}}
	}
	d := p.decideTarget(ctx, rs, req, req.Path, trace)
	for _, extra := range req.Paths {
		if d.Effect == core.Deny {
			return d
		}
		e := p.decideTarget(ctx, rs, req, extra, trace)
		if e.Effect == core.Deny || (e.Effect == core.NeedsApproval && d.Effect == core.Allow) {
			e.Options = d.Options.Intersect(e.Options)
			d = e
		} else {
			d.Options = d.Options.Intersect(e.Options)
		}
	}
	return d
}

// decideTarget decides one target path against the rules for an agent,
// resource and action.
func (p *Policy) decideTarget(ctx context.Context, rs *ruleSet, req *core.Request, target string, trace *[]Step) core.Decision {
	var d core.Decision
	decided := false
	if rs.denies.n > 0 {
		folded := glob.Fold(target)
		forms := []string{folded}
		if rs.kind.Rules.DenyForms != nil {
			forms = rs.kind.Rules.DenyForms(folded)
		}
		for _, form := range forms {
			rs.denies.each(form, func(r *rule) bool {
				if len(r.paths) > 0 && !matchAny(r.paths, form) {
					step(trace, r, form, "paths do not match")
					return true
				}
				if r.cond != nil {
					ok, err := r.cond.eval(ctx, req, target)
					if err != nil {
						step(trace, r, form, "condition failed ("+err.Error()+"): the deny rule applies")
						d, decided = deny(r, core.ReasonDenyRule, core.ReasonConditionError), true
						return false
					}
					if !ok {
						step(trace, r, form, "condition false")
						return true
					}
				}
				step(trace, r, form, "matched: denied")
				d, decided = deny(r, core.ReasonDenyRule), true
				return false
			})
			if decided {
				return d
			}
		}
	}

	isSensitive := rs.kind.Rules.Sensitive != nil && rs.kind.Rules.Sensitive(target)
	fallback, why := core.ReasonNoGrant, ""
	// Every matching grant counts: an approval grant wins over plain ones,
	// and options (recursive, hardlinks) add up. Without approval grants or
	// options in the index, the first match decides and the scan stops.
	var first, approval *rule
	var opts core.GrantOptions
	keepLooking := rs.grants.approvals > 0 || rs.grants.withOptions > 0
	rs.grants.each(target, func(r *rule) bool {
		if len(r.paths) > 0 {
			if !matchAny(r.paths, target) {
				step(trace, r, target, "paths do not match")
				return true
			}
			if isSensitive && !r.namesSensitive(target) {
				step(trace, r, target, "the path usually holds secrets and no pattern of this grant names it")
				fallback = core.ReasonSensitivePath
				return true
			}
		} else if isSensitive {
			step(trace, r, target, "the path usually holds secrets and this grant has no paths naming it")
			fallback = core.ReasonSensitivePath
			return true
		}
		if r.constraint != nil {
			if ok, w := r.constraint.Admits(req, target); !ok {
				step(trace, r, target, w)
				if why == "" {
					why = w
				}
				return true
			}
		}
		if r.cond != nil {
			ok, err := r.cond.eval(ctx, req, target)
			if err != nil {
				step(trace, r, target, "condition failed: "+err.Error())
				if fallback == core.ReasonNoGrant || fallback == core.ReasonCondition {
					fallback = core.ReasonConditionError
				}
				return true
			}
			if !ok {
				step(trace, r, target, "condition false")
				if fallback == core.ReasonNoGrant {
					fallback = core.ReasonCondition
				}
				return true
			}
		}
		if first == nil && approval == nil {
			opts = r.options
		} else {
			opts = opts.Union(r.options)
		}
		switch {
		case r.approval && approval == nil:
			step(trace, r, target, "matched: needs approval")
			approval = r
		case r.approval:
			step(trace, r, target, "matched too (needs approval)")
		case first == nil:
			step(trace, r, target, "matched: allowed")
			first = r
		default:
			step(trace, r, target, "matched too; its options add up")
		}
		return keepLooking
	})
	switch {
	case approval != nil:
		return core.Decision{Effect: core.NeedsApproval, Rule: approval.id, Position: approval.position, Reasons: []core.Reason{core.ReasonApprovalRequired}, Options: opts}
	case first != nil:
		return core.Decision{Effect: core.Allow, Rule: first.id, Position: first.position, Reasons: []core.Reason{core.ReasonGrant}, Options: opts}
	}
	return core.Decision{Reasons: []core.Reason{fallback}, Why: why}
}

// namesSensitive reports whether a pattern that names sensitive files
// explicitly matches the target.
func (r *rule) namesSensitive(target string) bool {
	for i, pat := range r.paths {
		if r.named[i] && pat.Match(target) {
			return true
		}
	}
	return false
}

func deny(r *rule, reasons ...core.Reason) core.Decision {
	return core.Decision{Rule: r.id, Position: r.position, Reasons: reasons}
}

func matchAny(pats []*glob.Pattern, target string) bool {
	for _, p := range pats {
		if p.Match(target) {
			return true
		}
	}
	return false
}

func step(trace *[]Step, r *rule, target, outcome string) {
	if trace != nil {
		*trace = append(*trace, Step{Rule: r.id, Position: r.position, Target: target, Outcome: outcome})
	}
}

// Scope returns what a connector asks while executing an allowed request:
// whether a further path it found (a directory entry, a search hit) would be
// allowed for the same agent, resource and action. Entries needing approval
// count as visible, because the call itself was already decided.
func (p *Policy) Scope(ctx context.Context, req *core.Request) core.Scope {
	a := p.agents[req.Agent]
	if a == nil {
		return core.ScopeFunc(func(string) bool { return false })
	}
	rs := a.index[req.Resource][req.Action]
	if rs == nil {
		return core.ScopeFunc(func(string) bool { return false })
	}
	return core.ScopeFunc(func(path string) bool {
		return p.decideTarget(ctx, rs, req, path, nil).Effect != core.Deny
	})
}
