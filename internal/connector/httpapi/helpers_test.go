package httpapi

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/warden-dev/warden/internal/connector/connectortest"
	"github.com/warden-dev/warden/internal/core"
)

// loopback is the allow_private entry that lets tests reach their own
// servers on 127.0.0.1 (and only that address).
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}

// counter is an HTTP server that records every request it receives and
// every connection made to it.
type counter struct {
	*httptest.Server
	requests atomic.Int64
	conns    atomic.Int64
	mu       sync.Mutex
	seen     []*http.Request
	bodies   [][]byte
}

// newCounter starts a server on addr ("127.0.0.1:0", "127.0.0.2:0") whose
// handler h may be nil (answers 200 "ok").
func newCounter(t *testing.T, addr string, h http.HandlerFunc) *counter {
	t.Helper()
	c := &counter{}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	c.Server = c.unstarted(h)
	c.Server.Listener.Close()
	c.Server.Listener = ln
	c.Server.Start()
	t.Cleanup(c.Server.Close)
	return c
}

// unstarted returns a server that records each request and connection in
// c before h (nil: answer "ok") answers it.
func (c *counter) unstarted(h http.HandlerFunc) *httptest.Server {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.requests.Add(1)
		body := make([]byte, 0)
		if r.Body != nil {
			buf := make([]byte, 1<<20)
			n, _ := r.Body.Read(buf)
			body = buf[:n]
		}
		c.mu.Lock()
		c.seen = append(c.seen, r.Clone(context.Background()))
		c.bodies = append(c.bodies, body)
		c.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		w.Write([]byte("ok"))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			c.conns.Add(1)
		}
	}
	return srv
}

func (c *counter) last(t *testing.T) (*http.Request, []byte) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.seen) == 0 {
		t.Fatal("the upstream saw no request")
	}
	return c.seen[len(c.seen)-1], c.bodies[len(c.bodies)-1]
}

// spec returns an http resource on base, allowed to reach 127.0.0.1.
func spec(base string, edit func(*Config)) *core.ResourceSpec {
	s := &Config{BaseURL: base, AllowPrivate: loopback}
	if edit != nil {
		edit(s)
	}
	return &core.ResourceSpec{Name: "api", Kind: kindName, Config: s}
}

func newConn(t *testing.T, s *core.ResourceSpec) *Connector {
	t.Helper()
	c, err := New(s, core.Host{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// allowAll is the scope of a policy that allows every path.
var allowAll = core.ScopeFunc(func(string) bool { return true })

// call prepares and executes one call the way the pipeline does.
func call(t *testing.T, c *Connector, op string, args any, scope core.Scope) (*Response, *core.Invocation, error) {
	t.Helper()
	raw, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	inv := core.Invocation{Op: op, Args: raw}
	res, stage, err := connectortest.Call(context.Background(), c, inv, scope)
	if err != nil {
		return nil, &inv, &stageError{stage, err}
	}
	return res.Value.(*Response), &inv, nil
}

type stageError struct {
	stage string
	err   error
}

func (e *stageError) Error() string { return e.stage + ": " + e.err.Error() }
func (e *stageError) Unwrap() error { return e.err }

func reasonOf(err error) core.Reason {
	if err == nil {
		return ""
	}
	return core.ReasonOf(err)
}
