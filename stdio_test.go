package warden_test

import (
	"bufio"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warden-dev/warden"
)

// TestServeStdio: the library's stdio server answers a malformed line with
// a JSON-RPC error and goes on serving, and returns nil at the end of input.
func TestServeStdio(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.md"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := warden.OpenDir(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- w.ServeStdio(context.Background(), "default", inR, outW); outW.Close() }()
	sc := bufio.NewScanner(outR)
	sc.Buffer(nil, 1<<20)
	var lines []string
	// Input stays open until the answers are in: at the end of input the
	// session ends, as a client closing stdin means.
	for _, l := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`not json`,
		`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`,
	} {
		io.WriteString(inW, l+"\n")
		if strings.Contains(l, `"id"`) || !strings.HasPrefix(l, "{") {
			if !sc.Scan() {
				t.Fatalf("no answer to %s", l)
			}
			lines = append(lines, sc.Text())
		}
	}
	inW.Close()
	if err := <-done; err != nil {
		t.Errorf("ServeStdio at the end of input: %v", err)
	}
	out := strings.Join(lines, "\n")
	if !strings.Contains(out, `"id":null,"error":{"code":-32700`) || !strings.Contains(out, `"files_read"`) {
		t.Fatalf("output:\n%s", out)
	}
}
