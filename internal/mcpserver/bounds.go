package mcpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

// Defaults for the connection bounds of the HTTP face.
const (
	DefaultMaxConnections    = 512
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 30 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
	maxHeaderBytes           = 64 << 10
)

// bound reads each request body whole within ReadTimeout and MaxBodyBytes,
// and gives every write of the response WriteTimeout. Deadlines are set per
// request and per write rather than on the server: a server-wide read or
// write timeout would also cut the long-lived event streams MCP sessions
// keep open, which may rightly stay silent for minutes.
//
// Its writer also expands the placeholders of large tool results (see
// inline.go): the SDK writes each message with one Write.
func bound(next http.Handler, opts HTTPOptions) http.Handler {
	inline := newInliner()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		// A fresh deadline for this request: the one a previous request on
		// this connection left behind has passed or soon will.
		_ = rc.SetWriteDeadline(time.Now().Add(opts.WriteTimeout))
		w = &deadlineWriter{ResponseWriter: w, rc: rc, timeout: opts.WriteTimeout, inline: inline}
		// The SDK keeps the context of the request that opens a session
		// for the session's calls.
		r = r.WithContext(withInliner(r.Context(), inline))
		if r.Body != nil && r.Body != http.NoBody {
			_ = rc.SetReadDeadline(time.Now().Add(opts.ReadTimeout))
			data, err := io.ReadAll(io.LimitReader(r.Body, opts.MaxBodyBytes+1))
			switch {
			case errors.Is(err, os.ErrDeadlineExceeded):
				w.Header().Set("Connection", "close")
				writeRPCError(w, http.StatusRequestTimeout, nil, jsonrpc.CodeInvalidRequest, fmt.Sprintf("Warden: the request body did not arrive within %s (warden serve --read-timeout)", opts.ReadTimeout))
				return
			case err != nil:
				return // the client went away
			case int64(len(data)) > opts.MaxBodyBytes:
				w.Header().Set("Connection", "close")
				writeRPCError(w, http.StatusRequestEntityTooLarge, nil, jsonrpc.CodeInvalidRequest, fmt.Sprintf("Warden: the request body exceeds %d bytes, the limit derived from the policy's max_argument_bytes", opts.MaxBodyBytes))
				return
			}
			// Cleared once the body is in: a deadline left on the
			// connection would cancel the request when it passes.
			_ = rc.SetReadDeadline(time.Time{})
			// The SDK's decoder takes the first value of a body and
			// ignores the rest; a body must be one JSON value.
			if len(data) > 0 && (depth(data) > maxJSONDepth || !json.Valid(data)) {
				writeRPCError(w, http.StatusBadRequest, nil, jsonrpc.CodeParseError, fmt.Sprintf("Parse error: the body is not one JSON value nested at most %d deep", maxJSONDepth))
				return
			}
			r.Body = &bodyBytes{Reader: bytes.NewReader(data), data: data}
			r.ContentLength = int64(len(data))
		}
		next.ServeHTTP(w, r)
	})
}

// bodyBytes is a request body already read into memory.
type bodyBytes struct {
	*bytes.Reader
	data []byte
}

func (*bodyBytes) Close() error { return nil }

// deadlineWriter moves the write deadline before each write and flush, so
// a client that stops reading is cut off after the timeout while a stream
// that is merely quiet stays open.
type deadlineWriter struct {
	http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	inline  *inliner
}

// Write writes p with its placeholders expanded, part by part rather than
// joined into one large copy. It reports len(p) when all of the expanded
// bytes were written.
func (w *deadlineWriter) Write(p []byte) (int, error) {
	_ = w.rc.SetWriteDeadline(time.Now().Add(w.timeout))
	parts, done := w.inline.split(p)
	defer done() // a ResponseWriter keeps no part of what it was given
	written := 0
	for _, part := range parts {
		n, err := w.ResponseWriter.Write(part)
		written += n
		if err != nil {
			return min(written, len(p)), err
		}
	}
	return len(p), nil
}

func (w *deadlineWriter) FlushError() error {
	_ = w.rc.SetWriteDeadline(time.Now().Add(w.timeout))
	return w.rc.Flush()
}

func (w *deadlineWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Serve serves h on ln, with at most opts.MaxConnections connections and
// the timeouts of opts, until ctx is done; then it stops accepting and
// gives open requests five seconds to finish.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, opts HTTPOptions) error {
	opts.setDefaults()
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: opts.ReadHeaderTimeout,
		IdleTimeout:       opts.IdleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(limitListener(ln, opts.MaxConnections)) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		return nil
	}
}

// limitListener accepts at most n connections at once. One beyond is
// answered 503 and closed at once: a client learns the server is full
// instead of waiting unanswered in the kernel's queue.
func limitListener(ln net.Listener, n int) net.Listener {
	return &connLimiter{Listener: ln, free: n}
}

type connLimiter struct {
	net.Listener
	mu       sync.Mutex
	free     int
	refusing int
}

// fullResponse is what a connection beyond the cap reads.
var fullResponse = func() string {
	const body = "Warden: too many open connections (warden serve --max-connections); retry soon.\n"
	return fmt.Sprintf("HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
}()

// maxRefusing bounds the connections being refused at once, each held for
// at most a second; beyond it a connection is closed without an answer.
const maxRefusing = 64

func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		ok := l.free > 0
		if ok {
			l.free--
		}
		refuse := !ok && l.refusing < maxRefusing
		if refuse {
			l.refusing++
		}
		l.mu.Unlock()
		switch {
		case ok:
			return &limitedConn{Conn: c, release: l.release}, nil
		case refuse:
			go l.refuse(c)
		default:
			_ = c.Close()
		}
	}
}

// refuse answers 503 and closes. It reads what the client sent meanwhile,
// briefly, so that closing does not reset the connection before the client
// has read the answer.
func (l *connLimiter) refuse(c net.Conn) {
	defer func() {
		l.mu.Lock()
		l.refusing--
		l.mu.Unlock()
	}()
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := io.WriteString(c, fullResponse); err != nil {
		return
	}
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(c, 64<<10))
}

func (l *connLimiter) release() {
	l.mu.Lock()
	l.free++
	l.mu.Unlock()
}

type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
