package mcpserver

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/warden-dev/warden/internal/engine"
)

// HTTPOptions configure the streamable HTTP face.
type HTTPOptions struct {
	Options
	// Addr is the address the server listens on; its host and port are
	// always allowed in Host and Origin.
	Addr string
	// Agent serves requests when no agent in the policy has a token. It is
	// ignored, and every request must carry a token, as soon as any agent
	// has one.
	Agent string
	// AllowedHosts are extra Host header values to accept (names behind a
	// reverse proxy). Loopback names are always accepted on loopback.
	AllowedHosts []string
	// AllowedOrigins are browser origins allowed to call, such as
	// "http://localhost:6274" for the MCP inspector. Requests without an
	// Origin header (non-browser clients) are always allowed.
	AllowedOrigins []string
	// MaxBodyBytes bounds a request body. Default: [MaxMessageBytes] of
	// the policy.
	MaxBodyBytes int64

	// MaxSessions caps the open sessions of all agents together, and
	// MaxSessionsPerAgent those of one agent; a session beyond either is
	// refused with 503 and a JSON-RPC error naming the cap. Defaults:
	// [DefaultMaxSessions], [DefaultMaxSessionsPerAgent].
	MaxSessions         int
	MaxSessionsPerAgent int
	// SessionIdleTimeout closes a session that received no request for so
	// long. Default: [DefaultSessionIdleTimeout].
	SessionIdleTimeout time.Duration
	// MaxConnections caps the connections [Serve] holds open at once.
	// Default: [DefaultMaxConnections].
	MaxConnections int
	// ReadHeaderTimeout bounds reading a request's headers, ReadTimeout its
	// body, WriteTimeout each write of a response (a quiet event stream
	// stays open), and IdleTimeout a kept-alive connection's wait for its
	// next request. Defaults: 10 s, 30 s, 30 s and 60 s.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
}

// setDefaults fills in the bounds left zero. MaxBodyBytes needs the policy
// and is set by [NewHTTPHandler].
func (o *HTTPOptions) setDefaults() {
	defaults := []struct {
		v   *int
		def int
	}{{&o.MaxSessions, DefaultMaxSessions}, {&o.MaxSessionsPerAgent, DefaultMaxSessionsPerAgent}, {&o.MaxConnections, DefaultMaxConnections}}
	for _, d := range defaults {
		if *d.v <= 0 {
			*d.v = d.def
		}
	}
	timeouts := []struct {
		v   *time.Duration
		def time.Duration
	}{
		{&o.SessionIdleTimeout, DefaultSessionIdleTimeout},
		{&o.ReadHeaderTimeout, DefaultReadHeaderTimeout},
		{&o.ReadTimeout, DefaultReadTimeout},
		{&o.WriteTimeout, DefaultWriteTimeout},
		{&o.IdleTimeout, DefaultIdleTimeout},
	}
	for _, d := range timeouts {
		if *d.v <= 0 {
			*d.v = d.def
		}
	}
}

// NewHTTPHandler returns the streamable HTTP handler for every agent of the
// engine's policy, behind token authentication and Host/Origin checks.
func NewHTTPHandler(e *engine.Engine, opts HTTPOptions) (http.Handler, error) {
	p := e.Policy()
	servers := map[string]*mcp.Server{}
	type tokenEntry struct {
		sum   [32]byte
		agent string
	}
	var tokens []tokenEntry
	for _, a := range p.Agents() {
		servers[a] = NewServer(e, a, opts.Options)
		if t := p.AgentToken(a).Reveal(); t != "" {
			tokens = append(tokens, tokenEntry{sha256.Sum256([]byte(t)), a})
		}
	}
	if len(tokens) == 0 {
		if opts.Agent == "" {
			if len(p.Agents()) != 1 {
				return nil, fmt.Errorf("mcpserver: the policy has %d agents and no tokens; choose one with --agent or give each agent a token", len(p.Agents()))
			}
			opts.Agent = p.Agents()[0]
		}
		if servers[opts.Agent] == nil {
			return nil, fmt.Errorf("mcpserver: unknown agent %q", opts.Agent)
		}
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = MaxMessageBytes(p.Settings())
	}
	opts.setDefaults()

	agentOf := func(r *http.Request) string {
		if ti := auth.TokenInfoFromContext(r.Context()); ti != nil {
			return ti.UserID
		}
		return opts.Agent
	}
	stream := mcp.NewStreamableHTTPHandler(func(r *http.Request) *mcp.Server {
		return servers[agentOf(r)]
	}, &mcp.StreamableHTTPOptions{
		Logger:              opts.Logger,
		MaxRequestBodyBytes: opts.MaxBodyBytes,
		SessionTimeout:      opts.SessionIdleTimeout,
	})

	h := bound(newSessionLimiter(stream, servers, agentOf, opts), opts)
	if len(tokens) > 0 {
		// The agent is the token's owner; the SDK binds each session to it,
		// so one agent's token cannot drive another agent's session.
		verify := func(_ context.Context, token string, _ *http.Request) (*auth.TokenInfo, error) {
			sum := sha256.Sum256([]byte(token))
			agent := ""
			for _, t := range tokens {
				if subtle.ConstantTimeCompare(sum[:], t.sum[:]) == 1 {
					agent = t.agent
				}
			}
			if agent == "" {
				return nil, auth.ErrInvalidToken
			}
			return &auth.TokenInfo{UserID: agent}, nil
		}
		h = challenge(verify, auth.RequireBearerToken(verify, &auth.RequireBearerTokenOptions{AllowMissingExpiration: true})(h))
	}
	return guard(h, opts), nil
}

// challenge answers a request without a valid bearer token with 401 and
// the RFC 6750 challenge, which tells an MCP client to send the token it
// was given; without it, clients such as the inspector start an OAuth flow
// Warden does not offer. The SDK's middleware behind it sets the agent.
func challenge(verify auth.TokenVerifier, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fields := strings.Fields(r.Header.Get("Authorization"))
		if len(fields) != 2 || !strings.EqualFold(fields[0], "Bearer") {
			w.Header().Set("WWW-Authenticate", `Bearer realm="warden"`)
			http.Error(w, "Unauthorized: no bearer token; send Authorization: Bearer <token>, the token of an agent in the policy", http.StatusUnauthorized)
			return
		}
		if _, err := verify(r.Context(), fields[1], r); err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="warden", error="invalid_token", error_description="the token is not an agent's token in the policy"`)
			http.Error(w, "Unauthorized: the bearer token is not an agent's token in the policy", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// guard refuses requests whose Host is not this server (DNS rebinding) and
// browser requests from origins that were not allowed (cross-site calls).
func guard(next http.Handler, opts HTTPOptions) http.Handler {
	listenHost, listenPort, _ := net.SplitHostPort(opts.Addr)
	hosts := map[string]bool{}
	for _, h := range opts.AllowedHosts {
		hosts[strings.ToLower(h)] = true
	}
	loopback := isLoopbackHost(listenHost)
	if !loopback && listenHost != "" && !isUnspecified(listenHost) {
		hosts[strings.ToLower(listenHost)] = true
	}
	origins := map[string]bool{}
	for _, o := range opts.AllowedOrigins {
		origins[strings.TrimSuffix(strings.ToLower(o), "/")] = true
	}
	hostOK := func(hostport string) bool {
		host, port, err := net.SplitHostPort(hostport)
		if err != nil {
			host, port = hostport, ""
		}
		host = strings.ToLower(strings.Trim(host, "[]"))
		if hosts[host] || hosts[strings.ToLower(hostport)] {
			return true
		}
		return loopback && isLoopbackName(host) && (port == "" || port == listenPort)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hostOK(r.Host) {
			http.Error(w, "Forbidden: Host header not allowed (DNS rebinding protection); use --allowed-host to add a name", http.StatusForbidden)
			return
		}
		if o := r.Header.Get("Origin"); o != "" && !origins[strings.TrimSuffix(strings.ToLower(o), "/")] {
			u, err := url.Parse(o)
			if err != nil || !(u.Scheme == "http" || u.Scheme == "https") || !hostOK(u.Host) {
				http.Error(w, "Forbidden: Origin not allowed; use --allow-origin to allow a browser client", http.StatusForbidden)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func isLoopbackName(host string) bool {
	return host == "localhost" || strings.HasSuffix(host, ".localhost") || isLoopbackHost(host)
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

func isUnspecified(host string) bool {
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsUnspecified()
}

// CheckListen refuses to listen beyond loopback unless every agent has a
// token, and returns the address to listen on: a missing host means
// 127.0.0.1.
func CheckListen(e *engine.Engine, addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("listen address %q: %v (write host:port, such as 127.0.0.1:8080)", addr, err)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	if isLoopbackHost(host) {
		return net.JoinHostPort(host, port), nil
	}
	p := e.Policy()
	var missing []string
	for _, a := range p.Agents() {
		if p.AgentToken(a).Reveal() == "" {
			missing = append(missing, a)
		}
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("refusing to listen on %s beyond loopback: agents without a token: %s (add token: env:NAME to each agent, or listen on 127.0.0.1)", addr, strings.Join(missing, ", "))
	}
	return net.JoinHostPort(host, port), nil
}
