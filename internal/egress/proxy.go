package egress

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/netutil"

	"github.com/warden-dev/warden/internal/core"
	"github.com/warden-dev/warden/internal/engine"
)

// Config configures a Proxy. Engine and Agent are required; zero limits
// take the defaults below.
type Config struct {
	Engine *engine.Engine
	// Agent is the one agent whose http grants the proxy applies.
	Agent  string
	Logger *slog.Logger
	// MaxConns bounds the connections served at once, tunnels included.
	// Default 64.
	MaxConns int
	// MaxHeaderBytes bounds a request's header. Default 64 KiB.
	MaxHeaderBytes int
	// ReadHeaderTimeout, ReadTimeout (header and body), WriteTimeout (from
	// the end of the header to the end of the answer, the upstream's time
	// included) and IdleTimeout bound a client connection. Defaults 10 s,
	// 60 s, 5 minutes and 60 s.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	// TunnelIdle, TunnelMaxDuration and TunnelMaxBytes bound an
	// uninspected tunnel. Defaults 2 minutes, 1 hour and 1 GiB.
	TunnelIdle        time.Duration
	TunnelMaxDuration time.Duration
	TunnelMaxBytes    int64
}

const (
	defaultMaxConns          = 64
	defaultMaxHeaderBytes    = 64 << 10
	defaultReadHeaderTimeout = 10 * time.Second
	defaultReadTimeout       = 60 * time.Second
	defaultWriteTimeout      = 5 * time.Minute
	defaultIdleTimeout       = 60 * time.Second
	defaultTunnelIdle        = 2 * time.Minute
	defaultTunnelMaxDuration = time.Hour
	defaultTunnelMaxBytes    = 1 << 30
)

// Proxy is the egress proxy of one agent. Create it with [New].
type Proxy struct {
	cfg    Config
	eng    *engine.Engine
	agent  string
	log    *slog.Logger
	routes []*route
	mitm   *mitm // nil: tunnels are not inspected
	srv    *http.Server
	inner  *http.Server // serves the requests read inside inspected tunnels
	tunnel *connListener

	mu     sync.Mutex
	open   map[net.Conn]struct{} // hijacked connections, closed by Close
	closed bool
	// innerOnce starts the inner server at the first Serve; serving
	// waits for it in Close.
	innerOnce sync.Once
	serving   sync.WaitGroup
}

// New builds the proxy for cfg.Agent from the engine's policy. It listens
// on nothing: Serve does. With the policy's egress TLS inspection, CONNECT
// tunnels are inspected; without it, New logs each https resource whose
// grants cannot apply to a tunnel.
func New(cfg Config) (*Proxy, error) {
	if cfg.Engine == nil {
		return nil, errors.New("egress: no engine")
	}
	p := cfg.Engine.Policy()
	if !p.HasAgent(cfg.Agent) {
		return nil, fmt.Errorf("egress: unknown agent %q", cfg.Agent)
	}
	if cfg.Engine.Audit() == nil {
		return nil, errors.New("egress: the engine has no audit log; the proxy records every request and refusal")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	setDefaults(&cfg)
	rs, err := routes(p, cfg.Agent)
	if err != nil {
		return nil, fmt.Errorf("egress: %w", err)
	}
	px := &Proxy{cfg: cfg, eng: cfg.Engine, agent: cfg.Agent, log: cfg.Logger, routes: rs, open: map[net.Conn]struct{}{}}
	if ti := p.Settings().TLSInspection; ti != nil {
		if px.mitm, err = newMITM(ti.CertPEM, []byte(ti.Key.Reveal())); err != nil {
			return nil, fmt.Errorf("egress: tls_inspection: %w", err)
		}
	}
	for _, r := range rs {
		switch {
		case r.tool == "":
			px.log.Warn("egress: resource offers API operations, not plain requests; the proxy refuses requests to it", "resource", r.resource)
		case r.scheme == "https" && px.mitm == nil && r.restricted:
			px.log.Warn("egress: the grants on this resource restrict methods, paths, query, headers or conditions, which cannot apply to tunnelled HTTPS unless TLS inspection is on; a tunnel to its host passes any request", "resource", r.resource, "host", net.JoinHostPort(r.host, r.port))
		}
	}
	errLog := slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug)
	px.srv = &http.Server{
		Handler:           http.HandlerFunc(px.serveHTTP),
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		ErrorLog:          errLog,
	}
	if px.mitm != nil {
		px.tunnel = newConnListener()
		px.inner = &http.Server{
			Handler:           http.HandlerFunc(px.serveInspected),
			ReadHeaderTimeout: cfg.ReadHeaderTimeout,
			ReadTimeout:       cfg.ReadTimeout,
			WriteTimeout:      cfg.WriteTimeout,
			IdleTimeout:       cfg.IdleTimeout,
			MaxHeaderBytes:    cfg.MaxHeaderBytes,
			ErrorLog:          errLog,
			ConnContext: func(ctx context.Context, c net.Conn) context.Context {
				if tc, ok := c.(*tunnelConn); ok {
					return context.WithValue(ctx, targetKey{}, tc.target)
				}
				return ctx
			},
		}
	}
	return px, nil
}

func setDefaults(c *Config) {
	orDefault(&c.MaxConns, defaultMaxConns)
	orDefault(&c.MaxHeaderBytes, defaultMaxHeaderBytes)
	orDefault(&c.ReadHeaderTimeout, defaultReadHeaderTimeout)
	orDefault(&c.ReadTimeout, defaultReadTimeout)
	orDefault(&c.WriteTimeout, defaultWriteTimeout)
	orDefault(&c.IdleTimeout, defaultIdleTimeout)
	orDefault(&c.TunnelIdle, defaultTunnelIdle)
	orDefault(&c.TunnelMaxDuration, defaultTunnelMaxDuration)
	orDefault(&c.TunnelMaxBytes, defaultTunnelMaxBytes)
}

// orDefault sets *v to d unless the caller chose a positive value.
func orDefault[T int | int64 | time.Duration](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}

// Serve accepts connections on l until Close, at most MaxConns at once. It
// returns nil after Close.
func (p *Proxy) Serve(l net.Listener) error {
	if p.inner != nil {
		p.innerOnce.Do(func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			if p.closed {
				return
			}
			p.serving.Add(1)
			go func() {
				defer p.serving.Done()
				p.inner.Serve(p.tunnel)
			}()
		})
	}
	err := p.srv.Serve(netutil.LimitListener(l, p.cfg.MaxConns))
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops the proxy: listeners, connections and open tunnels.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	for c := range p.open {
		c.Close()
	}
	p.mu.Unlock()
	err := p.srv.Close()
	if p.inner != nil {
		p.inner.Close()
		p.tunnel.Close()
	}
	p.serving.Wait()
	return err
}

// track registers a hijacked connection for Close; false when the proxy
// is closing (the caller closes c).
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.open[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.open, c)
	p.mu.Unlock()
}

// Reach returns one line per place the agent may reach through the proxy,
// for a start-up screen.
func (p *Proxy) Reach() []string {
	var out []string
	for _, r := range p.routes {
		base := r.origin() + r.basePath
		methods := strings.Join(r.methods, ", ")
		switch {
		case r.tool == "":
			out = append(out, fmt.Sprintf("%s: %s, refused by the proxy (API operations only)", r.resource, base))
		case r.scheme == "http":
			out = append(out, fmt.Sprintf("%s: %s %s, each request checked by the policy", r.resource, methods, base))
		case p.mitm != nil:
			out = append(out, fmt.Sprintf("%s: %s %s, HTTPS inspected, each request checked by the policy", r.resource, methods, base))
		case r.proxied:
			out = append(out, fmt.Sprintf("%s: %s %s as absolute-URI requests only (the resource uses an upstream proxy, so no tunnel)", r.resource, methods, base))
		case r.restricted:
			out = append(out, fmt.Sprintf("%s: any request to %s over an uninspected HTTPS tunnel (its method and path rules cannot apply)", r.resource, net.JoinHostPort(r.host, r.port)))
		default:
			out = append(out, fmt.Sprintf("%s: any request to %s over an uninspected HTTPS tunnel", r.resource, net.JoinHostPort(r.host, r.port)))
		}
	}
	return out
}

// serveHTTP is the proxy's face: CONNECT, or a request in absolute form.
func (p *Proxy) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect {
		p.connect(w, r)
		return
	}
	if !r.URL.IsAbs() || r.URL.Host == "" {
		// A request for the proxy itself as an origin server.
		p.refuse(w, r, http.StatusForbidden, refusal{action: r.Method, target: r.Host, reason: reasonNotProxy,
			msg: "Warden's egress proxy serves only proxied requests (an absolute URL, or CONNECT)."})
		return
	}
	p.forward(w, r, r.URL)
}

// targetKey carries an inspected tunnel's origin ("https://host:port") to
// the requests read inside it.
type targetKey struct{}

func (p *Proxy) serveInspected(w http.ResponseWriter, r *http.Request) {
	origin, _ := r.Context().Value(targetKey{}).(string)
	if origin == "" || r.Method == http.MethodConnect || r.URL.IsAbs() && r.URL.Host != "" {
		p.refuse(w, r, http.StatusForbidden, refusal{action: r.Method, target: r.Host, reason: reasonNotProxy,
			msg: "Inside an inspected tunnel, send requests in origin form (a path)."})
		return
	}
	u := *r.URL
	base, err := url.Parse(origin)
	if err != nil {
		plain(w, http.StatusInternalServerError, core.ReasonInternal, "The tunnel's origin is not valid.")
		return
	}
	u.Scheme, u.Host = base.Scheme, base.Host
	p.forward(w, r, &u)
}

// drain discards what is left of a body, bounded, so the connection can be
// reused.
func drain(r io.Reader) {
	io.Copy(io.Discard, io.LimitReader(r, 64<<10))
}
