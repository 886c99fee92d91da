package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// rawProtocol is the protocol version the raw client asks for unless
// -protocol names another: the newest one that every server here speaks
// with the classic initialize handshake.
const rawProtocol = "2025-11-25"

// maxLine bounds one response line for the raw client.
const maxLine = 64 << 20

// rawCaller speaks newline-delimited JSON-RPC to a server directly. Each
// request is encoded before the clock starts; the clock stops when the
// response line has been read, so the timed part is the server's work plus
// the pipe, and none of the client's decoding. The response is decoded and
// checked afterwards, untimed. It is a measuring tool, not a general MCP
// client: it expects no requests from the server.
type rawCaller struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
	next int64
}

// connectRaw starts a server, does the initialize handshake and lists the
// tools.
func connectRaw(ctx context.Context, srv *server, protocol string, stderr io.Writer) (*session, []*mcp.Tool, error) {
	if protocol == "" {
		protocol = rawProtocol
	}
	cmd := srv.command()
	cmd.Env = append(cmd.Env, srv.env...)
	cmd.Stderr = stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", srv.name, err)
	}
	c := &rawCaller{cmd: cmd, in: in, out: bufio.NewReaderSize(out, 1<<20)}
	s := &session{srv: srv, c: c, pid: cmd.Process.Pid}
	fail := func(err error) (*session, []*mcp.Tool, error) {
		c.close()
		return nil, nil, fmt.Errorf("%s: %w", srv.name, err)
	}
	raw, _, err := c.roundTrip("initialize", &mcp.InitializeParams{
		ProtocolVersion: protocol,
		ClientInfo:      &mcp.Implementation{Name: "mcpbench-raw", Version: "1"},
		Capabilities:    &mcp.ClientCapabilities{},
	})
	if err != nil {
		return fail(fmt.Errorf("initialize: %w", err))
	}
	var init mcp.InitializeResult
	if err := json.Unmarshal(raw, &init); err != nil {
		return fail(fmt.Errorf("initialize: %w", err))
	}
	s.protocol = init.ProtocolVersion
	if err := c.send([]byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}` + "\n")); err != nil {
		return fail(err)
	}
	raw, _, err = c.roundTrip("tools/list", struct{}{})
	if err != nil {
		return fail(fmt.Errorf("tools/list: %w", err))
	}
	var list mcp.ListToolsResult
	if err := json.Unmarshal(raw, &list); err != nil {
		return fail(fmt.Errorf("tools/list: %w", err))
	}
	return s, list.Tools, nil
}

func (c *rawCaller) send(b []byte) error {
	_, err := c.in.Write(b)
	return err
}

// roundTrip sends one request and returns the result of its response and
// the time from sending to having read the response line.
func (c *rawCaller) roundTrip(method string, params any) (json.RawMessage, time.Duration, error) {
	c.next++
	id := c.next
	req, err := json.Marshal(struct {
		JSONRPC string `json:"jsonrpc"`
		ID      int64  `json:"id"`
		Method  string `json:"method"`
		Params  any    `json:"params"`
	}{"2.0", id, method, params})
	if err != nil {
		return nil, 0, err
	}
	req = append(req, '\n')
	t0 := time.Now()
	if err := c.send(req); err != nil {
		return nil, 0, err
	}
	for {
		line, err := c.readLine()
		d := time.Since(t0)
		if err != nil {
			return nil, 0, err
		}
		var msg struct {
			ID     *int64          `json:"id"`
			Method string          `json:"method"`
			Result json.RawMessage `json:"result"`
			Error  *struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(line, &msg); err != nil {
			return nil, 0, fmt.Errorf("bad response line: %w", err)
		}
		switch {
		case msg.ID == nil || msg.Method != "":
			continue // a notification (or a request, which we do not answer)
		case *msg.ID != id:
			return nil, 0, fmt.Errorf("response to request %d, want %d", *msg.ID, id)
		case msg.Error != nil:
			return nil, 0, fmt.Errorf("JSON-RPC error %d: %s", msg.Error.Code, msg.Error.Message)
		}
		return msg.Result, d, nil
	}
}

// readLine reads one line without copying it when it fits the buffer. The
// line is valid until the next read.
func (c *rawCaller) readLine() ([]byte, error) {
	line, err := c.out.ReadSlice('\n')
	if !errors.Is(err, bufio.ErrBufferFull) {
		return line, err
	}
	long := append([]byte(nil), line...)
	for errors.Is(err, bufio.ErrBufferFull) && len(long) < maxLine {
		line, err = c.out.ReadSlice('\n')
		long = append(long, line...)
	}
	return long, err
}

func (c *rawCaller) callTool(_ context.Context, name string, args map[string]any) (*mcp.CallToolResult, time.Duration, error) {
	raw, d, err := c.roundTrip("tools/call", &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		return nil, 0, err
	}
	var res mcp.CallToolResult
	if err := json.Unmarshal(raw, &res); err != nil {
		return nil, 0, err
	}
	return &res, d, nil
}

// close closes the server's stdin and waits for it to exit, killing it
// after exitWait.
func (c *rawCaller) close() {
	_ = c.in.Close()
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(exitWait):
		_ = c.cmd.Process.Kill()
		<-done
	}
}
