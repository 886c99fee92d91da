package mcpserver

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// malformed are lines that are not JSON-RPC messages, with the error the
// specification names for each and the id it must carry ("null" when the
// id cannot be read).
var malformed = []struct {
	name, line string
	code       int64
	id         string
}{
	{"not JSON", `hello`, -32700, "null"},
	{"incomplete object", `{"jsonrpc":"2.0","id":1,"method":"tools/list"`, -32700, "null"},
	{"two values on a line", `{"jsonrpc":"2.0","id":1,"method":"ping"} {"jsonrpc":"2.0","id":2,"method":"ping"}`, -32700, "null"},
	{"batch", `[{"jsonrpc":"2.0","id":1,"method":"tools/list"}]`, -32600, "null"},
	{"empty batch", `[]`, -32600, "null"},
	{"scalar", `42`, -32600, "null"},
	{"object as id", `{"jsonrpc":"2.0","id":{"a":1},"method":"tools/list"}`, -32600, "null"},
	{"boolean id", `{"jsonrpc":"2.0","id":true,"method":"tools/list"}`, -32600, "null"},
	{"JSON-RPC 1.0", `{"jsonrpc":"1.0","id":5,"method":"tools/list"}`, -32600, "5"},
	{"no version", `{"id":"x","method":"tools/list"}`, -32600, `"x"`},
	{"numeric version", `{"jsonrpc":2.0,"id":6,"method":"tools/list"}`, -32600, "6"},
	{"response without id", `{"jsonrpc":"2.0","result":{}}`, -32600, "null"},
	{"nesting deeper than 1000", `{"jsonrpc":"2.0","id":7,"method":"tools/list","params":{"x":` + strings.Repeat("[", 1001) + strings.Repeat("]", 1001) + `}}`, -32700, "null"},
}

// stdioSession runs a server on a StdioTransport over pipes and returns a
// function that sends a line and one that reads the next line out.
func stdioSession(t *testing.T, limit int64) (send func(string), recv func() map[string]json.RawMessage, write func([]byte)) {
	t.Helper()
	e := newEngine(t, twoAgentPolicy)
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- NewServer(e, "alice", Options{}).Run(ctx, &StdioTransport{Reader: inR, Writer: outW, MaxMessageBytes: limit})
		outW.Close()
	}()
	t.Cleanup(func() {
		cancel()
		inW.Close()
		inR.Close()
		outR.Close()
		<-done
	})
	lines := bufio.NewReaderSize(outR, 1<<20)
	// A write that blocks means the server stopped reading (on old code,
	// it exited); fail rather than hang.
	write = func(data []byte) {
		t.Helper()
		errc := make(chan error, 1)
		go func() { _, err := inW.Write(data); errc <- err }()
		select {
		case err := <-errc:
			if err != nil {
				t.Fatalf("the server stopped reading: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("the server stopped reading (a write blocked for 20s)")
		}
	}
	send = func(line string) {
		t.Helper()
		write([]byte(line + "\n"))
	}
	recv = func() map[string]json.RawMessage {
		t.Helper()
		type result struct {
			line string
			err  error
		}
		got := make(chan result, 1)
		go func() {
			l, err := lines.ReadString('\n')
			got <- result{l, err}
		}()
		select {
		case r := <-got:
			if r.err != nil {
				t.Fatalf("the server ended its output: %v", r.err)
			}
			var m map[string]json.RawMessage
			if err := json.Unmarshal([]byte(r.line), &m); err != nil {
				t.Fatalf("output line %q: %v", r.line, err)
			}
			return m
		case <-time.After(10 * time.Second):
			t.Fatal("no answer within 10s")
			return nil
		}
	}
	send(initializeBody)
	if m := recv(); m["result"] == nil {
		t.Fatalf("initialize: %v", m)
	}
	send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	return send, recv, write
}

// toolsListWorks asks for the tools and checks the answer.
func toolsListWorks(t *testing.T, send func(string), recv func() map[string]json.RawMessage, id int) {
	t.Helper()
	send(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/list"}`, id))
	m := recv()
	if string(m["id"]) != fmt.Sprint(id) || !strings.Contains(string(m["result"]), `"notes_read"`) {
		t.Fatalf("tools/list %d: %s %s %s", id, m["id"], m["result"], m["error"])
	}
}

func checkRPCError(t *testing.T, m map[string]json.RawMessage, code int64, id string) {
	t.Helper()
	var e struct {
		Code    int64
		Message string
	}
	if err := json.Unmarshal(m["error"], &e); err != nil || e.Code != code || string(m["id"]) != id || string(m["jsonrpc"]) != `"2.0"` || e.Message == "" {
		t.Fatalf("answer = %s %s, want error %d with id %s", m["id"], m["error"], code, id)
	}
}

func TestStdio_MalformedLinesGetErrors(t *testing.T) {
	send, recv, _ := stdioSession(t, 1<<20)
	for i, tc := range malformed {
		t.Run(tc.name, func(t *testing.T) {
			send(tc.line)
			checkRPCError(t, recv(), tc.code, tc.id)
			toolsListWorks(t, send, recv, 100+i)
		})
	}
}

// TestStdio_LongLineDiscarded: a 24 MiB line over a 1 MiB limit is
// answered and dropped as it is read; the memory it takes stays near the
// limit.
func TestStdio_LongLineDiscarded(t *testing.T) {
	const limit = 1 << 20
	send, recv, write := stdioSession(t, limit)
	line := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"notes_read","arguments":{"path":"` + strings.Repeat("x", 24<<20) + "\"}}}\n")
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	write(line)
	m := recv()
	runtime.ReadMemStats(&after)
	checkRPCError(t, m, -32600, "null")
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 8*limit {
		t.Errorf("a 24 MiB line over a 1 MiB limit allocated %d MiB", grew>>20)
	}
	toolsListWorks(t, send, recv, 2)
	// A line just within the limit is read whole.
	send(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"notes_read","arguments":{"path":"a.md","x":"` + strings.Repeat("y", limit-200) + `"}}}`)
	if m := recv(); string(m["id"]) != "3" || m["result"] == nil {
		t.Fatalf("a call just within the limit: %s", m["error"])
	}
}

func TestMaxMessageBytes(t *testing.T) {
	for _, tc := range []struct{ args, want int64 }{
		{256 << 10, 4 << 20},
		{64 << 20, 128<<20 + 64<<10},
	} {
		s := newEngine(t, twoAgentPolicy).Policy().Settings()
		s.MaxArgumentBytes = tc.args
		if got := MaxMessageBytes(s); got != tc.want {
			t.Errorf("MaxMessageBytes(max_argument_bytes %d) = %d, want %d", tc.args, got, tc.want)
		}
	}
}

// TestStdio_AnswersEverythingBeforeEOF: input that ends right after its
// requests (warden serve < requests.jsonl) still gets an answer to each;
// the session ends only once they are written.
func TestStdio_AnswersEverythingBeforeEOF(t *testing.T) {
	e := newEngine(t, twoAgentPolicy)
	var in strings.Builder
	in.WriteString(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}` + "\n")
	in.WriteString(`{"jsonrpc":"2.0","method":"notifications/initialized"}` + "\n")
	const calls = 20
	for i := range calls {
		fmt.Fprintf(&in, `{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"notes_read","arguments":{"path":"a.md"}}}`+"\n", 100+i)
	}
	var out strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := NewServer(e, "alice", Options{}).Run(ctx, &StdioTransport{Reader: strings.NewReader(in.String()), Writer: &lockedWriter{w: &out}})
	if ctx.Err() != nil {
		t.Fatalf("the session did not end after its input: %v", err)
	}
	answered := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var m struct {
			ID     json.RawMessage `json:"id"`
			Result json.RawMessage `json:"result"`
		}
		if json.Unmarshal([]byte(line), &m) == nil && m.Result != nil {
			answered[string(m.ID)] = true
		}
	}
	for i := range calls {
		if id := fmt.Sprint(100 + i); !answered[id] {
			t.Errorf("request %s got no answer before the session ended (answered: %d of %d)", id, len(answered)-1, calls)
		}
	}
}

// lockedWriter lets the server's goroutines write one line at a time.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
