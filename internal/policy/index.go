package policy

import "strings"

// ruleIndex holds the rules for one agent, resource and action in file
// order, indexed by their path patterns so that a policy with thousands of
// path-scoped grants is decided without trying each one. A rule is
// reachable through each of its patterns:
//   - a pattern whose first segment is literal, by that segment;
//   - otherwise a pattern without "**", by its number of segments;
//   - otherwise (and for rules without paths) always.
type ruleIndex struct {
	byFirst map[string][]*rule
	byCount map[int][]*rule
	rest    []*rule
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
	if len(r.paths) == 0 {
		x.rest = append(x.rest, r)
		return
	}
	for _, p := range r.paths {
		segs := p.Segments()
		switch {
		case len(segs) > 0 && !strings.ContainsAny(segs[0], `*?[\{`):
			if x.byFirst == nil {
				x.byFirst = map[string][]*rule{}
			}
			x.byFirst[segs[0]] = appendRule(x.byFirst[segs[0]], r)
		case !hasAny(segs):
			if x.byCount == nil {
				x.byCount = map[int][]*rule{}
			}
			x.byCount[len(segs)] = appendRule(x.byCount[len(segs)], r)
		default:
			x.rest = appendRule(x.rest, r)
		}
	}
}

// appendRule appends r unless it is already last (several patterns of one
// rule in the same bucket).
func appendRule(list []*rule, r *rule) []*rule {
	if n := len(list); n > 0 && list[n-1] == r {
		return list
	}
	return append(list, r)
}

func hasAny(segs []string) bool {
	for _, s := range segs {
		if s == "**" {
			return true
		}
	}
	return false
}

// each calls fn for the rules that may match target, in file order and each
// once, until fn returns false. Deny rules are indexed by folded segments,
// so callers pass the folded target for them.
func (x *ruleIndex) each(target string, fn func(*rule) bool) {
	if x.n == 0 {
		return
	}
	var a, b []*rule
	if len(x.byFirst) > 0 {
		a = x.byFirst[firstSegment(target)]
	}
	if len(x.byCount) > 0 {
		b = x.byCount[segmentCount(target)]
	}
	c := x.rest
	last := -1
	for len(a) > 0 || len(b) > 0 || len(c) > 0 {
		// Take the lowest order among the three heads.
		var r *rule
		switch {
		case len(a) > 0 && (len(b) == 0 || a[0].order <= b[0].order) && (len(c) == 0 || a[0].order <= c[0].order):
			r, a = a[0], a[1:]
		case len(b) > 0 && (len(c) == 0 || b[0].order <= c[0].order):
			r, b = b[0], b[1:]
		default:
			r, c = c[0], c[1:]
		}
		if r.order == last {
			continue // reached through two patterns
		}
		last = r.order
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

// segmentCount counts the segments of a path as patterns count them: "."
// and "/" have none.
func segmentCount(p string) int {
	p = strings.TrimSuffix(strings.TrimPrefix(p, "/"), "/")
	if p == "" || p == "." {
		return 0
	}
	return strings.Count(p, "/") + 1
}
