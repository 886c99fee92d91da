package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
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
clients send "Authorization: Bearer <token>" and act as that token's agent.`

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func runServe(e *env, args []string) int {
	fs := newFlags(e, "serve", "serve [--policy FILE] [--agent NAME] [--http ADDR]", serveHelp)
	var pf policyFlags
	pf.register(fs, true)
	httpAddr := fs.String("http", "", "serve streamable HTTP on `addr` (host:port; a bare :port means 127.0.0.1:port)")
	var hosts, origins multiFlag
	fs.Var(&hosts, "allowed-host", "accept this Host header too (repeatable), e.g. behind a reverse proxy")
	fs.Var(&origins, "allow-origin", "allow browser requests from this origin (repeatable), e.g. http://localhost:6274")
	logLevel := fs.String("log-level", "info", "log `level` on stderr: debug, info, warn or error")
	if pos, err := parse(fs, args); err != nil {
		return ExitUsage
	} else if len(pos) > 0 {
		return usageErr(e, "serve takes no arguments, got %q", pos)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return usageErr(e, "--log-level: %v", err)
	}
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))

	eng, isDefault, err := openEngine(e, &pf, true, false, logger)
	if err != nil {
		return usageErr(e, "%v", err)
	}
	defer eng.Close()
	p := eng.Policy()
	if isDefault {
		root := p.Resource(policy.DefaultResource).FS.Root
		fmt.Fprintf(e.stderr, "warden: no policy file: serving %s read-only as resource %q (files that usually hold secrets are hidden; audit log in %s). Run \"warden init\" to write a policy.\n", root, policy.DefaultResource, p.Settings().StateDir)
	}
	confined, err := confine(p)
	if err != nil {
		return usageErr(e, "%v", err)
	}
	logConfinement(logger, confined)
	opts := mcpserver.Options{Version: Version, Logger: logger}

	if *httpAddr == "" {
		agent, err := agentFor(p, pf.agent)
		if err != nil {
			return usageErr(e, "%v", err)
		}
		logger.Info("serving MCP on stdio", "agent", agent, "tools", toolNames(eng.Tools(agent)), "policy", p.Source())
		srv := mcpserver.NewServer(eng, agent, opts)
		if err := srv.Run(e.ctx, &mcp.IOTransport{Reader: readCloser{e.stdin}, Writer: writeCloser{e.stdout}}); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, mcp.ErrConnectionClosed) {
			logger.Error("MCP session ended", "err", err)
			return ExitToolFailed
		}
		return ExitOK
	}

	addr, err := mcpserver.CheckListen(eng, *httpAddr)
	if err != nil {
		return usageErr(e, "%v", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return usageErr(e, "listen: %v", err)
	}
	h, err := mcpserver.NewHTTPHandler(eng, mcpserver.HTTPOptions{
		Options: opts, Addr: ln.Addr().String(), Agent: pf.agent,
		AllowedHosts: hosts, AllowedOrigins: origins,
	})
	if err != nil {
		ln.Close()
		return usageErr(e, "%v", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	logger.Info("serving MCP over streamable HTTP", "url", "http://"+ln.Addr().String()+"/", "agents", p.Agents(), "policy", p.Source())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		logger.Error("HTTP server stopped", "err", err)
		return ExitToolFailed
	case <-e.ctx.Done():
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		return ExitOK
	}
}

func toolNames(tools []*engine.Tool) []string {
	names := make([]string, len(tools))
	for i, t := range tools {
		names[i] = t.Name
	}
	return names
}

// readCloser and writeCloser let the SDK's IOTransport use the streams Main
// was given without closing the process's own stdin and stdout.
type readCloser struct {
	r interface{ Read([]byte) (int, error) }
}

func (r readCloser) Read(p []byte) (int, error) { return r.r.Read(p) }
func (readCloser) Close() error                 { return nil }

type writeCloser struct {
	w interface{ Write([]byte) (int, error) }
}

func (w writeCloser) Write(p []byte) (int, error) { return w.w.Write(p) }
func (writeCloser) Close() error                  { return nil }
