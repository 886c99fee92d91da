package httpapi

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/netguard"
)

// doctor reports, for each http resource, where its requests may go and
// whether its host resolves to addresses the dial-time check would refuse.
// It resolves the host but connects to nothing.
func doctor(ctx context.Context, in core.DoctorInput) []core.Checkup {
	if len(in.Specs) == 0 {
		return nil
	}
	ck := core.Checkup{
		Title:   "network",
		Summary: "http requests stay under each base URL, and every connection is checked against the address it really goes to (public addresses only, unless allow_private covers one)",
	}
	for _, spec := range in.Specs {
		s := config(spec)
		c, err := New(spec, in.Host)
		if err != nil {
			ck.Problem("%s: %v", spec.Name, err) // the operator's cause, not the model's sentence
			continue
		}
		c.Close()
		u, _ := url.Parse(s.BaseURL)
		allowed := "public addresses only"
		if len(s.AllowPrivate) > 0 {
			var list []string
			for _, pr := range s.AllowPrivate {
				list = append(list, pr.String())
			}
			allowed += ", and " + strings.Join(list, ", ")
		}
		ck.Line("%s: %s (%s)", spec.Name, s.BaseURL, allowed)
		if s.Auth != nil {
			ck.Line("%s: credential (%s) from %s, added by Warden and redacted from results", spec.Name, s.Auth.Scheme, s.Auth.Secret.Ref())
		}
		if s.Proxy != "" {
			ck.Line("%s: through the proxy %s, which resolves and connects: the address check applies to the proxy", spec.Name, redactURL(s.Proxy))
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		addrs, err := net.DefaultResolver.LookupNetIP(rctx, "ip", u.Hostname())
		cancel()
		if err != nil {
			ck.Line("%s: warning: %s does not resolve here (%v)", spec.Name, u.Hostname(), err)
			continue
		}
		guard := netguard.New(s.AllowPrivate)
		for _, a := range addrs {
			if err := guard.Check(a.Unmap()); err != nil {
				ck.Problem("%s: %s resolves to %s, which calls refuse: %s; list it in allow_private if the service is meant to be internal", spec.Name, u.Hostname(), a.Unmap(), strings.TrimPrefix(err.Error(), netguard.ErrBlocked.Error()+": "))
			}
		}
	}
	return []core.Checkup{ck}
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
