package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/warden-dev/warden/internal/engine"
	"github.com/warden-dev/warden/internal/mcpserver"
	"github.com/warden-dev/warden/internal/policy"
)

// BenchmarkMCPRead compares a 4 KiB read through Warden's MCP server with
// the same read through a bare SDK server, both in process over in-memory
// transports: the cost of Warden's pipeline without process or pipe noise.
func BenchmarkMCPRead(b *testing.B) {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "4k.txt"), []byte(strings.Repeat("abcdefgh", 512)), 0o644); err != nil {
		b.Fatal(err)
	}
	connect := func(b *testing.B, s *mcp.Server) *mcp.ClientSession {
		ct, st := mcp.NewInMemoryTransports()
		ss, err := s.Connect(context.Background(), st, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { ss.Close() })
		cs, err := mcp.NewClient(&mcp.Implementation{Name: "bench"}, nil).Connect(context.Background(), ct, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { cs.Close() })
		return cs
	}
	run := func(b *testing.B, cs *mcp.ClientSession, tool string) {
		params := &mcp.CallToolParams{Name: tool, Arguments: map[string]any{"path": "4k.txt"}}
		for b.Loop() {
			res, err := cs.CallTool(context.Background(), params)
			if err != nil || res.IsError {
				b.Fatal(err, res)
			}
		}
	}
	b.Run("warden", func(b *testing.B) {
		run(b, connect(b, zeroConfigServer(b, dir)), "files_read")
	})
	b.Run("bare", func(b *testing.B) {
		s := mcp.NewServer(&mcp.Implementation{Name: "bare"}, nil)
		s.AddTool(&mcp.Tool{Name: "read", InputSchema: json.RawMessage(`{"type":"object"}`)}, func(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			var a struct{ Path string }
			_ = json.Unmarshal(req.Params.Arguments, &a)
			data, err := os.ReadFile(filepath.Join(dir, a.Path))
			if err != nil {
				return nil, err
			}
			v := map[string]any{"path": a.Path, "size": len(data), "offset": 0, "length": len(data), "encoding": "text", "content": string(data), "truncated": false}
			text, _ := json.Marshal(v)
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: string(text)}}, StructuredContent: v}, nil
		})
		run(b, connect(b, s), "read")
	})
}

// BenchmarkStdioRead reads 4 KiB, 64 KiB and 1 MiB files through Warden's
// stdio transport in process, with a raw client that writes each request
// line and reads the response line into one buffer without decoding it:
// what the server spends on a large result, without process or client
// noise. cpu-ns/op is the process's CPU time a call, client included.
func BenchmarkStdioRead(b *testing.B) {
	dir := b.TempDir()
	for _, n := range []int{4 << 10, 64 << 10, 1 << 20} {
		b.Run(strconv.Itoa(n>>10)+"KiB", func(b *testing.B) {
			name := strconv.Itoa(n) + ".txt"
			if err := os.WriteFile(filepath.Join(dir, name), []byte(ordinaryText(n)), 0o644); err != nil {
				b.Fatal(err)
			}
			inW, outR := serveOverPipes(b, dir)
			lines := bufio.NewReaderSize(outR, 1<<20)
			send := func(s string) {
				if _, err := io.WriteString(inW, s+"\n"); err != nil {
					b.Fatal(err)
				}
			}
			var line []byte
			recv := func() []byte {
				line = line[:0]
				for {
					chunk, err := lines.ReadSlice('\n')
					line = append(line, chunk...)
					if err == nil {
						return line
					}
					if err != bufio.ErrBufferFull {
						b.Fatal(err)
					}
				}
			}
			send(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"0"}}}`)
			recv()
			send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
			req := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"files_read","arguments":{"path":"` + name + `"}}}`
			b.SetBytes(int64(n))
			calls, cpu0 := 0, processCPU(b)
			for b.Loop() {
				send(req)
				if line := recv(); len(line) < n {
					b.Fatalf("response of %d bytes: %.200s", len(line), line)
				}
				calls++
			}
			b.ReportMetric(float64(processCPU(b)-cpu0)/float64(calls), "cpu-ns/op")
		})
	}
}

// BenchmarkSDKClientDecode is what the official Go SDK client spends
// decoding one 1 MiB read's response, for Warden's result (the text once,
// metadata beside it) and for the reference server's (the text, and the
// same text again as structured content): the part of a round trip no
// server can make faster.
func BenchmarkSDKClientDecode(b *testing.B) {
	content := ordinaryText(1 << 20)
	shapes := map[string]*mcp.CallToolResult{
		"warden": {
			Content:           []mcp.Content{&mcp.TextContent{Text: content}, &mcp.TextContent{Text: `{"path":"f.txt","size":1048576}`}},
			StructuredContent: map[string]any{"path": "f.txt", "size": 1048576},
		},
		"reference": {
			Content:           []mcp.Content{&mcp.TextContent{Text: content}},
			StructuredContent: map[string]any{"content": content},
		},
	}
	for name, res := range shapes {
		raw, err := json.Marshal(res)
		if err != nil {
			b.Fatal(err)
		}
		line := []byte(`{"jsonrpc":"2.0","id":1,"result":` + string(raw) + `}`)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(line)))
			for b.Loop() {
				msg, err := jsonrpc.DecodeMessage(line)
				if err != nil {
					b.Fatal(err)
				}
				var got mcp.CallToolResult
				if err := json.Unmarshal(msg.(*jsonrpc.Response).Result, &got); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// zeroConfigServer returns Warden's MCP server for the zero-config policy
// on dir, closed with the benchmark.
func zeroConfigServer(b testing.TB, dir string) *mcp.Server {
	p, err := policy.Default(dir)
	if err != nil {
		b.Fatal(err)
	}
	e, err := engine.New(context.Background(), p, engine.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	return mcpserver.NewServer(e, policy.DefaultAgent, mcpserver.Options{})
}

// processCPU returns the user and system CPU time this process has used,
// client and server together.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ordinaryText returns n bytes of text as bench/run.sh reads: numbered
// lines of ASCII.
func ordinaryText(n int) string {
	var text strings.Builder
	for i := 0; text.Len() < n; i++ {
		fmt.Fprintf(&text, "%06d The quick brown fox jumps over the lazy dog; pack my box.\n", i)
	}
	return text.String()[:n]
}

// serveOverPipes runs the zero-configuration server on dir over Warden's
// stdio transport, through pipes, until the test or benchmark ends; it
// returns the client's ends.
func serveOverPipes(tb testing.TB, dir string) (requests *io.PipeWriter, responses *io.PipeReader) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	tr := &mcpserver.StdioTransport{Reader: inR, Writer: outW}
	srv := zeroConfigServer(tb, dir)
	go func() { _ = tr.Run(ctx, srv) }()
	return inW, outR
}
