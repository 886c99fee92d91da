package httpapi

import (
	"errors"
	"fmt"
	"net/netip"
	"net/textproto"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/netguard"
)

// decodeResource reads an http resource block:
//
//	api:
//	  kind: http
//	  base_url: https://api.example.com/v1/
//	  auth: {bearer: env:API_TOKEN}
//	  ca: ./ca.pem
//	  proxy: http://proxy:3128
//	  allow_private: [10.0.0.0/8]
//	  openapi: ./api.yaml
//	  limits: {max_response_bytes: 1MiB, timeout: 30s, calls_per_minute: 60}
func decodeResource(n core.PolicyNode) any {
	cfg := &Config{}
	base := n.Field("base_url")
	if base == nil {
		n.Missing("base_url", "add base_url: https://api.example.com/v1/", "resource %q of kind http needs a base_url", resourceName(n))
	} else if s, ok := base.String("base_url"); ok {
		if msg := checkBaseURL(s); msg != "" {
			base.Problem("write an absolute URL such as https://api.example.com/v1/", "base_url %q %s", s, msg)
		} else {
			cfg.BaseURL = s
			// url.Parse lowers the scheme, so HTTP:// warns like http://.
			if u, _ := url.Parse(s); u.Scheme == "http" {
				base.Warn("use https:// unless the service is on a trusted network", "base_url uses plain http: requests and credentials travel unencrypted")
			}
		}
	}
	if f := n.Field("auth"); f != nil {
		cfg.Auth = decodeAuth(f)
	}
	if f := n.Field("ca"); f != nil {
		if s, ok := f.String("ca"); ok {
			cfg.CAFile = f.Abs(s)
			if _, err := os.Stat(cfg.CAFile); err != nil {
				f.Problem("point ca at a PEM file", "ca file %q cannot be read", s)
			}
		}
	}
	if f := n.Field("proxy"); f != nil {
		if s, ok := f.String("proxy"); ok {
			if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				f.Problem("write http://host:port", "proxy %q is not an http(s) URL", s)
			} else {
				cfg.Proxy = s
			}
		}
	}
	if f := n.Field("allow_private"); f != nil {
		list, nodes, _ := f.Strings("allow_private")
		for i, s := range list {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				if a, err2 := netip.ParseAddr(s); err2 == nil {
					p = netip.PrefixFrom(a, a.BitLen())
				} else {
					nodes[i].Problem("write a CIDR such as 10.0.0.0/8 or an address", "%q is not a CIDR", s)
					continue
				}
			}
			cfg.AllowPrivate = append(cfg.AllowPrivate, p.Masked())
		}
	}
	if base != nil && cfg.BaseURL != "" {
		if msg := checkBaseHost(cfg.BaseURL, cfg.AllowPrivate); msg != "" {
			base.Problem("point base_url at the API's public host name, or list its address in allow_private to reach an internal service deliberately", "base_url %q %s", cfg.BaseURL, msg)
			cfg.BaseURL = ""
		}
	}
	if f := n.Field("openapi"); f != nil {
		if s, ok := f.String("openapi"); ok {
			cfg.OpenAPI = f.Abs(s)
			if _, err := os.Stat(cfg.OpenAPI); err != nil {
				f.Problem("point openapi at an OpenAPI 3 document", "openapi file %q cannot be read", s)
			}
		}
	}
	if f := n.Field("limits"); f != nil {
		for _, x := range f.Fields("limits", []string{"max_response_bytes", "timeout", "calls_per_minute"}) {
			switch x.Key {
			case "max_response_bytes":
				cfg.Limits.MaxResponseBytes, _ = x.Value.Size(x.Key, 1024, 1<<30)
			case "timeout":
				cfg.Limits.Timeout, _ = x.Value.Duration(x.Key, 1e6, 3600e9)
			case "calls_per_minute":
				v, _ := x.Value.Int(x.Key, 1, 1_000_000)
				cfg.Limits.CallsPerMinute = int(v)
			}
		}
	}
	return cfg
}

// resourceName is the name of the resource whose block n is
// ("resources.NAME"): resource names hold no dots.
func resourceName(n core.PolicyNode) string {
	p := n.Path()
	return p[strings.LastIndexByte(p, '.')+1:]
}

// checkBaseURL says what is wrong with a base URL's form, or "".
func checkBaseURL(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "is not a URL"
	case u.Scheme != "https" && u.Scheme != "http":
		return "must use https (or http)"
	case u.Host == "" || u.Hostname() == "":
		return "has no host"
	case u.User != nil:
		return "must not contain credentials; use auth: with a secret reference"
	case u.RawQuery != "" || u.Fragment != "" || strings.Contains(s, "#"):
		return "must not have a query or fragment"
	}
	return ""
}

// checkBaseHost refuses a base URL host that is not canonically spelled
// (a number a resolver could read as IPv4, an IDN not in xn-- form), has
// an invalid port, or is an address netguard blocks and allow does not
// cover.
func checkBaseHost(s string, allow []netip.Prefix) string {
	u, err := url.Parse(s)
	if err != nil {
		return "is not a URL"
	}
	switch err := netguard.CheckHost(u.Hostname(), u.Port(), allow); {
	case err == nil:
		return ""
	case errors.Is(err, netguard.ErrPort):
		return "has an invalid port"
	case errors.Is(err, netguard.ErrBlocked):
		return "is an address Warden does not connect to: " + strings.TrimPrefix(err.Error(), netguard.ErrBlocked.Error()+": ")
	default:
		return "has a host Warden does not accept: " + strings.TrimPrefix(err.Error(), netguard.ErrHostSpelling.Error()+": ")
	}
}

// decodeAuth decodes one of:
//
//	auth: {header: X-Api-Key, secret: env:KEY}
//	auth: {query: api_key, secret: env:KEY}
//	auth: {bearer: env:TOKEN}
//	auth: {basic: {username: bob, password: env:PASS}}
func decodeAuth(f core.PolicyNode) *Auth {
	fields := f.Fields("auth", []string{"header", "query", "secret", "bearer", "basic"})
	if len(fields) == 0 {
		// A string is not a mapping, as Fields said already; only an
		// empty mapping lacks a scheme. (A string is the likely slip:
		// "auth: env:KEY".)
		if _, isText := f.Text(); isText {
			return nil
		}
	}
	a := &Auth{}
	var secretField core.PolicyNode
	for _, x := range fields {
		switch x.Key {
		case "header", "query":
			if a.Scheme != "" {
				x.Value.KeyProblem("use exactly one of header, query, bearer or basic", "auth sets both %s and %s", a.Scheme, x.Key)
				continue
			}
			a.Scheme = x.Key
			a.Name, _ = x.Value.String(x.Key)
			if a.Scheme == "header" && !validHeaderName(a.Name) {
				x.Value.Problem("write a header name such as X-Api-Key", "%q is not a valid header name", a.Name)
			}
		case "secret":
			secretField = x.Value
		case "bearer":
			if a.Scheme != "" {
				x.Value.KeyProblem("use exactly one of header, query, bearer or basic", "auth sets both %s and bearer", a.Scheme)
				continue
			}
			a.Scheme = "bearer"
			a.Secret, _ = x.Value.Secret("auth.bearer")
		case "basic":
			if a.Scheme != "" {
				x.Value.KeyProblem("use exactly one of header, query, bearer or basic", "auth sets both %s and basic", a.Scheme)
				continue
			}
			a.Scheme = "basic"
			var hasPass bool
			for _, b := range x.Value.Fields("auth.basic", []string{"username", "password"}) {
				switch b.Key {
				case "username":
					a.Name, _ = b.Value.String("username")
				case "password":
					hasPass = true
					a.Secret, _ = b.Value.Secret("auth.basic.password")
				}
			}
			if !hasPass {
				x.Value.KeyProblem("add password: env:NAME", "basic auth needs a password")
			}
		}
	}
	switch a.Scheme {
	case "":
		f.KeyProblem("use header:, query:, bearer: or basic:", "auth names no scheme")
	case "header", "query":
		if secretField == nil {
			f.KeyProblem("add secret: env:NAME", "auth.%s needs a secret", a.Scheme)
		} else {
			a.Secret, _ = secretField.Secret("auth.secret")
		}
	default:
		if secretField != nil {
			secretField.KeyProblem("put the reference in "+a.Scheme+": instead", "auth.secret is only for header and query auth")
		}
	}
	return a
}

// validHeaderName reports whether s is a header name Warden accepts in a
// policy: letters, digits, "-" and "_".
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !(ch == '-' || ch == '_' || ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z') {
			return false
		}
	}
	return true
}

// Grant options and keys.
const (
	keyReadOnly     = "read_only"
	keyQuery        = "query"
	keyHeaders      = "headers"
	keyMaxBodyBytes = "max_body_bytes"
)

// decodeRule reads an http grant's own keys:
//
//	read_only: true          # adds GET and HEAD to actions
//	query: [page, per_page]  # the query parameters a call may send
//	headers: [Accept]        # the headers a call may set
//	max_body_bytes: 64KiB    # the largest body a call may send
//
// A grant without query, headers and max_body_bytes has no constraint.
func decodeRule(n core.PolicyNode, r *core.RuleDraft) {
	if f := n.Field(keyReadOnly); f != nil {
		if v, ok := f.Bool(keyReadOnly); ok && v {
			for _, m := range []string{"GET", "HEAD"} {
				if !slices.Contains(r.Actions, m) {
					r.Actions = append(r.Actions, m)
				}
			}
		}
	}
	c := &constraint{maxBodyBytes: -1}
	limited := false
	if f := n.Field(keyQuery); f != nil {
		limited = true
		c.query, _, _ = f.Strings(keyQuery)
		if c.query == nil {
			c.query = []string{} // query: [] allows none
		}
	}
	if f := n.Field(keyHeaders); f != nil {
		limited = true
		var nodes []core.PolicyNode
		c.headers, nodes, _ = f.Strings(keyHeaders)
		for i, h := range c.headers {
			if !validHeaderName(h) {
				nodes[i].Problem("write a header name such as Accept", "%q is not a valid header name", h)
			}
			c.headers[i] = textproto.CanonicalMIMEHeaderKey(h)
		}
		if c.headers == nil {
			c.headers = []string{} // headers: [] allows none
		}
	}
	if f := n.Field(keyMaxBodyBytes); f != nil {
		limited = true
		// On a problem the rule is dropped; 0 stays closed anyway.
		c.maxBodyBytes, _ = f.Size(keyMaxBodyBytes, 0, 1<<30)
	}
	if limited && !r.Deny {
		r.Constraint = c
	}
}

// constraint is what an http grant allows a call to send besides its
// method and path. A nil list allows anything; an empty one nothing.
type constraint struct {
	query        []string
	headers      []string // canonical
	maxBodyBytes int64    // -1: no limit
}

// Admits implements core.Constraint: it reports whether the grant's
// limits on query parameters, headers and body size admit the call, and if
// not, which parameter, header or size is outside them. A request that is
// not an http call (no Detail) is admitted, so decisions on paths alone
// still work.
func (c *constraint) Admits(req *core.Request, _ string) (bool, string) {
	d, _ := req.Detail.(*Detail)
	if d == nil {
		return true, ""
	}
	if c.query != nil {
		for _, q := range d.Query {
			if !slices.Contains(c.query, q) {
				return false, fmt.Sprintf("query parameter %q is not among the grant's query%s", q, listed(c.query))
			}
		}
	}
	if c.headers != nil {
		for _, h := range d.Headers {
			if !slices.Contains(c.headers, h) {
				return false, fmt.Sprintf("header %q is not among the grant's headers%s", h, listed(c.headers))
			}
		}
	}
	if c.maxBodyBytes >= 0 && d.BodyBytes > c.maxBodyBytes {
		return false, fmt.Sprintf("the body is %d bytes, over the grant's max_body_bytes %d", d.BodyBytes, c.maxBodyBytes)
	}
	return true, ""
}

// listed ends a why with what a grant's list allows: ": page, per_page",
// or " (none)".
func listed(list []string) string {
	if len(list) == 0 {
		return " (none)"
	}
	return ": " + strings.Join(list, ", ")
}

// Scope implements core.Constraint: "query parameters page, per_page;
// headers Accept; a body of at most 65536 bytes".
func (c *constraint) Scope() string {
	var parts []string
	switch {
	case c.query == nil:
	case len(c.query) == 0:
		parts = append(parts, "no query parameters")
	default:
		parts = append(parts, "query parameters "+strings.Join(c.query, ", "))
	}
	switch {
	case c.headers == nil:
	case len(c.headers) == 0:
		parts = append(parts, "no headers")
	default:
		parts = append(parts, "headers "+strings.Join(c.headers, ", "))
	}
	switch {
	case c.maxBodyBytes < 0:
	case c.maxBodyBytes == 0:
		parts = append(parts, "no body")
	default:
		parts = append(parts, fmt.Sprintf("a body of at most %d bytes", c.maxBodyBytes))
	}
	return strings.Join(parts, "; ")
}
