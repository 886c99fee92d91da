package cli

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/warden-dev/warden/internal/connector"
	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/netguard"
	"github.com/warden-dev/warden/internal/policy"
)

// apis reports, for each http resource, where its requests may go and
// whether its host resolves to addresses the dial-time check would refuse.
// It resolves the host but connects to nothing.
func (d *doctor) apis(e *env, p *policy.Policy) {
	var specs []*core.ResourceSpec
	for _, spec := range p.Resources() {
		if spec.HTTP != nil {
			specs = append(specs, spec)
		}
	}
	if len(specs) == 0 {
		return
	}
	d.block("network", "http requests stay under each base URL, and every connection is checked against the address it really goes to (public addresses only, unless allow_private covers one)")
	for _, spec := range specs {
		s := spec.HTTP
		c, err := connector.New(spec)
		if err != nil {
			d.problem("%s: %s", spec.Name, core.MessageOf(err))
			continue
		}
		if cl, ok := c.(interface{ Close() error }); ok {
			cl.Close()
		}
		u, _ := url.Parse(s.BaseURL)
		allowed := "public addresses only"
		if len(s.AllowPrivate) > 0 {
			var list []string
			for _, pr := range s.AllowPrivate {
				list = append(list, pr.String())
			}
			allowed += ", and " + strings.Join(list, ", ")
		}
		d.line("%s: %s (%s)", spec.Name, s.BaseURL, allowed)
		if s.Auth != nil {
			d.line("%s: credential (%s) from %s, added by Warden and redacted from results", spec.Name, s.Auth.Scheme, s.Auth.Secret.Ref())
		}
		if s.Proxy != "" {
			d.line("%s: through the proxy %s, which resolves and connects: the address check applies to the proxy", spec.Name, redactURL(s.Proxy))
			continue
		}
		ctx, cancel := context.WithTimeout(e.ctx, 5*time.Second)
		addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", u.Hostname())
		cancel()
		if err != nil {
			d.line("%s: warning: %s does not resolve here (%v)", spec.Name, u.Hostname(), err)
			continue
		}
		guard := netguard.New(s.AllowPrivate)
		for _, a := range addrs {
			if err := guard.Check(a.Unmap()); err != nil {
				d.problem("%s: %s resolves to %s, which calls refuse: %s; list it in allow_private if the service is meant to be internal", spec.Name, u.Hostname(), a.Unmap(), strings.TrimPrefix(err.Error(), netguard.ErrBlocked.Error()+": "))
			}
		}
	}
}

// redactURL drops a URL's user information.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable)"
	}
	u.User = nil
	return fmt.Sprint(u)
}
