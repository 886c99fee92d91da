package policy

// Reachable reports whether some grant of an agent could allow an action
// on a target: its paths match (conditions and deny rules aside). It
// decides which fixed-target tools, such as an OpenAPI operation's, an
// agent is offered; every call is still decided in full.
func (p *Policy) Reachable(agent, resource, action, target string) bool {
	a := p.agents[agent]
	if a == nil {
		return false
	}
	rs := a.index[resource][action]
	if rs == nil {
		return false
	}
	found := false
	rs.grants.each(target, func(r *rule) bool {
		if len(r.paths) == 0 || matchAny(r.paths, target) {
			found = true
			return false
		}
		return true
	})
	return found
}
