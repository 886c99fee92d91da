package policy

import (
	"fmt"
	"slices"
	"strings"

	"golang.org/x/text/unicode/norm"

	"github.com/warden-dev/warden/internal/core"
)

// coversHTTP reports whether an http grant's limits on query parameters,
// headers and body size admit the call, and if not, why. A grant without
// such limits admits every call its paths match; a request that is not an
// http call (nil) is admitted, so decisions on paths alone still work.
func (r *rule) coversHTTP(call *core.HTTPCall) (bool, string) {
	if r.kind != core.KindHTTP || call == nil {
		return true, ""
	}
	if r.query != nil {
		for _, q := range call.Query {
			if !slices.Contains(r.query, q) {
				return false, fmt.Sprintf("query parameter %q is not among the grant's query", q)
			}
		}
	}
	if r.headers != nil {
		for _, h := range call.Headers {
			if !slices.Contains(r.headers, h) {
				return false, fmt.Sprintf("header %q is not among the grant's headers", h)
			}
		}
	}
	if r.maxBodyBytes >= 0 && call.BodyBytes > r.maxBodyBytes {
		return false, fmt.Sprintf("the body is %d bytes, over the grant's max_body_bytes %d", call.BodyBytes, r.maxBodyBytes)
	}
	return true, ""
}

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

// httpDenyForms are the spellings of a URL path that servers commonly
// treat as the same resource: with a trailing slash or without, with
// ";params" in a segment (Tomcat, Spring) or without, and after Unicode
// NFKC normalisation. A deny rule that matches any of them denies, so
// "/v1/admin/", "/v1/admin;x" or a fullwidth "/v1/ａｄｍｉｎ" do not slip
// past a rule for "/v1/admin". Grants see the path as it is.
func httpDenyForms(target string) []string {
	forms := []string{target}
	add := func(f string) {
		if f != "" && !slices.Contains(forms, f) {
			forms = append(forms, f)
		}
	}
	add(norm.NFKC.String(target))
	for _, f := range slices.Clone(forms) {
		segs := strings.Split(f, "/")
		for i, s := range segs {
			segs[i], _, _ = strings.Cut(s, ";")
		}
		add(strings.Join(segs, "/"))
	}
	for _, f := range slices.Clone(forms) {
		if len(f) > 1 && strings.HasSuffix(f, "/") {
			add(strings.TrimSuffix(f, "/"))
		}
	}
	return forms
}
