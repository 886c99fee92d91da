package egress

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/warden-dev/warden/internal/connector/httpapi"
	"github.com/warden-dev/warden/internal/netguard"
	"github.com/warden-dev/warden/internal/policy"
)

// route is one http resource granted to the agent: where it lives and the
// tool that reaches it.
type route struct {
	resource string
	tool     string // "<resource>_request"; "" when the resource offers API operations instead
	scheme   string // "http" or "https"
	host     string // lower case; an IPv6 literal without brackets
	port     string // always set: the scheme's default when the URL has none
	basePath string // ends in "/"
	allow    []netip.Prefix
	proxied  bool // the resource goes through the operator's proxy
	methods  []string
	// restricted says the agent's grants narrow the resource beyond its
	// host: methods, paths, query, headers, body size or a condition.
	restricted bool
}

func (r *route) origin() string {
	return r.scheme + "://" + net.JoinHostPort(r.host, r.port)
}

// routes builds the agent's routes from the policy, in file order.
func routes(p *policy.Policy, agent string) ([]*route, error) {
	var out []*route
	for _, spec := range p.Resources() {
		if spec.Kind != "http" {
			continue
		}
		actions := p.Actions(agent, spec.Name)
		if len(actions) == 0 {
			continue
		}
		cfg, _ := spec.Config.(*httpapi.Config)
		if cfg == nil {
			continue
		}
		u, err := httpapi.ParseBaseURL(cfg.BaseURL, cfg.AllowPrivate)
		if err != nil {
			return nil, fmt.Errorf("resource %s: %w", spec.Name, err)
		}
		r := &route{
			resource: spec.Name,
			scheme:   u.Scheme,
			host:     strings.ToLower(u.Hostname()),
			port:     u.Port(),
			basePath: u.Path,
			allow:    cfg.AllowPrivate,
			proxied:  cfg.Proxy != "",
			methods:  actions,
		}
		if cfg.OpenAPI == "" {
			r.tool = spec.Name + "_" + httpapi.OpRequest
		}
		if r.port == "" {
			r.port = defaultPort(r.scheme)
		}
		if !strings.HasSuffix(r.basePath, "/") {
			r.basePath += "/"
		}
		r.restricted = restricted(p.Grants(agent, spec.Name), len(p.Denies(agent, spec.Name)) > 0)
		out = append(out, r)
	}
	return out, nil
}

// restricted reports whether grants narrow a resource beyond its host, so
// that a tunnel nobody inspects would let through what they refuse.
func restricted(grants []policy.Grant, denies bool) bool {
	if denies {
		return true
	}
	for _, g := range grants {
		if g.When != "" || g.Constraint != nil || g.Approval {
			return true
		}
		for _, p := range g.Paths {
			if p != "**" && p != "/**" {
				return true
			}
		}
	}
	// Methods: every method must be granted by some grant.
	var all []string
	for _, g := range grants {
		all = append(all, g.Actions...)
	}
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
		if !slices.Contains(all, m) {
			return true
		}
	}
	return false
}

func defaultPort(scheme string) string {
	if scheme == "https" {
		return "443"
	}
	return "80"
}

// forURL returns the route whose base URL covers u (scheme, host, port and
// path prefix; the longest base path wins), or nil.
func forURL(rs []*route, u *url.URL) *route {
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if port == "" {
		port = defaultPort(scheme)
	}
	p := u.Path
	if p == "" {
		p = "/"
	}
	var best *route
	for _, r := range rs {
		if r.scheme != scheme || r.host != host || r.port != port {
			continue
		}
		if p+"/" != r.basePath && !strings.HasPrefix(p, r.basePath) {
			continue
		}
		if best == nil || len(r.basePath) > len(best.basePath) {
			best = r
		}
	}
	return best
}

// forTunnel returns a granted https route at host and port, or nil.
func forTunnel(rs []*route, host, port string) *route {
	for _, r := range rs {
		if r.scheme == "https" && r.host == host && r.port == port {
			return r
		}
	}
	return nil
}

var errTarget = errors.New("not a host:port")

// maxTargetBytes bounds the CONNECT target: a host name is at most 253
// bytes, plus brackets, a colon and a port.
const maxTargetBytes = 300

// parseTarget reads a CONNECT request's target, "host:port" (an IPv6
// literal in brackets). The host must be spelled canonically (netguard's
// rule for base URLs: nothing a resolver could read as another address)
// and is returned in lower case without brackets; the port is 1-65535
// without leading zeros.
func parseTarget(s string) (host, port string, err error) {
	if len(s) > maxTargetBytes || s == "" {
		return "", "", errTarget
	}
	host, port, err = net.SplitHostPort(s)
	if err != nil || host == "" {
		return "", "", errTarget
	}
	if strings.Contains(host, ":") != strings.HasPrefix(s, "[") {
		return "", "", errTarget
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || port[0] == '0' || strconv.Itoa(n) != port {
		return "", "", errTarget
	}
	host = strings.ToLower(host)
	if _, err := netguard.ParseHost(host); err != nil {
		return "", "", fmt.Errorf("%w: %w", errTarget, err)
	}
	return host, port, nil
}

// shown bounds what the audit log and the log keep of a host or URL an
// outsider wrote.
func shown(s string) string {
	const max = 512
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) > max {
		return strings.ToValidUTF8(s[:max], "") + "…"
	}
	return s
}
