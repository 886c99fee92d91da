package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestStdio_ConcurrentLargeReadsOwnBytes reads files of the same size and
// different content concurrently in one stdio session, many times over:
// a large result's escaped text is written from a buffer that is reused
// once written, and a buffer reused while a message still refers to it
// would show as one file's bytes in another's answer.
func TestStdio_ConcurrentLargeReadsOwnBytes(t *testing.T) {
	dir := t.TempDir()
	const files, size = 4, 200 << 10
	want := make([]string, files)
	for i := range want {
		unit := fmt.Sprintf("file %d: \"quoted\" <tag> & tab\t é %c\n", i, 'a'+i)
		want[i] = strings.Repeat(unit, size/len(unit))
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%d.txt", i)), []byte(want[i]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	inW, outR := serveOverPipes(t, dir)

	var sendMu sync.Mutex
	send := func(s string) {
		sendMu.Lock()
		defer sendMu.Unlock()
		if _, err := io.WriteString(inW, s+"\n"); err != nil {
			t.Error(err)
		}
	}
	lines := bufio.NewReaderSize(outR, 1<<20)
	recv := func() []byte {
		line, err := lines.ReadBytes('\n')
		if err != nil {
			t.Fatal(err)
		}
		return line
	}
	send(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"test","version":"0"}}}`)
	recv()
	send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)

	const rounds = 25
	calls := files * rounds
	go func() {
		for id := 1; id <= calls; id++ {
			send(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"files_read","arguments":{"path":"f%d.txt"}}}`, id, id%files))
		}
	}()
	for range calls {
		var resp struct {
			ID     int
			Result struct {
				Content []struct{ Text string }
			}
		}
		line := recv()
		if err := json.Unmarshal(line, &resp); err != nil || len(resp.Result.Content) == 0 {
			t.Fatalf("response %.200q: %v", line, err)
		}
		if got, w := resp.Result.Content[0].Text, want[resp.ID%files]; got != w {
			i := 0
			for i < len(got) && i < len(w) && got[i] == w[i] {
				i++
			}
			t.Fatalf("call %d (f%d.txt): %d bytes, want %d; first difference at byte %d: %.40q", resp.ID, resp.ID%files, len(got), len(w), i, got[i:])
		}
	}
}
