package mcpserver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/warden-dev/warden/internal/policy"
)

// MaxMessageBytes is the largest JSON-RPC message Warden reads on either
// face: twice the largest arguments the policy allows, so an oversized call
// still reaches the engine and gets a tool error naming the limit, plus room
// for the envelope; at least 4 MiB.
func MaxMessageBytes(s policy.Settings) int64 {
	return max(4<<20, 2*s.MaxArgumentBytes+64<<10)
}

// maxJSONDepth bounds the nesting of a message. The SDK's decoder refuses
// deeper values, so a deeper line is answered here rather than handed on.
const maxJSONDepth = 1000

// StdioTransport carries one MCP session as newline-delimited JSON, like
// the SDK's IOTransport, except that a line that is not a JSON-RPC message
// (not JSON, a batch, a bad id or version, too deep, too long) is answered
// with the JSON-RPC error the specification names and the session goes on.
// The SDK's transport ends the session instead, and with it the server.
type StdioTransport struct {
	Reader io.Reader
	Writer io.Writer
	// MaxMessageBytes bounds one line. A longer line is discarded as it is
	// read, never held whole. Default: 4 MiB.
	MaxMessageBytes int64
	// Logger receives one line per refused message (never its content).
	Logger *slog.Logger

	inline *inliner // set by Run
}

// Run serves s on t until the client ends the session or ctx is done. It
// is s.Run(ctx, t), with large tool results written the fast way: escaped
// once, by this transport (see inline.go).
func (t *StdioTransport) Run(ctx context.Context, s *mcp.Server) error {
	t.inline = newInliner()
	return s.Run(withInliner(ctx, t.inline), t)
}

// Connect implements [mcp.Transport]. It starts the goroutine that reads
// lines; the Reader is never closed, so that goroutine ends at its EOF.
func (t *StdioTransport) Connect(context.Context) (mcp.Connection, error) {
	limit := t.MaxMessageBytes
	if limit <= 0 {
		limit = 4 << 20
	}
	log := t.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	c := &lineConn{w: t.Writer, log: log, inline: t.inline, incoming: make(chan jsonrpc.Message), closed: make(chan struct{})}
	go c.readLoop(t.Reader, limit)
	return c, nil
}

type lineConn struct {
	log      *slog.Logger
	inline   *inliner // nil unless served by [StdioTransport.Run]
	writeMu  sync.Mutex
	w        io.Writer
	incoming chan jsonrpc.Message // closed after readErr is set
	readErr  error

	// calls counts requests handed on and not yet answered; drained is
	// closed whenever it drops to zero after the input ended, so that
	// `warden serve < requests.jsonl` answers every request before the
	// session ends.
	mu      sync.Mutex
	calls   int
	drained chan struct{}

	closeOnce sync.Once
	closed    chan struct{}
}

func (c *lineConn) SessionID() string { return "" }

func (c *lineConn) Read(ctx context.Context) (jsonrpc.Message, error) {
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.closed:
		return nil, io.EOF
	case msg, ok := <-c.incoming:
		if !ok {
			c.awaitAnswers(ctx)
			return nil, c.readErr
		}
		return msg, nil
	}
}

// drainTimeout bounds how long the end of input waits for the answers to
// requests still running: each tool has its own time limit, well below.
const drainTimeout = 2 * time.Minute

// awaitAnswers waits, once the input has ended, until every request read
// has been answered, the connection closes, or drainTimeout passes.
func (c *lineConn) awaitAnswers(ctx context.Context) {
	c.mu.Lock()
	if c.drained == nil {
		c.drained = make(chan struct{})
		if c.calls == 0 {
			close(c.drained)
		}
	}
	drained := c.drained
	c.mu.Unlock()
	timer := time.NewTimer(drainTimeout)
	defer timer.Stop()
	select {
	case <-drained:
	case <-ctx.Done():
	case <-c.closed:
	case <-timer.C:
	}
}

// track counts a request handed on (+1) or answered (-1).
func (c *lineConn) track(delta int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = max(c.calls+delta, 0)
	if c.calls == 0 && c.drained != nil {
		select {
		case <-c.drained:
		default:
			close(c.drained)
		}
	}
}

func (c *lineConn) Write(ctx context.Context, msg jsonrpc.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	data, err := jsonrpc.EncodeMessage(msg)
	if err != nil {
		return fmt.Errorf("encoding message: %w", err)
	}
	parts, done := c.inline.split(data)
	err = c.writeLine(parts...)
	done() // a Writer keeps no part of what it was given
	if _, ok := msg.(*jsonrpc.Response); ok {
		c.track(-1)
	}
	return err
}

// writeLine writes the parts of one message and its line end, together:
// no other message can come between them.
func (c *lineConn) writeLine(parts ...[]byte) error {
	select {
	case <-c.closed:
		return mcp.ErrConnectionClosed
	default:
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if len(parts) == 1 {
		_, err := c.w.Write(append(parts[0], '\n'))
		return err
	}
	bufs := append(net.Buffers(parts), []byte{'\n'})
	_, err := bufs.WriteTo(c.w)
	return err
}

func (c *lineConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return nil
}

// readLoop hands each valid message to Read and answers every other line
// itself, until the reader ends.
func (c *lineConn) readLoop(r io.Reader, limit int64) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, size, err := readLine(br, limit)
		if line == nil && size > limit {
			c.refuse(nil, jsonrpc.CodeInvalidRequest, fmt.Sprintf("Invalid Request: the message is longer than %d bytes, the limit this server derives from its policy's max_argument_bytes", limit), size)
		} else if len(bytes.TrimSpace(line)) > 0 {
			msg, id, code, why := decodeLine(line)
			if msg == nil {
				c.refuse(id, code, why, size)
			} else {
				if req, ok := msg.(*jsonrpc.Request); ok && req.IsCall() {
					c.track(+1)
				}
				select {
				case c.incoming <- msg:
				case <-c.closed:
					return
				}
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.EOF
			}
			c.readErr = err
			close(c.incoming)
			return
		}
	}
}

// readLine returns the next line without its end, and its length. A line
// longer than limit is read to its end and dropped: line is nil and size
// is more than limit. err is the reader's error after the line, if any.
func readLine(br *bufio.Reader, limit int64) (line []byte, size int64, err error) {
	over := false
	for {
		chunk, err := br.ReadSlice('\n')
		size += int64(len(chunk))
		if !over {
			if size > limit+2 { // +2: the line end is not part of the message
				over, line = true, nil
			} else {
				line = append(line, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		if over {
			return nil, max(size, limit+1), err
		}
		if int64(len(line)) > limit {
			return nil, int64(len(line)), err
		}
		return line, int64(len(line)), err
	}
}

// decodeLine turns one line into a message the SDK accepts, or says which
// JSON-RPC error answers it and with which id (null when none can be read).
func decodeLine(line []byte) (msg jsonrpc.Message, id json.RawMessage, code int64, why string) {
	if depth(line) > maxJSONDepth {
		return nil, nil, jsonrpc.CodeParseError, fmt.Sprintf("Parse error: the message nests deeper than %d levels", maxJSONDepth)
	}
	if !json.Valid(line) {
		return nil, nil, jsonrpc.CodeParseError, "Parse error: the line is not one complete JSON value; send one JSON-RPC message per line"
	}
	switch bytes.TrimLeft(line, " \t\r")[0] {
	case '{':
	case '[':
		return nil, nil, jsonrpc.CodeInvalidRequest, "Invalid Request: batches are not supported (MCP 2025-06-18 and later); send one message per line"
	default:
		return nil, nil, jsonrpc.CodeInvalidRequest, "Invalid Request: a message must be a JSON object"
	}
	var env struct {
		Version *string         `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
	}
	_ = json.Unmarshal(line, &env) // valid JSON: only the types can differ
	if len(env.ID) > 0 && !validID(env.ID) {
		return nil, nil, jsonrpc.CodeInvalidRequest, "Invalid Request: id must be a string, a number or null"
	}
	if env.Version == nil || *env.Version != "2.0" {
		return nil, env.ID, jsonrpc.CodeInvalidRequest, `Invalid Request: "jsonrpc" must be "2.0"`
	}
	msg, err := jsonrpc.DecodeMessage(line)
	if err != nil {
		return nil, env.ID, jsonrpc.CodeInvalidRequest, "Invalid Request: not a JSON-RPC request, notification or response"
	}
	return msg, nil, 0, ""
}

// validID reports whether a JSON value can be a request id: the
// specification allows a string, a number or null.
func validID(raw json.RawMessage) bool {
	switch raw[0] {
	case '"', 'n', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return true
	}
	return false
}

// depth returns how deeply a JSON text nests arrays and objects. It stops
// counting at one past maxJSONDepth.
func depth(b []byte) int {
	d, deepest, inString := 0, 0, false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case inString:
			if c == '\\' {
				i++
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == '[' || c == '{':
			if d++; d > deepest {
				if deepest = d; deepest > maxJSONDepth {
					return deepest
				}
			}
		case c == ']' || c == '}':
			d--
		}
	}
	return deepest
}

// refuse answers a line that is not a message. The log names the fault and
// the size, never the content, which may hold a secret.
func (c *lineConn) refuse(id json.RawMessage, code int64, why string, size int64) {
	c.log.Warn("refused a malformed MCP message", "code", code, "error", why, "bytes", size)
	_ = c.writeLine(errorResponse(id, code, why))
}

// errorResponse encodes a JSON-RPC error response; a missing id is null,
// as the specification asks when the request's id cannot be read.
func errorResponse(id json.RawMessage, code int64, msg string) []byte {
	if len(id) == 0 {
		id = json.RawMessage("null")
	}
	data, _ := json.Marshal(struct {
		Version string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Error   *jsonrpc.Error  `json:"error"`
	}{"2.0", id, &jsonrpc.Error{Code: code, Message: msg}})
	return data
}

var _ mcp.Transport = (*StdioTransport)(nil)
