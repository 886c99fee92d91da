package egress

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warden-dev/warden/internal/connector/httpapi"
	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/netguard"
)

// connect answers CONNECT host:port: a tunnel to a granted https resource's
// host and port, inspected when the policy configures TLS inspection.
func (p *Proxy) connect(w http.ResponseWriter, r *http.Request) {
	asked := r.RequestURI
	host, port, err := parseTarget(asked)
	if err != nil {
		p.refuse(w, r, http.StatusBadRequest, refusal{action: "CONNECT", target: asked, reason: core.ReasonRequestRefused,
			msg: "CONNECT takes host:port, with the host spelled canonically."})
		return
	}
	rt := forTunnel(p.routes, host, port)
	if rt == nil {
		p.refuse(w, r, http.StatusForbidden, refusal{action: "CONNECT", target: asked, reason: reasonNoRoute,
			msg: "No https resource granted to this agent is at " + shown(asked) + "."})
		return
	}
	f := refusal{action: "CONNECT", target: net.JoinHostPort(host, port), resource: rt.resource}
	if p.mitm != nil {
		if rt.tool == "" {
			f.reason, f.msg = reasonNoRoute, "The resource at this host is reached through its API operations, not through the proxy."
			p.refuse(w, r, http.StatusForbidden, f)
			return
		}
		if p.record(r.Context(), f, "allow", "ok", map[string]any{"inspected": true}) == "" {
			f.reason, f.msg = core.ReasonAuditUnavailable, "The tunnel cannot be recorded, so it is not opened."
			plain(w, http.StatusServiceUnavailable, f.reason, f.msg)
			return
		}
		p.inspect(w, rt)
		return
	}
	if rt.proxied {
		f.reason, f.msg = core.ReasonRequestRefused, "This resource goes through an upstream proxy, so the egress proxy opens no tunnel to it; send requests as absolute URLs."
		p.refuse(w, r, http.StatusForbidden, f)
		return
	}
	// The http kind's dialer: the address DNS gives is checked as the
	// socket connects, under the resource's allow_private.
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	up, err := httpapi.Dialer(rt.allow).DialContext(ctx, "tcp", net.JoinHostPort(host, port))
	cancel()
	if err != nil {
		if errors.Is(err, netguard.ErrBlocked) {
			f.reason, f.msg = core.ReasonAddressBlocked, "The host resolves to an address Warden does not connect to; nothing was sent."
			p.refuse(w, r, http.StatusForbidden, f)
			return
		}
		p.log.Info("egress: tunnel dial failed", "agent", p.agent, "target", f.target, "err", err)
		f.reason, f.msg = core.ReasonUpstreamFailed, "The host could not be reached."
		if id := p.record(r.Context(), f, "allow", "error", nil); id != "" {
			w.Header().Set(headerAudit, id)
		}
		plain(w, http.StatusBadGateway, f.reason, f.msg)
		return
	}
	if p.record(r.Context(), f, "allow", "ok", map[string]any{"inspected": false}) == "" {
		up.Close()
		plain(w, http.StatusServiceUnavailable, core.ReasonAuditUnavailable, "The tunnel cannot be recorded, so it is not opened.")
		return
	}
	client, ok := p.hijack(w)
	if !ok {
		up.Close()
		return
	}
	defer p.untrack(client)
	if !p.track(up) {
		up.Close()
		client.Close()
		return
	}
	defer p.untrack(up)
	start := time.Now()
	n := p.pipe(client, up)
	p.log.Debug("egress: tunnel closed", "agent", p.agent, "target", f.target, "bytes", n, "duration", time.Since(start).Round(time.Millisecond))
}

// hijack takes the client connection over and answers 200; what the client
// already sent after the CONNECT is kept.
func (p *Proxy) hijack(w http.ResponseWriter) (net.Conn, bool) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		plain(w, http.StatusInternalServerError, core.ReasonInternal, "The connection cannot be tunnelled.")
		return nil, false
	}
	c, rw, err := hj.Hijack()
	if err != nil {
		return nil, false
	}
	c.SetDeadline(time.Time{})
	var conn net.Conn = c
	if rw.Reader.Buffered() > 0 {
		conn = &bufConn{Conn: c, r: rw.Reader}
	}
	if !p.track(conn) {
		c.Close()
		return nil, false
	}
	if _, err := io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		p.untrack(conn)
		c.Close()
		return nil, false
	}
	return conn, true
}

// pipe copies both ways until either side ends, nothing moves for
// TunnelIdle, TunnelMaxDuration passes or TunnelMaxBytes have moved, and
// returns how many bytes moved.
func (p *Proxy) pipe(a, b net.Conn) int64 {
	var total atomic.Int64
	var last atomic.Int64
	last.Store(time.Now().UnixNano())
	var once sync.Once
	closeBoth := func() { once.Do(func() { a.Close(); b.Close() }) }
	stop := time.AfterFunc(p.cfg.TunnelMaxDuration, closeBoth)
	defer stop.Stop()
	var wg sync.WaitGroup
	copyOne := func(dst, src net.Conn) {
		defer wg.Done()
		defer closeBoth()
		buf := make([]byte, 32<<10)
		for {
			src.SetReadDeadline(time.Now().Add(p.cfg.TunnelIdle))
			n, err := src.Read(buf)
			if n > 0 {
				last.Store(time.Now().UnixNano())
				if total.Add(int64(n)) > p.cfg.TunnelMaxBytes {
					return
				}
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() && time.Since(time.Unix(0, last.Load())) < p.cfg.TunnelIdle {
					continue // the other direction is busy
				}
				return
			}
		}
	}
	wg.Add(2)
	go copyOne(b, a)
	go copyOne(a, b)
	wg.Wait()
	return total.Load()
}

// inspect terminates TLS on the hijacked connection with a leaf for the
// route's host and hands it to the inner server, whose requests go through
// forward like plain ones to https://host:port.
func (p *Proxy) inspect(w http.ResponseWriter, rt *route) {
	client, ok := p.hijack(w)
	if !ok {
		return
	}
	conf := &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"http/1.1"},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return p.mitm.leaf(rt.host)
		},
	}
	tc := &tunnelConn{Conn: tls.Server(client, conf), target: rt.origin(), done: func() { p.untrack(client) }}
	if !p.tunnel.put(tc) {
		tc.Close()
	}
}

// tunnelConn is an inspected tunnel's TLS connection, carrying its origin.
type tunnelConn struct {
	net.Conn
	target string
	once   sync.Once
	done   func()
}

func (c *tunnelConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.done)
	return err
}

// bufConn is a hijacked connection whose first bytes are already buffered.
type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufConn) Read(b []byte) (int, error) {
	if c.r.Buffered() > 0 {
		return c.r.Read(b)
	}
	return c.Conn.Read(b)
}

// connListener hands inspected tunnels to the inner server.
type connListener struct {
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newConnListener() *connListener {
	return &connListener{ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *connListener) put(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.done:
		return false
	}
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *connListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *connListener) Addr() net.Addr { return tunnelAddr{} }

type tunnelAddr struct{}

func (tunnelAddr) Network() string { return "tunnel" }
func (tunnelAddr) String() string  { return "inspected-tunnel" }
