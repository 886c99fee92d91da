package mcpserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Defaults for the bounds of the HTTP face.
const (
	DefaultMaxSessions         = 512
	DefaultMaxSessionsPerAgent = 128
	DefaultSessionIdleTimeout  = 5 * time.Minute
)

// codeOverloaded is the JSON-RPC error code of a refused session, in the
// range the specification leaves to servers.
const codeOverloaded = -32000

// sessionLimiter refuses a new session when its agent, or the server as a
// whole, already holds the most sessions allowed. A session is counted from
// the request that opens it until the SDK closes it (DELETE, idle timeout).
type sessionLimiter struct {
	next     http.Handler
	servers  map[string]*mcp.Server // agent → its server, whose sessions are counted
	agentOf  func(*http.Request) string
	max      int
	perAgent int
	idle     time.Duration

	mu      sync.Mutex
	opening map[string]int  // agent → sessions being opened now
	active  map[string]bool // agents that opened a session since they last held none
}

func newSessionLimiter(next http.Handler, servers map[string]*mcp.Server, agentOf func(*http.Request) string, opts HTTPOptions) *sessionLimiter {
	return &sessionLimiter{
		next: next, servers: servers, agentOf: agentOf,
		max: opts.MaxSessions, perAgent: opts.MaxSessionsPerAgent, idle: opts.SessionIdleTimeout,
		opening: map[string]int{}, active: map[string]bool{},
	}
}

func (l *sessionLimiter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Only a POST without a session id opens a session.
	if r.Method != http.MethodPost || r.Header.Get("Mcp-Session-Id") != "" {
		l.next.ServeHTTP(w, r)
		return
	}
	agent := l.agentOf(r)
	if why := l.reserve(agent); why != "" {
		refuseSession(w, r, why)
		return
	}
	// The place is held until the response starts: by then the session,
	// if one opened, is in its server's list and counts from there.
	rw := &releaser{ResponseWriter: w, release: func() { l.release(agent) }}
	defer rw.done()
	l.next.ServeHTTP(rw, r)
}

// releaser calls release once, when the response starts or the handler
// returns.
type releaser struct {
	http.ResponseWriter
	once    sync.Once
	release func()
}

func (w *releaser) done() { w.once.Do(w.release) }

func (w *releaser) WriteHeader(code int) {
	w.done()
	w.ResponseWriter.WriteHeader(code)
}

func (w *releaser) Write(p []byte) (int, error) {
	w.done()
	return w.ResponseWriter.Write(p)
}

func (w *releaser) FlushError() error {
	w.done()
	return http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *releaser) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// reserve counts a session being opened for agent, or says which cap it
// would pass. The SDK's own list of each server's initialized sessions is
// the count of live ones, so a session closed by the SDK frees its place
// at once.
func (l *sessionLimiter) reserve(agent string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	total, mine := 0, 0
	for a := range l.active {
		n := l.opening[a]
		for ss := range l.servers[a].Sessions() {
			// A session that never initialized is a probe (a newer
			// client's server/discover) the SDK closes after its request.
			if ss.InitializeParams() != nil {
				n++
			}
		}
		if n == 0 {
			delete(l.active, a)
		}
		if a == agent {
			mine = n
		}
		total += n
	}
	switch {
	case mine >= l.perAgent:
		return fmt.Sprintf("agent %q already has %d open sessions, the most allowed (warden serve --max-sessions-per-agent); close one (HTTP DELETE with its Mcp-Session-Id) or retry after idle ones expire (--session-idle-timeout %s)", agent, mine, l.idle)
	case total >= l.max:
		return fmt.Sprintf("the server already has %d open sessions, the most allowed (warden serve --max-sessions); retry after idle ones expire (--session-idle-timeout %s)", total, l.idle)
	}
	l.opening[agent]++
	l.active[agent] = true
	return ""
}

func (l *sessionLimiter) release(agent string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.opening[agent]--; l.opening[agent] == 0 {
		delete(l.opening, agent)
	}
}

// refuseSession answers 503 with a JSON-RPC error naming the cap, so a
// client shows why rather than a bare status.
func refuseSession(w http.ResponseWriter, r *http.Request, why string) {
	w.Header().Set("Retry-After", strconv.Itoa(sessionRetrySeconds))
	writeRPCError(w, http.StatusServiceUnavailable, requestID(r), codeOverloaded, "Warden: too many sessions: "+why)
}

// sessionRetrySeconds is the Retry-After of a refused session: places free
// as clients close sessions, so a short wait is worth a retry.
const sessionRetrySeconds = 10

// requestID is the id of the JSON-RPC request in r's body (which bound has
// already read into memory), or nil.
func requestID(r *http.Request) json.RawMessage {
	if b, ok := r.Body.(*bodyBytes); ok {
		var env struct {
			ID json.RawMessage `json:"id"`
		}
		if json.Unmarshal(b.data, &env) == nil && len(env.ID) > 0 && validID(env.ID) {
			return env.ID
		}
	}
	return nil
}

// writeRPCError writes a JSON-RPC error response with an HTTP status.
func writeRPCError(w http.ResponseWriter, status int, id json.RawMessage, code int64, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(errorResponse(id, code, msg), '\n'))
}
