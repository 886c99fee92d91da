package policy

import (
	"strings"
)

// ruleIndex holds the rules for one agent, resource and action in file
// order, indexed by their path patterns so that a policy with thousands of
// path-scoped grants is decided without trying each one. A rule is
// reachable through each of its patterns:
//   - a pattern whose first segment is literal, by that segment;
//   - otherwise a pattern without "**", by its number of segments;
//   - otherwise a pattern ending in a literal segment ("**/.env"), by that
//     segment, or in "*.ext" ("**/*.pem"), by the extension;
//   - otherwise (and for rules without paths) always.
type ruleIndex struct {
	byFirst map[string][]*rule
	byCount map[int][]*rule
	byLast  map[string][]*rule
	byExt   map[string][]*rule
	rest    []*rule
	n       int
	// approvals and withOptions count grants requiring approval or carrying
	// options; when there are none, the first matching grant decides and
	// the search stops.
	approvals   int
	withOptions int
}

func (x *ruleIndex) add(r *rule) {
	x.n++
	if r.approval {
		x.approvals++
	}
	if !r.options.IsZero() {
		x.withOptions++
	}
	if len(r.paths) == 0 {
		x.rest = append(x.rest, r)
		return
	}
	for _, p := range r.paths {
		segs := p.Segments()
		switch {
		case len(segs) > 0 && isLiteral(segs[0]):
			if x.byFirst == nil {
				x.byFirst = map[string][]*rule{}
			}
			x.byFirst[segs[0]] = appendRule(x.byFirst[segs[0]], r)
		case !hasAny(segs):
			if x.byCount == nil {
				x.byCount = map[int][]*rule{}
			}
			x.byCount[len(segs)] = appendRule(x.byCount[len(segs)], r)
		case isLiteral(segs[len(segs)-1]) && segs[len(segs)-1] != "**":
			last := segs[len(segs)-1]
			if x.byLast == nil {
				x.byLast = map[string][]*rule{}
			}
			x.byLast[last] = appendRule(x.byLast[last], r)
		case strings.HasPrefix(segs[len(segs)-1], "*.") && isLiteral(segs[len(segs)-1][2:]) && !strings.Contains(segs[len(segs)-1][2:], "."):
			ext := segs[len(segs)-1][2:]
			if x.byExt == nil {
				x.byExt = map[string][]*rule{}
			}
			x.byExt[ext] = appendRule(x.byExt[ext], r)
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

func isLiteral(seg string) bool { return !strings.ContainsAny(seg, `*?[\{`) }

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
	var lists [5][]*rule
	lists[0] = x.rest
	if len(x.byFirst) > 0 {
		lists[1] = x.byFirst[firstSegment(target)]
	}
	if len(x.byCount) > 0 {
		lists[2] = x.byCount[segmentCount(target)]
	}
	if len(x.byLast) > 0 || len(x.byExt) > 0 {
		last := lastSegment(target)
		lists[3] = x.byLast[last]
		if i := strings.LastIndexByte(last, '.'); i >= 0 {
			lists[4] = x.byExt[last[i+1:]]
		}
	}
	last := -1
	for {
		// Take the lowest order among the lists' heads.
		best := -1
		for i := range lists {
			if len(lists[i]) > 0 && (best < 0 || lists[i][0].order < lists[best][0].order) {
				best = i
			}
		}
		if best < 0 {
			return
		}
		r := lists[best][0]
		lists[best] = lists[best][1:]
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

// lastSegment returns the last segment of a slash-separated path.
func lastSegment(p string) string {
	p = strings.TrimSuffix(p, "/")
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}
