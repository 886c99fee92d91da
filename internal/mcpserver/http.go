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
	// MaxBodyBytes bounds a request body. Default: 4 MiB, or twice the
	// policy's argument limit if that is larger.
	MaxBodyBytes int64
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
	if opts.MaxBodyBytes == 0 {
		// Room for the largest arguments plus the JSON-RPC envelope, so an
		// oversized call gets a clear tool error rather than a 413.
		opts.MaxBodyBytes = max(mcp.DefaultMaxRequestBodyBytes, 2*p.Settings().MaxArgumentBytes)
	}

	stream := mcp.NewStreamableHTTPHandler(func(r *http.Request) *mcp.Server {
		if ti := auth.TokenInfoFromContext(r.Context()); ti != nil {
			return servers[ti.UserID]
		}
		return servers[opts.Agent]
	}, &mcp.StreamableHTTPOptions{
		Logger:              opts.Logger,
		MaxRequestBodyBytes: opts.MaxBodyBytes,
		SessionTimeout:      30 * time.Minute,
	})

	var h http.Handler = stream
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
		h = auth.RequireBearerToken(verify, &auth.RequireBearerTokenOptions{AllowMissingExpiration: true})(h)
	}
	return guard(h, opts), nil
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
