package cli

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"

	"github.com/warden-dev/warden/internal/egress"
)

const proxyHelp = `Runs Warden's egress proxy for one agent: an HTTP/1.1 forward proxy
(set HTTP_PROXY and HTTPS_PROXY to http://ADDR) that lets the agent reach
only what its http grants allow.

A plain http:// request is run as a call of the agent's http tool: the
same policy, conditions, address checks, credentials, redaction, rate
limits, approvals and audit. An https:// request arrives as CONNECT, which
opens a tunnel only to the host and port of a granted https resource; the
tunnel is not inspected, so method, path, query and header rules cannot
apply inside it, unless the policy sets
  settings: {egress: {tls_inspection: {ca: file:CA.pem, key: file:CA-KEY.pem}}}
and the agent trusts that CA: then Warden terminates TLS and applies every
rule to each request. Anything else is refused (403, with the reason in the
X-Warden-Reason header) and audited with the host asked for.

The proxy has no authentication of its own: it listens on loopback, and
refuses another address unless --allow-non-loopback says the network in
between is trusted.`

func runProxy(e *env, args []string) int {
	fs := newFlags(e, "proxy", "proxy --listen 127.0.0.1:PORT [--agent NAME] [--policy FILE]", proxyHelp)
	var pf policyFlags
	pf.register(fs, true)
	listen := fs.String("listen", "", "listen on `addr` (host:port; a bare :port means 127.0.0.1:port)")
	remote := fs.Bool("allow-non-loopback", false, "allow --listen beyond loopback: anyone who reaches the port acts as the agent")
	logLevel := fs.String("log-level", "info", "log `level` on stderr: debug, info, warn or error")
	maxConns := fs.Int("max-connections", 64, "most connections served at once, tunnels included")
	if pos, err := parse(fs, args); err != nil {
		return ExitUsage
	} else if len(pos) > 0 {
		return usageErr(e, "proxy takes no arguments, got %q", pos)
	}
	if *listen == "" {
		return usageErr(e, "proxy needs --listen, such as --listen 127.0.0.1:3128")
	}
	if *maxConns <= 0 {
		return usageErr(e, "--max-connections must be positive")
	}
	addr, err := proxyAddr(*listen, *remote)
	if err != nil {
		return usageErr(e, "%v", err)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return usageErr(e, "--log-level %q is not a level: use debug, info, warn or error", *logLevel)
	}
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))

	pf.retry, pf.onResource = true, reportResources(e)
	eng, agent, code := openAgentEngine(e, &pf, false, false, logger)
	if code != ExitOK {
		return code
	}
	defer eng.Close()
	p := eng.Policy()
	px, err := egress.New(egress.Config{Engine: eng, Agent: agent, Logger: logger, MaxConns: *maxConns})
	if err != nil {
		return fail(e, &configError{err})
	}
	defer px.Close()
	confined, err := confine(p)
	if err != nil {
		return fail(e, &configError{err})
	}
	logConfinement(logger, confined)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(e.stderr, "warden: %v\n", listenError(addr, err))
		return ExitToolFailed
	}
	reach := px.Reach()
	fmt.Fprintf(e.stderr, "warden: egress proxy for agent %q on http://%s\n", agent, ln.Addr())
	if len(reach) == 0 {
		fmt.Fprintf(e.stderr, "  the agent holds no http grant: every request is refused\n")
	}
	for _, line := range reach {
		fmt.Fprintf(e.stderr, "  %s\n", line)
	}
	served := make(chan error, 1)
	go func() { served <- px.Serve(ln) }()
	select {
	case err := <-served:
		if err != nil {
			logger.Error("egress proxy stopped", "err", err)
			return ExitToolFailed
		}
	case <-e.ctx.Done():
		px.Close()
		<-served
	}
	return ExitOK
}

// proxyAddr checks --listen: loopback unless allowed otherwise; a missing
// host means 127.0.0.1.
func proxyAddr(listen string, remote bool) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("listen address %q: %v (write host:port, such as 127.0.0.1:3128)", listen, err)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	ip := net.ParseIP(host)
	loopback := strings.EqualFold(host, "localhost") || ip != nil && ip.IsLoopback()
	if !loopback && !remote {
		return "", errors.New("refusing to listen on " + listen + " beyond loopback: the proxy has no authentication, so anyone who reaches it acts as the agent (listen on 127.0.0.1, or pass --allow-non-loopback)")
	}
	return net.JoinHostPort(host, port), nil
}
