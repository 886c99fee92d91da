package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/warden-dev/warden/internal/engine"
	"github.com/warden-dev/warden/internal/mcpserver"
	"github.com/warden-dev/warden/internal/policy"
)

const serveHelp = `Serves the tools an agent holds grants for, over MCP: on stdin/stdout by
default, or as streamable HTTP with --http. Without a policy file it serves
the current directory read-only (resource "files"), with secrets hidden.

Over HTTP, Warden listens on loopback unless the address names another host,
and then only if every agent has a token (token: env:NAME in the policy);
clients send "Authorization: Bearer <token>" and act as that token's agent.
Sessions, connections and the time a client may take are bounded (the
--max-* and --*-timeout flags); beyond a bound the server answers 503 and
says which one.

A resource that cannot be opened at the start (a SQLite file not there
yet, a database still starting) is reported once on stderr with its
place in the policy and the cause, and its tools are not offered; the
others are served. Warden tries it again after 1s, then twice as long
each time up to a minute, and offers its tools once it opens, telling
connected clients (notifications/tools/list_changed). With --strict, or
"strict_resources: true" under settings, it refuses to start instead
(exit 5).`

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func runServe(e *env, args []string) int {
	deferFirstGC()
	fs := newFlags(e, "serve", "serve [--policy FILE] [--agent NAME] [--http ADDR]", serveHelp)
	var pf policyFlags
	pf.register(fs, true)
	pf.registerStrict(fs)
	httpAddr := fs.String("http", "", "serve streamable HTTP on `addr` (host:port; a bare :port means 127.0.0.1:port)")
	var hosts, origins multiFlag
	fs.Var(&hosts, "allowed-host", "accept this Host header too (repeatable), e.g. behind a reverse proxy")
	fs.Var(&origins, "allow-origin", "allow browser requests from this origin (repeatable), e.g. http://localhost:6274")
	logLevel := fs.String("log-level", "info", "log `level` on stderr: debug, info, warn or error")
	maxSessions := fs.Int("max-sessions", mcpserver.DefaultMaxSessions, "with --http: most open MCP sessions of all agents together")
	maxAgentSessions := fs.Int("max-sessions-per-agent", mcpserver.DefaultMaxSessionsPerAgent, "with --http: most open MCP sessions of one agent")
	sessionIdle := fs.Duration("session-idle-timeout", mcpserver.DefaultSessionIdleTimeout, "with --http: close a session that sent no request for this `duration`")
	maxConns := fs.Int("max-connections", mcpserver.DefaultMaxConnections, "with --http: most open connections; one more is answered 503")
	readTimeout := fs.Duration("read-timeout", mcpserver.DefaultReadTimeout, "with --http: time to receive a request body")
	writeTimeout := fs.Duration("write-timeout", mcpserver.DefaultWriteTimeout, "with --http: time for each write of a response to reach a client that stopped reading")
	idleTimeout := fs.Duration("idle-timeout", mcpserver.DefaultIdleTimeout, "with --http: close a kept-alive connection that sent no request for this `duration`")
	if pos, err := parse(fs, args); err != nil {
		return ExitUsage
	} else if len(pos) > 0 {
		return usageErr(e, "serve takes no arguments, got %q", pos)
	}
	bounds := []struct {
		name string
		v    int64
	}{
		{"max-sessions", int64(*maxSessions)}, {"max-sessions-per-agent", int64(*maxAgentSessions)}, {"max-connections", int64(*maxConns)},
		{"session-idle-timeout", int64(*sessionIdle)}, {"read-timeout", int64(*readTimeout)}, {"write-timeout", int64(*writeTimeout)}, {"idle-timeout", int64(*idleTimeout)},
	}
	for _, b := range bounds {
		if b.v <= 0 {
			return usageErr(e, "--%s must be positive", b.name)
		}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return usageErr(e, "--log-level %q is not a level: use debug, info, warn or error", *logLevel)
	}
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))

	// A resource that cannot be opened is reported once and tried again in
	// the background; its tools join when it opens.
	pf.retry, pf.onResource = true, reportResources(e)
	eng, isDefault, err := openEngine(e, &pf, true, false, logger)
	if err != nil {
		return openFailed(e, err)
	}
	defer eng.Close()
	p := eng.Policy()
	if isDefault {
		root := p.BaseDir() // the zero-configuration policy serves the directory it was made for
		fmt.Fprintf(e.stderr, "warden: no policy file: serving %s read-only as resource %q (files that usually hold secrets are hidden; audit log in %s). Run \"warden init\" to write a policy.\n", root, policy.DefaultResource, p.Settings().StateDir)
	}
	opts := mcpserver.Options{Version: Version, Logger: logger}

	if *httpAddr == "" {
		agent, err := agentFor(p, pf.agent)
		if err != nil {
			return usageErr(e, "%v", err)
		}
		// The server is built while this goroutine confines the process
		// (1-2 ms together at every start): building it opens no file, and
		// it serves nothing until both are done.
		built := make(chan *mcp.Server, 1)
		go func() { built <- mcpserver.NewServer(eng, agent, opts) }()
		confined, err := confine(p)
		srv := <-built
		if err != nil {
			return fail(e, &configError{err})
		}
		logConfinement(logger, confined)
		logger.Info("serving MCP on stdio", "agent", agent, "tools", toolNames(eng.Tools(agent)), "policy", p.Source())
		stdio := &mcpserver.StdioTransport{Reader: e.stdin, Writer: e.stdout, MaxMessageBytes: mcpserver.MaxMessageBytes(p.Settings()), Logger: logger}
		if err := stdio.Run(e.ctx, srv); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, mcp.ErrConnectionClosed) && !errors.Is(err, io.EOF) {
			logger.Error("MCP session ended", "err", err)
			return ExitToolFailed
		}
		return ExitOK
	}

	confined, err := confine(p)
	if err != nil {
		return fail(e, &configError{err})
	}
	logConfinement(logger, confined)
	addr, err := mcpserver.CheckListen(eng, *httpAddr)
	if err != nil {
		return usageErr(e, "%v", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		// The address is right but cannot be had now: a failure, not usage.
		fmt.Fprintf(e.stderr, "warden: %v\n", listenError(addr, err))
		return ExitToolFailed
	}
	hopts := mcpserver.HTTPOptions{
		Options: opts, Addr: ln.Addr().String(), Agent: pf.agent,
		AllowedHosts: hosts, AllowedOrigins: origins,
		MaxSessions: *maxSessions, MaxSessionsPerAgent: *maxAgentSessions, SessionIdleTimeout: *sessionIdle,
		MaxConnections: *maxConns, ReadTimeout: *readTimeout, WriteTimeout: *writeTimeout, IdleTimeout: *idleTimeout,
	}
	h, err := mcpserver.NewHTTPHandler(eng, hopts)
	if err != nil {
		ln.Close()
		return usageErr(e, "%v", err)
	}
	logger.Info("serving MCP over streamable HTTP", "url", "http://"+ln.Addr().String()+"/", "agents", p.Agents(), "policy", p.Source(),
		"max_sessions", *maxSessions, "max_sessions_per_agent", *maxAgentSessions, "max_connections", *maxConns)
	if err := mcpserver.Serve(e.ctx, ln, h, hopts); err != nil {
		logger.Error("HTTP server stopped", "err", err)
		return ExitToolFailed
	}
	return ExitOK
}

// startGCPercent and startGCTime defer the first garbage collection past
// start-up. A start allocates about 3 MB once (2 MB of it the package
// initialisation of the linked parsers and protobuf registries), which put
// the first collection, due at the runtime's 4 MB minimum, between the
// start and the first answers in nearly every start: 2-5 ms there. For the
// first second the heap may reach 16 MB instead; then the setting is the
// operator's again (GOGC, default 100).
const (
	startGCPercent = 400
	startGCTime    = time.Second
)

func deferFirstGC() {
	prev := debug.SetGCPercent(startGCPercent)
	if prev < 0 || prev >= startGCPercent {
		debug.SetGCPercent(prev) // GOGC=off, or already as lax
		return
	}
	time.AfterFunc(startGCTime, func() { debug.SetGCPercent(prev) })
}

func toolNames(tools []*engine.Tool) []string {
	names := make([]string, len(tools))
	for i, t := range tools {
		names[i] = t.Name
	}
	return names
}
