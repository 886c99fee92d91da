package policy

import "strings"

// ruleIndex holds the rules for one agent, resource and action in file
// order, indexed by the first literal segment of their path patterns, so a
// policy with thousands of path-scoped grants is decided without trying
// each one.
type ruleIndex struct {
	byFirst map[string][]*rule // rules whose every pattern starts with a literal
	rest    []*rule            // rules without paths, or with a wildcard first segment
	n       int
	// approvals counts grants requiring approval; when there are none, the
	// first matching grant decides and the search stops.
	approvals int
}

func (x *ruleIndex) add(r *rule) {
	x.n++
	if r.approval {
		x.approvals++
	}
	firsts := make([]string, 0, len(r.paths))
	for _, p := range r.paths {
		segs := p.Segments()
		if len(segs) == 0 || strings.ContainsAny(segs[0], `*?[\{`) {
			firsts = nil
			break
		}
		firsts = append(firsts, segs[0])
	}
	if len(firsts) == 0 {
		x.rest = append(x.rest, r)
		return
	}
	if x.byFirst == nil {
		x.byFirst = map[string][]*rule{}
	}
	seen := map[string]bool{}
	for _, f := range firsts {
		if !seen[f] {
			seen[f] = true
			x.byFirst[f] = append(x.byFirst[f], r)
		}
	}
}

// each calls fn for the rules that may match target, in file order, until
// fn returns false. Deny rules are indexed by folded segments, so callers
// pass the folded target for them.
func (x *ruleIndex) each(target string, fn func(*rule) bool) {
	if x.n == 0 {
		return
	}
	var keyed []*rule
	if len(x.byFirst) > 0 {
		keyed = x.byFirst[firstSegment(target)]
	}
	rest := x.rest
	for len(keyed) > 0 || len(rest) > 0 {
		var r *rule
		if len(rest) == 0 || len(keyed) > 0 && keyed[0].order < rest[0].order {
			r, keyed = keyed[0], keyed[1:]
		} else {
			r, rest = rest[0], rest[1:]
		}
		if !fn(r) {
			return
		}
	}
}

// firstSegment returns the first segment of a slash-separated path,
// ignoring one leading slash (URL paths).
func firstSegment(p string) string {
	p = strings.TrimPrefix(p, "/")
	if i := strings.IndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return p
}
