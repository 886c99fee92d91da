package httpapi

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"syscall"
	"time"

	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/netguard"
)

// newTransport builds the one transport a resource uses. Its dialer checks
// the address of every connection; it never reads proxy settings from the
// environment. Used without a client, it keeps no cookies and follows no
// redirects.
func newTransport(s *Config) (*http.Transport, error) {
	allow := append([]netip.Prefix(nil), s.AllowPrivate...)
	var proxy func(*http.Request) (*url.URL, error)
	if s.Proxy != "" {
		pu, err := url.Parse(s.Proxy)
		if err != nil || pu.Hostname() == "" {
			return nil, fmt.Errorf("proxy is not a URL")
		}
		// The operator's proxy is a deliberate destination; with it, the
		// proxy resolves and connects, so layer 2 is the proxy's job.
		if a, err := netip.ParseAddr(pu.Hostname()); err == nil {
			allow = append(allow, netip.PrefixFrom(a, a.BitLen()))
		} else {
			addrs, err := net.DefaultResolver.LookupNetIP(context.Background(), "ip", pu.Hostname())
			if err != nil {
				return nil, fmt.Errorf("proxy host %q cannot be resolved: %w", pu.Hostname(), err)
			}
			for _, a := range addrs {
				a = a.Unmap()
				allow = append(allow, netip.PrefixFrom(a, a.BitLen()))
			}
		}
		proxy = http.ProxyURL(pu)
	}
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.CAFile != "" {
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca: %s holds no PEM certificate", s.CAFile)
		}
		tlsConf.RootCAs = pool
	}
	dialer := Dialer(allow)
	tr := &http.Transport{
		Proxy:                  proxy,
		DialContext:            dialer.DialContext,
		TLSClientConfig:        tlsConf,
		TLSHandshakeTimeout:    10 * time.Second,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           64,
		MaxIdleConnsPerHost:    16,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: 64 << 10,
		ExpectContinueTimeout:  time.Second,
	}
	return tr, nil
}

// Dialer returns the dialer a resource's connections are made with: its
// Control hook refuses, after DNS, any address netguard does not allow
// (allow is the resource's allow_private). The egress proxy's tunnels
// dial with it too, so both meet the same check.
func Dialer(allow []netip.Prefix) *net.Dialer {
	return &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: netguard.New(allow).Control}
}

// sendError turns a failed exchange into a model-safe error. The URL is
// never part of it (with query auth it holds the credential): only the
// cause, redacted, is kept for the operator.
func (c *Connector) sendError(ctx context.Context, err error) error {
	const op = "http.execute"
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	cause := errors.New(c.redactor.String(err.Error()))
	switch {
	case errors.Is(err, netguard.ErrBlocked):
		return core.E(op, core.KindDenied, core.ReasonAddressBlocked, "The API's host resolves to an address Warden does not connect to (loopback, private, link-local, metadata or another non-public range); nothing was sent. The operator can allow it with allow_private.", cause)
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() == context.DeadlineExceeded:
		return core.Errorf(op, core.KindTimeout, core.ReasonTimeout, "The API did not answer within %s.", c.limits.timeout)
	case ctx.Err() != nil:
		return core.E(op, core.KindUnavailable, core.ReasonUpstreamFailed, "The call was cancelled.", cause)
	}
	return core.E(op, core.KindUnavailable, core.ReasonUpstreamFailed, "The API could not be reached: "+failureClass(err)+".", cause)
}

// failureClass names a connection failure without addresses or URLs.
func failureClass(err error) string {
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var hostErr x509.HostnameError
	var unknownCA x509.UnknownAuthorityError
	var recErr tls.RecordHeaderError
	switch {
	case errors.As(err, &dnsErr):
		return "its host name could not be resolved"
	case errors.As(err, &certErr), errors.As(err, &hostErr), errors.As(err, &unknownCA):
		return "its TLS certificate is not trusted for this host"
	case errors.As(err, &recErr):
		return "it did not answer with TLS"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "the connection was refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "the connection was reset"
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH):
		return "the network is unreachable"
	}
	return "the connection failed"
}
