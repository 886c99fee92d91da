package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rawStdio is warden serve driven line by line, as a client that sends
// whatever it likes would.
type rawStdio struct {
	t   *testing.T
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

func startRawStdio(t *testing.T, bin, dir string, args ...string) *rawStdio {
	t.Helper()
	cmd := wardenAt(t, bin, dir, nil, append([]string{"serve"}, args...)...)
	cmd.Stderr = &testWriter{t: t, prefix: "warden: "}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &rawStdio{t: t, cmd: cmd, in: in, out: bufio.NewReaderSize(out, 1<<20)}
	t.Cleanup(func() {
		in.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	s.send([]byte(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}`))
	if m := s.recv(); m["result"] == nil {
		t.Fatalf("initialize: %v", m)
	}
	s.send([]byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`))
	return s
}

func (s *rawStdio) send(line []byte) {
	s.t.Helper()
	if _, err := s.in.Write(append(line, '\n')); err != nil {
		s.t.Fatalf("warden serve stopped reading: %v (exit: %v)", err, s.cmd.ProcessState)
	}
}

func (s *rawStdio) recv() map[string]json.RawMessage {
	s.t.Helper()
	got := make(chan string, 1)
	go func() {
		l, _ := s.out.ReadString('\n')
		got <- l
	}()
	select {
	case l := <-got:
		if l == "" {
			s.t.Fatalf("warden serve closed its output (it exited)")
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			s.t.Fatalf("output line %q: %v", l, err)
		}
		return m
	case <-time.After(30 * time.Second):
		s.t.Fatal("warden serve did not answer within 30s")
		return nil
	}
}

// wantError checks that the next answer is the JSON-RPC error code with id.
func (s *rawStdio) wantError(code int, id string) {
	s.t.Helper()
	m := s.recv()
	var e struct{ Code int }
	if json.Unmarshal(m["error"], &e) != nil || e.Code != code || string(m["id"]) != id {
		s.t.Fatalf("answer %s %s, want error %d with id %s", m["id"], m["error"], code, id)
	}
}

// toolsList checks that the server still answers a valid request.
func (s *rawStdio) toolsList(id int) {
	s.t.Helper()
	s.send([]byte(`{"jsonrpc":"2.0","id":` + strconv.Itoa(id) + `,"method":"tools/list"}`))
	m := s.recv()
	if string(m["id"]) != strconv.Itoa(id) || !bytes.Contains(m["result"], []byte(`"notes_read"`)) {
		s.t.Fatalf("tools/list after a malformed line: %s %s", m["result"], m["error"])
	}
}

// TestStdio_MalformedLinesKeepServing: each line that is not a JSON-RPC
// message gets the error the specification names, and the next valid
// request is answered. The SDK's transport exited with status 1 on each.
func TestStdio_MalformedLinesKeepServing(t *testing.T) {
	base, _ := fixture(t)
	writePolicy(t, base, notesPolicy)
	s := startRawStdio(t, os.Args[0], base, "--policy", "warden.yaml")
	tests := []struct {
		name, line string
		code       int
		id         string
	}{
		{"not JSON", `GET / HTTP/1.1`, -32700, "null"},
		{"incomplete object", `{"jsonrpc":"2.0","id":1,"method":"tools/list"`, -32700, "null"},
		{"batch", `[{"jsonrpc":"2.0","id":1,"method":"tools/list"},{"jsonrpc":"2.0","id":2,"method":"tools/list"}]`, -32600, "null"},
		{"empty batch", `[]`, -32600, "null"},
		{"object as id", `{"jsonrpc":"2.0","id":{"x":1},"method":"tools/list"}`, -32600, "null"},
		{"JSON-RPC 1.0", `{"jsonrpc":"1.0","id":3,"method":"tools/list"}`, -32600, "3"},
		{"nesting deeper than 1000", `{"jsonrpc":"2.0","id":4,"method":"tools/list","params":` + strings.Repeat(`{"a":`, 1001) + "1" + strings.Repeat("}", 1001) + `}`, -32700, "null"},
	}
	for i, tt := range tests {
		s.send([]byte(tt.line))
		s.wantError(tt.code, tt.id)
		s.toolsList(100 + i)
	}
	s.in.Close()
	if err := s.cmd.Wait(); err != nil {
		t.Errorf("warden serve at the end of its input: %v, want exit 0", err)
	}
}

// TestStdio_HugeLineBounded: a 100 MB line is answered and dropped as it
// is read; the process never holds it (its peak RSS stays well under it)
// and goes on serving.
func TestStdio_HugeLineBounded(t *testing.T) {
	bin := bigPayloadWarden(t)
	base, _ := fixture(t)
	writePolicy(t, base, notesPolicy)
	s := startRawStdio(t, bin, base, "--policy", "warden.yaml")
	line := make([]byte, 0, 100<<20+200)
	line = append(line, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"notes_read","arguments":{"path":"`...)
	line = append(line, bytes.Repeat([]byte("a"), 100<<20)...)
	line = append(line, `"}}}`...)
	s.toolsList(1)
	before := peakRSS(t, s.cmd.Process.Pid)
	s.send(line)
	s.wantError(-32600, "null")
	s.toolsList(2)
	after := peakRSS(t, s.cmd.Process.Pid)
	t.Logf("peak RSS of warden serve: %d MiB before a 100 MiB line, %d MiB after", before>>20, after>>20)
	// The limit is 4 MiB (the default policy's); growing by a few times
	// that is reading one line, growing by the line's size is holding it.
	if after-before > 40<<20 {
		t.Errorf("peak RSS grew by %d MiB over a 100 MiB line: the line was held", (after-before)>>20)
	}
}

// peakRSS reads a process's peak resident set size (VmHWM).
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("SKIPPED: no /proc: %v", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/PID/status")
	return 0
}

// TestStdio_MessageLimitFollowsPolicy: a policy that allows 64 MiB of
// arguments gets a 17 MB write through stdio; the fixed 16 MiB line limit
// of the SDK's transport ended the process instead.
func TestStdio_MessageLimitFollowsPolicy(t *testing.T) {
	bin := bigPayloadWarden(t)
	base := t.TempDir()
	if err := os.Mkdir(filepath.Join(base, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	writePolicy(t, base, `version: 1
settings:
  limits: {max_argument_bytes: 64MiB}
  journal: {max_bytes: 64MiB}
resources:
  data:
    kind: fs
    root: ./data
    limits: {max_write_bytes: 32MiB}
agents:
  writer:
    grants:
      - {resource: data, actions: [read, write]}
`)
	cs := connectStdioAt(t, bin, base, nil, nil, "--policy", "warden.yaml")
	content := pattern('w', 17_000_000)
	res := callTool(t, cs, "data_write", map[string]any{"path": "big.txt", "content": string(content)})
	if res.IsError {
		t.Fatalf("a 17 MB write within the policy's limits: %s", text(res))
	}
	got, err := os.ReadFile(filepath.Join(base, "data", "big.txt"))
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("big.txt: %d bytes, %v; want the 17 MB written", len(got), err)
	}
	if res := callTool(t, cs, "data_read", map[string]any{"path": "big.txt", "length": 16}); res.IsError {
		t.Fatalf("the session after the write: %s", text(res))
	}
}
